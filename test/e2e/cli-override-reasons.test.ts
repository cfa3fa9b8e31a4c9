import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { StatusDocument } from '../../src/server/status.js';
import { BOB_TOKEN, type DemoDaemon, startDemoAllUp, until } from '../support/demo-daemon.js';
import { runCliInProcess as cli } from '../support/run-cli.js';

/**
 * freeze, failover and switchover carry who (the token's name) and why (--reason, required for
 * failover and switchover) end to end: the journal in the state file (the audit trail), the log,
 * /v1/status and `switchyard status` (issue 9, item 9). The CLI in process, the real daemon on the
 * demo's simulated world. Cases run in order: failover r1 → r2, then the failback.
 */
let d: DemoDaemon;
beforeAll(async () => {
  d = await startDemoAllUp();
}, 30_000);
afterAll(async () => {
  await d?.stop();
});

/** The one request recorded in all four places: state journal, log line, /v1/status, status text. */
async function expectRecorded(
  kind: string,
  target: string,
  by: string,
  reason: string,
): Promise<{ status: StatusDocument; text: string }> {
  const entry = d
    .state()
    .journal.filter((e) => e.action === 'override' && e.detail.startsWith(`${kind} `))
    .at(-1);
  expect(entry, `${kind} in the journal`).toMatchObject({ target, by, reason });
  expect(entry?.detail).toContain(`(by ${by}: ${reason})`);
  expect(d.events()).toContainEqual(expect.objectContaining({ event: 'override', kind, target, by, reason }));
  const status = await d.status();
  expect(status.journal).toContainEqual(expect.objectContaining({ action: 'override', target, by, reason }));
  const text = (await cli(['status'], { env: d.env(null) })).stdout;
  expect(text).toContain('last operator requests:');
  expect(text).toContain(`(by ${by}: ${reason})`);
  return { status, text };
}

describe('reasons, end to end', () => {
  it('freeze --reason: journal, log, /v1/status (active override and journal) and status text', async () => {
    const r = await cli(['freeze', '--reason', 'incident 4711: DNS provider degraded', '--json'], {
      env: d.env(),
    });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({
      changed: true,
      by: 'alice',
      reason: 'incident 4711: DNS provider degraded',
    });
    const { status, text } = await expectRecorded(
      'freeze',
      'director',
      'alice',
      'incident 4711: DNS provider degraded',
    );
    expect(status.activeOverrides).toContainEqual(
      expect.objectContaining({
        kind: 'freeze',
        by: 'alice',
        reason: 'incident 4711: DNS provider degraded',
      }),
    );
    expect(text).toMatch(/frozen by alice \d+s ago: incident 4711: DNS provider degraded/);
    expect((await cli(['unfreeze', '--reason', 'provider recovered'], { env: d.env(BOB_TOKEN) })).code).toBe(
      EXIT.OK,
    );
    await expectRecorded('unfreeze', 'director', 'bob', 'provider recovered');
    expect((await d.status()).activeOverrides.some((o) => o.kind === 'freeze')).toBe(false);
  });

  it('failover without --reason is refused before anything is asked of the daemon', async () => {
    const before = d.state().journal.length;
    const r = await cli(['failover', '--to', 'r2', '--yes'], { env: d.env() });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('failover needs --reason <text>');
    const s = await cli(['switchover', '--to', 'r2', '--yes'], { env: d.env() });
    expect(s.code).toBe(EXIT.USAGE);
    expect(s.stderr).toContain('--reason');
    expect(d.state().journal.length).toBe(before);
  });

  it('failover --reason: recorded with the identity in the journal, the log, /v1/status and status', async () => {
    const reason = 'r1 lost its storage array (INC-12)';
    const r = await cli(['failover', '--to', 'r2', '--reason', reason, '--yes'], { env: d.env() });
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toContain('failover from r1 to r2 applied: r2 is the main');
    expect((await d.status()).main).toBe('r2');
    await expectRecorded('failover', 'r2', 'alice', reason);
  });

  it('switchover --reason (the failback, by bob): the same four places', async () => {
    expect(d.world.rebuild('r1')).toEqual({ ok: true });
    await until(
      async () => (await d.status()).regions.find((r) => r.id === 'r1')?.currentRole === 'replica',
      10_000,
      'r1 a replica',
    );
    const reason = 'failback after INC-12, storage replaced';
    const r = await cli(['switchover', '--to', 'r1', '--reason', reason, '--yes'], { env: d.env(BOB_TOKEN) });
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toContain('switchover done: r1 is the main');
    expect((await d.status()).main).toBe('r1');
    await expectRecorded('switchover', 'r1', 'bob', reason);
  }, 20_000);
});
