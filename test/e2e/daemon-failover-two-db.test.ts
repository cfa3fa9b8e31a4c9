import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, hasEvent, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * Two databases per region (WSO2's apim and shared), two real PostgreSQL pairs. The main region
 * dies; while the daemon is fencing it (a hard fence that takes a few seconds the first time),
 * r2's `shared` standby goes down too. apim is promoted, shared is not: the region is not the
 * main, management stays, the promotion stays pending, is counted as failed and retried; once
 * the server is back the retry completes and management moves.
 */
let apim: PgPair;
let shared: PgPair;
const world = new FailoverWorld();

beforeAll(async () => {
  apim = await startPgPair({ name: 'e2e-2db-apim' });
  shared = await startPgPair({ name: 'e2e-2db-shared' });
  const marker = join(world.dir, 'hard-fence-ran');
  const slowOnce = 'if [ -e "$1" ]; then exit 0; fi; touch "$1"; sleep 4';
  await world.start({
    db: { r1: apim.primary.config(), r2: apim.standby.config() },
    databases: {
      r1: {
        apim: apim.primary.config({
          hardFence: { command: ['sh', '-c', slowOnce, 'sh', marker], timeout: '20s' as unknown as number },
        }),
        shared: shared.primary.config(),
      },
      r2: { apim: apim.standby.config(), shared: shared.standby.config() },
    },
  });
  await world.startDaemon();
});

afterAll(async () => {
  await world.close();
  await apim?.stop();
  await shared?.stop();
});

describe('a region with two databases, one failing to promote', () => {
  it('stays pending and retried, management waits; completes when the server returns', async () => {
    await world.waitAllUp();
    await shared.primary.appQuery('CREATE TABLE users (id int)');
    await pgWaitReplayed(shared);
    await Promise.all([apim.primary.kill(), shared.primary.kill(), world.stopR1Endpoints()]);
    const d = world.daemon;
    if (!d) throw new Error('no daemon');
    await waitFor(
      () => hasEvent(d, (e) => e.event === 'action' && e.action === 'promote' && e.region === 'r2'),
      30_000,
      'the promotion intent',
      50,
    );
    await shared.standby.kill();

    await waitFor(
      () => hasEvent(d, (e) => e.event === 'action-outcome' && e.action === 'promote' && e.ok === false),
      30_000,
      'the failed promotion outcome',
      100,
    );
    // Partly promoted: apim writable, shared not; the region is not the main and management stays.
    await waitWritable(
      () => apim.standby.appQuery('CREATE TABLE IF NOT EXISTS t (id int)'),
      5_000,
      'apim writable',
    );
    const s = await world.status();
    expect(s.main).toBe('r1');
    expect(s.promotion).toMatchObject({ to: 'r2', epoch: 1 });
    expect(world.state().engine.main).toBe('r1');
    expect(world.weights(MANAGE)).toEqual({ r1: 100, r2: 0 });
    const failed = world.state().journal.find((e) => e.action === 'promote' && e.phase === 'failed');
    expect(failed?.detail).toMatch(/promotion incomplete: shared: .*; writable: apim; will retry/);
    const m = await world.metrics();
    expect(m).toMatch(
      /switchyard_database_promotions_total\{region="r2",database="shared",outcome="failure"\} [1-9]/,
    );
    expect(m).toMatch(
      /switchyard_database_promotions_total\{region="r2",database="apim",outcome="success"\} [1-9]/,
    );
    expect(m).toMatch(/switchyard_errors_total\{kind="PROMOTION_FAILED"\} [1-9]/);
    // What deploy/prometheus-alerts.yaml's SwitchyardPromotionStuck alerts on.
    expect(m).toMatch(/switchyard_promotion_pending 1/);

    await shared.standby.start();
    await waitFor(() => world.state().engine.main === 'r2', 45_000, 'the retried promotion to complete', 200);
    await waitFor(() => world.weights(MANAGE)?.r2 === 100, 10_000, 'management moved to r2');
    const j = world.state().journal;
    expect(j.filter((e) => e.action === 'promote' && e.phase === 'intent').length).toBeGreaterThanOrEqual(2);
    expect(
      j.some(
        (e) => e.action === 'promote' && e.phase === 'done' && /apim, shared|shared, apim/.test(e.detail),
      ),
    ).toBe(true);
    await shared.standby.appQuery('INSERT INTO users VALUES (1)');
    const after = await world.status();
    expect(after).toMatchObject({ main: 'r2', epoch: 1, promotion: null });
  }, 85_000);
});
