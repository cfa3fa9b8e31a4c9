import { MemoryCoordCluster } from '../coord/memory.js';
import { SwitchyardError } from '../util/errors.js';
import { DEFAULT_LAYOUT, SIM_LEASE_TTL_MS, type SimLayout, simConfig } from './config.js';
import { FaultEngine, type InstanceControl } from './faults.js';
import { type CrashPoint, ETCD_STATE, SimInstance } from './harness.js';
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
import { SimDisk } from './world/state-store.js';
import { World } from './world/world.js';

export interface SimOptions {
  seed: number;
  /** Virtual run length (default: the scenario's). */
  durationMs?: number;
  /** Director instances, 1–5 (default: the scenario's; several share the etcd twin). */
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
    crashes: number;
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
  if (!Number.isInteger(instances) || instances < 1 || instances > 5)
    throw new SwitchyardError('SIM_INVALID', `--instances must be 1–5, not ${instances}`);
  if (sc.minInstances !== undefined && instances < sc.minInstances)
    throw new SwitchyardError(
      'SIM_INVALID',
      `scenario "${sc.name}" needs at least ${sc.minInstances} instances (several observers on the etcd twin)`,
    );
  const durationMs = opts.durationMs ?? sc.durationMs;
  const mutants = mutantsNamed(opts.mutants ?? []);
  const kernel = new Kernel();
  const random = new SimRandom(opts.seed);
  const trace = new Trace(opts.keepLines ?? 60, opts.onTrace);
  const layout: SimLayout = { ...DEFAULT_LAYOUT, ...sc.layout, ...opts.layout, instances };
  const config = simConfig(layout);
  const world = new World(kernel, random, config, trace);
  // Several instances: the etcd twin, on true virtual time (leases expire in world time).
  const etcd = instances > 1 ? new MemoryCoordCluster({ clock: kernel.worldClock }) : undefined;
  if (etcd) world.disks.set(ETCD_STATE, new SimDisk(ETCD_STATE));
  const insts = Array.from(
    { length: instances },
    (_, i) =>
      new SimInstance(kernel, world, trace, {
        name: `i${i + 1}`,
        home: HOMES[i] as string,
        layout,
        mutants,
        ...(etcd ? { etcd } : {}),
      }),
  );
  const byName = new Map(insts.map((i) => [i.name, i]));
  const management = new Set(
    world.topology.records.filter((r) => r.class === 'management').map((r) => r.key),
  );
  world.dns.onChange = (c) => {
    trace.add(
      kernel.now,
      'dns',
      `${c.id} by ${c.by}${c.epoch !== undefined ? ` epoch ${c.epoch}` : ''}${c.ambiguous ? ' (caller told it failed)' : ''}: ${c.sets.map((s) => `${s.recordKey.replace(/\/A$/, '')} ${s.region}=${s.weight}`).join(', ')}`,
    );
    if (c.sets.some((s) => management.has(s.recordKey))) byName.get(c.by)?.managementWritten();
  };
  // A seed also picks the Route 53 listing page size: small pages exercise the provider's paging.
  world.dns.pageSize = draw.pick(random.stream('layout.route53.pageSize'), [300, 300, 300, 1, 2, 3, 5, 7]);
  const bounds: Bounds = computeBounds(config);
  const leader = () => insts.find((i) => i.leading())?.name;
  const truth = new GroundTruth();
  const disturbed = new Map<string, number>();
  // A crash, a pause, a cut from etcd: leadership may change hands (a lease TTL, an election, a
  // new term), so liveness bounds restart after it, as after a pause of the one instance.
  const disturb = (name: string, until = kernel.now) => {
    disturbed.set(name, Math.max(disturbed.get(name) ?? 0, until));
    truth.lastPauseEnd = Math.max(truth.lastPauseEnd, until + (etcd ? 3 * SIM_LEASE_TTL_MS : 0));
  };
  // A crash armed at a point of the failover sequence: the leader dies there, and restarts later.
  const armed: { point: CrashPoint; what: 'crash' | 'pause'; ms: number }[] = [];
  for (const inst of insts)
    inst.onPoint = (point) => {
      const i = armed.findIndex((a) => a.point === point);
      if (i < 0 || !inst.leading()) return;
      const [a] = armed.splice(i, 1) as [(typeof armed)[number]];
      if (a.what === 'pause') {
        trace.add(
          kernel.now,
          'fault+',
          `leader-pause-at ${point}: ${inst.name} stops for ${Math.round(a.ms / 1000)}s`,
        );
        inst.pause(a.ms);
        disturb(inst.name, kernel.now + a.ms);
        return;
      }
      trace.add(kernel.now, 'fault+', `leader-crash-at ${point}: ${inst.name} dies here`);
      inst.crash();
      disturb(inst.name);
      kernel.after(
        a.ms,
        () => {
          inst.restart();
          disturb(inst.name);
        },
        { settle: true },
      );
    };
  const control: InstanceControl = {
    names: () => insts.map((i) => i.name),
    pause: (name, ms) => {
      byName.get(name)?.pause(ms);
      disturb(name, kernel.now + ms);
    },
    stepWall: (name, ms) => byName.get(name)?.stepWall(ms),
    crash: (name) => {
      byName.get(name)?.crash();
      disturb(name);
    },
    restart: (name) => {
      byName.get(name)?.restart();
      disturb(name);
    },
    leader,
    etcd: () => etcd,
    etcdClient: (name) => byName.get(name)?.etcdClient(),
    disturb,
    armAt: (point, what, ms) => armed.push({ point: point as CrashPoint, what, ms }),
  };
  const faults = new FaultEngine(kernel, world, control, trace);
  const schedule = sc.faults({
    world,
    instances: control.names(),
    random,
    durationMs,
    bounds,
    intensity: opts.intensity ?? 1,
    seed: opts.seed,
  });
  for (const f of schedule) faults.schedule(f);
  trace.add(
    0,
    'run',
    `seed ${opts.seed}, scenario ${sc.name}, ${instances} instance(s), ${schedule.length} fault(s), ${Math.round(durationMs / 1000)}s`,
  );
  world.startWorkload();
  for (const i of insts) i.start();

