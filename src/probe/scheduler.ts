import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { SwitchyardError } from '../util/errors.js';
import { systemRandom } from '../util/random.js';
import { DueHeap, type DueNode, dueNode } from './due-heap.js';
import type { Probe, ProbeResult } from './types.js';

export interface ScheduledTarget<R extends ProbeResult = ProbeResult> {
  /** `${region}.${component}.${check}` or `${region}.database.${key}`. */
  id: string;
  probe: Probe<R>;
  intervalMs: number;
  /** Must be shorter than the interval: a run is aborted at its timeout. */
  timeoutMs: number;
  /** Share of the interval by which each gap may vary, 0–1 (config `probes.jitter`). */
  jitter?: number;
}

export interface SchedulerOptions<R extends ProbeResult = ProbeResult> {
  onResult: (targetId: string, result: R) => void;
  /** A consumer (`onResult`) that throws is reported here and counted; probing goes on. */
  onError?: (targetId: string, err: unknown) => void;
  /** Every start's lateness in ms (actual − planned), e.g. for a histogram. */
  onLateness?: (ms: number) => void;
  clock?: Clock;
  /** Uniform [0, 1); injected so tests can pin the jitter. */
  random?: () => number;
  /**
   * After the timeout aborts a run, how long the probe gets to report its own (more precise)
   * failure. A run still not settled then is abandoned: a timeout failure is delivered for it,
   * the probe's connection is reset, and the target's next run starts as planned.
   */
  abortGraceMs?: number;
  /** Upper bound on how long stop() waits for in-flight runs. */
  stopTimeoutMs?: number;
  /** Lateness samples kept (a ring buffer) for p50/p99. */
  latencySamples?: number;
  /**
   * A run due but not started within this long of its plan is shed (counted, not run): an event
   * loop that cannot keep up must say so, not fall further behind. Per target the bound is at
   * most half the interval.
   */
  maxLatenessMs?: number;
  /** Longest stretch of starts in one turn before yielding to I/O (results, other timers). */
  turnBudgetMs?: number;
}

export interface LatenessStats {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface SchedulerCounters {
  /** Runs started. */
  runs: number;
  /** Results delivered (the probe's own, or one the scheduler made for an abandoned run). */
  results: number;
  /** A planned run skipped because the previous run of that target had not finished. */
  skippedOverlaps: number;
  /** Runs the scheduler had to abort at their timeout. */
  timeouts: number;
  /** Runs not settled by timeout + grace: recorded as a timeout failure, connection reset. */
  abandoned: number;
  /** Abandoned runs that settled later (their result is dropped). */
  lateSettled: number;
  /** Planned runs not started because the loop was behind by more than the lateness bound. */
  shed: number;
  /** `onResult` threw. */
  consumerErrors: number;
}

/** What the daemon exports: counters, how far behind the plan the loop is, the lateness tail. */
export interface SchedulerStats {
  targets: number;
  running: number;
  counters: SchedulerCounters;
  /** How overdue the most overdue planned start is right now (0 when nothing is due). */
  behindMs: number;
  lateness: LatenessStats;
}

/**
 * A target's AbortController serves this many runs (none aborted) before a new one is made: a
 * controller and its signal cost more than the rest of the scheduler's work for a run. A probe
 * must remove the abort listener it adds when its run ends (every probe here does); one that
 * forgets leaks at most this many listeners, and Node warns after ten.
 */
const RUNS_PER_CONTROLLER = 64;

const IDLE = 0;
const RUNNING = 1;
/** Aborted at the timeout, waiting out the grace before it is abandoned. */
const ABORTED = 2;

/** One target: its plan, its run state, and the nodes and callbacks its runs reuse. */
class Entry<R extends ProbeResult> {
  readonly id: string;
  readonly start: DueNode<Entry<R>>;
  readonly deadline: DueNode<Entry<R>>;
  state = IDLE;
  startedAt = 0;
  /** Reused run after run until one is aborted (a signal cannot be un-aborted). */
  controller = new AbortController();
  controllerRuns = 0;
  run: RunSlot<R>;
  removed = false;
  /** remove() waiting for the run in flight. */
  onIdle: (() => void) | undefined;

