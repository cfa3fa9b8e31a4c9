import type mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../config/schema.js';
import { withDeadline } from '../util/clock.js';
import {
  beyondBound,
  clockOf,
  DEFAULT_PROMOTE_TIMEOUT_MS,
  finishFence,
  myIdent,
  type PromoterDeps,
  type SqlFenceOutcome,
  settlePromotion,
} from './common.js';
import { label as dbLabel, myRows, password, withMy } from './connect.js';
import { DbStepError, fail, toFailure } from './failure.js';
import { readFlavor, readMyStatus, showReplicaStatus } from './mysql-read.js';
import { type MyFlavor, mapReplicaStatus, sessionsToKill, sqlFor } from './mysql-status.js';
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
 * MySQL 8 / MariaDB 10.11 promoter (the engine is detected on every connection, not trusted
 * from config, since a MariaDB answering where MySQL was expected needs other statements).
 * - fence: read_only on (super_read_only on MySQL), end the other client sessions but keep
 *   the binlog dump threads so the replica can still catch up; position = the GTID set written.
 * - promote: never reset replication before the relay log is applied: stop the IO thread,
 *   wait (GTID) until the SQL thread applied everything the IO thread received, then stop,
 *   RESET … ALL, read_only off, and verify with a heartbeat upsert.
 */

