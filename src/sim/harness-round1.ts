import { pino } from 'pino';
import { Registry } from 'prom-client';
import { DatabaseActuator, type RegionPromoters } from '../daemon/database-actuator.js';
import { StateKeeper } from '../daemon/state-keeper.js';
import { createDatabaseMetrics } from '../database/metrics.js';
import type { Promoter } from '../database/types.js';
import { decide } from '../decide/decide.js';
import { nominalWeights, sameWeights } from '../decide/records.js';
import {
  type DecideInput,
  type EngineState,
  initialState,
  type PanicMemory,
  type Plan,
} from '../decide/types.js';
import { createDnsMetrics } from '../dns/metrics.js';
import { DnsReconciler } from '../dns/reconciler.js';
import type { DesiredWeights } from '../dns/types.js';
import { HealthTracker } from '../health/tracker.js';
import { createCoreMetrics } from '../metrics.js';
import { ProbeScheduler } from '../probe/scheduler.js';
import type { DatabaseProbeResult, ProbeResult } from '../probe/types.js';
import { freshState } from '../state/create.js';
import type { PersistedState } from '../state/types.js';
import type { RegionId } from '../topology/types.js';
import type { TimerHandle } from '../util/clock.js';
import { SimClock } from './clock.js';
import type { HoldRecord, InstanceObservation, MoveRecord, PromotionRecord } from './invariants/types.js';
import type { Kernel } from './kernel.js';
import type { Mutant } from './mutants.js';
import { draw } from './random.js';
import type { Trace } from './trace.js';
import type { InstancePorts, World } from './world/world.js';

/**
 * ROUND-1 HARNESS — replaced in round 2 by the real daemon composition.
 *
 * One director instance assembled from the real, stable pieces — ProbeScheduler, HealthTracker,
 * decide, DnsReconciler (over the real Route 53 provider), StateKeeper and, unless `act` is off,
 * DatabaseActuator — and the simulated ports, with a loop shaped like the
 * daemon's: decide on every component health change and on a 1 s tick, save the engine state
 * (intent first), offer the plan's weights to the reconciler, then run the plan's fences and its
 * promotion, and offer the records that waited for the promotion (management) once it is
 * verified — the daemon's `act()`. A full reconcile runs every five minutes (the daemon's cron).
 * With `act: false` database actions are only traced.
 */
export interface Round1Options {
  name: string;
  /** The region the instance runs in. */
  home: RegionId;
  tickMs?: number;
  fullReconcileMs?: number;
  /** How long start waits for the first read of live DNS (the daemon's dnsStartTimeoutMs). */
  dnsStartTimeoutMs?: number;
  /** Execute fences and promotions with the real DatabaseActuator (default true). */
  act?: boolean;
  /** Safety mechanisms taken out (src/sim/mutants.ts). */
  mutants?: readonly Mutant[];
}

export class Round1Instance implements InstanceObservation {
  readonly name: string;
  readonly moves: MoveRecord[] = [];
  readonly holds: HoldRecord[] = [];
  readonly panics: { from: number; to?: number }[] = [];
  readonly promotions: PromotionRecord[] = [];
  readonly clock: SimClock;
  /** Counters for the report. */
  readonly stats = {
    decisions: 0,
    saveFailures: 0,
    wouldPromote: 0,
    wouldFence: 0,
    promotions: 0,
    fences: 0,
  };
  private panicMemory: PanicMemory | undefined;
  private readonly decide: typeof decide;
  private readonly owner: number;
  private readonly ports: InstancePorts;
  private readonly tracker: HealthTracker;
  private readonly scheduler: ProbeScheduler<ProbeResult | DatabaseProbeResult>;
  private readonly dns: DnsReconciler;
  private readonly tickMs: number;
  private readonly fullReconcileMs: number;
  private keeper: StateKeeper | undefined;
  private actuator: DatabaseActuator | undefined;
  private readonly promoters: RegionPromoters = new Map();
  private readonly act: boolean;
  private promotedEpochs = new Set<number>();
  private tick: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private running = false;
  private lastActions = '';

