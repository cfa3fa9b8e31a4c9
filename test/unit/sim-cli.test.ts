import { describe, expect, it } from 'vitest';
import { runSimCommand, type SimCommandOptions } from '../../src/cli/sim-run.js';
import { runCliInProcess } from '../support/run-cli.js';

async function run(opts: SimCommandOptions) {
  let out = '';
  let err = '';
  const code = await runSimCommand(opts, {
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe('switchyard sim', () => {
  it('exits 0 with a compact report when every invariant held', { timeout: 60_000 }, async () => {
    const r = await run({ seed: '3', scenario: 'main-lost-soft-fence', duration: '50m' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^switchyard sim: seed 3, scenario main-lost-soft-fence, 1 instance, 50m virtual in [\d.]+s \([\d,]+× real time\)/,
    );
    expect(r.out).toMatch(/promotions planned 1, done 1/);
    expect(r.out).toMatch(/hash [0-9a-f]{16}/);
    expect(r.out).toMatch(/faults 1 \(region-outage 1\)/);
    expect(r.out).toMatch(/ok: every invariant held \(\d+ checked after every event\)/);
  });

  it('exits 1 with the seed, the invariant, the replay command and the last events when one broke', {
    timeout: 60_000,
  }, async () => {
    // A mutant puts an old bug back (the panic guard forgotten between decisions).
    const r = await run({ seed: '1', scenario: 'observer-isolated', mutant: ['forget-panic'] });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED no-decision-on-panic-time at \+0d 00:\d\d:\d\d\.\d{3} \(seed 1\)/);
    expect(r.out).toContain(
      'replay: switchyard sim --seed 1 --scenario observer-isolated --duration 1h --instances 1 --mutant forget-panic --trace',
    );
    expect(r.out).toMatch(/last events:\n(.*\n)*.*fault\+ +link-partition observer=i1 region=r1/);
    expect(r.out).toContain('mutants: forget-panic (a safety mechanism taken out: an invariant must break)');
    // The same seed without the mutant: every invariant holds.
    expect((await run({ seed: '1', scenario: 'observer-isolated' })).code).toBe(0);
  });

  it('an unknown mutant is a usage error naming the known ones', async () => {
    const r = await run({ seed: '1', mutant: ['no-such'] });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /unknown mutant "no-such" \(known: forget-panic, forget-demotion, promote-beyond-rpo, fence-says-done, act-past-lease, stale-leader-events\)/,
    );
  });

  it('--skip-known-bugs with no known bug open changes nothing: a violation still fails the run', {
    timeout: 60_000,
  }, async () => {
    const r = await run({
      seed: '1',
      scenario: 'main-lost',
      mutant: ['forget-demotion'],
      skipKnownBugs: true,
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('VIOLATED auth-away-from-old-main');
  });

  it('--trace streams the trace; --json prints the report as JSON', { timeout: 60_000 }, async () => {
    const t = await run({
      seed: '2',
      scenario: 'observer-partition',
      duration: '30m',
      instances: '1',
      trace: true,
    });
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/\+0d 00:10:00\.000 fault\+ +link-partition observer=i1 region=r2/);
    const j = await run({
      seed: '2',
      scenario: 'observer-partition',
      duration: '30m',
      instances: '1',
      json: true,
    });
    const report = JSON.parse(j.out) as { ok: boolean; seed: number; traceHash: string };
    expect(report).toMatchObject({ ok: true, seed: 2 });
    expect(j.out).not.toContain('fault+');
  });

  it('runs several instances: a multi-instance scenario defaults to three, --instances sets any of 1–5', {
    timeout: 240_000,
  }, async () => {
    const r = await run({ seed: '1', scenario: 'leader-paused-promoting', duration: '20m' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(
      /^switchyard sim: seed 1, scenario leader-paused-promoting, 3 instances, 20m virtual/,
    );
    expect(r.out).toMatch(
      /faults 2 \((leader-pause-at 1, region-outage 1|region-outage 1, leader-pause-at 1)\)/,
    );
    const two = await run({ seed: '1', scenario: 'flapping-link', duration: '3m', instances: '2' });
    expect(two.code, two.out).toBe(0);
    expect(two.out).toMatch(/, 2 instances, 3m virtual/);
  });

  it('--check-determinism runs the seed twice and compares the hashes', { timeout: 60_000 }, async () => {
    const r = await run({ seed: '5', scenario: 'flapping-link', checkDeterminism: true });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed 5 \(flapping-link\): ([0-9a-f]{16}) \/ \1 — identical/);
  });

  it('draws a seed when none is given and prints it', { timeout: 60_000 }, async () => {
    const r = await run({ scenario: 'flapping-link', duration: '11m' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^switchyard sim: seed \d+,/);
  });

  it('exits 2 on usage errors, saying why', async () => {
    for (const [opts, why] of [
      [{ seed: '-1' }, /--seed must be a non-negative integer/],
      [{ duration: 'a while' }, /--duration must be a duration/],
      [{ instances: '9' }, /--instances must be 1–5/],
      [{ instances: '0' }, /--instances must be 1–5/],
      [{ scenario: 'nope' }, /unknown scenario "nope" \(known: random, /],
      [{ scenario: 'leader-crash-every-step', instances: '1' }, /needs at least 2 instances/],
    ] as const) {
      const r = await run(opts);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
    }
  });

  it('is a command of the CLI: switchyard sim --list names scenarios, fault kinds and invariants', async () => {
    const r = await runCliInProcess(['sim', '--list']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/scenarios:\n {2}random /);
    expect(out).toMatch(/leader-crash-every-step +\[3 instances\]/);
    expect(out).toMatch(/leader-pause-at +\[several instances\]/);
    expect(out).toMatch(/fault kinds:\n(.*\n)* {2}dns-hang /);
    expect(out).toMatch(/invariants:\n(.*\n)* {2}dns-never-all-zero /);
  });
});
