/**
 * The catalogue of typed errors. Every error switchyard raises on purpose carries a stable
 * `code` and says whether a retry can succeed; docs/errors.md documents each one (a unit test
 * keeps the two in step). Throw a SwitchyardError for anything raised on purpose; a plain Error
 * means a bug.
 */
/** What the catalogue says of a code: whether retrying the same call can succeed, and what it means. */
export interface ErrorSpec {
  retryable: boolean;
  summary: string;
}

export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, summary: 'the configuration file failed validation' },
  CONFIG_UNREADABLE: {
    retryable: false,
    summary: 'the configuration file could not be read or parsed as YAML',
  },
  SIM_INVALID: {
    retryable: false,
    summary:
      'a simulator run asked for what it cannot do (unknown scenario, fault kind or mutant; a round-2 feature)',
  },
  SCENARIO_INVALID: { retryable: false, summary: 'a plan scenario file failed validation' },
  SECRET_UNRESOLVED: { retryable: false, summary: 'a secret reference (env:/file:) could not be resolved' },
  STATE_CORRUPT: { retryable: false, summary: 'the state file exists but is not valid switchyard state' },
  STATE_UNREADABLE: { retryable: false, summary: 'the state file could not be read' },
  STATE_UNWRITABLE: {
    retryable: true,
    summary: 'the state file could not be written (permissions, disk full, read-only filesystem)',
  },
  STATE_CONFLICT: { retryable: true, summary: 'a compare-and-swap on the state epoch failed' },
  STATE_FENCED: {
    retryable: false,
    summary: 'a state save carried a fencing token that no longer holds the leader key',
  },
  DNS_OWNERSHIP: { retryable: false, summary: 'a live record set is not one switchyard may manage' },
  DNS_INVALID_CHANGE: { retryable: false, summary: 'the DNS provider rejected a change batch' },
  DNS_UNAVAILABLE: { retryable: true, summary: 'the DNS provider API failed after retries' },
  DNS_ALL_ZERO: {
    retryable: false,
    summary: 'a change would have left a record set with every weight at zero',
  },
  DNS_MISSING_SET: {
    retryable: false,
    summary: 'a configured weighted set does not exist and createMissing is off',
  },
  DNS_UNKNOWN_RECORD: { retryable: false, summary: 'a desired weight names a record that is not configured' },
  DNS_UNKNOWN_REGION: {
    retryable: false,
    summary: 'a desired weight names a region the record has no target in',
  },
  DNS_INVALID_WEIGHT: { retryable: false, summary: 'a desired weight is not an integer 0–255' },
  PROMOTION_FAILED: { retryable: true, summary: 'a database promotion did not complete' },
  FENCE_FAILED: { retryable: true, summary: 'a database could not be fenced' },
  CATCHUP_FAILED: {
    retryable: true,
    summary: 'a replica did not apply its primary’s last position within the bound',
  },
  DATABASE_UNAVAILABLE: { retryable: true, summary: 'a database did not answer a status query' },
  ADMIN_UNAUTHORIZED: { retryable: false, summary: 'the admin API was called without a valid bearer token' },
  ADMIN_REQUEST_INVALID: { retryable: false, summary: 'the admin API received a request it cannot apply' },
  COORD_UNAVAILABLE: {
    retryable: true,
    summary: 'the coordination store (etcd) did not answer within the call timeout, or is unreachable',
  },
  COORD_LEASE_NOT_FOUND: {
    retryable: false,
    summary: 'an operation named an etcd lease that no longer exists (expired or revoked)',
  },
  COORD_REJECTED: {
    retryable: false,
    summary: 'etcd refused a request (authentication, permission, invalid request)',
  },
  DAEMON_UNREACHABLE: { retryable: true, summary: 'the CLI could not reach the daemon admin API' },
  LISTEN_FAILED: {
    retryable: false,
    summary: 'the HTTP listener could not bind its address (port taken, no permission, no such interface)',
  },
  DAEMON_LIFECYCLE: {
    retryable: false,
    summary:
      'the daemon was asked to do something its lifecycle state does not allow (start twice, status before start)',
  },
  INTERNAL: {
    retryable: false,
    summary: 'an internal invariant of switchyard was broken (a bug: please report it with the log)',
  },
} as const satisfies Record<string, ErrorSpec>;

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

  /** True when the same operation may succeed if retried (after backoff); from the catalogue. */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

export function isSwitchyardError(e: unknown, code?: ErrorCode): e is SwitchyardError {
  return e instanceof SwitchyardError && (code === undefined || e.code === code);
}
