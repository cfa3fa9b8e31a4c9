/**
 * Simulator speed and the probe-loss soak.
 *
 * 1. Speed: simulated seconds per wall second (and per CPU second) for one and for three director
 *    instances — the real Daemon each (src/sim/harness.ts), three on the etcd twin — in the
 *    simulated world with random faults, every invariant checked after every event.
 * 2. What one decision tick costs: decide() + HealthTracker.view() on the simulated layout, the
 *    floor of the simulator's cost (the daemon decides every second).
 * 3. Soak: 10⁶ simulated seconds at 10 % probe loss on every path and no real outage: false
 *    failovers (promotions planned, management moves) must be zero, and DNS changes are compared
 *    with what the configuration allows under that loss (rise/fall/failAfter), computed here.
 *
 * The speed runs use random faults at intensity 0.3 (about 25 faults a day) and seeds that run
 * the whole day without meeting a known, unfixed bug (src/sim/known-bugs.ts), which would end
 * them early.
 *
 *   npx tsx bench/sim-speed.ts [--seed-list 1,5,6] [--hours 24] [--hours3 1] [--intensity 0.3]
 *                              [--instances 1,3] [--soak-seconds 1000000] [--soak-instances 1]
 *                              [--skip-soak] [--skip-speed]
 */
import { cpus } from 'node:os';
import { decide } from '../src/decide/decide.js';
import { initialState, NO_OVERRIDES } from '../src/decide/types.js';
import { buildHealthTargets } from '../src/health/targets.js';
import { HealthTracker } from '../src/health/tracker.js';
import type { DatabaseProbeResult } from '../src/probe/types.js';
import { simConfig } from '../src/sim/config.js';
import { runSimulation, type SimReport } from '../src/sim/run.js';
import { buildTopology } from '../src/topology/build.js';
import { FakeClock } from '../src/util/clock.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) ? v : dflt;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

async function timed(run: () => Promise<SimReport>) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return { report, wallMs, cpuMs, perWall: report.reachedMs / wallMs, perCpu: report.reachedMs / cpuMs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

/** P(no `rise` consecutive successes in `n` probes), success probability p. */
function noRun(n: number, rise: number, p: number): number {
  // State: length of the current run of successes (0 … rise−1); absorbing once it reaches rise.
  let dist: number[] = Array.from({ length: rise }, (_, i) => (i === 0 ? 1 : 0));
  for (let k = 0; k < n; k++) {
    const next = new Array<number>(rise).fill(0);
    for (let s = 0; s < rise; s++) {
      const m = dist[s] as number;
      next[0] = (next[0] as number) + m * (1 - p);
      if (s + 1 < rise) next[s + 1] = (next[s + 1] as number) + m * p;
    }
    dist = next;
  }
  return dist.reduce((a, b) => a + b, 0);
}

function list(name: string, dflt: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',').map(Number).filter(Number.isFinite) : dflt;
}

