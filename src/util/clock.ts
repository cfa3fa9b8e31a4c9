import { performance } from 'node:perf_hooks';

/**
 * Time is injected so that tests and the simulator run in fake time. Two clocks, never mixed:
 * - `monotonic()` measures elapsed time (hold-downs, staleness, deadlines, backoff, rate limits,
 *   scheduling). It never jumps when the wall clock is stepped (NTP, a VM resumed, an operator).
 * - `wall()` labels events and persisted records. Never subtract two wall times to decide
 *   anything: a step of the system clock would move traffic.
 * This module (and the simulator's own clock) is the only place in `src/` that reads real time.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock with an arbitrary origin. */
  monotonic(): number;
  /** Milliseconds since the Unix epoch (wall time), for labels and persisted records. */
  wall(): number;
  /** Runs `fn` after `ms` of monotonic time (clamped to 0…MAX_TIMER_MS). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  unref?(): void;
}

/** setTimeout overflows (fires at once) past 2^31−1 ms; every delay is clamped below it. */
export const MAX_TIMER_MS = 2_147_483_647;

export function clampDelay(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

export const systemClock: Clock = {
  monotonic: () => performance.now(),
  wall: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, clampDelay(ms)),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The wall time at which a monotonic instant happened (or will happen), for display. */
export function wallAt(clock: Clock, monotonicMs: number): number {
  return clock.wall() - (clock.monotonic() - monotonicMs);
}

/** ISO label of a monotonic instant; null for undefined. */
export function isoAt(clock: Clock, monotonicMs: number | undefined | null): string | null {
  if (typeof monotonicMs !== 'number' || !Number.isFinite(monotonicMs)) return null;
  return new Date(wallAt(clock, monotonicMs)).toISOString();
}

/** Sleeps `ms` of monotonic time; resolves early (never rejects) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    const onAbort = () => {
      clock.clearTimeout(handle);
      done();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves to `p`, or to `onTimeout()` once `ms` of monotonic time pass first. The work itself is
 * not cancelled: callers that can cancel pass an AbortSignal to it as well.
 */
export async function withDeadline<T>(
  clock: Clock,
  p: Promise<T>,
  ms: number,
  onTimeout: () => T,
): Promise<T> {
  let handle: TimerHandle | undefined;
  const late = new Promise<T>((resolve) => {
    handle = clock.setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    if (handle) clock.clearTimeout(handle);
  }
}

/**
 * A clock that moves only when told to. `advance` runs due timers in order (synchronously);
 * `advanceAsync` also lets promise chains settle between timers, which is what code that awaits
 * between timers needs. `stepWall` jumps the wall clock alone, as NTP or an operator would.
 */
export class FakeClock implements Clock {
  private mono = 0;
  private wallOffset: number;
  private seq = 0;
  private timers = new Map<number, { at: number; seq: number; fn: () => void }>();

  constructor(startWall = Date.UTC(2026, 0, 1)) {
    this.wallOffset = startWall;
  }
  monotonic(): number {
    return this.mono;
  }
  wall(): number {
    return this.wallOffset + this.mono;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.mono + clampDelay(ms), seq: id, fn });
    return { id } as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete((handle as { id: number }).id);
  }
  /** Steps wall time by `ms` (either sign); monotonic time and timers are untouched. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }
  private nextDue(end: number): [number, { at: number; seq: number; fn: () => void }] | undefined {
    let next: [number, { at: number; seq: number; fn: () => void }] | undefined;
    for (const e of this.timers)
      if (
        e[1].at <= end &&
        (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))
      )
        next = e;
    return next;
  }
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next[0]);
      this.mono = next[1].at;
      next[1].fn();
    }
    this.mono = end;
  }
  /** Like `advance`, but lets pending promise callbacks run before and after each timer. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.mono + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next[0]);
      this.mono = next[1].at;
      next[1].fn();
      await flushMicrotasks();
    }
    this.mono = end;
    await flushMicrotasks();
  }
  pending(): number {
    return this.timers.size;
  }
}

/**
 * Lets every queued promise callback (and the ones they queue) run: a macrotask boundary drains
 * the microtask queue entirely, whatever the depth of the promise chains.
 */
export async function flushMicrotasks(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