  constructor(
    readonly target: ScheduledTarget<R>,
    readonly jitter: number,
    readonly shedAfterMs: number,
    scheduler: ProbeScheduler<R>,
  ) {
    this.id = target.id;
    this.start = dueNode<Entry<R>>(this);
    this.deadline = dueNode<Entry<R>>(this);
    this.run = new RunSlot(scheduler, this);
  }
}

/**
 * The callbacks of a target's runs, made once and reused run after run. A run that is abandoned
 * takes its slot with it (`live` false) so that its late result, if it ever comes, is dropped.
 */
class RunSlot<R extends ProbeResult> {
  live = true;
  readonly ok: (r: R) => void;
  readonly err: (e: unknown) => void;
  constructor(scheduler: ProbeScheduler<R>, e: Entry<R>) {
    this.ok = (r) => scheduler.settle(e, this, r);
    this.err = (x) =>
      scheduler.settle(
        e,
        this,
        scheduler.synthetic(e, 'probe-error', `probe threw: ${String(x).slice(0, 200)}`),
      );
  }
}

function timeoutReason(ms: number): DOMException {
  return new DOMException(`timeout after ${formatDuration(ms)}`, 'TimeoutError');
}

/**
 * Runs every target on its own interval with jitter. Planned times advance from the previous
 * plan (fixed rate), so lateness (actual − planned start) measures the event loop, not drift;
 * after a stall the plan skips whole intervals (keeping each target's phase, so starts stay
 * spread) instead of firing a burst of catch-up runs.
 *
 * One timer for the whole scheduler, armed for the earliest of the planned starts and run
 * deadlines (two heaps): no timer, closure or signal per run. Starts that fall due together are
 * started within a turn budget, then the loop yields to I/O. A start later than its bound is
 * shed and counted. No run outlives its timeout: at the timeout its signal aborts; a run that
 * has not settled after the grace is recorded as a timeout, its probe's connection is reset, and
 * the next run starts on a fresh one — a wedged connection never wedges the target. A target
 * never has two live runs at once.
 */
export class ProbeScheduler<R extends ProbeResult = ProbeResult> {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onResult: (targetId: string, result: R) => void;
  private readonly onError: ((targetId: string, err: unknown) => void) | undefined;
  private readonly onLateness: ((ms: number) => void) | undefined;
  private readonly abortGraceMs: number;
  private readonly stopTimeoutMs: number;
  private readonly maxLatenessMs: number;
  private readonly turnBudgetMs: number;
  private readonly entries = new Map<string, Entry<R>>();
  private readonly starts: DueHeap<Entry<R>> = new DueHeap<Entry<R>>();
  private readonly deadlines: DueHeap<Entry<R>> = new DueHeap<Entry<R>>();
  private readonly lateness: Float64Array;
  private latenessCount = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private started = false;
  private readonly wake = () => this.onWake();
  readonly counters: SchedulerCounters = {
    runs: 0,
    results: 0,
    skippedOverlaps: 0,
    timeouts: 0,
    abandoned: 0,
    lateSettled: 0,
    shed: 0,
    consumerErrors: 0,
  };

  constructor(opts: SchedulerOptions<R>) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? systemRandom;
    this.onResult = opts.onResult;
    this.onError = opts.onError;
    this.onLateness = opts.onLateness;
    this.abortGraceMs = opts.abortGraceMs ?? 100;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
    this.maxLatenessMs = opts.maxLatenessMs ?? 1_000;
    this.turnBudgetMs = opts.turnBudgetMs ?? 10;
    this.lateness = new Float64Array(opts.latencySamples ?? 32_768);
  }

