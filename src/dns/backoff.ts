import type { Clock, TimerHandle } from '../util/clock.js';

export interface BackoffBounds {
  /** Delay before the first retry, in milliseconds. */
  baseMs: number;
  /** Upper bound of any single delay, in milliseconds. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the capped delay is fixed, half random, so that
 * controllers sharing an account spread out but never retry immediately. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, bounds: BackoffBounds, random: () => number): number {
  const exp = Math.min(bounds.maxMs, bounds.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** A sleep on the injected clock that `cancel()` ends early (resolving, never rejecting). */
export class Sleeper {
  private readonly waiting = new Map<TimerHandle, () => void>();
  constructor(private readonly clock: Clock) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.clock.setTimeout(() => {
        this.waiting.delete(handle);
        resolve();
      }, ms);
      this.waiting.set(handle, resolve);
    });
  }

  cancelAll(): void {
    for (const [handle, resolve] of this.waiting) {
      this.clock.clearTimeout(handle);
      resolve();
    }
    this.waiting.clear();
  }
}
