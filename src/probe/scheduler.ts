import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { SwitchyardError } from '../util/errors.js';
import { systemRandom } from '../util/random.js';
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
  clock?: Clock;
  /** Uniform [0, 1); injected so tests can pin the jitter. */
  random?: () => number;
  /**
   * After the timeout aborts a run, how long the probe gets to report its own (more precise)
   * failure before the scheduler delivers a timeout result for it.
   */
  abortGraceMs?: number;
  /** Upper bound on how long stop() waits for in-flight runs. */
  stopTimeoutMs?: number;
  /** Lateness samples kept (a ring buffer) for p50/p99. */
  latencySamples?: number;
}

export interface LatenessStats {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface SchedulerCounters {
  runs: number;
  /** A planned run skipped because the previous run of that target had not finished. */
  skippedOverlaps: number;
  /** Runs the scheduler had to abort at their timeout. */
  timeouts: number;
}

interface Entry<R extends ProbeResult> {
  target: ScheduledTarget<R>;
  timer?: TimerHandle;
  nextAt: number;
  running?: Promise<void>;
  controller?: AbortController;
  removed: boolean;
}

function timeoutReason(ms: number): DOMException {
  return new DOMException(`timeout after ${formatDuration(ms)}`, 'TimeoutError');
}

/**
 * Runs every target on its own interval with jitter. Planned times advance from the previous
 * plan (fixed rate), so lateness (actual − planned start) measures the event loop, not drift;
 * after a stall the plan jumps forward instead of firing a burst of catch-up runs. A target
 * never has two runs in flight: a run still going when the next is due skips that slot.
 */
export class ProbeScheduler<R extends ProbeResult = ProbeResult> {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onResult: (targetId: string, result: R) => void;
  private readonly abortGraceMs: number;
  private readonly stopTimeoutMs: number;
  private readonly entries = new Map<string, Entry<R>>();
  private readonly lateness: Float64Array;
  private latenessCount = 0;
  private started = false;
  readonly counters: SchedulerCounters = { runs: 0, skippedOverlaps: 0, timeouts: 0 };

  constructor(opts: SchedulerOptions<R>) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? systemRandom;
    this.onResult = opts.onResult;
    this.abortGraceMs = opts.abortGraceMs ?? 100;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
    this.lateness = new Float64Array(opts.latencySamples ?? 100_000);
  }

  add(target: ScheduledTarget<R>): void {
    if (this.entries.has(target.id))
      throw new SwitchyardError('CONFIG_INVALID', `probe target ${target.id} is configured twice`);
    if (!(target.intervalMs > 0) || !(target.timeoutMs > 0) || target.timeoutMs >= target.intervalMs)
      throw new SwitchyardError(
        'CONFIG_INVALID',
        `${target.id}: timeout (${target.timeoutMs}ms) must be positive and shorter than the interval (${target.intervalMs}ms)`,
      );
    const entry: Entry<R> = { target, nextAt: 0, removed: false };
    this.entries.set(target.id, entry);
    if (this.started) this.scheduleFirst(entry);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Stops probing a target: cancels its timer, aborts its run (no result), closes its probe. */
  async remove(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    e.removed = true;
    if (e.timer) this.clock.clearTimeout(e.timer);
    e.controller?.abort(new DOMException('target removed', 'AbortError'));
    await e.running;
    await e.target.probe.close().catch(() => undefined);
  }

  /** First runs are spread uniformly over one interval so a thousand targets don't fire at once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const e of this.entries.values()) this.scheduleFirst(e);
  }

  /** Stops planning runs and waits (bounded) for those in flight; their results are delivered. */
  async stop(): Promise<void> {
    this.started = false;
    const inFlight: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (e.timer) this.clock.clearTimeout(e.timer);
      e.timer = undefined;
      if (e.running) inFlight.push(e.running);
    }
    if (inFlight.length === 0) return;
    let bound: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      bound = this.clock.setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    const outcome = await Promise.race([Promise.all(inFlight).then(() => 'done' as const), timedOut]);
    if (bound) this.clock.clearTimeout(bound);
    if (outcome === 'timeout')
      for (const e of this.entries.values())
        e.controller?.abort(new DOMException('scheduler stopped', 'AbortError'));
  }

  /** stop(), then close every probe (their connections). The scheduler is done after this. */
  async close(): Promise<void> {
    await this.stop();
    const probes = [...this.entries.values()].map((e) => e.target.probe);
    this.entries.clear();
    await Promise.all(probes.map((p) => p.close().catch(() => undefined)));
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

  private scheduleFirst(e: Entry<R>): void {
    e.nextAt = this.clock.monotonic() + Math.floor(this.random() * e.target.intervalMs);
    this.arm(e);
  }

  private arm(e: Entry<R>): void {
    e.timer = this.clock.setTimeout(() => this.fire(e), Math.max(0, e.nextAt - this.clock.monotonic()));
  }

  private nextGap(t: ScheduledTarget<R>): number {
    const j = Math.min(Math.max(t.jitter ?? 0, 0), 1);
    return t.intervalMs * (1 + j * (2 * this.random() - 1));
  }

  private fire(e: Entry<R>): void {
    e.timer = undefined;
    if (!this.started || e.removed) return;
    const now = this.clock.monotonic();
    const planned = e.nextAt;
    this.recordLateness(now - planned);
    e.nextAt = planned + this.nextGap(e.target);
    if (e.nextAt <= now) e.nextAt = now + this.nextGap(e.target);
    this.arm(e);
    if (e.running) {
      this.counters.skippedOverlaps++;
      return;
    }
    this.runOnce(e, now);
  }

  private runOnce(e: Entry<R>, startedAt: number): void {
    const { id, probe, timeoutMs } = e.target;
    this.counters.runs++;
    const controller = new AbortController();
    e.controller = controller;
    let delivered = false;
    let grace: TimerHandle | undefined;
    const deliver = (r: R) => {
      if (delivered || e.removed) return;
      delivered = true;
      try {
        this.onResult(id, r);
      } catch {
        // The consumer's failure must not stop probing.
      }
    };
    const synthetic = (error: string, detail: string) =>
      ({ ok: false, at: startedAt, latencyMs: this.clock.monotonic() - startedAt, error, detail }) as R;
    const deadline = this.clock.setTimeout(() => {
      this.counters.timeouts++;
      controller.abort(timeoutReason(timeoutMs));
      // A probe that ignores the abort still gets a result on time; its run stays "in flight".
      grace = this.clock.setTimeout(
        () =>
          deliver(synthetic('timeout', `timeout after ${formatDuration(timeoutMs)} (probe did not stop)`)),
        this.abortGraceMs,
      );
    }, timeoutMs);
    let run: Promise<R>;
    try {
      run = probe.run(controller.signal);
    } catch (err) {
      run = Promise.reject(err);
    }
    e.running = run
      .then(deliver, (err: unknown) =>
        deliver(synthetic('probe-error', `probe threw: ${String(err).slice(0, 200)}`)),
      )
      .finally(() => {
        this.clock.clearTimeout(deadline);
        if (grace) this.clock.clearTimeout(grace);
        e.running = undefined;
        e.controller = undefined;
      });
  }

  private recordLateness(ms: number): void {
    this.lateness[this.latenessCount % this.lateness.length] = ms;
    this.latenessCount++;
  }
}
