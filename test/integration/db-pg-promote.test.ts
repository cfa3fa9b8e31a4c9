import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabaseMetrics,
  createPromoter,
  promoteRegion,
  switchover,
} from '../../src/database/index.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';
import { startAll, waitFor } from '../support/proc.js';

// Three pairs, because promotion mutates them: fo (crash failover), sw (planned switchover),
// ab (a switchover that must abort), pz (promotion with replay paused).
let fo: PgPair;
let sw: PgPair;
let ab: PgPair;
let pz: PgPair;

beforeAll(async () => {
  [fo, sw, ab, pz] = await startAll([
    startPgPair({ name: 'fo' }),
    startPgPair({ name: 'sw' }),
    startPgPair({ name: 'ab' }),
    startPgPair({ name: 'pz' }),
  ]);
  for (const p of [fo, sw, ab, pz])
    await p.primary.appQuery('CREATE TABLE rows (id int primary key, v text)');
});
afterAll(async () => {
  await Promise.all([fo?.stop(), sw?.stop(), ab?.stop(), pz?.stop()]);
});

const count = async (q: (sql: string) => Promise<Array<{ n: number }>>) =>
  (await q('SELECT count(*)::int AS n FROM rows'))[0]?.n;

describe('PostgreSQL failover after kill -9 of the primary', () => {
  it('promotes the standby: writable, out of recovery, heartbeat written with the epoch', async () => {
    await fo.primary.appQuery("INSERT INTO rows SELECT g, 'x' FROM generate_series(1, 100) g");
    await pgWaitReplayed(fo);
    await fo.killPrimary();
    // The standby notices: its WAL receiver is no longer streaming.
    await waitFor('standby not streaming', async () => {
      const st = await createPromoter(fo.standby.config()).status();
      return st.role === 'replica' && st.streaming === false;
    });
    const registry = new Registry();
    const metrics = createDatabaseMetrics(registry);
    metrics.init('r2', 'apim');
    const r = await createPromoter(fo.standby.config()).promote({ epoch: 7 });
    metrics.recordPromotion('r2', 'apim', r);
    expect(r).toMatchObject({ ok: true, verified: true, alreadyPrimary: false });
    expect(r.lagAtPromotion).toBeDefined();
    const s = await createPromoter(fo.standby.config()).status();
    expect(s).toMatchObject({ reachable: true, role: 'primary', writable: true });
    await fo.standby.appQuery("INSERT INTO rows VALUES (101, 'after failover')");
    expect(await count((sql) => fo.standby.appQuery(sql))).toBe(101);
    const [hb] = await fo.standby.query<{ epoch: string }>(
      'SELECT epoch::text FROM switchyard_heartbeat WHERE id = 1',
    );
    expect(hb?.epoch).toBe('7');
    const text = await registry.metrics();
    expect(text).toContain(
      'switchyard_database_promotions_total{region="r2",database="apim",outcome="success"} 1',
    );
    expect(text).toContain(
      'switchyard_database_promotions_total{region="r2",database="apim",outcome="failure"} 0',
    );
    expect(text).toMatch(/switchyard_database_lag_at_promotion_seconds\{region="r2",database="apim"\} 0/);
  });

  it('promoting again is harmless, and an older epoch is refused by the heartbeat', async () => {
    const p = createPromoter(fo.standby.config());
    const again = await p.promote({ epoch: 7 });
    expect(again).toMatchObject({ ok: true, alreadyPrimary: true, verified: true });
    const stale = await p.promote({ epoch: 6 });
    expect(stale.ok).toBe(false);
    expect(stale.error).toMatchObject({ code: 'PROMOTION_FAILED', reason: 'stale-epoch' });
  });

  it('fencing the dead old primary is a typed failure unless a hard fence makes sure', async () => {
    const dead = fo.primary.config();
    const t0 = Date.now();
    const soft = await createPromoter(dead).fence();
    expect(soft).toMatchObject({
      ok: false,
      sqlFenced: false,
      error: { code: 'FENCE_FAILED', reason: 'refused' },
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
    const hardOk = await createPromoter({
      ...dead,
      hardFence: { command: ['true'], timeout: 2_000 },
    }).fence();
    expect(hardOk).toMatchObject({ ok: true, sqlFenced: false, hardFence: { ran: true, ok: true } });
    const hardBad = await createPromoter({
      ...dead,
      hardFence: { command: ['false'], timeout: 2_000 },
    }).fence();
    expect(hardBad).toMatchObject({ ok: false, error: { reason: 'hard-fence' } });
    const hardSlow = await createPromoter({
      ...dead,
      hardFence: { command: ['sleep', '10'], timeout: 200 },
    }).fence();
    expect(hardSlow).toMatchObject({ ok: false, error: { reason: 'hard-fence' } });
    expect(hardSlow.hardFence?.detail).toContain('timed out');
  });
});

describe('PostgreSQL promotion with replay paused', () => {
  it('applies every received WAL record before opening for writes, and reports the lag it had', async () => {
    await pgWaitReplayed(pz);
    await pz.standby.query('SELECT pg_wal_replay_pause()');
    await pz.primary.appQuery("INSERT INTO rows SELECT g, 'p' FROM generate_series(1, 1000) g");
    const p = createPromoter(pz.standby.config());
    // Wait until the commit itself was received (the harness runs with synchronous_commit=off:
    // killing the primary earlier would lose it, which is exactly async replication's RPO).
    const [mark] = await pz.primary.query<{ lsn: string }>(
      "SELECT pg_logical_emit_message(false, 'test', 'mark')::text AS lsn",
    );
    await waitFor('commit received, not replayed', async () => {
      const [r] = await pz.standby.query<{ ok: boolean }>(
        'SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), $1::pg_lsn) >= 0 AS ok',
        [mark?.lsn],
      );
      return r?.ok;
    });
    await pz.killPrimary();
    // The RPO bound, read right before pg_promote: beyond it the standby is left a standby.
    const refused = await p.promote({ epoch: 1, maxLag: { seconds: 3_600, bytes: 4_096 } });
    expect(refused).toMatchObject({ ok: false, verified: false, error: { reason: 'beyond-rpo' } });
    expect(refused.error?.message).toMatch(
      /bytes behind \(bound 4096\) right before promoting; left a replica/,
    );
    expect(refused.lagAtPromotion?.bytes).toBeGreaterThan(10_000);
    const [rec] = await pz.standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec?.r).toBe(true);
    // Without a bound (an operator's --force) it promotes, replaying what it received first.
    const r = await p.promote({ epoch: 1 });
    expect(r).toMatchObject({ ok: true, verified: true });
    expect(r.lagAtPromotion?.bytes).toBeGreaterThan(10_000);
    expect(await count((sql) => pz.standby.appQuery(sql))).toBe(1000);
  });
});

describe('PostgreSQL planned switchover', () => {
  it('loses no rows: N rows written up to the last moment are all on the new primary', async () => {
    const N = 2_000;
    // A session that is open (and could write) before the fence; the fence must end it.
    const stale = new pg.Client({ ...connFor(sw.primary) });
    stale.on('error', () => {});
    await stale.connect();
    for (let i = 0; i < N; i += 250)
      await sw.primary.appQuery(
        `INSERT INTO rows SELECT g, 'v' FROM generate_series(${i + 1}, ${i + 250}) g`,
      );
    // No wait for replay: catch-up must cover the async commits still in flight.
    const from = createPromoter(sw.primary.config());
    const to = createPromoter(sw.standby.config());
    const r = await switchover(from, to, { epoch: 2, catchUpTimeoutMs: 15_000 });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, stage: 'done', fence: { ok: true, sqlFenced: true } });
    expect(r.promote).toMatchObject({ ok: true, verified: true });
    expect(r.timings.totalMs).toBeGreaterThan(0);
    expect(r.fence?.sessionsTerminated).toBeGreaterThanOrEqual(1);
    expect(await count((sql) => sw.standby.appQuery(sql))).toBe(N);
    // The old primary is fenced: a new session cannot write, the old session was ended.
    await expect(sw.primary.appQuery("INSERT INTO rows VALUES (0, 'split brain')")).rejects.toThrow(
      /read-only/,
    );
    await expect(stale.query("INSERT INTO rows VALUES (-1, 'stale')")).rejects.toThrow();
    await stale.end().catch(() => {});
    expect(await createPromoter(sw.primary.config()).status()).toMatchObject({
      role: 'primary',
      writable: false,
    });
  });

  it('a region with one database failing to promote is partial, never done', async () => {
    const dead = fo.primary.config(); // killed in the failover test
    const result = await promoteRegion(
      new Map([
        ['apim', createPromoter(sw.standby.config())],
        ['shared', createPromoter(dead)],
      ]),
      3,
    );
    expect(result).toMatchObject({ ok: false, done: false, epoch: 3, succeeded: ['apim'] });
    expect(result.failed).toEqual([
      { key: 'shared', error: expect.objectContaining({ code: 'PROMOTION_FAILED', reason: 'refused' }) },
    ]);
    expect(result.results.apim).toMatchObject({ ok: true, alreadyPrimary: true, verified: true });
  });

  it('aborts before promoting when the target cannot catch up, and unfences the old primary', async () => {
    await ab.standby.query('SELECT pg_wal_replay_pause()');
    await ab.primary.appQuery("INSERT INTO rows VALUES (1, 'written while replay is paused')");
    const r = await switchover(createPromoter(ab.primary.config()), createPromoter(ab.standby.config()), {
      epoch: 2,
      catchUpTimeoutMs: 1_000,
    });
    expect(r).toMatchObject({
      ok: false,
      stage: 'catch-up',
      error: { code: 'CATCHUP_FAILED', reason: 'not-caught-up' },
    });
    expect(r.promote).toBeUndefined();
    expect(r.unfence).toMatchObject({ ok: true });
    await ab.primary.appQuery("INSERT INTO rows VALUES (2, 'writable again')");
    expect(await createPromoter(ab.standby.config()).status()).toMatchObject({ role: 'replica' });
    await ab.standby.query('SELECT pg_wal_replay_resume()');
  });

  it('fence() alone makes the primary refuse writes; unfence() reverts it', async () => {
    const p = createPromoter(ab.primary.config());
    const f = await p.fence();
    expect(f).toMatchObject({ ok: true, sqlFenced: true });
    expect(f.position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    await expect(ab.primary.appQuery("INSERT INTO rows VALUES (3, 'x')")).rejects.toThrow(/read-only/);
    expect((await p.unfence()).ok).toBe(true);
    await ab.primary.appQuery("INSERT INTO rows VALUES (3, 'x')");
  });
});

function connFor(node: PgPair['primary']): pg.ClientConfig {
  return {
    host: node.host,
    port: node.port,
    user: node.user,
    password: node.password,
    database: node.database,
  };
}
