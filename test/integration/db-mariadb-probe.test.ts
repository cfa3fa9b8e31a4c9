import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlProbe, MY_PROBE_PROGRAM } from '../../src/probe/mysql.js';
import { type MyPair, myWaitReplicated, startMariaDbPair } from '../support/mariadb-cluster.js';
import { freePort, waitFor } from '../support/proc.js';

let pair: MyPair;

beforeAll(async () => {
  pair = await startMariaDbPair({ name: 'probe' });
  await pair.primary.appQuery('CREATE TABLE t (id int auto_increment primary key, pad text)');
  await myWaitReplicated(pair);
});
afterAll(async () => {
  await pair?.stop();
});

describe('MariaDB probe against a real primary and GTID replica', () => {
  it('detects MariaDB and reports the primary as writable with its GTID position', async () => {
    const r = await createMysqlProbe(pair.primary.config()).run();
    expect(r).toMatchObject({
      ok: true,
      engine: 'mariadb',
      flavor: 'mariadb',
      role: 'primary',
      writable: true,
    });
    expect(r.replica).toBeNull();
    expect(r.position).toMatch(/^0-1-\d+$/);
  });

  it('reports the replica as read-only, streaming, caught up, at the primary position', async () => {
    await myWaitReplicated(pair);
    const [p, r] = await Promise.all([
      createMysqlProbe(pair.primary.config()).run(),
      createMysqlProbe(pair.replica.config()).run(),
    ]);
    expect(r).toMatchObject({ ok: true, role: 'replica', writable: false, readOnly: true, streaming: true });
    expect(r.lagSeconds).toBe(0);
    expect(r.lagBytes).toBe(0);
    expect(r.position).toBe(p.position);
    expect(r.replica).toMatchObject({
      sourceHost: '127.0.0.1',
      sourcePort: pair.primary.port,
      ioRunning: 'Yes',
    });
  });

  it('shows unapplied relay log while the SQL thread is stopped', async () => {
    await pair.replica.query('STOP SLAVE SQL_THREAD');
    try {
      await pair.primary.appQuery("INSERT INTO t (pad) VALUES (REPEAT('x', 5000)), (REPEAT('y', 5000))");
      const r = await waitFor('relay log received but not applied', async () => {
        const s = await createMysqlProbe(pair.replica.config()).run();
        return (s.lagBytes ?? 0) > 5_000 ? s : undefined;
      });
      expect(r).toMatchObject({ ok: true, role: 'replica', streaming: true });
      expect(r.replica?.sqlRunning).toBe('No');
      // Seconds_Behind_Master is NULL while the SQL thread is stopped: unknown, not zero.
      expect(r.lagSeconds).toBeNull();
    } finally {
      await pair.replica.query('START SLAVE SQL_THREAD');
    }
    await myWaitReplicated(pair);
    const after = await createMysqlProbe(pair.replica.config()).run();
    expect(after).toMatchObject({ lagBytes: 0, lagSeconds: 0 });
  });

  it('never leaks a connection', async () => {
    const probes = [createMysqlProbe(pair.primary.config()), createMysqlProbe(pair.replica.config())];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => probes[i % 2]!.run()));
    expect(results.every((r) => r.ok)).toBe(true);
    for (const node of [pair.primary, pair.replica]) {
      await waitFor(
        `no probe sessions on ${node.name}`,
        async () => {
          const [row] = await node.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'switchyard'",
          );
          return Number(row?.n) === 0;
        },
        5_000,
      );
    }
    expect(MY_PROBE_PROGRAM).toBe('switchyard-probe');
  });

  it('fails fast with "refused" when nothing listens, and "auth" on a wrong user', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const dead = await createMysqlProbe(pair.primary.config({ port })).run();
    expect(dead).toMatchObject({ ok: false, error: 'refused', engine: 'mariadb' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    const denied = await createMysqlProbe(pair.primary.config({ user: 'nobody' })).run();
    expect(denied).toMatchObject({ ok: false, error: 'auth' });
    expect(JSON.stringify(denied)).not.toContain(pair.primary.password);
  });
});
