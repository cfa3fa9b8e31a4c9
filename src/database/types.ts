import type { ErrorCode } from '../util/errors.js';

/**
 * The promoter interface: one implementation per engine family (PostgreSQL; MySQL/MariaDB).
 * Every method is bounded in time and never rejects: failures come back as results carrying a
 * `DbFailure`, so the daemon can record, count and retry them without try/catch at each call.
 */

export type DbEngine = 'postgres' | 'mysql' | 'mariadb';

/** Why an operation failed, as a stable machine word (logs, metrics labels, alerts). */
export type DbFailureReason =
  | 'secret'
  | 'refused'
  | 'timeout'
  | 'dns'
  | 'reset'
  | 'auth'
  | 'tls'
  | 'no-database'
  | 'unavailable'
  | 'permission'
  | 'read-only'
  | 'still-replica'
  | 'not-caught-up'
  | 'replication-error'
  | 'stale-epoch'
  | 'verify-failed'
  | 'hard-fence'
  | 'beyond-rpo'
  | 'error';

export interface DbFailure {
  code: ErrorCode;
  reason: DbFailureReason;
  /** Human-readable; never contains the password. */
  message: string;
}

/** What the server says about itself right now (shared by the probes and `status()`). */
export interface DbStatus {
  engine: DbEngine;
  reachable: boolean;
  role?: 'primary' | 'replica';
  /** Accepts ordinary writes: not a replica in recovery, not read-only. */
  writable?: boolean;
  /** This server's own position: current WAL LSN (primary) / replay LSN (standby); GTID set on MySQL/MariaDB. */
  position?: string;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  /** Replica only: the replication stream (WAL receiver / IO thread) is running. */
  streaming?: boolean;
  detail: string;
  error?: DbFailure;
}

export interface FenceOptions {
  /** Run the configured hard-fence command after the SQL fence (default true). */
  hard?: boolean;
}

export interface FenceResult {
  ok: boolean;
  /** The SQL fence (read-only on, other sessions ended) took effect. */
  sqlFenced: boolean;
  sessionsTerminated: number;
  /** Position read after the SQL fence and before any hard fence: what a target must reach. */
  position?: string;
  hardFence?: { ran: boolean; ok: boolean; exitCode?: number | null; detail: string };
  durationMs: number;
  error?: DbFailure;
}

export interface PromoteOptions {
  /** The epoch of this promotion; written to the heartbeat table (a newer epoch there wins). */
  epoch: number;
  /** Bound on the whole promotion (default 60s). */
  timeoutMs?: number;
  /**
   * The RPO bound, judged on the replica's lag read right before promoting (the engine's check is
   * on a probe up to an interval old): further behind, or lag unknown, and the database is left a
   * replica (failure `beyond-rpo`). Absent: promote whatever the lag (an operator's --force, a
   * switchover that waited for the replica to catch up).
   */
  maxLag?: LagBound;
}

export interface LagBound {
  seconds: number;
  bytes: number;
}

export interface PromoteResult {
  ok: boolean;
  /** The database was already a writable primary before this call (a repeated promotion). */
  alreadyPrimary: boolean;
  /** A real write to the heartbeat table succeeded with this epoch. */
  verified: boolean;
  /** Replication lag seen just before promoting (RPO evidence; null when unknown). */
  lagAtPromotion?: { seconds: number | null; bytes: number | null };
  position?: string;
  durationMs: number;
  error?: DbFailure;
}

export interface CatchUpResult {
  ok: boolean;
  /** Position the replica had applied when the wait ended. */
  position?: string;
  waitedMs: number;
  error?: DbFailure;
}

export interface UnfenceResult {
  ok: boolean;
  durationMs: number;
  error?: DbFailure;
}

export interface Promoter {
  readonly engine: DbEngine;
  /** host:port/database, for logs (never the credentials). */
  readonly label: string;
  status(): Promise<DbStatus>;
  /** Makes the database read-only and ends other client sessions; then the optional hard fence. */
  fence(opts?: FenceOptions): Promise<FenceResult>;
  /** Makes a replica a writable primary, then verifies with a heartbeat write. Idempotent. */
  promote(opts: PromoteOptions): Promise<PromoteResult>;
  /** Waits (bounded) until this replica has applied everything up to `target` (LSN / GTID set). */
  catchUp(target: string, timeoutMs: number): Promise<CatchUpResult>;
  /** Reverts a SQL fence: used only to abort a planned switchover before anything was promoted. */
  unfence(): Promise<UnfenceResult>;
}
