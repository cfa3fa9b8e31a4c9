import { SwitchyardError } from '../util/errors.js';
import { DEFAULT_LAYOUT, type SimLayout, simConfig } from './config.js';
import { FaultEngine, type InstanceControl } from './faults.js';
import { Round1Instance } from './harness-round1.js';
import { type Bounds, computeBounds } from './invariants/bounds.js';
import { invariantsFor } from './invariants/index.js';
import { GroundTruth } from './invariants/truth.js';
import type { CheckContext, Invariant } from './invariants/types.js';
import { Kernel } from './kernel.js';
import { KNOWN_BUGS, type KnownBug, knownBug } from './known-bugs.js';
import { mutantsNamed } from './mutants.js';
import { draw, SimRandom } from './random.js';
import { guardRealTime } from './real-time-guard.js';
import { scenario as findScenario, type Scenario } from './scenarios.js';
import { Trace, type TraceLine } from './trace.js';
import { World } from './world/world.js';

export interface SimOptions {
  seed: number;
  /** Virtual run length (default: the scenario's). */
  durationMs?: number;
  /** Director instances (round 1: exactly 1). */
  instances?: number;
  /** A named scenario (default "random"). */
  scenario?: string;
  /** Random schedules: scales every fault kind's rate (default 1). */
  intensity?: number;
  /** Receives every trace line as it is written (the CLI's --trace). */
  onTrace?: (line: string) => void;
  /** Trace lines kept for the report of a failing run. */
  keepLines?: number;
  layout?: Partial<SimLayout>;
  /**
   * A violation that is a known, unfixed bug (src/sim/known-bugs.ts) ends the run as a known-bug
   * hit instead of a failure (what follows it is its consequences).
   */
  skipKnownBugs?: boolean;
  /** Known bugs to recognise (default src/sim/known-bugs.ts). */
  knownBugs?: readonly KnownBug[];
  /** Safety mechanisms to take out (src/sim/mutants.ts): the run must then break an invariant. */
  mutants?: readonly string[];
}

export interface Violation {
  invariant: string;
  message: string;
  /** Virtual time (ms since the start). */
  at: number;
  /** The last trace lines before it. */
  tail: TraceLine[];
}

export interface SimReport {
  ok: boolean;
  seed: number;
  scenario: string;
  durationMs: number;
  instances: number;
  intensity: number;
  /** Virtual time the run reached (shorter than durationMs when an invariant broke). */
  reachedMs: number;
  events: number;
  traceLines: number;
  /** Hash of the trace and of every event (time, order, owner): equal for equal runs. */
  traceHash: string;
  invariants: string[];
  /** The known, unfixed bug the run ran into and stopped at (with skipKnownBugs). */
  knownHits: Array<{ invariant: string; at: number; message: string }>;
  /** Invariant checks made (one per invariant per event). */
  checks: number;
  violation?: Violation;
  faults: Record<string, number>;
  stats: {
    decisions: number;
    moves: number;
    dnsChanges: number;
    dnsCalls: number;
    dnsThrottled: number;
    writesAccepted: number;
    writesRefused: number;
    wouldPromote: number;
    promotions: number;
    fences: number;
    saveFailures: number;
  };
  /** Safety mechanisms the run took out (src/sim/mutants.ts). */
  mutants: string[];
}

/** Where instances run: one per region, in this order. */
const HOMES = ['r3', 'r1', 'r2', 'r4', 'r1'];

/**
 * One simulation run: builds the kernel, the world and the instances from the seed, schedules
 * the scenario's faults, and runs to the end, checking every invariant after every event. The
 * report is a pure function of the options: the same seed gives the same trace hash.
 */
