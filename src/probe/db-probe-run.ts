import type { DatabaseConfig } from '../config/schema.js';
import { messageOf, reasonOf } from '../database/failure.js';
import type { DbStatus } from '../database/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { DatabaseProbeResult } from './types.js';

/**
 * The shared body of the database probes: one bounded run that never rejects. The work gets a
 * `onCleanup` hook to close its connection; on timeout or abort the result is returned at once
 * and the cleanup runs in the background (a hung server must not hold the scheduler).
 */

export interface DbProbeOptions {
  /** Overall bound of one run; defaults to the check's timeout, else connect + statement timeouts. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Result times and the run's bound; the system clock by default. */
  clock?: Clock;
}

export function probeTimeout(db: DatabaseConfig, opts: DbProbeOptions): number {
  return opts.timeoutMs ?? db.timeout ?? db.connectTimeout + db.statementTimeout;
}

export async function runDbProbe<R extends DatabaseProbeResult>(
  engine: DatabaseConfig['engine'],
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal | undefined,
  secret: () => string | undefined,
  work: (onCleanup: (fn: () => void) => void) => Promise<DbStatus>,
): Promise<R> {
  const at = clock.monotonic();
  let cleanup: (() => void) | undefined;
  const latency = () => Math.round(clock.monotonic() - at);
  const base = { engine, at, latencyMs: 0 };
  let timer: TimerHandle | undefined;
  let onAbort: (() => void) | undefined;
  const bound = new Promise<R>((resolve) => {
    timer = clock.setTimeout(
      () =>
        resolve({
          ...base,
          ok: false,
          latencyMs: latency(),
          error: 'timeout',
          detail: `timeout after ${timeoutMs}ms`,
        } as R),
      timeoutMs,
    );
    onAbort = () =>
      resolve({ ...base, ok: false, latencyMs: latency(), error: 'aborted', detail: 'aborted' } as R);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  const done = work((fn) => {
    cleanup = fn;
  }).then(
    (s): R => {
      const { reachable: _r, error: _e, ...rest } = s;
      return { ...rest, ...base, ok: true, latencyMs: latency() } as unknown as R;
    },
    (e: unknown): R => {
      let pw: string | undefined;
      try {
        pw = secret();
      } catch {
        pw = undefined;
      }
      const reason = reasonOf(e);
      return {
        ...base,
        ok: false,
        latencyMs: latency(),
        error: reason,
        detail: `${reason}: ${messageOf(e, pw)}`,
      } as R;
    },
  );
  const result = await Promise.race([done, bound]);
  if (timer) clock.clearTimeout(timer);
  if (onAbort) signal?.removeEventListener('abort', onAbort);
  // If the bound won, the work may still hold a connection: close it now, don't wait.
  if (cleanup && result.error && (result.error === 'timeout' || result.error === 'aborted')) cleanup();
  return result;
}
