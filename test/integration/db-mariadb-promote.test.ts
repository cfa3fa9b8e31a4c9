import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromoter, promoteRegion, switchover } from '../../src/database/index.js';
import {
  MY_APP_PASSWORD,
  MY_APP_USER,
  type MyPair,
  myWaitReplicated,
  startMariaDbPair,
} from '../support/mariadb-cluster.js';
import { startAll, waitFor } from '../support/proc.js';

// Three pairs, because promotion mutates them: fo (crash failover), sw (planned switchover),
// ab (abort, then relay-log safety), st (replication stopped by hand).
let fo: MyPair;
let sw: MyPair;
let ab: MyPair;
let st: MyPair;

beforeAll(async () => {
  [fo, sw, ab, st] = await startAll([
    startMariaDbPair({ name: 'fo' }),
    startMariaDbPair({ name: 'sw' }),
    startMariaDbPair({ name: 'ab' }),
    startMariaDbPair({ name: 'st' }),
  ]);
  for (const p of [fo, sw, ab, st]) {
    await p.primary.appQuery('CREATE TABLE rows_t (id int primary key, v text)');
    await myWaitReplicated(p);
  }
});
afterAll(async () => {
  await Promise.all([fo?.stop(), sw?.stop(), ab?.stop(), st?.stop()]);
});

const count = async (node: MyPair['primary']) =>
  Number((await node.appQuery<{ n: number }>('SELECT COUNT(*) AS n FROM rows_t'))[0]?.n);

const insertRange = (node: MyPair['primary'], from: number, to: number) => {
  const values = Array.from({ length: to - from + 1 }, (_, i) => `(${from + i}, 'v')`).join(',');
  return node.appQuery(`INSERT INTO rows_t VALUES ${values}`);
};

describe('MariaDB failover after kill -9 of the primary', () => {
  it('promotes the replica: replication reset, read_only off, heartbeat written', async () => {
    await insertRange(fo.primary, 1, 100);
    await myWaitReplicated(fo);
    await fo.killPrimary();
    const r = await createPromoter(fo.replica.config()).promote({ epoch: 7 });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, verified: true, alreadyPrimary: false });
    expect(r.lagAtPromotion).toBeDefined();
    const s = await createPromoter(fo.replica.config()).status();
    expect(s).toMatchObject({ reachable: true, role: 'primary', writable: true, engine: 'mariadb' });
    expect(await fo.replica.query('SHOW SLAVE STATUS')).toEqual([]);
    await fo.replica.appQuery("INSERT INTO rows_t VALUES (101, 'after failover')");
    expect(await count(fo.replica)).toBe(101);
    const [hb] = await fo.replica.query<{ epoch: number }>(
      'SELECT epoch FROM app.switchyard_heartbeat WHERE id = 1',
    );
    expect(Number(hb?.epoch)).toBe(7);
  });

  it('promoting again is harmless, and an older epoch is refused', async () => {
    const p = createPromoter(fo.replica.config());
    expect(await p.promote({ epoch: 7 })).toMatchObject({ ok: true, alreadyPrimary: true, verified: true });
    const stale = await p.promote({ epoch: 6 });
    expect(stale).toMatchObject({ ok: false, error: { code: 'PROMOTION_FAILED', reason: 'stale-epoch' } });
  });

  it('fencing the dead old primary returns a typed failure quickly', async () => {
    const t0 = Date.now();
    const f = await createPromoter(fo.primary.config()).fence();
    expect(f).toMatchObject({
      ok: false,
      sqlFenced: false,
      error: { code: 'FENCE_FAILED', reason: 'refused' },
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});

describe('MariaDB planned switchover', () => {
  it('loses no rows, and the fenced old primary refuses application writes', async () => {
    const N = 2_000;
    const stale = await mysql.createConnection({
      host: sw.primary.host,
      port: sw.primary.port,
      user: MY_APP_USER,
      password: MY_APP_PASSWORD,
      database: 'app',
    });
    stale.on('error', () => {});
    for (let i = 0; i < N; i += 250) await insertRange(sw.primary, i + 1, i + 250);
    const r = await switchover(createPromoter(sw.primary.config()), createPromoter(sw.replica.config()), {
      epoch: 2,
      catchUpTimeoutMs: 15_000,
    });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, stage: 'done', fence: { ok: true, sqlFenced: true } });
    expect(r.position).toMatch(/^0-1-\d+$/);
    expect(r.fence?.sessionsTerminated).toBeGreaterThanOrEqual(1);
    expect(await count(sw.replica)).toBe(N);
    await expect(sw.primary.appQuery("INSERT INTO rows_t VALUES (0, 'split brain')")).rejects.toThrow(
      /read-only/,
    );
    await expect(stale.query("INSERT INTO rows_t VALUES (-1, 'stale')")).rejects.toThrow();
    stale.destroy();
    expect(await createPromoter(sw.primary.config()).status()).toMatchObject({
      role: 'primary',
      writable: false,
    });
    expect(await createPromoter(sw.replica.config()).status()).toMatchObject({
      role: 'primary',
      writable: true,
    });
  });

  it('a region with one database failing to promote is partial, never done', async () => {
    const result = await promoteRegion(
      new Map([
        ['apim', createPromoter(sw.replica.config())],
        ['shared', createPromoter(fo.primary.config())],
      ]),
      3,
    );
    expect(result).toMatchObject({ ok: false, done: false, succeeded: ['apim'] });
    expect(result.failed.map((f) => [f.key, f.error.reason])).toEqual([['shared', 'refused']]);
  });
});

