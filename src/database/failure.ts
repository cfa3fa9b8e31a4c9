import type { ErrorCode } from '../util/errors.js';
import { isSwitchyardError } from '../util/errors.js';
import type { DbFailure, DbFailureReason } from './types.js';

/** Maps driver errors (node sockets, pg SQLSTATEs, mysql2 codes) to stable failure reasons. */

const NODE_CODES: Record<string, DbFailureReason> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  // mysql2
  PROTOCOL_CONNECTION_LOST: 'reset',
  PROTOCOL_SEQUENCE_TIMEOUT: 'timeout',
  ER_ACCESS_DENIED_ERROR: 'auth',
  ER_DBACCESS_DENIED_ERROR: 'permission',
  ER_SPECIFIC_ACCESS_DENIED_ERROR: 'permission',
  ER_TABLEACCESS_DENIED_ERROR: 'permission',
  ER_BAD_DB_ERROR: 'no-database',
  ER_OPTION_PREVENTS_STATEMENT: 'read-only',
  ER_QUERY_TIMEOUT: 'timeout',
  ER_STATEMENT_TIMEOUT: 'timeout',
  ER_CON_COUNT_ERROR: 'unavailable',
  ER_SERVER_SHUTDOWN: 'unavailable',
  HANDSHAKE_SSL_ERROR: 'tls',
};

/** PostgreSQL SQLSTATEs. */
const SQLSTATES: Record<string, DbFailureReason> = {
  '28P01': 'auth',
  '28000': 'auth',
  '3D000': 'no-database',
  '57014': 'timeout',
  '57P01': 'unavailable',
  '57P02': 'unavailable',
  '57P03': 'unavailable',
  '53300': 'unavailable',
  '25006': 'read-only',
  '42501': 'permission',
};

export function reasonOf(e: unknown): DbFailureReason {
  if (isSwitchyardError(e, 'SECRET_UNRESOLVED')) return 'secret';
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  if (code && SQLSTATES[code]) return SQLSTATES[code];
  if (code && NODE_CODES[code]) return NODE_CODES[code];
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /certificate|SSL|TLS/.test(msg))
    return 'tls';
  if (/timeout|timed out/i.test(msg)) return 'timeout';
  if (/terminated unexpectedly|connection lost|socket hang up/i.test(msg)) return 'reset';
  if (/read-only|read only/i.test(msg)) return 'read-only';
  return 'error';
}

/** Removes any occurrence of the secret from a message (drivers sometimes echo connection options). */
export function redact(message: string, secret?: string): string {
  return secret && secret.length >= 3 ? message.split(secret).join('***') : message;
}

export function messageOf(e: unknown, secret?: string): string {
  const m = e instanceof Error ? e.message : String(e);
  return redact(m || (e as { code?: string } | null)?.code || 'unknown error', secret);
}

export function failure(code: ErrorCode, e: unknown, secret?: string, prefix?: string): DbFailure {
  const message = messageOf(e, secret);
  return { code, reason: reasonOf(e), message: prefix ? `${prefix}: ${message}` : message };
}

export function fail(code: ErrorCode, reason: DbFailureReason, message: string): DbFailure {
  return { code, reason, message };
}

/** An error that carries its failure reason (thrown inside an operation, caught at its boundary). */
export class DbStepError extends Error {
  constructor(
    readonly reason: DbFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'DbStepError';
  }
}

export function toFailure(code: ErrorCode, e: unknown, secret?: string): DbFailure {
  if (e instanceof DbStepError) return { code, reason: e.reason, message: redact(e.message, secret) };
  return failure(code, e, secret);
}
