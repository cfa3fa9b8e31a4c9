import type mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../config/schema.js';
import { connectMy, password } from '../database/connect.js';
import { DbStepError } from '../database/failure.js';
import { readMyStatus } from '../database/mysql-read.js';
import type { MyFlavor, ReplicaStatus } from '../database/mysql-status.js';
import { systemClock } from '../util/clock.js';
import { type DbProbeOptions, probeTimeout, runDbProbe } from './db-probe-run.js';
import type { DatabaseProbeResult, Probe } from './types.js';

/** What the MySQL/MariaDB probe adds to the common database result. */
export interface MysqlProbeResult extends DatabaseProbeResult {
  flavor?: MyFlavor;
  readOnly?: boolean;
  superReadOnly?: boolean;
  /** The replica status, mapped from either engine's column names; null on a primary. */
  replica?: ReplicaStatus | null;
}

export const MY_PROBE_PROGRAM = 'switchyard-probe';

/**
 * MySQL 8 / MariaDB 10.11 probe: a fresh connection per run; engine detection (VERSION() and
 * @@version_comment), read_only / super_read_only, SHOW REPLICA STATUS mapped across both column
 * name sets, the GTID position. Never throws; never leaves a connection behind.
 */
export function createMysqlProbe(db: DatabaseConfig, opts: DbProbeOptions = {}): Probe<MysqlProbeResult> {
  const timeoutMs = probeTimeout(db, opts);
  const clock = opts.clock ?? systemClock;
  const stmt = Math.min(db.statementTimeout, timeoutMs);
  return {
    run(signal?: AbortSignal) {
      return runDbProbe<MysqlProbeResult>(
        db.engine,
        timeoutMs,
        clock,
        signal,
        () => password(db, opts.env),
        async (onCleanup) => {
          let conn: mysql.Connection | undefined;
          let closed = false;
          onCleanup(() => {
            closed = true;
            conn?.destroy();
          });
          conn = await connectMy(db, { env: opts.env, applicationName: MY_PROBE_PROGRAM });
          if (closed) {
            conn.destroy();
            throw new DbStepError('timeout', 'timeout');
          }
          try {
            return await readMyStatus(conn, stmt);
          } finally {
            // destroy(): no goodbye round trip to wait for; the server sees the socket close.
            conn.destroy();
          }
        },
      );
    },
    async close() {},
  };
}
