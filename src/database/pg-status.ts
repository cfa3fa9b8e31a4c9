import type pg from 'pg';
import { DbStepError } from './failure.js';
import type { DbStatus } from './types.js';

/**
 * One round trip that tells a PostgreSQL server's role, writability and replication state.
 * CASE guards keep primary-only / standby-only functions from erroring on the other role.
 */
export const PG_STATUS_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       current_setting('transaction_read_only') AS tx_read_only,
       current_setting('default_transaction_read_only') AS default_read_only,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text END AS receive_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
       CASE WHEN pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text END AS lag_bytes,
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_age,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status`;

export interface PgStatusRow {
  in_recovery: boolean;
  tx_read_only: string;
  default_read_only: string;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  lag_bytes: string | null;
  replay_age: number | null;
  replay_paused: boolean | null;
  receiver_status: string | null;
}

export interface PgStatus extends DbStatus {
  inRecovery?: boolean;
  receiveLsn?: string | null;
  replayLsn?: string | null;
  replayPaused?: boolean;
}

/**
 * Pure mapping of the status row. Lag, in the limits of what a standby can see by itself:
 * - lagBytes = received but not yet replayed WAL; WAL the primary wrote and never sent is
 *   invisible here (the primary's pg_stat_replication shows that, when the primary is up);
 * - lagSeconds = age of the last replayed transaction, or 0 when everything received is
 *   replayed (an idle, caught-up standby would otherwise show a growing "lag"); unknown when
 *   nothing was received since the server started (no WAL receiver yet, e.g. a standby restarted
 *   after its primary died): the age of its last transaction then only grows with the clock.
 */
export function mapPgStatus(row: PgStatusRow): PgStatus {
  if (!row.in_recovery) {
    const writable = row.tx_read_only === 'off' && row.default_read_only === 'off';
    return {
      engine: 'postgres',
      reachable: true,
      role: 'primary',
      inRecovery: false,
      writable,
      position: row.current_lsn ?? undefined,
      detail: `primary${writable ? ', writable' : ', read-only'} at ${row.current_lsn}`,
    };
  }
  const lagBytes = row.lag_bytes === null ? null : Math.max(0, Number(row.lag_bytes));
  // Everything received is replayed. (After a restart the receive position is the start of the
  // segment streaming would resume from, behind the replay position: that is caught up too.)
  const caughtUp = row.receive_lsn !== null && lagBytes === 0;
  const lagSeconds =
    row.receive_lsn === null
      ? null
      : caughtUp
        ? 0
        : row.replay_age === null
          ? null
          : Math.max(0, row.replay_age);
  const streaming = row.receiver_status === 'streaming';
  const paused = row.replay_paused === true;
  return {
    engine: 'postgres',
    reachable: true,
    role: 'replica',
    inRecovery: true,
    writable: false,
    position: row.replay_lsn ?? undefined,
    receiveLsn: row.receive_lsn,
    replayLsn: row.replay_lsn,
    replayPaused: paused,
    lagBytes,
    lagSeconds,
    streaming,
    detail:
      `replica ${streaming ? 'streaming' : `not streaming (${row.receiver_status ?? 'no WAL receiver'})`}` +
      `${paused ? ', replay paused' : ''}, lag ${lagSeconds === null ? '?' : lagSeconds.toFixed(1)}s/${lagBytes ?? '?'}B`,
  };
}

export async function readPgStatus(c: pg.Client): Promise<PgStatus> {
  const r = await c.query<PgStatusRow>(PG_STATUS_SQL);
  const row = r.rows[0];
  if (!row) throw new DbStepError('error', 'status query returned no row');
  return mapPgStatus(row);
}
