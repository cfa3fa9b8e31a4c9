import type pg from 'pg';
import type { DatabaseConfig } from '../config/schema.js';
import { sleep, withDeadline } from '../util/clock.js';
import {
  beyondBound,
  clockOf,
  DEFAULT_PROMOTE_TIMEOUT_MS,
  finishFence,
  type PromoterDeps,
  pgIdent,
  type SqlFenceOutcome,
  settlePromotion,
} from './common.js';
import { label as dbLabel, password, withPg } from './connect.js';
import { DbStepError, fail, toFailure } from './failure.js';
import { readPgStatus } from './pg-status.js';
import type {
  CatchUpResult,
  DbStatus,
  FenceOptions,
  FenceResult,
  PromoteOptions,
  PromoteResult,
  Promoter,
  UnfenceResult,
} from './types.js';

/**
 * PostgreSQL promoter.
 * - fence: ALTER SYSTEM SET default_transaction_read_only = on + reload, then terminate the
 *   other client backends (walsenders are kept, so the standby can still catch up), then a WAL
 *   message whose end LSN is the position a target must replay (comparable with replay LSNs,
 *   unlike pg_current_wal_lsn() which can trail async commits still in WAL buffers).
 * - promote: pg_promote(wait => true), confirm not in recovery, ALTER SYSTEM RESET the read-only
 *   default, then prove writability with a heartbeat upsert from a new session.
 */

export const PG_PROMOTER_APPLICATION = 'switchyard-promoter';

