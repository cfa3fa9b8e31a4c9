/**
 * The catalogue of typed errors. Every error switchyard raises on purpose carries a stable
 * `code`; docs/errors.md documents each one (a unit test keeps the two in step).
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'the configuration file failed validation',
  CONFIG_UNREADABLE: 'the configuration file could not be read or parsed as YAML',
  SCENARIO_INVALID: 'a plan scenario file failed validation',
  SECRET_UNRESOLVED: 'a secret reference (env:/file:) could not be resolved',
  STATE_CORRUPT: 'the state file exists but is not valid switchyard state',
  STATE_UNREADABLE: 'the state file could not be read',
  STATE_UNWRITABLE: 'the state file could not be written (permissions, disk full, read-only filesystem)',
  STATE_CONFLICT: 'a compare-and-swap on the state epoch failed',
  DNS_OWNERSHIP: 'a live record set is not one switchyard may manage',
  DNS_INVALID_CHANGE: 'the DNS provider rejected a change batch',
  DNS_UNAVAILABLE: 'the DNS provider API failed after retries',
  DNS_ALL_ZERO: 'a change would have left a record set with every weight at zero',
  PROMOTION_FAILED: 'a database promotion did not complete',
  FENCE_FAILED: 'a database could not be fenced',
  CATCHUP_FAILED: 'a replica did not apply its primary’s last position within the bound',
  DATABASE_UNAVAILABLE: 'a database did not answer a status query',
  ADMIN_UNAUTHORIZED: 'the admin API was called without a valid bearer token',
  ADMIN_REQUEST_INVALID: 'the admin API received a request it cannot apply',
  DAEMON_UNREACHABLE: 'the CLI could not reach the daemon admin API',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(code: ErrorCode, message: string, details: readonly string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'SwitchyardError';
    this.code = code;
    this.details = details;
  }
}

export function isSwitchyardError(e: unknown, code?: ErrorCode): e is SwitchyardError {
  return e instanceof SwitchyardError && (code === undefined || e.code === code);
}
