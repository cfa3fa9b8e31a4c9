import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register, runSimCommand, type SimCommandOptions } from '../../src/cli/sim.js';

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
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

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
    const r = await run({ seed: '1', scenario: 'dns-stuck' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED traffic-leaves-failed-region at \+0d 00:\d\d:\d\d\.\d{3} \(seed 1\)/);
    expect(r.out).toContain(
      'replay: switchyard sim --seed 1 --scenario dns-stuck --duration 1h --instances 1 --trace',
    );
    expect(r.out).toMatch(/last events:\n(.*\n)*.*fault\+ +dns-hang mode=stuck/);
    expect(r.out).toContain('known bug this scenario shows');
  });

  it('--skip-known-bugs ends a run at a known, unfixed bug as not failed, and says so', {
    timeout: 60_000,
  }, async () => {
    const strict = await run({ seed: '1', scenario: 'main-lost' });
    expect(strict.code).toBe(1);
    expect(strict.out).toContain('VIOLATED auth-away-from-old-main');
    const lenient = await run({ seed: '1', scenario: 'main-lost', skipKnownBugs: true });
    expect(lenient.code).toBe(0);
    expect(lenient.out).toMatch(
      /stopped at a known bug at \+0d 00:42:\d\d\.\d{3} \(src\/sim\/known-bugs\.ts\): auth-away-from-old-main/,
    );
    expect(lenient.out).toContain('ok but for a known bug');
  });

  it('--trace streams the trace; --json prints the report as JSON', { timeout: 60_000 }, async () => {
    const t = await run({ seed: '2', scenario: 'observer-partition', duration: '30m', trace: true });
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/\+0d 00:10:00\.000 fault\+ +link-partition observer=i1 region=r2/);
    const j = await run({ seed: '2', scenario: 'observer-partition', duration: '30m', json: true });
    const report = JSON.parse(j.out) as { ok: boolean; seed: number; traceHash: string };
    expect(report).toMatchObject({ ok: true, seed: 2 });
    expect(j.out).not.toContain('fault+');
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
      [{ instances: '3' }, /coordination twin \(round 2\)/],
      [{ scenario: 'nope' }, /unknown scenario "nope" \(known: random, /],
      [{ scenario: 'leader-crash-every-step' }, /needs the round-2 simulator/],
    ] as const) {
      const r = await run(opts);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
    }
  });

  it('registers as a command with register(program); --list names scenarios, fault kinds and invariants', async () => {
    const program = new Command().exitOverride();
    register(program);
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    await program.parseAsync(['node', 'switchyard', 'sim', '--list']);
    expect(process.exitCode).toBe(0);
    expect(out).toMatch(/scenarios:\n {2}random /);
    expect(out).toMatch(/leader-crash-every-step +\[round 2\]/);
    expect(out).toMatch(/fault kinds:\n(.*\n)* {2}dns-hang /);
    expect(out).toMatch(/invariants:\n(.*\n)* {2}dns-never-all-zero /);
  });
});
