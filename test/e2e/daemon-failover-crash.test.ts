import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, hasEvent, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';

/**
 * `kill -9` of the daemon itself in the middle of a failover: right after it logged (and
 * journalled) the promotion's intent, while it is fencing the old main. r1's hard fence is a
 * command that takes 8 s the first time it runs, which holds the daemon in that step long enough
 * to kill it there deterministically. The restarted daemon completes the promotion.
 */
let pg: PgPair;
const world = new FailoverWorld();
let marker = '';

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-crash' });
  marker = join(world.dir, 'hard-fence-ran');
  const slowOnce = 'if [ -e "$1" ]; then exit 0; fi; touch "$1"; sleep 8';
  await world.start({
    db: {
      r1: pg.primary.config({
        hardFence: { command: ['sh', '-c', slowOnce, 'sh', marker], timeout: '20s' as unknown as number },
      }),
      r2: pg.standby.config(),
    },
  });
  await world.startDaemon();
});

afterAll(async () => {
  await world.close();
  await pg?.stop();
});

describe('kill -9 of the daemon during a failover', () => {
  it('killed right after the promotion intent: the restarted daemon completes the promotion', async () => {
    await world.waitAllUp();
    await Promise.all([pg.primary.kill(), world.stopR1Endpoints()]);
    const first = world.daemon;
    if (!first) throw new Error('no daemon');
    await waitFor(
      () => hasEvent(first, (e) => e.event === 'action' && e.action === 'promote' && e.region === 'r2'),
      30_000,
      'the promotion intent in the daemon log',
      50,
    );
    // The SQL fence of the dead primary fails first; then the (slow) hard fence starts: kill there.
    await waitFor(() => existsSync(marker), 15_000, 'the hard fence of the old main running', 20);
    await first.stop('SIGKILL'); // kill -9: no shutdown handler runs
    expect(first.logs()).not.toContain('"event":"stopping"');

    // Killed between intent and promotion: intent on disk, no outcome, the standby untouched.
    expect(existsSync(marker)).toBe(true);
    const s = world.state();
    expect(s.engine.promotion).toMatchObject({ to: 'r2', from: 'r1', epoch: 1 });
    expect(s.engine.main).toBe('r1');
    const intent = s.journal.find((e) => e.action === 'promote' && e.phase === 'intent');
    expect(intent).toBeDefined();
    expect(s.journal.some((e) => e.id === intent?.id && e.phase !== 'intent')).toBe(false);
    const rec = await pg.standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec[0]?.r).toBe(true);
    expect(world.weights(MANAGE)).toEqual({ r1: 100, r2: 0 });

    await world.startDaemon();
    await waitFor(() => world.state().engine.main === 'r2', 30_000, 'the promotion completed after restart');
    const after = world.state();
    expect(after.engine).toMatchObject({ main: 'r2', epoch: 1 });
    expect(after.engine.promotion).toBeUndefined();
    expect(after.journal.find((e) => e.id === intent?.id && e.phase === 'abandoned')?.detail).toMatch(
      /resumes/,
    );
    expect(after.journal.some((e) => e.action === 'promote' && e.phase === 'done' && e.epoch === 1)).toBe(
      true,
    );
    await waitWritable(
      () => pg.standby.appQuery('CREATE TABLE IF NOT EXISTS after_crash (id int)'),
      10_000,
      'writes',
    );
    await waitFor(() => world.weights(MANAGE)?.r2 === 100, 10_000, 'management moved to r2');
    expect((await world.status()).main).toBe('r2');
  }, 80_000);
});
