/**
 * DNS names as Route 53 stores and lists them. Route 53 returns names fully qualified (trailing
 * dot) with some characters as octal escapes ("\052" for "*"), and ListResourceRecordSets sorts
 * by name with the labels reversed ("com.example.api."), then by type.
 */

/** Lower-case, escapes decoded, no trailing dot: the form switchyard compares. */
export function canonicalName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
    .trim()
    .toLowerCase()
    .replace(/\.$/, '');
}

/** The key Route 53 sorts ListResourceRecordSets by (labels reversed, trailing dot kept). */
export function listingKey(name: string): string {
  return `${canonicalName(name).split('.').reverse().join('.')}.`;
}

export function compareListing(a: string, b: string): number {
  const ka = listingKey(a);
  const kb = listingKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Fully qualified form for requests. */
export function fqdn(name: string): string {
  return `${canonicalName(name)}.`;
}

/** Route 53 ids come back prefixed ("/hostedzone/Z1", "/change/C1"). */
export function bareId(id: string): string {
  return id.replace(/^\/(hostedzone|change|delegationset)\//, '');
}
