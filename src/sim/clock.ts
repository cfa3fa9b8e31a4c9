import { type Clock, clampDelay, type TimerHandle } from '../util/clock.js';
import type { QueuedEvent } from './queue.js';

/**
 * The simulator's clocks. Virtual time is the kernel's; each instance sees it through its own
 * `SimClock`: a monotonic clock with its own arbitrary origin, and a wall clock that faults can
 * offset and step in either direction without touching monotonic time (as NTP or an operator
 * would). Timers are kernel events owned by the instance, so a pause defers them and a crash
 * drops them. This file (with `settle`) is the only one in src/sim that touches the real event
 * loop; nothing here reads real time.
 */

/** What a clock needs of the kernel (kept narrow so the clock can be tested alone). */
export interface TimeSource {
  readonly now: number;
  readonly startWall: number;
  schedule(at: number, fn: () => void, opts: { owner: number; settle?: boolean }): QueuedEvent;
  cancel(e: QueuedEvent): void;
}

class SimTimer implements TimerHandle {
  constructor(readonly event: QueuedEvent) {}
  unref(): void {}
}

export class SimClock implements Clock {
  private wallOffset: number;

  constructor(
    private readonly time: TimeSource,
    readonly owner: number,
    opts: { monotonicOrigin?: number; wallOffsetMs?: number } = {},
  ) {
    this.origin = opts.monotonicOrigin ?? 0;
    this.wallOffset = opts.wallOffsetMs ?? 0;
  }

  private readonly origin: number;

  monotonic(): number {
    return this.origin + this.time.now;
  }

  wall(): number {
    return this.time.startWall + this.time.now + this.wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return new SimTimer(this.time.schedule(this.time.now + clampDelay(ms), fn, { owner: this.owner }));
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof SimTimer) this.time.cancel(handle.event);
  }

  /** Steps wall time by `ms` (either sign); monotonic time and timers are untouched. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  /** How far this instance's wall clock is from true virtual wall time (ms). */
  get wallSkew(): number {
    return this.wallOffset;
  }

  /** The monotonic reading this clock shows at kernel time `t` (for reports and invariants). */
  monotonicAt(t: number): number {
    return this.origin + t;
  }
}

/**
 * Lets every promise chain the last event started run to its end. Simulated code never waits on
 * real I/O, so once one macrotask boundary has passed, the microtask queue (and process.nextTick)
 * has drained completely: whatever is still pending waits on a virtual timer. setImmediate is
 * the cheapest such boundary (about 1 µs).
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
