import type { Logger } from 'pino';
import { nextChange } from '../decide/deadline.js';
import { decide } from '../decide/decide.js';
import type { Alert, DecideInput, HealthView, Overrides, PanicMemory, Plan } from '../decide/types.js';
import type { CoreMetrics } from '../metrics.js';
import type { Topology } from '../topology/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { isSwitchyardError } from '../util/errors.js';
import type { DecisionLog } from './decision-log.js';
import type { PlanExecutor } from './plan-execution.js';
import type { Coordination } from './ports.js';
import type { StateKeeper } from './state-keeper.js';

/** However steady things look, decide afresh at least this often (labels, durations in reasons). */
const MAX_PLAN_AGE_MS = 30_000;

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
  /** Changes whenever ownView() can have changed other than by time passing (tracker.version). */
  ownVersion(): number;
  /** Regions inside a maintenance window now. */
  maintenance(): string[];
  /** Ask for the tick again after this long without a change (ms). */
  tickMs: number;
  /**
   * Work that must succeed before the first plan of each term is executed (journal recovery: an
   * intent a crashed leader left is resumed or abandoned); retried each tick until it succeeds.
   */
  beforeFirstRun?: () => Promise<void>;
  /** Reload the state from the store at the start of each term (several instances: the last leader wrote it). */
  reloadOnNewTerm?: boolean;
  /**
   * At the start of each term, after the reload: begin a new epoch, durably, before any action,
   * so that no two leaders ever act in the same epoch (several instances).
   */
  beginTerm?: () => Promise<void>;
  /** The engine (default `decide`; the simulator wraps it to record each decision's evidence). */
  decide?: (input: DecideInput) => Plan;
  /** A cycle failed (logged and counted by the caller). */
  onError(err: unknown, message: string): void;
  /** The state could (not) be saved: raise or clear the state-unwritable alert. */
  onStateSaved(ok: boolean, err?: unknown): void;
  /** Alerts the daemon raises itself (state unwritable, DNS failing), exported with the engine's. */
  extraAlerts(): Alert[];
  /** Changes whenever extraAlerts() would (cheap: it is read on every tick). */
  extraAlertsKey(): string;
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
  /** The cycle runNow() promised to start once the one in flight is over. */
  private rerun: Promise<Plan | undefined> | undefined;
  private paused: Promise<void> | undefined;
  private running = false;
  /** The leadership term whose state was loaded and whose intents were recovered. */
  private syncedTerm = 0;
  private last: Plan | undefined;
  /** The panic guard's memory, fed back into the next decision (in memory, like the evidence). */
  private panic: PanicMemory | undefined;
  /** What the last decided input depended on, and until when its plan stands (see nextChange). */
  private lastKey = '';
  private validUntil = 0;

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
    const input: DecideInput = {
      topology,
      health: coordination.combine(this.deps.ownView(), now),
      state: structuredClone(s.engine),
      overrides,
      now,
      wall: clock.wall(),
    };
    const c = coordination.status();
    if (c.role !== 'standalone') input.observers = { regions: c.observerRegions };
    if (this.panic) input.panic = this.panic;
    return input;
  }

  /** Asks for a cycle soon; coalesces requests. */
  schedule(delayMs = 0): void {
    if (!this.running) return;
    if (this.tick) this.deps.clock.clearTimeout(this.tick);
    this.tick = this.deps.clock.setTimeout(() => {
      this.tick = undefined;
      void this.tickOnce().finally(() => this.schedule(this.deps.tickMs));
    }, delayMs);
  }

  /**
   * Runs one cycle that starts after this call: now, or right after the one running — which may
   * have read its input before the caller's change (an override just saved), whether it is a tick
   * or another caller's cycle. Calls meanwhile share that one further cycle.
   */
  runNow(): Promise<Plan | undefined> {
    const running = this.inFlight;
    if (running) {
      this.rerun ??= running
        .catch(() => undefined)
        .then(() => {
          this.rerun = undefined;
          return this.runNow();
        });
      return this.rerun;
    }
    const run = this.runOnce(true).finally(() => {
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

  /** A tick: like runNow, but skips the cycle when nothing it depends on can have changed. */
  private tickOnce(): Promise<Plan | undefined> {
    if (this.inFlight) return this.inFlight;
    const run = this.runOnce(false).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  /**
   * What a decision depends on besides time: the evidence (tracker version), the persisted state
   * (commits), the coordination's view and right to act, maintenance windows. Cheap to compute.
   */
  private inputKey(): string {
    const { keeper, coordination } = this.deps;
    return `${this.deps.ownVersion()}|${keeper.version}|${coordination.version()}|${coordination.canAct()}|${this.deps.maintenance().join(',')}|${this.deps.extraAlertsKey()}`;
  }

  /**
   * observe → decide → apply. Never throws: a failed cycle is reported and retried on the next
   * tick. Unless `force`d, a cycle whose inputs have not changed since a fully applied plan with no
   * action, before that plan's next time threshold, is skipped: steady state allocates nothing.
   */
  async runOnce(force = false): Promise<Plan | undefined> {
    if (!this.running || this.paused) return undefined;
    const { metrics, executor, coordination } = this.deps;
    const key = this.inputKey();
    if (!force && this.last && key === this.lastKey && this.deps.clock.monotonic() < this.validUntil)
      return this.last;
    this.lastKey = '';
    try {
      // A new term (this instance just took the lead): decide only on the state as the previous
      // leader left it, and finish or abandon what it left half done, before anything else.
      const term = coordination.term();
      if (coordination.canAct() && this.syncedTerm !== term) {
        try {
          if (this.deps.reloadOnNewTerm) await this.deps.keeper.reload();
          await this.deps.beginTerm?.();
          await this.deps.beforeFirstRun?.();
          this.syncedTerm = term;
        } catch (e) {
          if (isSwitchyardError(e, 'STATE_UNWRITABLE')) this.deps.onStateSaved(false, e);
          throw e;
        }
      }
      const input = this.input();
      const plan = (this.deps.decide ?? decide)(input);
      this.last = plan;
      this.panic = plan.panic;
      // The plan stands until a threshold passes, unless it left work to retry.
      const settled = plan.actions.length === 0;
      metrics.setHealth(input.health);
      const changed = plan.records.some((r) => r.changed) || plan.actions.length > 0;
      metrics.setPlan(plan, input.overrides.frozen ? 'frozen' : changed ? 'changed' : 'unchanged');
      this.deps.decisions.record(plan);
      if (!coordination.canAct()) {
        this.lastKey = key;
        this.validUntil = Math.min(nextChange(input, plan.panic), input.now + MAX_PLAN_AGE_MS);
        return plan;
      }
      if (this.syncedTerm !== term) return plan;
      try {
        await executor.execute(plan);
        this.deps.onStateSaved(true);
        if (settled) {
          this.lastKey = this.inputKey();
          this.validUntil = Math.min(nextChange(input, plan.panic), input.now + MAX_PLAN_AGE_MS);
        }
      } catch (e) {
        if (isSwitchyardError(e, 'STATE_UNWRITABLE')) this.deps.onStateSaved(false, e);
        // Someone else wrote the state (an operator through another instance, or a leader that
        // replaced this one): take what is there; the next cycle decides on it.
        if (isSwitchyardError(e, 'STATE_CONFLICT'))
          await this.deps.keeper
            .reload()
            .catch((r: unknown) => this.deps.onError(r, 'could not reload the state after a conflict'));
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
