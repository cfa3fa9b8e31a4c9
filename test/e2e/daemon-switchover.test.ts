import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwitchoverResult } from '../../src/server/admin.js';
import { cliAsync } from '../support/cli.js';
import { waitFor } from '../support/daemon-process.js';
import { FailoverWorld, MANAGE } from '../support/failover-world.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * Planned switchover through the real CLI and the daemon, on a real PostgreSQL pair: a catch-up
 * that cannot finish aborts and leaves r1 the writable main; then a real switchover moves every
 * row, the main role and management to r2 and leaves r1 read-only.
 */
const N = 500;
let pg: PgPair;
const world = new FailoverWorld();

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-switchover' });
  await world.start({
    db: { r1: pg.primary.config(), r2: pg.standby.config() },
    promotion: { mode: 'manual', catchUpTimeout: '2s' },
  });
  await world.startDaemon();
  await world.waitAllUp();
  await pg.primary.appQuery('CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL)');
  await pgWaitReplayed(pg);
});

afterAll(async () => {
  await world.close();
  await pg?.stop();
});

const sw = (args: string[]) =>
  cliAsync(['switchover', ...args, ...(args.includes('--dry-run') ? [] : ['--reason', 'e2e'])], {
    env: world.env,
  });

describe('switchyard switchover', () => {
  it('refuses what cannot be a switchover: a frozen director, no confirmation; the current main is "already so"', async () => {
    const same = await sw(['--to', 'r1', '--yes']);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/r1 is already the main/);
    expect((await sw(['--to', 'r9', '--yes'])).code).toBe(1);
    expect((await sw(['--to', 'r3', '--yes'])).stderr).toMatch(/no databases to promote/);
    const noTty = await sw(['--to', 'r2']);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/re-run with --yes/);
    expect((await cliAsync(['freeze'], { env: world.env })).code).toBe(0);
    const frozen = await sw(['--to', 'r2', '--yes']);
    expect(frozen.code).toBe(5);
    expect(frozen.stderr).toMatch(/frozen/);
    expect((await cliAsync(['unfreeze'], { env: world.env })).code).toBe(0);
    const dry = await sw(['--to', 'r2', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/switchover plan: r1 → r2/);
    expect(dry.stdout).toMatch(/apim: ok \(precheck\)/);
    expect(world.state().engine).toMatchObject({ main: 'r1', epoch: 0 });
  }, 60_000);

  it('a target that cannot catch up within catchUpTimeout: aborted, r1 un-fenced and still the main', async () => {
    await pg.standby.query('SELECT pg_wal_replay_pause()');
    await pg.primary.appQuery('INSERT INTO ledger SELECT g, 1 FROM generate_series(1, 10) g');
    const r = await sw(['--to', 'r2', '--yes']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(6);
    expect(r.stdout).toMatch(
      /FAILED at catch-up, before any promotion .* r1 is still the main and writable again/,
    );
    expect(r.stdout).toMatch(/epoch 1 was consumed by this aborted switchover/);
    // r1 takes writes again; nothing is pending; the attempt is in the journal as failed.
    await pg.primary.appQuery('INSERT INTO ledger VALUES (11, 1)');
    const s = world.state();
    expect(s.engine.main).toBe('r1');
    expect(s.engine.promotion).toBeUndefined();
    expect(
      s.journal.some((e) => e.action === 'promote' && e.phase === 'failed' && /catch-up/.test(e.detail)),
    ).toBe(true);
    expect(world.weights(MANAGE)).toEqual({ r1: 100, r2: 0 });
    await pg.standby.query('SELECT pg_wal_replay_resume()');
    await pgWaitReplayed(pg);
  }, 60_000);

  it('moves every row, the main role and management to r2; r1 is left read-only', async () => {
    await pg.primary.appQuery('DELETE FROM ledger');
    // Written just before the switchover, not waited for: the catch-up stage must carry them over.
    await pg.primary.appQuery(`INSERT INTO ledger SELECT g, g FROM generate_series(1, ${N}) g`);
    const epochBefore = world.state().engine.epoch;

    const r = await sw(['--to', 'r2', '--yes', '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${world.logs()}`).toBe(0);
    // --json prints the dry run, then the result: the last JSON document is the result.
    const docs = r.stdout.split(/\n(?=\{)/).map((d) => JSON.parse(d) as SwitchoverResult);
    const result = docs.at(-1) as SwitchoverResult;
    expect(result).toMatchObject({ applied: true, from: 'r1', to: 'r2', main: 'r2', epoch: epochBefore + 1 });
    expect(result.results?.[0]).toMatchObject({ key: 'apim', ok: true, stage: 'done' });
    expect(result.timings?.totalMs).toBeGreaterThan(0);
    expect(result.management?.[MANAGE]).toEqual({ r1: 0, r2: 100 });
    expect(result.next).toMatch(/rebuild r1 as a replica of r2/);

    const rows = await pg.standby.appQuery<{ n: string; s: string }>(
      'SELECT count(*)::text AS n, sum(amount)::text AS s FROM ledger',
    );
    expect(rows[0]).toEqual({ n: String(N), s: String((N * (N + 1)) / 2) });
    await pg.standby.appQuery(`INSERT INTO ledger VALUES (${N + 1}, 0)`);
    await expect(pg.primary.appQuery(`INSERT INTO ledger VALUES (${N + 2}, 0)`)).rejects.toThrow(/read-only/);
    expect(pg.primary.isRunning()).toBe(true); // planned: read-only, not stopped

    expect(world.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
    const s = await world.status();
    expect(s.main).toBe('r2');
    expect(s.epoch).toBe(epochBefore + 1);
    expect(s.promotion).toBeNull();
    const j = world.state().journal;
    const intent = j.find(
      (e) => e.phase === 'intent' && e.epoch === epochBefore + 1 && /planned switchover/.test(e.detail),
    );
    expect(j.some((e) => e.id === intent?.id && e.phase === 'done')).toBe(true);
    // Fresh evidence is awaited before deciding: the read-only old main is not mistaken for a split-brain.
    await waitFor(
      async () =>
        (await world.status()).regions
          .find((x) => x.id === 'r1')
          ?.components.find((c) => c.name === 'database.apim')?.writable === false,
      10_000,
      'r1 seen read-only',
    );
    expect(world.logs()).not.toMatch(/split-brain/);
    expect(j.some((e) => e.action === 'fence' && e.target === 'r1' && e.phase === 'done')).toBe(true);
    const again = await sw(['--to', 'r2', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/r2 is already the main/);
  }, 60_000);
});