  const invariants: Invariant[] = invariantsFor(2);
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
  // The quorum a move needs: a majority of the observers surely live (alive, running, connected to
  // etcd, and undisturbed for two lease TTLs, so their views certainly reach the leader). Observers
  // in doubt (just crashed, paused, cut) may or may not count: the oracle asks for the least.
  const quorumNow = (): number => {
    if (!etcd) return 1;
    if (etcd.unavailable) disturb('*');
    const all = disturbed.get('*') ?? Number.NEGATIVE_INFINITY;
    let live = 0;
    const regions = new Set<string>();
    for (const i of insts) {
      const since = Math.max(all, disturbed.get(i.name) ?? Number.NEGATIVE_INFINITY);
      if (i.alive() && !i.paused() && kernel.now - since > 2 * SIM_LEASE_TTL_MS) {
        live++;
        regions.add(i.home);
      }
    }
    ctx.observerRegions = regions.size;
    return Math.max(1, Math.floor(live / 2) + 1);
  };
  truth.update(0, world, faults, observers, ctx.quorum);
  let violation: Violation | undefined;
  let checks = 0;
  const fail = (invariant: string, message: string) => {
    trace.add(kernel.now, 'VIOLATED', `${invariant}: ${message}`);
    violation = { invariant, message, at: kernel.now, tail: trace.tail() };
  };
  // A process spinning in place (work scheduled at the same virtual instant without end) would
  // never let virtual time advance: fail it as such rather than run out of memory.
  let sameInstant = 0;
  let lastInstant = -1;
  const guard = guardRealTime();
  let result: Awaited<ReturnType<Kernel['run']>>;
  try {
    result = await kernel.run(durationMs, {
      afterEvent: () => {
        if (kernel.now === lastInstant) {
          if (++sameInstant > 200_000) {
            fail(
              'virtual-time-advances',
              `200,000 events at one virtual instant: something spins without letting time pass`,
            );
            return true;
          }
        } else {
          lastInstant = kernel.now;
          sameInstant = 0;
        }
        ctx.now = kernel.now;
        ctx.quorum = quorumNow();
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
      instances,
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
      crashes: insts.reduce((n, i) => n + i.stats.crashes, 0),
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
