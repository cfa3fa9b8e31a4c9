import type { Clock } from '../util/clock.js';
import type { InsyncReport } from './types.js';

/** Asks Route 53 whether one change is INSYNC (GetChange, paced and retried by the provider). */
export type ChangeStatusReader = (changeId: string) => Promise<boolean>;

interface Waiter {
  ids: string[];
  started: number;
  deadline: number;
  resolve(report: InsyncReport): void;
}

/**
 * One poller for every change in flight. Route 53 applies a hosted zone's changes in the order it
 * accepted them, so when the newest change is INSYNC every older one is too: each round asks about
 * the newest change only. Polling each change on its own (one loop per write) multiplies GetChange
 * calls by the writes in flight, and under throttling those polls take the tokens the next write
 * needs (found by the simulator). INSYNC only measures propagation: nothing waits on it to act.
 */
export class InsyncPoller {
  private readonly waiting: Waiter[] = [];
  private running = false;
  private closed = false;

  constructor(
    private readonly deps: {
      clock: Clock;
      pollIntervalMs: number;
      syncTimeoutMs: number;
      read: ChangeStatusReader;
      sleep(ms: number): Promise<void>;
      onTimeout?(ids: string[]): void;
      onError?(err: unknown, ids: string[]): void;
      onInsync?(report: InsyncReport): void;
    },
  ) {}

  /** Resolves once the change ids are INSYNC, or with `timeout`/`error`; never rejects. */
  watch(ids: readonly string[], started: number): Promise<InsyncReport> {
    const real = ids.filter((id) => id !== '');
    if (real.length === 0 || this.closed)
      return Promise.resolve({
        changeIds: [...ids],
        status: real.length === 0 ? 'INSYNC' : 'timeout',
        propagationMs: this.deps.clock.monotonic() - started,
      });
    return new Promise((resolve) => {
      this.waiting.push({ ids: [...ids], started, deadline: started + this.deps.syncTimeoutMs, resolve });
      if (!this.running) void this.run();
    });
  }

  /** Every waiter resolves `timeout` (shutting down is not a propagation problem). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.resolve(this.report(w, 'timeout'));
  }

  private report(w: Waiter, status: InsyncReport['status']): InsyncReport {
    return { changeIds: w.ids, status, propagationMs: this.deps.clock.monotonic() - w.started };
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0 && !this.closed) {
        const now = this.deps.clock.monotonic();
        const nextDeadline = Math.min(...this.waiting.map((w) => w.deadline));
        await this.deps.sleep(Math.min(this.deps.pollIntervalMs, Math.max(0, nextDeadline - now)));
        if (this.closed) return;
        this.expire();
        const newest = this.waiting[this.waiting.length - 1];
        const id = newest?.ids[newest.ids.length - 1];
        if (!newest || id === undefined) continue;
        // Only the waiters registered up to now are covered by the answer about `id`.
        const covered = this.waiting.length;
        try {
          if (!(await this.deps.read(id)) || this.closed) continue;
          for (const w of this.waiting.splice(0, covered)) {
            const done = this.report(w, 'INSYNC');
            this.deps.onInsync?.(done);
            w.resolve(done);
          }
        } catch (err) {
          if (this.closed) return;
          const failed = this.waiting.splice(0, covered);
          this.deps.onError?.(
            err,
            failed.flatMap((w) => w.ids),
          );
          for (const w of failed) w.resolve(this.report(w, 'error'));
        }
      }
    } finally {
      this.running = false;
    }
  }

  private expire(): void {
    const now = this.deps.clock.monotonic();
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i];
      if (!w || now < w.deadline) continue;
      this.waiting.splice(i, 1);
      this.deps.onTimeout?.(w.ids);
      w.resolve(this.report(w, 'timeout'));
    }
  }
}