describe('MariaDB relay-log safety', () => {
  it('aborts a switchover whose target cannot apply, and unfences the old primary', async () => {
    await ab.replica.query('STOP SLAVE SQL_THREAD');
    await insertRange(ab.primary, 1, 10);
    const r = await switchover(createPromoter(ab.primary.config()), createPromoter(ab.replica.config()), {
      epoch: 2,
      catchUpTimeoutMs: 1_000,
    });
    expect(r).toMatchObject({
      ok: false,
      stage: 'catch-up',
      error: { code: 'CATCHUP_FAILED', reason: 'not-caught-up' },
    });
    expect(r.unfence).toMatchObject({ ok: true });
    await insertRange(ab.primary, 11, 20);
  });

  it('promotes only after the received relay log is applied (no reset before apply)', async () => {
    // SQL thread still stopped: rows 1–20 are in the replica's relay log, not in its tables.
    const p = createPromoter(ab.replica.config());
    const [pos] = await ab.primary.query<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
    await waitFor('relay log received', async () => {
      const s = (await p.status()) as {
        replica?: { retrievedGtid: string } | null;
        lagBytes?: number | null;
      };
      return s.replica?.retrievedGtid === pos?.pos && (s.lagBytes ?? 0) > 0;
    });
    expect(await count(ab.replica)).toBe(0);
    await ab.killPrimary();
    // The RPO bound, read right before promoting: unapplied relay log is lag; left a replica.
    const refused = await p.promote({ epoch: 5, maxLag: { seconds: 3_600, bytes: 1 } });
    expect(refused).toMatchObject({ ok: false, verified: false, error: { reason: 'beyond-rpo' } });
    expect(refused.error?.message).toMatch(/bytes behind \(bound 1\) right before promoting; left a replica/);
    expect(await p.status()).toMatchObject({ role: 'replica', writable: false });
    expect(await count(ab.replica)).toBe(0);
    const r = await p.promote({ epoch: 5 });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, verified: true });
    expect(await count(ab.replica)).toBe(20);
  });

  it('refuses to promote when both replication threads were stopped (a restart could drop the relay log)', async () => {
    await st.replica.query('STOP SLAVE');
    const r = await createPromoter(st.replica.config()).promote({ epoch: 2 });
    expect(r).toMatchObject({
      ok: false,
      verified: false,
      error: { code: 'PROMOTION_FAILED', reason: 'replication-error' },
    });
    // Nothing was reset: the replica still knows its source and is still read-only.
    expect(await createPromoter(st.replica.config()).status()).toMatchObject({
      role: 'replica',
      writable: false,
    });
  });
});
