import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemon-process.js';
import { API_R1, AUTH_R1, FailoverWorld, hasEvent, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * The failover the product exists for, end to end: the daemon (child process, real CLI) probes a
 * real PostgreSQL pair and local HTTP endpoints; `kill -9` of the primary plus r1's endpoints
 * going dark → after promoteAfter the standby is promoted, verified and takes writes, and
 * management moves to r2 in DNS only then.
 */
const PROMOTE_AFTER_MS = 3_000;
let pg: PgPair;
const world = new FailoverWorld();

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-failover' });
  await world.start({ db: { r1: pg.primary.config(), r2: pg.standby.config() } });
  await world.startDaemon();
});

afterAll(async () => {
  await world.close();
  await pg?.stop();
});

describe('automatic failover of the main region', () => {
  it('kill -9 of the primary and r1 dark: r2 promoted after promoteAfter, takes writes, management follows', async () => {
    await world.waitAllUp();
    await pg.primary.appQuery('CREATE TABLE orders (id serial PRIMARY KEY, note text)');
    await pg.primary.appQuery("INSERT INTO orders (note) VALUES ('before')");
    await pgWaitReplayed(pg);
    expect(world.weights(MANAGE)).toEqual({ r1: 100, r2: 0 });

    const killedAt = Date.now();
    await Promise.all([pg.primary.kill(), world.stopR1Endpoints()]);

    // The standby takes application writes once promoted (and not a moment before: it is a replica).
    const writableAt = await waitWritable(
      () => pg.standby.appQuery("INSERT INTO orders (note) VALUES ('after')"),
      40_000,
      'the standby to take writes',
    );
    await waitFor(() => world.weights(MANAGE)?.r2 === 100, 10_000, 'management moved to r2');
    const movedAt = Date.now();
    const recoveryMs = Math.max(writableAt, movedAt) - killedAt;

    // Not before promoteAfter (plus detection), and bounded: detection (fall 3 × 1s) + promoteAfter + promotion.
    expect(writableAt - killedAt).toBeGreaterThanOrEqual(PROMOTE_AFTER_MS);
    expect(recoveryMs, world.logs()).toBeLessThan(20_000);

    const s = await world.status();
    expect(s.main).toBe('r2');
    expect(s.epoch).toBe(1);
    expect(s.promotion).toBeNull();
    expect(world.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
    expect(world.weights(AUTH_R1)).toEqual({ r1: 0, r2: 100 });
    expect(world.weights(API_R1)).toMatchObject({ r1: 0, r2: 100 });

    // Every row written before the crash (and replayed) is on the new primary.
    const rows = await pg.standby.appQuery<{ note: string }>('SELECT note FROM orders ORDER BY id');
    expect(rows.map((r) => r.note)).toEqual(['before', 'after']);
    const hb = await pg.standby.query<{ epoch: string }>(
      'SELECT epoch::text AS epoch FROM switchyard_heartbeat',
    );
    expect(hb[0]?.epoch).toBe('1');

    // The journal: intent then done for the promotion, under epoch 1; the dead old main not fenced.
    const journal = world.state().journal;
    const intent = journal.find((e) => e.action === 'promote' && e.phase === 'intent' && e.target === 'r2');
    expect(intent?.epoch).toBe(1);
    expect(journal.find((e) => e.id === intent?.id && e.phase === 'done')).toBeDefined();
    expect(journal.some((e) => e.action === 'fence' && e.target === 'r1' && e.phase === 'failed')).toBe(true);
    expect(world.state().engine).toMatchObject({ main: 'r2', epoch: 1 });
    expect(world.state().engine.promotion).toBeUndefined();

    // Management moved only after the promotion was verified (its DNS offer comes after the outcome).
    const d = world.daemon;
    if (!d) throw new Error('no daemon');
    expect(hasEvent(d, (e) => e.event === 'action-outcome' && e.action === 'promote' && e.ok === true)).toBe(
      true,
    );
    const metrics = await world.metrics();
    expect(metrics).toMatch(
      /switchyard_database_promotions_total\{region="r2",database="apim",outcome="success"\} 1/,
    );
    expect(metrics).toMatch(/switchyard_main_region\{region="r2"\} 1/);
    console.log(
      `e2e failover: kill -9 → writable ${writableAt - killedAt}ms, management moved ${movedAt - killedAt}ms`,
    );
  }, 80_000);
});