async function main() {
  const seeds = list('seed-list', [1, 5, 6]);
  const hours = arg('hours', 24);
  const intensity = arg('intensity', 0.3);
  const soakSeconds = arg('soak-seconds', 1_000_000);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}`);

  // 1. Speed, per instance count.
  for (const instances of flag('skip-speed') ? [] : list('instances', [1, 3])) {
    const runs = [];
    const h = instances === 1 ? hours : arg('hours3', 1);
    for (const seed of seeds) {
      const r = await timed(() =>
        runSimulation({ seed, instances, durationMs: h * 3_600_000, intensity, skipKnownBugs: true }),
      );
      runs.push(r);
      const reached = r.report.reachedMs / 3_600_000;
      console.log(
        `speed ${instances} instance(s), seed ${seed} (intensity ${intensity}, ${Object.values(r.report.faults).reduce((a, b) => a + b, 0)} faults): ${reached.toFixed(1)} h virtual in ${(r.wallMs / 1000).toFixed(1)} s wall / ${(r.cpuMs / 1000).toFixed(1)} s CPU → ${n0(r.perWall)} sim-s per wall-s, ${n0(r.perCpu)} per CPU-s; ${n0(r.report.events)} events (${((r.wallMs * 1000) / r.report.events).toFixed(1)} µs each), ${n0(r.report.stats.decisions)} decisions, ${n0(r.report.checks)} invariant checks, ${r.report.ok ? (r.report.knownHits.length ? `stopped at known bug ${r.report.knownHits[0]?.invariant}` : 'ok') : `VIOLATED ${r.report.violation?.invariant}`}`,
      );
    }
    console.log(
      `speed, ${instances} instance(s): median ${n0(median(runs.map((r) => r.perWall)))} sim-s per wall-s, ${n0(median(runs.map((r) => r.perCpu)))} per CPU-s`,
    );
  }

  // 2. One decision tick.
  const config = simConfig();
  const topology = buildTopology(config);
  const targets = buildHealthTargets(config);
  const tracker = new HealthTracker(targets, { clock: new FakeClock() });
  for (const t of targets)
    for (let i = 0; i < 3; i++)
      tracker.record(t.id, {
        ok: true,
        at: i,
        latencyMs: 1,
        detail: 'ok',
        ...(t.database
          ? {
              role: t.region === 'r1' ? 'primary' : 'replica',
              writable: t.region === 'r1',
              lagSeconds: 0,
              lagBytes: 0,
            }
          : {}),
      } as DatabaseProbeResult);
  const state = initialState(topology);
  const N = 20_000;
  let t0 = performance.now();
  for (let i = 0; i < N; i++)
    decide({
      topology,
      health: tracker.view(),
      state,
      overrides: NO_OVERRIDES,
      now: 60_000 + i,
      wall: 1_700_000_000_000 + i,
    });
  const tickUs = ((performance.now() - t0) * 1000) / N;
  const view = tracker.view();
  t0 = performance.now();
  for (let i = 0; i < N; i++)
    decide({
      topology,
      health: view,
      state,
      overrides: NO_OVERRIDES,
      now: 60_000 + i,
      wall: 1_700_000_000_000 + i,
    });
  const decideUs = ((performance.now() - t0) * 1000) / N;
  console.log(
    `one decision tick: decide() ${decideUs.toFixed(1)} µs + HealthTracker.view() ${(tickUs - decideUs).toFixed(1)} µs = ${tickUs.toFixed(1)} µs → at most ${n0(1e6 / tickUs)} sim-s per CPU-s per instance from the 1 s tick alone`,
  );

  if (flag('skip-soak')) return;
  // 3. Soak: 10 % loss, no outage.
  const soakInstances = arg('soak-instances', 1);
  const soak = await timed(() =>
    runSimulation({
      seed: 1,
      scenario: 'probe-loss',
      instances: soakInstances,
      durationMs: soakSeconds * 1_000,
    }),
  );
  const p = 1 - 0.1;
  const probe = 5;
  const fall = 3;
  const rise = 2;
  const failAfter = 30;
  const perProbe = p * 0.1 ** fall; // a success followed by `fall` failures: a target goes down
  const lo = noRun(Math.ceil(failAfter / (probe * 0.9)), rise, p); // …and stays down past failAfter
  const hi = noRun(Math.floor(failAfter / (probe * 1.1)), rise, p);
  const singleCheckComponents = 5; // r2, r3, r4 gateways; r1, r2 key managers (r1's gateway has two checks, minHealthy 1)
  const episodes = (x: number) => (soakSeconds / probe) * perProbe * x * singleCheckComponents;
  const r = soak.report;
  console.log(
    `soak (${soakInstances} instance(s)): ${n0(soakSeconds)} sim-s at 10 % probe loss in ${(soak.wallMs / 1000).toFixed(0)} s wall (${n0(soak.perWall)} sim-s per wall-s): ${r.ok ? 'every invariant held' : `VIOLATED ${r.violation?.invariant}: ${r.violation?.message}`}; promotions planned ${r.stats.wouldPromote}, done ${r.stats.promotions}; decisions that moved a record ${r.stats.moves}; DNS changes ${r.stats.dnsChanges}; the configuration allows ≈ ${episodes(lo).toFixed(1)}–${episodes(hi).toFixed(1)} false outs, i.e. ${(2 * episodes(lo)).toFixed(0)}–${(2 * episodes(hi)).toFixed(0)} DNS changes (each out and its return)`,
  );
}

await main();
