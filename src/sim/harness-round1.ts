import { pino } from 'pino';
import { Registry } from 'prom-client';
import { decide } from '../decide/decide.js';
import { nominalWeights, sameWeights } from '../decide/records.js';
import { type EngineState, initialState, NO_OVERRIDES, type Plan } from '../decide/types.js';
import { createDnsMetrics } from '../dns/metrics.js';
import { DnsReconciler } from '../dns/reconciler.js';
import type { DesiredWeights } from '../dns/types.js';
import { HealthTracker } from '../health/tracker.js';
import { ProbeScheduler } from '../probe/scheduler.js';
import type { DatabaseProbeResult, ProbeResult } from '../probe/types.js';
import { freshState } from '../state/create.js';
import type { PersistedState } from '../state/types.js';
import type { RegionId } from '../topology/types.js';
import type { TimerHandle } from '../util/clock.js';
import { SimClock } from './clock.js';
import type { HoldRecord, InstanceObservation, MoveRecord, PromotionRecord } from './invariants/types.js';
import type { Kernel } from './kernel.js';
import { draw } from './random.js';
import type { Trace } from './trace.js';
import type { InstancePorts, World } from './world/world.js';

/**
 * ROUND-1 HARNESS — replaced in round 2 by the real daemon composition.
 *
 * One director instance assembled from the real, stable pieces — ProbeScheduler, HealthTracker,
 * decide, DnsReconciler (over the real Route 53 provider) — and the simulated ports, with a loop
 * shaped like the daemon's: decide on every component health change and on a 1 s tick, save the
 * engine state (intent first), then offer the plan's weights to the reconciler. Database
 * actions in the plan (promote, fence) are traced but not executed: the database actuator and
 * the leader loop come with the daemon split. A full reconcile runs every five minutes (the
 * daemon's cron job).
 */
export interface Round1Options {
  name: string;
  /** The region the instance runs in. */
  home: RegionId;
  tickMs?: number;
  fullReconcileMs?: number;
  /** How long start waits for the first read of live DNS (the daemon's dnsStartTimeoutMs). */
  dnsStartTimeoutMs?: number;
}

export class Round1Instance implements InstanceObservation {
  readonly name: string;
  readonly moves: MoveRecord[] = [];
  readonly holds: HoldRecord[] = [];
  readonly promotions: PromotionRecord[] = [];
  readonly clock: SimClock;
  /** Counters for the report. */
  readonly stats = { decisions: 0, saveFailures: 0, wouldPromote: 0, wouldFence: 0 };
  private readonly owner: number;
  private readonly ports: InstancePorts;
  private readonly tracker: HealthTracker;
  private readonly scheduler: ProbeScheduler<ProbeResult | DatabaseProbeResult>;
  private readonly dns: DnsReconciler;
  private readonly tickMs: number;
  private readonly fullReconcileMs: number;
  private persisted!: PersistedState;
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
    this.tickMs = opts.tickMs ?? 1_000;
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
    const loaded = await this.ports.stateStore.load();
    this.persisted = loaded ?? freshState(initialState(this.world.topology));
    if (!loaded) await this.ports.stateStore.save(this.persisted).catch(() => undefined);
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
      `${this.name} running in ${this.opts.home} (main ${this.persisted.engine.main}, epoch ${this.persisted.engine.epoch})`,
    );
  }

  alive(): boolean {
    return this.kernel.isAlive(this.owner);
  }

  epoch(): number {
    return this.persisted?.engine.epoch ?? 0;
  }

  term(): number {
    return 0;
  }

  main(): RegionId {
    return this.persisted?.engine.main ?? this.world.topology.configuredMain;
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
    this.stats.decisions++;
    const state: EngineState = structuredClone(this.persisted.engine);
    const health = this.tracker.view();
    const input = {
      topology: this.world.topology,
      health,
      state,
      overrides: NO_OVERRIDES,
      now: this.clock.monotonic(),
    };
    const plan = decide(input);
    this.noteActions(plan);
    const desired: DesiredWeights = {};
    for (const r of plan.records)
      desired[r.key] = r.dependsOn.length ? (state.weights[r.key] ?? r.weights) : r.weights;
    if (
      !sameOut(state.out, plan.next.out) ||
      plan.records.some((r) => !sameWeights(state.weights[r.key], desired[r.key] ?? {}))
    ) {
      const next: PersistedState = structuredClone(this.persisted);
      next.engine.out = plan.next.out;
      next.engine.weights = { ...next.engine.weights, ...desired };
      // Intent first: what the director acts on is what is on disk.
      try {
        await this.ports.stateStore.save(next);
      } catch (e) {
        this.stats.saveFailures++;
        this.trace.add(
          this.kernel.now,
          'state',
          `${this.name} save failed: ${(e as Error).message}; acting on nothing until it works`,
        );
        return;
      }
      this.recordMoves(plan, state, desired, input);
      this.recordHolds(plan, state, input);
      this.persisted = next;
    }
    this.dns.offer(desired);
  }

  private recordMoves(
    plan: Plan,
    state: EngineState,
    desired: DesiredWeights,
    input: { health: MoveRecord['evidence']['views'][number]; now: number },
  ): void {
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
        evidence: { views: [input.health], now: input.now, overrides: NO_OVERRIDES, out: state.out },
      });
      this.trace.add(
        this.kernel.now,
        'decide',
        `${this.name} ${r.key} ${weightsText(before)} → ${weightsText(after)}: ${r.reason}`,
      );
    }
  }

  private recordHolds(
    plan: Plan,
    state: EngineState,
    input: { health: MoveRecord['evidence']['views'][number]; now: number },
  ): void {
    const evidence = { views: [input.health], now: input.now, overrides: NO_OVERRIDES, out: state.out };
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
        `${this.name} wants ${signature} (not executed by the round-1 harness)`,
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