  constructor(
    private readonly kernel: Kernel,
    private readonly world: World,
    private readonly trace: Trace,
    private readonly opts: Round1Options,
  ) {
    this.name = opts.name;
    this.decide = (opts.mutants ?? []).reduce((d, m) => m.decide?.(d) ?? d, decide);
    this.tickMs = opts.tickMs ?? 1_000;
    this.act = opts.act ?? true;
    this.fullReconcileMs = opts.fullReconcileMs ?? 5 * 60_000;
    world.addObserver(opts.name, opts.home);
    this.owner = kernel.addOwner(opts.name);
    const origin = world.stream(`instance.${opts.name}.origin`);
    this.clock = new SimClock(kernel, this.owner, {
      monotonicOrigin: Math.round(draw.between(origin, 1e6, 1e11)),
    });
    this.ports = world.ports(opts.name, this.clock, world.stream(`instance.${opts.name}.route53`));
    this.tracker = new HealthTracker(world.targets, {
      clock: this.clock,
      onChange: (c) => {
        if (c.kind !== 'component') return;
        trace.add(kernel.now, 'health', `${this.name} ${c.id} ${c.from} → ${c.to}: ${c.reason}`);
        this.schedule(0);
      },
    });
    this.scheduler = new ProbeScheduler({
      clock: this.clock,
      random: world.stream(`instance.${opts.name}.scheduler`),
      onResult: (id, r) => this.tracker.record(id, r),
    });
    for (const t of world.targets)
      this.scheduler.add({
        id: t.id,
        probe: this.ports.probeFactory(t, this.clock),
        intervalMs: t.intervalMs,
        timeoutMs: t.timeoutMs,
        jitter: t.jitter,
      });
    this.dns = new DnsReconciler({
      provider: this.ports.dnsProvider,
      records: world.topology.records,
      logger: pino({ level: 'silent' }),
      metrics: createDnsMetrics(new Registry()),
      clock: this.clock,
      options: { dryRun: false, createMissing: false, random: world.stream(`instance.${opts.name}.dns`) },
    });
  }

  /** Loads state, reads live DNS (bounded, like the daemon), starts probing and the loop. */
  start(): void {
    // Runs as the instance's own first event, so a pause or crash applies to it like to the rest.
    this.clock.setTimeout(() => void this.boot(), 0);
  }

  private async boot(): Promise<void> {
    const { topology, config } = this.world;
    const store = this.ports.stateStore;
    const loaded = await store.load();
    const persisted = loaded ?? freshState(initialState(topology));
    const keeper = new StateKeeper(store, persisted, this.clock, {
      random: this.world.stream(`instance.${this.name}.ids`),
      actor: this.name,
    });
    if (!loaded) await keeper.update((d) => Object.assign(d, persisted)).catch(() => undefined);
    this.keeper = keeper;
    const registry = new Registry();
    const metrics = createCoreMetrics(
      registry,
      { topology, targets: this.world.targets.map((t) => t.id) },
      { clock: this.clock, defaultMetrics: false },
    );
    const dbMetrics = createDatabaseMetrics(registry);
    for (const [region, r] of Object.entries(config.regions)) {
      const m = new Map<string, Promoter>();
      for (const [key, db] of Object.entries(r.databases ?? {})) {
        const real = this.ports.promoterFactory(region, key, db);
        m.set(
          key,
          (this.opts.mutants ?? []).reduce((p, mu) => mu.promoter?.(p) ?? p, real),
        );
        dbMetrics.init(region, key);
      }
      if (m.size) this.promoters.set(region, m);
    }
    this.actuator = new DatabaseActuator({
      promoters: this.promoters,
      keeper,
      logger: pino({ level: 'silent' }),
      metrics,
      dbMetrics,
      clock: this.clock,
      promoteTimeoutMs: 60_000,
      retryAfterMs: 5_000,
      changed: (region, since) => this.tracker.forgetSamples(region, since),
      maxLag: {
        seconds: topology.policy.promotion.maxLagSeconds,
        bytes: topology.policy.promotion.maxLagBytes,
      },
    });
    const first = this.dns.start();
    first.catch(() => undefined);
    await Promise.race([
      first,
      new Promise<void>((r) => this.clock.setTimeout(r, this.opts.dnsStartTimeoutMs ?? 15_000)),
    ]);
    this.scheduler.start();
    this.running = true;
    this.scheduleFullReconcile();
    this.schedule(0);
    this.trace.add(
      this.kernel.now,
      'start',
      `${this.name} running in ${this.opts.home} (main ${keeper.current.engine.main}, epoch ${keeper.current.engine.epoch})`,
    );
  }

  alive(): boolean {
    return this.kernel.isAlive(this.owner);
  }

  epoch(): number {
    return this.keeper?.current.engine.epoch ?? 0;
  }

  term(): number {
    return 0;
  }

  main(): RegionId {
    return this.keeper?.current.engine.main ?? this.world.topology.configuredMain;
  }

  pause(ms: number): void {
    this.kernel.pause(this.owner, ms);
  }

  stepWall(ms: number): void {
    this.clock.stepWall(ms);
  }

