import type pg from 'pg';
import type { DatabaseConfig } from '../config/schema.js';
import { connectPg, password } from '../database/connect.js';
import { DbStepError } from '../database/failure.js';
import { type PgStatus, readPgStatus } from '../database/pg-status.js';
import { systemClock } from '../util/clock.js';
import { type DbProbeOptions, probeTimeout, runDbProbe } from './db-probe-run.js';
import type { DatabaseProbeResult, Probe } from './types.js';

/** What the PostgreSQL probe adds to the common database result. */
export interface PostgresProbeResult extends DatabaseProbeResult {
  inRecovery?: boolean;
  receiveLsn?: string | null;
  replayLsn?: string | null;
  replayPaused?: boolean;
}

export const PG_PROBE_APPLICATION = 'switchyard-probe';

/**
 * PostgreSQL probe: a fresh connection per run (connect timeout, statement_timeout), one status
 * query, then the connection is closed — never pooled, so a probe can never leak or reuse a
 * session to a server that failed over. Failures are results (refused, timeout, auth, …).
 */
export function createPostgresProbe(
  db: DatabaseConfig,
  opts: DbProbeOptions = {},
): Probe<PostgresProbeResult> {
  const timeoutMs = probeTimeout(db, opts);
  const clock = opts.clock ?? systemClock;
  return {
    run(signal?: AbortSignal) {
      return runDbProbe<PostgresProbeResult>(
        'postgres',
        timeoutMs,
        clock,
        signal,
        () => password(db, opts.env),
        async (onCleanup) => {
          let client: pg.Client | undefined;
          let closed = false;
          onCleanup(() => {
            closed = true;
            client?.end().catch(() => {});
          });
          client = await connectPg(db, {
            env: opts.env,
            applicationName: PG_PROBE_APPLICATION,
            statementTimeoutMs: Math.min(db.statementTimeout, timeoutMs),
          });
          if (closed) {
            await client.end().catch(() => {});
            throw new DbStepError('timeout', 'timeout');
          }
          try {
            const s: PgStatus = await readPgStatus(client);
            return s;
          } finally {
            await client.end().catch(() => {});
          }
        },
      );
    },
    async close() {},
  };
}