export function createMysqlPromoter(db: DatabaseConfig, deps: PromoterDeps = {}): Promoter {
  const clock = clockOf(deps);
  const label = dbLabel(db);
  const stmt = db.statementTimeout;
  const secret = () => {
    try {
      return password(db, deps.env);
    } catch {
      return undefined;
    }
  };
  const open = <T>(fn: (c: mysql.Connection) => Promise<T>) =>
    withMy(db, { env: deps.env, applicationName: 'switchyard-promoter' }, fn);
  const run = (c: mysql.Connection, sql: string, values: unknown[] = [], timeoutMs = stmt) =>
    myRows<Record<string, unknown>>(c, sql, values, timeoutMs);

  async function readOnlyFlags(c: mysql.Connection, f: MyFlavor): Promise<{ ro: boolean; sro: boolean }> {
    const [r] = await run(
      c,
      f === 'mysql'
        ? 'SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.super_read_only AS sro'
        : 'SELECT @@GLOBAL.read_only AS ro, 0 AS sro',
    );
    return { ro: Number(r?.ro) === 1, sro: Number(r?.sro) === 1 };
  }

  async function killOthers(c: mysql.Connection): Promise<number> {
    const [own] = await run(c, 'SELECT CONNECTION_ID() AS id');
    const rows = await run(c, 'SELECT ID, USER, COMMAND FROM information_schema.PROCESSLIST');
    let n = 0;
    for (const id of sessionsToKill(rows, Number(own?.id))) {
      // The session may have ended meanwhile (ER_NO_SUCH_THREAD): nothing to do then.
      await run(c, `KILL CONNECTION ${id}`).then(
        () => n++,
        () => {},
      );
    }
    return n;
  }

  async function heartbeat(c: mysql.Connection, epoch: number): Promise<void> {
    const name = db.heartbeatTable.includes('.') ? db.heartbeatTable : `${db.database}.${db.heartbeatTable}`;
    const table = myIdent(name);
    await run(
      c,
      `CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY, epoch BIGINT NOT NULL, written_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
    );
    await run(
      c,
      `INSERT INTO ${table} (id, epoch, written_at) VALUES (1, ?, NOW(3))
       ON DUPLICATE KEY UPDATE epoch = GREATEST(epoch, VALUES(epoch)), written_at = VALUES(written_at)`,
      [epoch],
    );
    const [row] = await run(c, `SELECT epoch FROM ${table} WHERE id = 1`);
    if (Number(row?.epoch) > epoch)
      throw new DbStepError(
        'stale-epoch',
        `heartbeat holds epoch ${String(row?.epoch)}, newer than ${epoch}`,
      );
  }

  return {
    engine: db.engine,
    label,

    async status(): Promise<DbStatus> {
      try {
        return await open((c) => readMyStatus(c, stmt));
      } catch (e) {
        const error = toFailure('DATABASE_UNAVAILABLE', e, secret());
        return { engine: db.engine, reachable: false, detail: error.message, error };
      }
    },

    async fence(opts?: FenceOptions): Promise<FenceResult> {
      const t0 = clock.monotonic();
      const bound = db.connectTimeout + 4 * stmt;
      const sql = await withDeadline<SqlFenceOutcome>(
        clock,
        open(async (c): Promise<SqlFenceOutcome> => {
          const f = await readFlavor(c, stmt);
          const q = sqlFor(f);
          // SET GLOBAL read_only waits for open write transactions and table locks, so end the
          // other sessions first, then turn read-only on, then end whatever connected meanwhile.
          let killed = await killOthers(c);
          for (const s of q.readOnlyOn) await run(c, s);
          killed += await killOthers(c);
          const flags = await readOnlyFlags(c, f);
          const held = f === 'mysql' ? flags.sro : flags.ro;
          const [p] = await run(c, `SELECT ${q.primaryPositionVar} AS pos`);
          return {
            sqlFenced: held,
            sessionsTerminated: killed,
            position: String(p?.pos ?? '').replace(/\s+/g, ''),
            error: held ? undefined : fail('FENCE_FAILED', 'error', 'read_only did not turn on'),
          };
        }).catch((e: unknown) => ({
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
      const partial: Omit<PromoteResult, 'ok' | 'durationMs'> = { alreadyPrimary: false, verified: false };
      const work = () =>
        open(async (c): Promise<PromoteResult> => {
          const f = await readFlavor(c, stmt);
          const q = sqlFor(f);
          const before = await readMyStatus(c, stmt, f);
          if (before.replica) {
            partial.lagAtPromotion = { seconds: before.lagSeconds ?? null, bytes: before.lagBytes ?? null };
            const beyond = beyondBound(partial.lagAtPromotion, opts.maxLag);
            if (beyond) throw new DbStepError('beyond-rpo', beyond);
            const rep0 = before.replica;
            if (rep0.sqlRunning !== 'Yes') {
              if (rep0.lastSqlError)
                throw new DbStepError(
                  'replication-error',
                  `relay log cannot be applied (${rep0.lastSqlError}); replication left as is`,
                );
              // MariaDB in GTID mode discards the relay log when a thread starts with both
              // stopped: start the SQL thread while the IO thread still runs, or refuse.
              if (rep0.ioRunning === 'No')
                throw new DbStepError(
                  'replication-error',
                  'IO and SQL threads are both stopped: starting them could discard or refetch the relay log; ' +
                    'start replication (or promote by hand) first',
                );
              await run(c, f === 'mysql' ? 'START REPLICA SQL_THREAD' : 'START SLAVE SQL_THREAD');
            }
            // Stop receiving so "everything received" is a fixed target, then wait for it.
            await run(c, q.stopReplicaIo);
            const rep = mapReplicaStatus(await showReplicaStatus(c, f, stmt));
            if (rep?.lastSqlError)
              throw new DbStepError(
                'replication-error',
                `relay log cannot be applied (${rep.lastSqlError}); replication left as is`,
              );
            const received = rep?.retrievedGtid ?? '';
            if (received) {
              const waitS = Math.max(1, Math.floor(timeoutMs / 2000));
              const [w] = await run(c, q.gtidWait, [received, waitS], waitS * 1000 + stmt);
              if (!q.gtidWaitDone(w?.r))
                throw new DbStepError(
                  'not-caught-up',
                  `relay log not applied up to ${received} within ${waitS}s; replication left as is`,
                );
            }
            await run(c, q.stopReplica);
            await run(c, q.resetReplicaAll);
          }
          const flags = await readOnlyFlags(c, f);
          partial.alreadyPrimary = !before.replica && !flags.ro && !flags.sro;
          for (const s of q.readOnlyOff) await run(c, s);
          const after = await readOnlyFlags(c, f);
          if (after.ro || after.sro) throw new DbStepError('read-only', 'read_only is still on');
          // Our account may bypass read_only (SUPER / READ ONLY ADMIN): the flags are checked above,
          // the write below proves the table, the disk and the binlog accept it.
          await heartbeat(c, opts.epoch);
          partial.verified = true;
          const [p] = await run(c, `SELECT ${q.primaryPositionVar} AS pos`);
          partial.position = String(p?.pos ?? '').replace(/\s+/g, '');
          return { ...partial, ok: true, durationMs: Math.round(clock.monotonic() - t0) };
        });
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
      let position: string | undefined;
      try {
        return await open(async (c) => {
          const f = await readFlavor(c, stmt);
          const q = sqlFor(f);
          const seconds = Math.max(0.1, timeoutMs / 1000);
          const [w] = target ? await run(c, q.gtidWait, [target, seconds], timeoutMs + stmt) : [{ r: 0 }];
          const [p] = await run(
            c,
            `SELECT ${f === 'mysql' ? '@@GLOBAL.gtid_executed' : '@@GLOBAL.gtid_current_pos'} AS pos`,
          );
          position = String(p?.pos ?? '').replace(/\s+/g, '');
          if (!q.gtidWaitDone(w?.r))
            throw new DbStepError(
              'not-caught-up',
              `applied ${position}, short of ${target} after ${timeoutMs}ms`,
            );
          return { ok: true, position, waitedMs: waited() };
        });
      } catch (e) {
        return { ok: false, position, waitedMs: waited(), error: toFailure('CATCHUP_FAILED', e, secret()) };
      }
    },

    async unfence(): Promise<UnfenceResult> {
      const t0 = clock.monotonic();
      try {
        await open(async (c) => {
          const f = await readFlavor(c, stmt);
          for (const s of sqlFor(f).readOnlyOff) await run(c, s);
        });
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
