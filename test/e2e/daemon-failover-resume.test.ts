import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';

/**
 * A daemon that crashed in the middle of the failover sequence, restarted on a state file that
 * holds the promotion's intent (new epoch, engine.promotion pending) and no outcome. Whatever
 * step the crash interrupted, the restarted daemon finishes the promotion and records it.
 */
let pg: PgPair | undefined;
let world: FailoverWorld | undefined;

afterEach(async () => {
  await world?.close();
  await pg?.stop();
  world = undefined;
  pg = undefined;
});

const CRASHED_INTENT = 'crashed-intent-0001';

/** Runs the daemon once for a real state file, then rewrites it as a crash after "intent" would leave it. */
async function crashedAfterIntent(name: string, standbyAlreadyPromoted: boolean): Promise<FailoverWorld> {
  pg = await startPgPair({ name });
  const w = new FailoverWorld();
  world = w;
  await w.start({ db: { r1: pg.primary.config(), r2: pg.standby.config() } });
  const first = await w.startDaemon();
  await w.waitAllUp();
  await waitFor(() => w.weights(MANAGE)?.r1 === 100, 5_000, 'initial DNS');
  expect(await first.stop('SIGTERM')).toBe(0);

  // The main region is gone while no daemon runs.
  await Promise.all([pg.primary.kill(), w.stopR1Endpoints()]);
  if (standbyAlreadyPromoted) {
    // The crash came after pg_promote and before the outcome was recorded.
    await pg.standby.query('SELECT pg_promote(true, 30)');
  }
  const s = w.state();
  const at = Date.now() - 2_000;
  s.engine.epoch = 1;
  s.engine.promotion = { to: 'r2', from: 'r1', epoch: 1, startedAt: at, force: false };
  s.journal.push({
    id: CRASHED_INTENT,
    epoch: 1,
    action: 'promote',
    target: 'r2',
    phase: 'intent',
    at,
    detail: 'r1: databases unreachable for 3s (promoteAfter 3s); promoting r2 (epoch 1)',
  });
  w.writeState(s);
  return w;
}

async function expectResumed(w: FailoverWorld, p: PgPair): Promise<void> {
  await w.startDaemon();
  await waitFor(() => w.state().engine.main === 'r2', 30_000, 'the resumed promotion to be recorded');
  const s = w.state();
  expect(s.engine).toMatchObject({ main: 'r2', epoch: 1 });
  expect(s.engine.promotion).toBeUndefined();
  // The interrupted intent is closed as "abandoned → resumes"; the resumed attempt has its own intent and outcome.
  const closed = s.journal.find((e) => e.id === CRASHED_INTENT && e.phase === 'abandoned');
  expect(closed?.detail).toMatch(/resumes/);
  const resumed = s.journal.find(
    (e) => e.phase === 'intent' && e.id !== CRASHED_INTENT && e.action === 'promote',
  );
  expect(resumed?.detail).toMatch(/^resume: /);
  expect(resumed?.epoch).toBe(1);
  expect(s.journal.some((e) => e.id === resumed?.id && e.phase === 'done')).toBe(true);

  await waitWritable(
    () => p.standby.appQuery('CREATE TABLE IF NOT EXISTS after_resume (id int)'),
    10_000,
    'writes on r2',
  );
  const hb = await p.standby.query<{ epoch: string }>(
    'SELECT epoch::text AS epoch FROM switchyard_heartbeat',
  );
  expect(hb[0]?.epoch).toBe('1');
  await waitFor(() => w.weights(MANAGE)?.r2 === 100, 10_000, 'management moved to r2');
  expect(w.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
  const st = await w.status();
  expect(st.main).toBe('r2');
  expect(st.epoch).toBe(1);
}

describe('a failover interrupted by a daemon crash', () => {
  it('crash after intent, standby still a replica: the restarted daemon resumes and promotes', async () => {
    const w = await crashedAfterIntent('e2e-resume-a', false);
    const p = pg as PgPair;
    const rec = await p.standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec[0]?.r).toBe(true);
    await expectResumed(w, p);
  }, 60_000);

  it('crash after pg_promote, before the outcome: promoting again is harmless, the outcome is recorded', async () => {
    const w = await crashedAfterIntent('e2e-resume-b', true);
    const p = pg as PgPair;
    const rec = await p.standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec[0]?.r).toBe(false);
    await expectResumed(w, p);
    expect(w.logs()).toMatch(/"alreadyPrimary":true/);
  }, 60_000);
});
