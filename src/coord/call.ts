import type { Clock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';

/**
 * Runs one coordination call under its own deadline on `clock`. When the deadline passes first,
 * `signal` aborts (the implementation cancels the underlying request) and the call rejects with
 * COORD_UNAVAILABLE — whatever the request does afterwards is ignored. Never hangs: a client
 * library's own retries or reconnect loops cannot stretch the bound.
 */
export function boundedCall<T>(
  clock: Clock,
  timeoutMs: number,
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      ac.abort();
      reject(unavailable(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let started: Promise<T>;
    try {
      started = run(ac.signal);
    } catch (e) {
      clock.clearTimeout(timer);
      reject(e);
      return;
    }
    started.then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function unavailable(message: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('COORD_UNAVAILABLE', message, [], cause === undefined ? undefined : { cause });
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff (or the prefix is empty): the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

/** Validates a requested TTL; leases are granted in whole seconds, so this rounds up. */
export function ttlSeconds(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new SwitchyardError('COORD_REJECTED', `lease TTL must be a positive number of ms (got ${ttlMs})`);
  return Math.ceil(ttlMs / 1000);
}
