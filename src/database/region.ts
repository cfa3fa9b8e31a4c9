import { type Clock, systemClock } from '../util/clock.js';
import { fail } from './failure.js';
import type { DbFailure, FenceOptions, FenceResult, PromoteResult, Promoter } from './types.js';

/**
 * Region-wide promotion and fencing. All databases of a region are worked on in parallel:
 * they are independent servers, so the recovery time is the slowest one rather than the sum,
 * and one failing does not delay the others. Parallel is also safe: management traffic moves
 * only when every database is writable and verified (`done`), so a partly promoted region takes
 * no writes yet, and a retry re-promotes only harmlessly (promote() is idempotent).
 */

export interface RegionPromotionResult {
  /** Every database writable and verified. `done` is the same fact, named for the daemon's outcome record. */
  ok: boolean;
  done: boolean;
  epoch: number;
  succeeded: string[];
  failed: Array<{ key: string; error: DbFailure }>;
  results: Record<string, PromoteResult>;
  durationMs: number;
}

export interface RegionFenceResult {
  ok: boolean;
  succeeded: string[];
  failed: Array<{ key: string; error: DbFailure }>;
  results: Record<string, FenceResult>;
  durationMs: number;
}

async function settle<R extends { ok: boolean; error?: DbFailure }>(
  entries: Array<[string, Promoter]>,
  op: (p: Promoter) => Promise<R>,
  onThrow: (e: unknown) => R,
): Promise<Array<[string, R]>> {
  // Promoters never reject by contract; the catch keeps one broken implementation from hiding the rest.
  return Promise.all(entries.map(async ([k, p]): Promise<[string, R]> => [k, await op(p).catch(onThrow)]));
}

function split<R extends { ok: boolean; error?: DbFailure }>(
  rows: Array<[string, R]>,
  code: DbFailure['code'],
) {
  const succeeded = rows.filter(([, r]) => r.ok).map(([k]) => k);
  const failed = rows
    .filter(([, r]) => !r.ok)
    .map(([key, r]) => ({ key, error: r.error ?? fail(code, 'error', 'failed without a reason') }));
  return { succeeded, failed, results: Object.fromEntries(rows) as Record<string, R> };
}

export async function promoteRegion(
  promoters: Map<string, Promoter>,
  epoch: number,
  opts: { timeoutMs?: number; clock?: Clock } = {},
): Promise<RegionPromotionResult> {
  const clock = opts.clock ?? systemClock;
  const t0 = clock.monotonic();
  const rows = await settle(
    [...promoters],
    (p) => p.promote({ epoch, timeoutMs: opts.timeoutMs }),
    (e): PromoteResult => ({
      ok: false,
      alreadyPrimary: false,
      verified: false,
      durationMs: 0,
      error: fail('PROMOTION_FAILED', 'error', e instanceof Error ? e.message : String(e)),
    }),
  );
  const s = split(rows, 'PROMOTION_FAILED');
  const ok = s.failed.length === 0;
  return { ok, done: ok, epoch, ...s, durationMs: Math.round(clock.monotonic() - t0) };
}

export async function fenceRegion(
  promoters: Map<string, Promoter>,
  opts?: FenceOptions,
  clock: Clock = systemClock,
): Promise<RegionFenceResult> {
  const t0 = clock.monotonic();
  const rows = await settle(
    [...promoters],
    (p) => p.fence(opts),
    (e): FenceResult => ({
      ok: false,
      sqlFenced: false,
      sessionsTerminated: 0,
      durationMs: 0,
      error: fail('FENCE_FAILED', 'error', e instanceof Error ? e.message : String(e)),
    }),
  );
  const s = split(rows, 'FENCE_FAILED');
  return { ok: s.failed.length === 0, ...s, durationMs: Math.round(clock.monotonic() - t0) };
}
