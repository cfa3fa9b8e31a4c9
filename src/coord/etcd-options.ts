import type { EtcdConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import type { Clock } from '../util/clock.js';

export interface EtcdCoordOptions {
  /** http:// or https:// URLs of the etcd members (all the same scheme). */
  endpoints: string[];
  /** PEM files: the CA that signed the members' certificates, and a client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
  username?: string;
  /** The resolved password (the config holds a secret reference; resolve it before calling). */
  password?: string;
  callTimeoutMs: number;
  clock?: Clock;
}

/**
 * The port's options from the `state.etcd` configuration; the password reference is resolved
 * here, at connection time, so a rotated secret file is picked up on the next start.
 */
export function etcdOptionsFromConfig(
  cfg: EtcdConfig,
  opts: { clock?: Clock; resolve?: (ref: string) => string } = {},
): EtcdCoordOptions {
  const resolve = opts.resolve ?? ((ref: string) => resolveSecret(ref));
  return {
    endpoints: cfg.endpoints,
    callTimeoutMs: cfg.callTimeout,
    ...(cfg.tls ? { tls: cfg.tls } : {}),
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(cfg.password !== undefined ? { password: resolve(cfg.password) } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  };
}