  private scheduleFullReconcile(): void {
    this.clock.setTimeout(() => {
      this.dns.fullReconcile().catch(() => undefined);
      this.scheduleFullReconcile();
    }, this.fullReconcileMs);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.tick) this.clock.clearTimeout(this.tick);
    this.tick = this.clock.setTimeout(() => {
      this.tick = undefined;
      void this.evaluateNow().finally(() => this.schedule(this.tickMs));
    }, delayMs);
  }

  private evaluateNow(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const run = (async () => {
      do {
        this.again = false;
        await this.evaluateOnce();
      } while (this.again && this.running);
    })().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private async evaluateOnce(): Promise<void> {
    const keeper = this.keeper;
    if (!keeper) return;
    this.stats.decisions++;
    const input: DecideInput = {
      topology: this.world.topology,
      health: this.tracker.view(),
      state: structuredClone(keeper.current.engine),
      overrides: structuredClone(keeper.current.overrides),
      now: this.clock.monotonic(),
      wall: this.clock.wall(),
      ...(this.panicMemory ? { panic: this.panicMemory } : {}),
    };
    const plan = this.decide(input);
    this.panicMemory = plan.panic;
    this.noteActions(plan);
    this.notePanic(plan, input.now);
    const { state } = input;
    const desired: DesiredWeights = {};
    for (const r of plan.records)
      desired[r.key] = r.dependsOn.length ? (state.weights[r.key] ?? r.weights) : r.weights;
    const changed =
      !sameOut(state.out, plan.next.out) ||
      JSON.stringify(state.demoted ?? {}) !== JSON.stringify(plan.next.demoted ?? {}) ||
      plan.records.some((r) => !sameWeights(state.weights[r.key], desired[r.key] ?? {}));
    // Intent first: what the director acts on is what is on disk. (When nothing changed the
    // keeper would find the draft equal and skip the save: skip the update and its two JSON copies.)
    if (changed) {
      const saved = await this.save((d) => {
        d.engine.out = plan.next.out;
        // As the daemon's PlanExecutor: demotions (and their lifting) are part of the next state.
        if (plan.next.demoted) d.engine.demoted = plan.next.demoted;
        else delete d.engine.demoted;
        d.engine.weights = { ...d.engine.weights, ...desired };
      });
      if (!saved) return;
      this.recordMoves(plan, state, desired, input);
      this.recordHolds(plan, state, input);
    }
    this.dns.offer(desired);
    if (this.act) await this.execute(plan, input, desired);
  }

  /** Saves a change of the engine state; false (traced, counted) when the disk refuses it. */
  private async save(change: (d: PersistedState) => void): Promise<boolean> {
    try {
      await this.keeper?.update(change);
      return true;
    } catch (e) {
      this.stats.saveFailures++;
      this.trace.add(
        this.kernel.now,
        'state',
        `${this.name} save failed: ${(e as Error).message}; acting on nothing until it works`,
      );
      return false;
    }
  }

  /**
   * The daemon's plan execution: fences, then the promotion, then the records that waited for it
   * (management), each fence and the promotion followed by a wait for probes taken after it.
   */
  private async execute(plan: Plan, input: DecideInput, desired: DesiredWeights): Promise<void> {
    const actuator = this.actuator;
    if (!actuator) return;
    for (const a of plan.actions) {
      if (a.type !== 'fence') continue;
      const fencedAt = this.clock.monotonic();
      const journaled = this.keeper?.current.journal.length ?? 0;
      const ok = await actuator.fence(a);
      const outcome = this.keeper?.current.journal
        .slice(journaled)
        .find((e) => e.action === 'fence' && e.phase !== 'intent');
      if (ok) {
        this.stats.fences++;
        this.trace.add(this.kernel.now, 'act', `${this.name} fenced ${a.region} (${a.databases.join(', ')})`);
        await this.waitFresh([a.region], fencedAt);
      } else if (outcome)
        this.trace.add(this.kernel.now, 'act', `${this.name} could not fence ${a.region}: ${outcome.detail}`);
    }
    const promote = plan.actions.find((a) => a.type === 'promote');
    if (promote?.type !== 'promote') return;
    if (!promote.resume && !this.promotedEpochs.has(promote.epoch)) {
      this.promotedEpochs.add(promote.epoch);
      this.promotions.push({
        at: this.kernel.now,
        instance: this.name,
        epoch: promote.epoch,
        region: promote.region,
        from: promote.from,
        force: promote.force,
        evidence: { views: [input.health], now: input.now, overrides: input.overrides, out: input.state.out },
      });
    }
    const startedAt = this.clock.monotonic();
    const journaled = this.keeper?.current.journal.length ?? 0;
    const ok = await actuator.promote(promote);
    // The actuator journals every attempt it makes (and none while it backs off): trace those.
    const outcome = this.keeper?.current.journal
      .slice(journaled)
      .find((e) => e.action === 'promote' && e.phase !== 'intent');
    if (ok || outcome)
      this.trace.add(
        this.kernel.now,
        'act',
        `${this.name} ${ok ? 'promoted' : 'could not promote'} ${promote.region} (epoch ${promote.epoch}${promote.resume ? ', resumed' : ''})${ok ? '' : `: ${outcome?.detail ?? ''}`}`,
      );
    if (!ok) return;
    this.stats.promotions++;
    const after: DesiredWeights = { ...desired };
    for (const r of plan.records)
      if (r.dependsOn.includes(`promote:${promote.region}`)) after[r.key] = r.weights;
    if (
      !(await this.save((d) => {
        d.engine.weights = { ...d.engine.weights, ...after };
      }))
    )
      return;
    this.dns.offer(after);
    await this.waitFresh([promote.from], startedAt);
  }

  /** Waits (bounded) until every database of `regions` has a probe result started after `since`. */
  private async waitFresh(regions: RegionId[], since: number): Promise<void> {
    const targets = this.world.targets.filter((t) => t.database && regions.includes(t.region));
    const bound = Math.max(...targets.map((t) => t.intervalMs + t.timeoutMs), 0);
    const until = this.clock.monotonic() + 2 * bound + 1_000;
    const ids = new Set(targets.map((t) => t.id));
    const fresh = () =>
      this.tracker.targets().every((t) => !ids.has(t.id) || (t.last !== undefined && t.last.at >= since));
    while (!fresh() && this.clock.monotonic() < until && this.running)
      await new Promise<void>((r) => this.clock.setTimeout(r, 100));
  }

  private recordMoves(plan: Plan, state: EngineState, desired: DesiredWeights, input: DecideInput): void {
    for (const r of plan.records) {
      const record = this.world.topology.records.find((x) => x.key === r.key);
      if (!record) continue;
      const before = state.weights[r.key] ?? nominalWeights(record, state.main, this.world.topology);
      const after = desired[r.key] ?? r.weights;
      if (sameWeights(before, after)) continue;
      this.moves.push({
        at: this.kernel.now,
        instance: this.name,
        epoch: state.epoch,
        recordKey: r.key,
        before: { ...before },
        after: { ...after },
        main: state.main,
        evidence: { views: [input.health], now: input.now, overrides: input.overrides, out: state.out },
      });
      this.trace.add(
        this.kernel.now,
        'decide',
        `${this.name} ${r.key} ${weightsText(before)} → ${weightsText(after)}: ${r.reason}`,
      );
    }
  }

  private recordHolds(plan: Plan, state: EngineState, input: DecideInput): void {
    const evidence = { views: [input.health], now: input.now, overrides: input.overrides, out: state.out };
    for (const region of new Set([...Object.keys(state.out), ...Object.keys(plan.next.out)])) {
      const was = state.out[region] ?? [];
      const is = plan.next.out[region] ?? [];
      for (const cls of is)
        if (!was.includes(cls))
          this.holds.push({ at: this.kernel.now, instance: this.name, region, cls, change: 'out', evidence });
      for (const cls of was)
        if (!is.includes(cls))
          this.holds.push({ at: this.kernel.now, instance: this.name, region, cls, change: 'in', evidence });
    }
  }

  private notePanic(plan: Plan, now: number): void {
    const panic = plan.alerts.some((a) => a.kind === 'panic');
    const open = this.panics[this.panics.length - 1];
    if (panic && (!open || open.to !== undefined)) {
      this.panics.push({ from: now });
      this.trace.add(
        this.kernel.now,
        'panic',
        `${this.name} panic guard: ${plan.alerts.find((a) => a.kind === 'panic')?.message}`,
      );
    } else if (!panic && open && open.to === undefined) {
      open.to = now;
      this.trace.add(this.kernel.now, 'panic', `${this.name} panic guard lifted`);
    }
  }

  private noteActions(plan: Plan): void {
    const signature = plan.actions
      .map((a) => `${a.type} ${a.region}${a.type === 'promote' ? ` epoch ${a.epoch}` : ''}`)
      .join('; ');
    if (signature === this.lastActions) return;
    this.lastActions = signature;
    for (const a of plan.actions) {
      if (a.type === 'promote') this.stats.wouldPromote++;
      else this.stats.wouldFence++;
    }
    if (signature)
      this.trace.add(
        this.kernel.now,
        'plan',
        `${this.name} wants ${signature}${this.act ? '' : ' (not executed)'}`,
      );
  }
}

function sameOut(a: EngineState['out'], b: EngineState['out']): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = a[k] ?? [];
    const y = b[k] ?? [];
    if (x.length !== y.length || x.some((c, i) => c !== y[i])) return false;
  }
  return true;
}

function weightsText(w: Record<RegionId, number>): string {
  return (
    Object.entries(w)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '(none)'
  );
}