export async function runSimulation(opts: SimOptions): Promise<SimReport> {
  const sc: Scenario = findScenario(opts.scenario ?? 'random');
  const instances = opts.instances ?? sc.layout?.instances ?? 1;
  if (sc.round > 1)
    throw new SwitchyardError(
      'SIM_INVALID',
      `scenario "${sc.name}" needs the round-2 simulator (the real daemon and the coordination twin)`,
    );
  if (instances !== 1)
    throw new SwitchyardError(
      'SIM_INVALID',
      `${instances} instances need the coordination twin and the daemon composition (round 2); the round-1 harness runs one`,
    );
  const durationMs = opts.durationMs ?? sc.durationMs;
  const mutants = mutantsNamed(opts.mutants ?? []);
  const kernel = new Kernel();
  const random = new SimRandom(opts.seed);
  const trace = new Trace(opts.keepLines ?? 60, opts.onTrace);
  const config = simConfig({ ...DEFAULT_LAYOUT, ...sc.layout, ...opts.layout, instances });
  const world = new World(kernel, random, config, trace);
  world.dns.onChange = (c) =>
    trace.add(
      kernel.now,
      'dns',
      `${c.id} by ${c.by}${c.ambiguous ? ' (caller told it failed)' : ''}: ${c.sets.map((s) => `${s.recordKey.replace(/\/A$/, '')} ${s.region}=${s.weight}`).join(', ')}`,
    );
  // A seed also picks the Route 53 listing page size: small pages exercise the provider's paging.
  world.dns.pageSize = draw.pick(random.stream('layout.route53.pageSize'), [300, 300, 300, 1, 2, 3, 5, 7]);
  const bounds: Bounds = computeBounds(config);
  const insts = Array.from(
    { length: instances },
    (_, i) =>
      new Round1Instance(kernel, world, trace, { name: `i${i + 1}`, home: HOMES[i] as string, mutants }),
  );
  const byName = new Map(insts.map((i) => [i.name, i]));
  const control: InstanceControl = {
    names: () => insts.map((i) => i.name),
    pause: (name, ms) => byName.get(name)?.pause(ms),
    stepWall: (name, ms) => byName.get(name)?.stepWall(ms),
  };
  const faults = new FaultEngine(kernel, world, control, trace);
  const schedule = sc.faults({
    world,
    instances: control.names(),
    random,
    durationMs,
    bounds,
    intensity: opts.intensity ?? 1,
  });
  for (const f of schedule) faults.schedule(f);
  trace.add(
    0,
    'run',
    `seed ${opts.seed}, scenario ${sc.name}, ${instances} instance(s), ${schedule.length} fault(s), ${Math.round(durationMs / 1000)}s`,
  );
  world.startWorkload();
  for (const i of insts) i.start();

  const truth = new GroundTruth();
  const invariants: Invariant[] = invariantsFor(1);
  const knownHits: SimReport['knownHits'] = [];
  const observers = world.observers();
  const ctx: CheckContext = {
    now: 0,
    world,
    faults,
    truth,
    instances: insts,
    topology: world.topology,
    bounds,
    quorum: 1,
  };
  truth.update(0, world, faults, observers, ctx.quorum);
  let violation: Violation | undefined;
  let checks = 0;
  const fail = (invariant: string, message: string) => {
    trace.add(kernel.now, 'VIOLATED', `${invariant}: ${message}`);
    violation = { invariant, message, at: kernel.now, tail: trace.tail() };
  };
  const guard = guardRealTime();
  let result: Awaited<ReturnType<Kernel['run']>>;
  try {
    result = await kernel.run(durationMs, {
      afterEvent: () => {
        ctx.now = kernel.now;
        truth.update(kernel.now, world, faults, observers, ctx.quorum);
        for (const inv of invariants) {
          checks++;
          const v = inv.check(ctx);
          if (v === undefined) continue;
          if (opts.skipKnownBugs && knownBug(inv.name, ctx, opts.knownBugs ?? KNOWN_BUGS)) {
            // What follows a known bug is its consequences: end the run here, as not failed.
            knownHits.push({ invariant: inv.name, at: kernel.now, message: v });
            trace.add(kernel.now, 'KNOWN', `${inv.name} (a known bug; the run ends here): ${v}`);
            return true;
          }
          fail(inv.name, v);
          return true;
        }
        return undefined;
      },
    });
  } finally {
    guard.restore();
  }
  const realTime = guard.uses[0];
  if (!violation && realTime)
    fail(
      'no-real-time',
      `${realTime.api}() called from ${realTime.at} during the run (${guard.uses.length} use(s))`,
    );
  if (result.reason === 'error' && result.error)
    fail(
      'no-uncaught-exception',
      `${result.error.owner} threw from a timer: ${result.error.message.split('\n')[0]}`,
    );
  if (!violation && knownHits.length === 0)
    for (const inv of invariants) {
      const v = inv.finish?.(ctx);
      if (v !== undefined) {
        fail(inv.name, v);
        break;
      }
    }
  const dnsChanges = world.dns.changes.filter((c) => byName.has(c.by)).length;
  const wouldPromote = insts.reduce((n, i) => n + i.stats.wouldPromote, 0);
  // A run stopped at a known bug did not reach the end its scenario expects something of.
  if (!violation && sc.expect && knownHits.length === 0) {
    const v = sc.expect({
      world,
      dnsChanges,
      wouldPromote,
      promotions: insts.reduce((n, i) => n + i.stats.promotions, 0),
    });
    if (v !== undefined) fail(`scenario:${sc.name}`, v);
  }
  const faultCounts: Record<string, number> = {};
  for (const f of faults.records) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
  return {
    ok: violation === undefined,
    seed: opts.seed,
    scenario: sc.name,
    durationMs,
    instances,
    intensity: opts.intensity ?? 1,
    reachedMs: kernel.now,
    events: kernel.executed,
    traceLines: trace.lines,
    traceHash: trace.digest(kernel.fingerprint, kernel.executed),
    invariants: invariants.map((i) => i.name),
    knownHits,
    checks,
    ...(violation ? { violation } : {}),
    faults: faultCounts,
    stats: {
      decisions: insts.reduce((n, i) => n + i.stats.decisions, 0),
      moves: insts.reduce((n, i) => n + i.moves.length, 0),
      dnsChanges,
      dnsCalls: Object.values(world.dns.stats.calls).reduce((a, b) => a + b, 0),
      dnsThrottled: world.dns.stats.throttled,
      writesAccepted: world.databases.writeCounts.accepted,
      writesRefused: world.databases.writeCounts.refused,
      wouldPromote,
      promotions: insts.reduce((n, i) => n + i.stats.promotions, 0),
      fences: insts.reduce((n, i) => n + i.stats.fences, 0),
      saveFailures: insts.reduce((n, i) => n + i.stats.saveFailures, 0),
    },
    mutants: mutants.map((m) => m.name),
  };
}

/** Runs a seed twice and compares the trace hashes. */
export async function checkDeterminism(
  opts: SimOptions,
): Promise<{ same: boolean; hashes: [string, string] }> {
  const a = await runSimulation({ ...opts, onTrace: undefined });
  const b = await runSimulation({ ...opts, onTrace: undefined });
  return { same: a.traceHash === b.traceHash, hashes: [a.traceHash, b.traceHash] };
}
