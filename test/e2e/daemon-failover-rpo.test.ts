import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, MANAGE, waitWritable } from '../support/failover-world.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * The RPO guard end to end: with replay paused on the standby and writes piling up on the
 * primary, the lag goes over the bound; the primary then dies and no automatic promotion
 * happens (alert, main and management stay). An operator's `failover --force` goes ahead after
 * saying how much data may be lost.
 */
let pg: PgPair;
const world = new FailoverWorld();

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-rpo' });
  await world.start({
    db: { r1: pg.primary.config(), r2: pg.standby.config() },
    promotion: { promoteAfter: '2s', maxLagSeconds: 2, maxLagBytes: '64KiB' },
  });
  await world.startDaemon();
});

afterAll(async () => {
  await world.close();
  await pg?.stop();
});

const r2Db = async () =>
  (await world.status()).regions
    .find((r) => r.id === 'r2')
    ?.components.find((c) => c.name === 'database.apim');

describe('RPO guard', () => {
  it('lag over the bound: the dead primary is not replaced automatically; --force does it and names the loss', async () => {
    await world.waitAllUp();
    await pg.primary.appQuery('CREATE TABLE events (id serial PRIMARY KEY, payload text)');
    await pgWaitReplayed(pg);
    await pg.standby.query('SELECT pg_wal_replay_pause()');
    // ~1 MiB of WAL the standby receives but does not apply.
    await pg.primary.appQuery(
      "INSERT INTO events (payload) SELECT repeat('x', 1000) FROM generate_series(1, 1000)",
    );
    await waitFor(
      async () => {
        const db = await r2Db();
        return (db?.lagBytes ?? 0) > 64 * 1024 && (db?.lagSeconds ?? 0) > 2;
      },
      20_000,
      'the daemon to see the lag over the bound',
      200,
    );

    await Promise.all([pg.primary.kill(), world.stopR1Endpoints()]);
    await waitFor(
      async () => (await world.status()).alerts.some((a) => a.kind === 'promotion-blocked'),
      20_000,
      'promotion-blocked alert',
      200,
    );
    const blocked = await world.status();
    const alert = blocked.alerts.find((a) => a.kind === 'promotion-blocked');
    expect(alert?.message).toMatch(/RPO guard: .*r2 apim is .* behind/);
    expect(blocked.main).toBe('r1');
    expect(blocked.epoch).toBe(0);
    expect(blocked.promotion).toBeNull();
    expect(world.weights(MANAGE)).toEqual({ r1: 100, r2: 0 });
    // Still a replica: nothing was promoted behind the operator's back.
    const rec = await pg.standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec[0]?.r).toBe(true);

    // Without --force the CLI refuses (exit 5) and explains.
    const refused = await cliAsync(['failover', '--to', 'r2', '--reason', 'e2e', '--yes'], {
      env: world.env,
    });
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stdout).toMatch(
      /BLOCKED: operator failover to r2 refused by the RPO guard: .* use --force/,
    );
    expect(refused.stderr).toMatch(/RPO guard/);
    // The refusal still shows the lag and what --force would lose.
    expect(refused.stdout).toMatch(/replica lag: .*\(bound 2s \/ 64\.0 KiB\)/);
    expect(refused.stdout).toMatch(/only --force goes ahead, losing up to .* of data/);
    expect(refused.stdout).not.toMatch(/no database promotion needed/);

    const forced = await cliAsync(
      ['failover', '--to', 'r2', '--force', '--reason', 'e2e: accept the loss', '--yes'],
      { env: world.env },
    );
    expect(forced.code, `${forced.stdout}\n${forced.stderr}\n${world.logs()}`).toBe(0);
    expect(forced.stdout).toMatch(/FORCED/);
    expect(forced.stdout).toMatch(/WARNING: the lag is over the bound .* data — will be lost/);
    expect(forced.stdout).toMatch(/r2 is the main \(epoch 1\)/);

    await waitWritable(
      () => pg.standby.appQuery("INSERT INTO events (payload) VALUES ('after')"),
      15_000,
      'writes on r2',
    );
    await waitFor(() => world.weights(MANAGE)?.r2 === 100, 10_000, 'management moved to r2');
    const s = await world.status();
    expect(s.main).toBe('r2');
    expect(s.epoch).toBe(1);
    const journal = world.state().journal;
    expect(
      journal.some((e) => e.action === 'promote' && e.phase === 'intent' && /forced/.test(e.detail)),
    ).toBe(true);
    expect(journal.some((e) => e.action === 'promote' && e.phase === 'done' && e.target === 'r2')).toBe(true);
  }, 80_000);
});
