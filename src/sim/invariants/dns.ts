import type { Invariant } from './types.js';

/** "no weighted record set is ever all-zero" (Route 53 would answer with every record). */
export function neverAllZero(): Invariant {
  let seen = -1;
  return {
    name: 'dns-never-all-zero',
    description: 'no record’s weighted sets all weigh 0 in the zone, at any time',
    round: 1,
    check(ctx) {
      const dns = ctx.world.dns;
      if (dns.version === seen) return undefined;
      seen = dns.version;
      for (const [key, w] of Object.entries(dns.weights())) {
        const values = Object.values(w);
        if (values.length > 0 && values.every((v) => v === 0)) {
          const last = dns.changes[dns.changes.length - 1];
          return `${key} has every set at weight 0 (last change ${last?.id ?? '-'} by ${last?.by ?? '-'})`;
        }
      }
      return undefined;
    },
  };
}

/** "management points at exactly one region", and it moves there only once that region's databases are writable. */
export function managementOneRegion(): Invariant {
  let seen = -1;
  let previous: string | undefined;
  return {
    name: 'management-one-region',
    description:
      'the management record answers exactly one region, and it moves to a region only when every database there is a writable primary',
    round: 1,
    check(ctx) {
      const dns = ctx.world.dns;
      if (dns.version === seen) return undefined;
      seen = dns.version;
      const record = ctx.topology.records.find((r) => r.class === 'management');
      if (!record) return undefined;
      const w = dns.weights()[record.key] ?? {};
      const serving = Object.keys(w).filter((id) => (w[id] ?? 0) > 0);
      if (serving.length !== 1)
        return `${record.key} answers ${serving.length === 0 ? 'no region (all weights 0)' : serving.join(' and ')}, not exactly one`;
      const region = serving[0] as string;
      if (previous !== undefined && region !== previous) {
        // Promoted and verified: a writable primary (it may have crashed since; DNS can land late).
        const notWritable = ctx.world.databases
          .ofRegion(region)
          .filter((n) => n.role !== 'primary' || n.readOnly)
          .map((n) => n.id);
        if (notWritable.length > 0)
          return `${record.key} moved from ${previous} to ${region} while ${notWritable.join(', ')} ${notWritable.length === 1 ? 'was' : 'were'} not writable`;
      }
      previous = region;
      return undefined;
    },
  };
}
