import { SwitchyardError } from '../util/errors.js';

/** Splits "host:port" or "[v6]:port" into its parts; a malformed address (e.g. from --listen) is CONFIG_INVALID. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i <= 0)
    throw new SwitchyardError(
      'CONFIG_INVALID',
      `listen address "${listen}" is not host:port (e.g. 127.0.0.1:9464)`,
    );
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SwitchyardError('CONFIG_INVALID', `listen address "${listen}" has an invalid port (0–65535)`);
  return { host, port };
}
