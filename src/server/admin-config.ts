import type { Finding } from '../config/crosscheck.js';
import type { Config } from '../config/schema.js';

/** A named admin token as configured: the secret is still a reference (env:/file:). */
export interface AdminTokenRef {
  name: string;
  ref: string;
}

export interface AdminSettings {
  listen: string;
  allowNonLoopback: boolean;
  tokens: AdminTokenRef[];
  warnings: Finding[];
}

/**
 * The admin listener's effective settings. `director.adminToken` (the single-listener era's key)
 * still works as an alias of `admin.token`, with a warning naming the new path.
 */
export function adminSettings(config: Config): AdminSettings {
  const warnings: Finding[] = [];
  const tokens: AdminTokenRef[] = [];
  const legacy = config.director.adminToken;
  if (legacy !== undefined) {
    warnings.push({
      path: 'director.adminToken',
      message: config.admin.token
        ? 'deprecated and ignored: admin.token is set (remove director.adminToken)'
        : 'deprecated: move it to admin.token (the admin API now has its own listener, admin.listen)',
    });
  }
  const single = config.admin.token ?? legacy;
  if (single) tokens.push({ name: 'admin', ref: single });
  for (const t of config.admin.tokens) tokens.push({ name: t.name, ref: t.token });
  return {
    listen: config.admin.listen,
    allowNonLoopback: config.admin.allowNonLoopback,
    tokens,
    warnings,
  };
}
