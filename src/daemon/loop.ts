import type { Logger } from 'pino';
import { decide } from '../decide/decide.js';
import type { Alert, DecideInput, HealthView, Overrides, Plan } from '../decide/types.js';
import type { CoreMetrics } from '../metrics.js';
import type { Topology } from '../topology/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { isSwitchyardError } from '../util/errors.js';
import type { DecisionLog } from './decision-log.js';
import type { PlanExecutor } from './plan-execution.js';
import type { Coordination } from './ports.js';
import type { StateKeeper } from './state-keeper.js';

export interface LoopDeps {
  topology: Topology;
  clock: Clock;
  logger: Logger;
  metrics: CoreMetrics;
  keeper: StateKeeper;
  executor: PlanExecutor;
  decisions: DecisionLog;
  coordination: Coordination;
  /** This observer's own health view (the tracker's). */
  ownView(): HealthView;
  /** Regions inside a maintenance window now. */
  maintenance(): string[];
  /** Ask for the tick again after this long without a change (ms). */
  tickMs: number;
  /** Work that must succeed before the first plan is executed (journal recovery); retried each tick. */
  beforeFirstRun?: () => Promise<void>;
  /** A cycle failed (logged and counted by the caller). */
  onError(err: unknown, message: string): void;
  /** The state could (not) be saved: raise or clear the state-unwritable alert. */
  onStateSaved(ok: boolean, err?: unknown): void;
  /** Alerts the daemon raises itself (state unwritable, DNS failing), exported with the engine's. */
  extraAlerts(): Alert[];
}

/**
 * The loop, in external-dns's shape: observe → decide → apply, one cycle at a time. A cycle runs on
 * every change (health, samples, overrides, coordination) and on a steady tick; requests while one
 * runs coalesce into one more run after it. `exclusive` pauses cycles for work that must not
 * interleave with a decision (a planned switchover).
 */
export class DirectorLoop {
  private tick: TimerHandle | undefined;
  private inFlight: Promise<Plan | undefined> | undefined;
  private again = false;
  private paused: Promise<void> | undefined;
  private running = false;
  private ready = false;
  private last: Plan | undefined;

  constructor(private readonly deps: LoopDeps) {}

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.tick) this.deps.clock.clearTimeout(this.tick);
    this.tick = undefined;
  }

  /** The cycle in flight, if any (shutdown waits for it). */
  current(): Promise<Plan | undefined> | undefined {
    return this.inFlight;
  }

  lastPlan(): Plan | undefined {
    return this.last;
  }

  /** The engine input as of now: the combined view of every observer, the persisted state. */
  input(): DecideInput {
    const { keeper, clock, coordination, topology } = this.deps;
    const now = clock.monotonic();
    const s = keeper.current;
    const overrides: Overrides = { ...structuredClone(s.overrides), maintenance: this.deps.maintenance() };
    return {
      topology,
      health: coordination.combine(this.deps.ownView(), now),
      state: structuredClone(s.engine),
      overrides,
      now,
      wall: clock.wall(),
    };
  }

  /** Asks for a cycle soon; coalesces requests. */
  schedule(delayMs = 0): void {
    if (!this.running) return;
    if (this.tick) this.deps.clock.clearTimeout(this.tick);
    this.tick = this.deps.clock.setTimeout(() => {
      this.tick = undefined;
      void this.runNow().finally(() => this.schedule(this.deps.tickMs));
    }, delayMs);
  }

  /** Runs one cycle now (or joins the one running, then runs once more). */
  runNow(): Promise<Plan | undefined> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const run = (async () => {
      let plan: Plan | undefined;
      do {
        this.again = false;
        plan = await this.runOnce();
      } while (this.again && this.running);
      return plan;
    })().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  /**
   * Runs `fn` with no cycle in between: waits for the one in flight, skips new ones until `fn` is
   * done. A planned switchover needs this: its pending promotion must not be "resumed" (the target
   * promoted before it caught up) by a cycle running meanwhile.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.paused) await this.paused;
    let release = () => {};
    this.paused = new Promise<void>((r) => {
      release = r;
    });
    try {
      await this.inFlight?.catch(() => undefined);
      return await fn();
    } finally {
      this.paused = undefined;
      release();
    }
  }

  /** observe → decide → apply. Never throws: a failed cycle is reported and retried on the next tick. */
  async runOnce(): Promise<Plan | undefined> {
    if (!this.running || this.paused) return undefined;
    const { metrics, executor, coordination } = this.deps;
    try {
      const input = this.input();
      const plan = decide(input);
      this.last = plan;
      metrics.setHealth(input.health);
      const changed = plan.records.some((r) => r.changed) || plan.actions.length > 0;
      metrics.setPlan(plan, input.overrides.frozen ? 'frozen' : changed ? 'changed' : 'unchanged');
      this.deps.decisions.record(plan);
      if (!coordination.canAct()) return plan;
      try {
        if (!this.ready) {
          await this.deps.beforeFirstRun?.();
          this.ready = true;
        }
        await executor.execute(plan);
        this.deps.onStateSaved(true);
      } catch (e) {
        if (isSwitchyardError(e, 'STATE_UNWRITABLE') || isSwitchyardError(e, 'STATE_CONFLICT'))
          this.deps.onStateSaved(false, e);
        throw e;
      }
      return plan;
    } catch (e) {
      this.deps.onError(
        e,
        'decision cycle failed; nothing more of this plan is applied, retrying on the next tick',
      );
      return undefined;
    } finally {
      metrics.setAlerts([...(this.last?.alerts ?? []), ...this.deps.extraAlerts()]);
      metrics.setState(this.deps.keeper.current.engine);
      metrics.setOverrides(this.deps.keeper.current.overrides);
    }
  }
}