export function createPostgresPromoter(db: DatabaseConfig, deps: PromoterDeps = {}): Promoter {
  const clock = clockOf(deps);
  const label = dbLabel(db);
  const pollMs = deps.pollMs ?? 100;
  const secret = () => {
    try {
      return password(db, deps.env);
    } catch {
      return undefined;
    }
  };
  const conn = (statementTimeoutMs?: number) => ({
    env: deps.env,
    applicationName: PG_PROMOTER_APPLICATION,
    statementTimeoutMs,
  });

  async function one<T extends pg.QueryResultRow>(c: pg.Client, sql: string, params?: unknown[]): Promise<T> {
    const r = await c.query<T>(sql, params);
    const row = r.rows[0];
    if (!row) throw new DbStepError('error', `no row from: ${sql.slice(0, 40)}`);
    return row;
  }

  /** Polls (bounded) a fresh session until the read-only default is off: reload is asynchronous. */
  async function waitReadOnlyDefault(want: 'on' | 'off', untilMs: number): Promise<boolean> {
    for (;;) {
      const v = await withPg(db, conn(), (c) =>
        one<{ v: string }>(c, "SELECT current_setting('default_transaction_read_only') AS v"),
      );
      if (v.v === want) return true;
      if (clock.monotonic() > untilMs) return false;
      await sleep(clock, pollMs);
    }
  }

  async function heartbeat(epoch: number): Promise<string> {
    const table = pgIdent(db.heartbeatTable);
    return withPg(db, conn(), async (c) => {
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY, epoch bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now())`,
      );
      // A newer epoch already written here means a later promotion owns this database.
      const row = await one<{ epoch: string; lsn: string }>(
        c,
        `INSERT INTO ${table} AS h (id, epoch, written_at) VALUES (1, $1, now())
         ON CONFLICT (id) DO UPDATE SET epoch = GREATEST(h.epoch, EXCLUDED.epoch), written_at = now()
         RETURNING epoch::text AS epoch, pg_current_wal_lsn()::text AS lsn`,
        [epoch],
      );
      if (Number(row.epoch) > epoch)
        throw new DbStepError('stale-epoch', `heartbeat holds epoch ${row.epoch}, newer than ${epoch}`);
      return row.lsn;
    });
  }

  return {
    engine: 'postgres',
    label,

    async status(): Promise<DbStatus> {
      try {
        return await withPg(db, conn(), readPgStatus);
      } catch (e) {
        const error = toFailure('DATABASE_UNAVAILABLE', e, secret());
        return { engine: 'postgres', reachable: false, detail: error.message, error };
      }
    },

    async fence(opts?: FenceOptions): Promise<FenceResult> {
      const t0 = clock.monotonic();
      const bound = db.connectTimeout + 3 * db.statementTimeout;
      const sql = await withDeadline<SqlFenceOutcome>(
        clock,
        withPg(db, conn(), async (c): Promise<SqlFenceOutcome> => {
          const inRecovery = (await one<{ r: boolean }>(c, 'SELECT pg_is_in_recovery() AS r')).r;
          await c.query('ALTER SYSTEM SET default_transaction_read_only = on');
          await c.query('SELECT pg_reload_conf()');
          // Sessions opened before the reload may be inside a write transaction: end them.
          const killed = await one<{ n: number }>(
            c,
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          );
          const position = inRecovery
            ? (await one<{ lsn: string }>(c, 'SELECT pg_last_wal_replay_lsn()::text AS lsn')).lsn
            : (
                await one<{ lsn: string }>(
                  c,
                  "SELECT pg_logical_emit_message(false, 'switchyard', 'fence')::text AS lsn",
                )
              ).lsn;
          return { sqlFenced: false, sessionsTerminated: killed.n, position };
        })
          .then(async (o) => {
            const held = await waitReadOnlyDefault('on', clock.monotonic() + db.statementTimeout);
            return held
              ? { ...o, sqlFenced: true }
              : {
                  ...o,
                  error: fail(
                    'FENCE_FAILED',
                    'error',
                    'default_transaction_read_only did not turn on after reload',
                  ),
                };
          })
          .catch((e: unknown) => ({
            sqlFenced: false,
            sessionsTerminated: 0,
            error: toFailure('FENCE_FAILED', e, secret()),
          })),
        bound,
        () => ({
          sqlFenced: false,
          sessionsTerminated: 0,
          error: fail('FENCE_FAILED', 'timeout', `SQL fence did not finish within ${bound}ms`),
        }),
      );
      return finishFence(db, deps, opts, sql, t0);
    },

    async promote(opts: PromoteOptions): Promise<PromoteResult> {
      const t0 = clock.monotonic();
      const timeoutMs = opts.timeoutMs ?? deps.promoteTimeoutMs ?? DEFAULT_PROMOTE_TIMEOUT_MS;
      const until = clock.monotonic() + timeoutMs;
      const partial: Omit<PromoteResult, 'ok' | 'durationMs'> = { alreadyPrimary: false, verified: false };
      const work = async (): Promise<PromoteResult> => {
        const waitSeconds = Math.max(1, Math.floor(timeoutMs / 1000));
        await withPg(db, conn(timeoutMs), async (c) => {
          const s = await readPgStatus(c);
          if (s.role === 'replica') {
            partial.lagAtPromotion = { seconds: s.lagSeconds ?? null, bytes: s.lagBytes ?? null };
            const beyond = beyondBound(partial.lagAtPromotion, opts.maxLag);
            if (beyond) throw new DbStepError('beyond-rpo', beyond);
            const r = await one<{ ok: boolean }>(c, 'SELECT pg_promote(true, $1) AS ok', [waitSeconds]);
            if (!r.ok)
              throw new DbStepError('still-replica', `pg_promote did not finish within ${waitSeconds}s`);
          } else {
            partial.alreadyPrimary = s.writable === true;
          }
          for (;;) {
            if (!(await one<{ r: boolean }>(c, 'SELECT pg_is_in_recovery() AS r')).r) break;
            if (clock.monotonic() > until)
              throw new DbStepError('still-replica', 'still in recovery after pg_promote');
            await sleep(clock, pollMs);
          }
          // Clears a fence left by an earlier life as the old primary (or by fence()).
          await c.query('ALTER SYSTEM RESET default_transaction_read_only');
          await c.query('SELECT pg_reload_conf()');
        });
        if (!(await waitReadOnlyDefault('off', until)))
          throw new DbStepError(
            'read-only',
            'default_transaction_read_only is still on (set outside postgresql.auto.conf?)',
          );
        partial.position = await heartbeat(opts.epoch);
        partial.verified = true;
        return { ...partial, ok: true, durationMs: Math.round(clock.monotonic() - t0) };
      };
      return settlePromotion(work, {
        partial,
        startedAt: t0,
        timeoutMs,
        deadlineMs: timeoutMs + db.connectTimeout,
        secret: secret(),
        logger: deps.logger,
        label,
        epoch: opts.epoch,
        clock,
      });
    },

    async catchUp(target: string, timeoutMs: number): Promise<CatchUpResult> {
      const t0 = clock.monotonic();
      const waited = () => Math.round(clock.monotonic() - t0);
      const until = clock.monotonic() + timeoutMs;
      let position: string | undefined;
      try {
        return await withPg(db, conn(), async (c) => {
          for (;;) {
            const r = await one<{ rec: boolean; lsn: string; done: boolean; paused: boolean | null }>(
              c,
              `SELECT pg_is_in_recovery() AS rec,
                      (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
                      pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                           ELSE pg_current_wal_lsn() END, $1::pg_lsn) >= 0 AS done,
                      CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused`,
              [target],
            );
            position = r.lsn;
            if (r.done) return { ok: true, position, waitedMs: waited() };
            if (r.paused)
              throw new DbStepError('not-caught-up', `replay is paused at ${r.lsn}, short of ${target}`);
            if (!r.rec)
              throw new DbStepError('not-caught-up', `already a primary at ${r.lsn}, short of ${target}`);
            if (clock.monotonic() > until)
              throw new DbStepError(
                'not-caught-up',
                `replayed ${r.lsn}, short of ${target} after ${timeoutMs}ms`,
              );
            await sleep(clock, pollMs);
          }
        });
      } catch (e) {
        return { ok: false, position, waitedMs: waited(), error: toFailure('CATCHUP_FAILED', e, secret()) };
      }
    },

    async unfence(): Promise<UnfenceResult> {
      const t0 = clock.monotonic();
      try {
        await withPg(db, conn(), async (c) => {
          await c.query('ALTER SYSTEM RESET default_transaction_read_only');
          await c.query('SELECT pg_reload_conf()');
        });
        if (!(await waitReadOnlyDefault('off', clock.monotonic() + db.statementTimeout)))
          throw new DbStepError('read-only', 'default_transaction_read_only is still on');
        return { ok: true, durationMs: Math.round(clock.monotonic() - t0) };
      } catch (e) {
        return {
          ok: false,
          durationMs: Math.round(clock.monotonic() - t0),
          error: toFailure('FENCE_FAILED', e, secret()),
        };
      }
    },
  };
}
