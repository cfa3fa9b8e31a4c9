import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BOB_TOKEN, type DemoDaemon, startDemoAllUp, until } from '../support/demo-daemon.js';
import { runCliInProcess as cli } from '../support/run-cli.js';

/**
 * Planned switchover and failback through the real CLI (in process) against the real daemon and
 * the demo's simulated databases, which model positions: a fenced primary reports where it
 * stopped, and the replica is promoted only once it has replayed that far.
 */
let d: DemoDaemon;
beforeAll(async () => {
  d = await startDemoAllUp();
}, 30_000);
afterAll(async () => {
  await d?.stop();
});

const MANAGE = 'manage.example.com/A';

describe('switchover and failback', () => {
  it('switchover --to r2: applies (no "dry run" wording), exit 0, r2 main, epoch 1, management moved', async () => {
    const r = await cli(['switchover', '--to', 'r2', '--reason', 'planned maintenance of r1', '--yes'], {
      env: d.env(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).not.toMatch(/dry run/i);
    expect(r.stdout).toMatch(
      /^switchover plan: r1 → r2: fence r1 \(apim, shared\).*epoch 0 → 1; r2 is ready/m,
    );
    expect(r.stdout).toContain('applying the switchover to r2…');
    expect(r.stdout).toMatch(/switchover done: r2 is the main \(epoch 1\); r1 is fenced read-only/);
    expect(r.stdout).toMatch(/apim: ok \(done\) at \d+\/[0-9A-F]+/);
    const s = await d.status();
    expect(s).toMatchObject({ main: 'r2', epoch: 1 });
    await until(() => d.dns()[MANAGE]?.r2 === 100, 5_000, 'management on r2');
    // The journal: the operator's request (who and why), then intent and outcome.
    const j = d.state().journal;
    expect(j.find((e) => e.action === 'override')).toMatchObject({
      target: 'r2',
      by: 'alice',
      reason: 'planned maintenance of r1',
    });
    expect(j.filter((e) => e.action === 'promote').map((e) => e.phase)).toEqual(['intent', 'done']);
  });

  it('status shows configured and current roles separately (table and JSON)', async () => {
    await until(
      async () => (await d.status()).regions.find((r) => r.id === 'r1')?.currentRole === 'fenced-old-main',
      5_000,
      'r1 fenced old main',
    );
    const json = await cli(['status', '--json'], { env: d.env(null) });
    expect(json.code).toBe(EXIT.OK);
    const doc = JSON.parse(json.stdout);
    const r1 = doc.regions.find((r: { id: string }) => r.id === 'r1');
    const r2 = doc.regions.find((r: { id: string }) => r.id === 'r2');
    expect(r1).toMatchObject({
      role: 'main',
      configuredRole: 'main',
      currentRole: 'fenced-old-main',
      isMain: false,
    });
    expect(r2).toMatchObject({
      role: 'failover',
      configuredRole: 'failover',
      currentRole: 'main',
      isMain: true,
    });
    const text = await cli(['status'], { env: d.env(null) });
    expect(text.stdout).toMatch(/region\s+configured\s+current/);
    expect(text.stdout).toMatch(/r1\s+main\s+old main \(fenced\)/);
    expect(text.stdout).toMatch(/r2 \*\s+failover\s+main/);
    expect(text.stdout).toContain('r1: databases read-only (fenced); rebuild it as a replica of r2');
  });

  it('failover --to r2 when r2 already is the main: exit 0, "already", nothing applied', async () => {
    const before = d.state().journal.length;
    const r = await cli(['failover', '--to', 'r2', '--reason', 'make sure', '--yes'], { env: d.env() });
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe('r2 is already the main (epoch 1); nothing to do\n');
    const again = await cli(['switchover', '--to', 'r2', '--reason', 'make sure', '--yes'], { env: d.env() });
    expect(again.code).toBe(EXIT.OK);
    expect(again.stdout).toContain('r2 is already the main (epoch 1); nothing to do');
    expect(d.state().journal.length).toBe(before);
    expect((await d.status()).epoch).toBe(1);
  });

  it('failover plan text with the epoch already 1 and the target down says what is true', async () => {
    d.world.setRegion('r1', false);
    try {
      await until(
        async () =>
          (await d.status()).regions
            .find((r) => r.id === 'r1')
            ?.components.every((c) => c.status === 'down') === true,
        10_000,
        'r1 down',
      );
      const r = await cli(['failover', '--to', 'r1', '--dry-run'], { env: d.env() });
      expect(r.code).toBe(EXIT.OK);
      expect(r.stdout).toContain('failover plan: r2 → r1, epoch stays 1 (no promotion planned)');
      expect(r.stdout).toMatch(/promotion of r1 not possible now: /);
      expect(r.stdout).not.toContain('epoch becomes');
      expect(r.stdout).not.toContain('no database promotion needed');
      expect(r.stdout).toContain('none would change now (management moves only after a verified promotion)');
      const apply = await cli(['failover', '--to', 'r1', '--reason', 'try', '--yes'], { env: d.env() });
      expect(apply.code).toBe(EXIT.CONFLICT);
    } finally {
      d.world.setRegion('r1', true);
    }
  });

  it('failback: rebuild r1 as a replica of r2, then switchover --to r1 (by bob)', async () => {
    expect(d.world.rebuild('r1')).toEqual({ ok: true });
    await until(
      async () => (await d.status()).regions.find((r) => r.id === 'r1')?.currentRole === 'replica',
      10_000,
      'r1 a replica',
    );
    const r = await cli(['switchover', '--to', 'r1', '--reason', 'failback after maintenance', '--yes'], {
      env: d.env(BOB_TOKEN),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('switchover done: r1 is the main (epoch 2)');
    await until(() => d.dns()[MANAGE]?.r1 === 100, 5_000, 'management back on r1');
    const s = await d.status();
    expect(s.regions.find((x) => x.id === 'r1')).toMatchObject({ currentRole: 'main', isMain: true });
    expect(s.regions.find((x) => x.id === 'r2')?.currentRole).toBe('fenced-old-main');
    expect(
      d
        .state()
        .journal.filter((e) => e.action === 'override')
        .map((e) => e.by),
    ).toEqual(['alice', 'bob']);
  });

  it('an aborted switchover says that its epoch was consumed and nothing changed hands (exit 6)', async () => {
    // r2 (fenced old main) rebuilt as a replica of r1, then far behind: catch-up cannot finish in its bound.
    expect(d.world.rebuild('r2')).toEqual({ ok: true });
    for (const k of ['apim', 'shared']) d.world.database('r2', k).lagSeconds = 60;
    await until(
      async () => (await d.status()).regions.find((r) => r.id === 'r2')?.currentRole === 'replica',
      10_000,
      'r2 a replica',
    );
    const r = await cli(['switchover', '--to', 'r2', '--reason', 'drill', '--yes'], { env: d.env() });
    expect(r.code).toBe(EXIT.DAEMON_ERROR);
    expect(r.stdout).toMatch(/switchover to r2 FAILED at catch-up, before any promotion/);
    expect(r.stdout).toContain(
      'epoch 3 was consumed by this aborted switchover (an epoch is a fencing token and never goes back); nothing changed hands',
    );
    const s = await d.status();
    expect(s).toMatchObject({ main: 'r1', epoch: 3 });
    const failed = d
      .state()
      .journal.filter((e) => e.action === 'promote')
      .at(-1);
    expect(failed).toMatchObject({ phase: 'failed', epoch: 3 });
    expect(failed?.detail).toContain(
      'epoch 3 was consumed by this aborted switchover and nothing changed hands',
    );
    // r1 is writable again (the fence was reverted): still the only primary.
    expect(d.world.database('r1', 'apim').status()).toMatchObject({ role: 'primary', writable: true });
  }, 20_000);
});
