import { type Clock, sleep } from '../util/clock.js';

/**
 * A client-side token bucket: Route 53 limits each account to 5 requests/s (newer accounts:
 * burst 50, refill 10/s), shared with every other tool in the account, so switchyard stays under
 * its configured share instead of discovering the limit through Throttling errors.
 * Waiters are served in order; a waiter whose signal aborts leaves without taking a token.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
    private readonly burst = Math.max(1, Math.floor(ratePerSecond)),
  ) {
    this.tokens = this.burst;
    this.last = clock.monotonic();
  }

  /** Resolves when a request may be sent; rejects with the signal's reason once it aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(() => this.takeOne(signal));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = this.clock.monotonic();
    // Monotonic time never goes back, but clamp anyway: a negative bucket would stall every caller.
    this.tokens = Math.min(
      this.burst,
      this.tokens + (Math.max(0, now - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = now;
  }

  private async takeOne(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
      await sleep(this.clock, waitMs, signal);
    }
  }
}