  add(target: ScheduledTarget<R>): void {
    if (this.entries.has(target.id))
      throw new SwitchyardError('CONFIG_INVALID', `probe target ${target.id} is configured twice`);
    if (!(target.intervalMs > 0) || !(target.timeoutMs > 0) || target.timeoutMs >= target.intervalMs)
      throw new SwitchyardError(
        'CONFIG_INVALID',
        `${target.id}: timeout (${target.timeoutMs}ms) must be positive and shorter than the interval (${target.intervalMs}ms)`,
      );
    const e = new Entry<R>(
      target,
      Math.min(Math.max(target.jitter ?? 0, 0), 1),
      Math.min(this.maxLatenessMs, target.intervalMs / 2),
      this,
    );
    this.entries.set(target.id, e);
    if (this.started) {
      this.scheduleFirst(e);
      this.armNext();
    }
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Stops probing a target: cancels its plan, aborts its run (no result), closes its probe. */
  async remove(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    e.removed = true;
    this.starts.remove(e.start);
    if (e.state !== IDLE) {
      // Bounded: the run settles, or is abandoned at its deadline + grace.
      const idle = new Promise<void>((resolve) => {
        e.onIdle = resolve;
      });
      e.controller.abort(new DOMException('target removed', 'AbortError'));
      await idle;
    }
    await e.target.probe.close().catch((err: unknown) => this.consumerError(id, err));
  }

  /** First runs are spread uniformly over one interval so a thousand targets don't fire at once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const e of this.entries.values()) this.scheduleFirst(e);
    this.armNext();
  }

  /** Stops planning runs and waits (bounded) for those in flight; their results are delivered. */
  async stop(): Promise<void> {
    this.started = false;
    this.starts.clear();
    this.armNext();
    if (this.inFlight === 0) return;
    let bound: TimerHandle | undefined;
    const outcome = await new Promise<'done' | 'timeout'>((resolve) => {
      this.idleWaiters.push(() => resolve('done'));
      bound = this.clock.setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    if (bound) this.clock.clearTimeout(bound);
    if (outcome === 'timeout')
      for (const e of this.entries.values())
        if (e.state !== IDLE) e.controller.abort(new DOMException('scheduler stopped', 'AbortError'));
  }

  /** stop(), then close every probe (their connections). The scheduler is done after this. */
  async close(): Promise<void> {
    await this.stop();
    const probes = [...this.entries.entries()];
    for (const [, e] of probes) e.removed = true; // a run settling after this delivers nothing
    this.entries.clear();
    this.deadlines.clear();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    await Promise.all(
      probes.map(([id, e]) => e.target.probe.close().catch((err: unknown) => this.consumerError(id, err))),
    );
  }

  latenessStats(): LatenessStats {
    const n = Math.min(this.latenessCount, this.lateness.length);
    if (n === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
    const sorted = Float64Array.from(this.lateness.subarray(0, n)).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
    return { count: this.latenessCount, p50: at(0.5), p99: at(0.99), max: sorted[n - 1] as number };
  }

  resetLateness(): void {
    this.latenessCount = 0;
  }

  /** Runs in flight (abandoned runs excluded). */
  get running(): number {
    return this.inFlight;
  }

  /** How overdue the most overdue planned start is (0 when the loop is on time). */
  behindMs(): number {
    if (!this.started) return 0;
    return Math.max(0, this.clock.monotonic() - this.starts.peekAt());
  }

  stats(): SchedulerStats {
    return {
      targets: this.entries.size,
      running: this.inFlight,
      counters: { ...this.counters },
      behindMs: this.behindMs(),
      lateness: this.latenessStats(),
    };
  }

  // --- the loop ---------------------------------------------------------------------------

  private scheduleFirst(e: Entry<R>): void {
    e.start.at = this.clock.monotonic() + Math.floor(this.random() * e.target.intervalMs);
    this.starts.remove(e.start);
    this.starts.push(e.start);
  }

  /** Arms the one timer for the earliest due start or deadline, unless an earlier one is armed. */
  private armNext(): void {
    const next = Math.min(
      this.started ? this.starts.peekAt() : Number.POSITIVE_INFINITY,
      this.deadlines.peekAt(),
    );
    if (next === Number.POSITIVE_INFINITY) {
      if (this.timer) this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = this.clock.setTimeout(this.wake, Math.max(0, Math.ceil(next - this.clock.monotonic())));
  }

  private onWake(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    let now = this.clock.monotonic();
    // Deadlines first: they bound runs already in flight.
    while (this.deadlines.peekAt() <= now)
      this.onDeadline((this.deadlines.pop() as DueNode<Entry<R>>).item, now);
    const budgetEnd = now + this.turnBudgetMs;
    let n = 0;
    while (this.started && this.starts.peekAt() <= now) {
      if (n > 0 && n % 16 === 0) {
        now = this.clock.monotonic();
        if (now >= budgetEnd) {
          // The rest waits one turn: results and other timers run first.
          this.timer = this.clock.setTimeout(this.wake, 0);
          this.timerAt = now;
          return;
        }
      }
      this.fire((this.starts.pop() as DueNode<Entry<R>>).item, n === 0 ? now : this.clock.monotonic());
      n++;
    }
    this.armNext();
  }

  private nextGap(e: Entry<R>): number {
    return e.target.intervalMs * (1 + e.jitter * (2 * this.random() - 1));
  }

  private fire(e: Entry<R>, now: number): void {
    const planned = e.start.at;
    const late = now - planned;
    this.recordLateness(late);
    let next = planned + this.nextGap(e);
    if (next <= now) {
      // Behind by more than an interval: skip whole intervals, keeping the target's phase.
      const interval = e.target.intervalMs;
      next += (Math.floor((now - next) / interval) + 1) * interval;
    }
    e.start.at = next;
    this.starts.push(e.start);
    if (late > e.shedAfterMs) {
      this.counters.shed++;
      return;
    }
    if (e.state !== IDLE) {
      this.counters.skippedOverlaps++;
      return;
    }
    this.runOnce(e, now);
  }

  private runOnce(e: Entry<R>, now: number): void {
    this.counters.runs++;
    this.inFlight++;
    e.state = RUNNING;
    e.startedAt = now;
    if (e.controller.signal.aborted || ++e.controllerRuns > RUNS_PER_CONTROLLER) {
      e.controller = new AbortController();
      e.controllerRuns = 1;
    }
    e.deadline.at = now + e.target.timeoutMs;
    this.deadlines.push(e.deadline);
    const slot = e.run;
    let run: Promise<R>;
    try {
      run = e.target.probe.run(e.controller.signal);
    } catch (err) {
      run = Promise.reject(err);
    }
    run.then(slot.ok, slot.err);
  }

  private onDeadline(e: Entry<R>, now: number): void {
    if (e.state === RUNNING) {
      this.counters.timeouts++;
      e.state = ABORTED;
      e.deadline.at = now + this.abortGraceMs;
      this.deadlines.push(e.deadline);
      e.controller.abort(timeoutReason(e.target.timeoutMs));
      return;
    }
    if (e.state !== ABORTED) return;
    // Timeout + grace and still no result: the run is abandoned, its connection reset.
    this.counters.abandoned++;
    e.run.live = false;
    e.run = new RunSlot(this, e);
    const detail = `timeout after ${formatDuration(e.target.timeoutMs)} (the run did not stop; connection reset)`;
    try {
      e.target.probe.reset?.('run outlived its timeout');
    } catch (err) {
      this.consumerError(e.id, err);
    }
    this.finishRun(e, this.synthetic(e, 'timeout', detail));
  }

  /** @internal A run's own result (or its rejection, as a probe-error result); from its RunSlot. */
  settle(e: Entry<R>, slot: RunSlot<R>, r: R): void {
    if (!slot.live) {
      this.counters.lateSettled++;
      return;
    }
    this.deadlines.remove(e.deadline);
    this.finishRun(e, r);
  }

  /** @internal A failure the scheduler reports for a run (abandoned, or its probe threw). */
  synthetic(e: Entry<R>, error: string, detail: string): R {
    const at = e.startedAt;
    return { ok: false, at, latencyMs: Math.round(this.clock.monotonic() - at), error, detail } as R;
  }

  private finishRun(e: Entry<R>, r: R): void {
    e.state = IDLE;
    this.inFlight--;
    if (!e.removed) this.deliver(e, r);
    if (e.onIdle) {
      const f = e.onIdle;
      e.onIdle = undefined;
      f();
    }
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.armNext();
  }

  private deliver(e: Entry<R>, r: R): void {
    this.counters.results++;
    try {
      this.onResult(e.id, r);
    } catch (err) {
      this.consumerError(e.id, err);
    }
  }

  private consumerError(id: string, err: unknown): void {
    this.counters.consumerErrors++;
    if (!this.onError) return;
    try {
      this.onError(id, err);
    } catch {
      // Already counted above; a failing error reporter must not stop probing either.
    }
  }

  private recordLateness(ms: number): void {
    this.lateness[this.latenessCount % this.lateness.length] = ms;
    this.latenessCount++;
    if (!this.onLateness) return;
    try {
      this.onLateness(ms);
    } catch (err) {
      this.consumerError('(lateness)', err);
    }
  }
}
