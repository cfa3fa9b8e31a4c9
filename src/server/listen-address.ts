/** Splits "host:port" or "[v6]:port" into its parts; the config schema has already checked the shape. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i <= 0) throw new Error(`listen address "${listen}" is not host:port`);
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`listen address "${listen}" has an invalid port`);
  return { host, port };
}
