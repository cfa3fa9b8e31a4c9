import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * A manual failover while the old main is alive (a planned evacuation that cannot wait for a
 * switchover): the old primary is fenced in the sequence, the replica promoted, management
 * moves — and the fenced old main is not then mistaken for a split-brain.
 */
let pg: PgPair;
const world = new FailoverWorld();

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-manual' });
  // Slow database probes (every 4 s): the decision right after the promotion would still hold
  // r1's pre-fence "writable" result unless the daemon waits for a fresh one.
  const slow = { interval: '4s', timeout: '2s' } as unknown as Partial<
    Parameters<typeof pg.primary.config>[0]
  >;
  await world.start({
    db: { r1: pg.primary.config(slow), r2: pg.standby.config(slow) },
    rawDatabases: true,
    // Results of such a probe can be 4 s × 1.1 + 2 s apart: staleAfter must be longer (validate refuses less).
    policy: { staleAfter: '12s' },
  });
  await world.startDaemon();
});

afterAll(async () => {
  await world.close();
  await pg?.stop();
});

describe('manual failover with the old main alive', () => {
  it('fences r1, promotes r2, moves management, and raises no split-brain afterwards', async () => {
    await world.waitAllUp(30_000);
    await pg.primary.appQuery('CREATE TABLE orders (id int PRIMARY KEY)');
    await pg.primary.appQuery('INSERT INTO orders SELECT generate_series(1, 100)');
    await pgWaitReplayed(pg);

    const r = await cliAsync(['failover', '--to', 'r2', '--reason', 'e2e: manual failover', '--yes'], {
      env: world.env,
    });
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => world.weights(MANAGE)?.r2 === 100, 15_000, 'management on r2');
    expect(world.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
    await waitWritable(() => pg.standby.appQuery('INSERT INTO orders VALUES (101)'), 10_000, 'r2 writable');
    await expect(pg.primary.appQuery('INSERT INTO orders VALUES (102)')).rejects.toThrow(/read-only/);

    // Several decisions later: the fenced old main is read-only, not a split-brain to fence again.
    const fencesAfter = () =>
      world.state().journal.filter((e) => e.action === 'fence' && e.target === 'r1' && e.phase === 'intent')
        .length;
    // After the fence the daemon forgets r1's earlier samples; wait for the first probe that
    // sees r1 since (every 4 s here), then for one more decision on it.
    const apimOf = (doc: Awaited<ReturnType<typeof world.status>>) =>
      doc.regions.find((x) => x.id === 'r1')?.components.find((c) => c.name === 'database.apim');
    await waitFor(
      async () => apimOf(await world.status())?.writable !== undefined,
      15_000,
      'a fresh probe of r1',
    );
    await new Promise((res) => setTimeout(res, 1_500));
    const s = await world.status();
    expect(s.main).toBe('r2');
    expect(s.alerts.map((a) => a.kind)).not.toContain('split-brain');
    expect(fencesAfter()).toBe(0); // the sequence's fence journals only its outcome; no split-brain fence ran
    const r1 = s.regions.find((x) => x.id === 'r1');
    expect(apimOf(s)).toMatchObject({
      role: 'primary',
      writable: false,
    });
    expect(r1?.serving.auth).toBe(false); // its data no longer follows the main
    expect((await pg.standby.appQuery<{ n: string }>('SELECT count(*) AS n FROM orders'))[0]?.n).toBe('101');
  });
});
