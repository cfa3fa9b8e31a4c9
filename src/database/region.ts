import { type Clock, systemClock } from '../util/clock.js';
import { beyondBound } from './common.js';
import { fail } from './failure.js';
import type { DbFailure, FenceOptions, FenceResult, LagBound, PromoteResult, Promoter } from './types.js';

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
  opts: { timeoutMs?: number; clock?: Clock; maxLag?: LagBound } = {},
): Promise<RegionPromotionResult> {
  const clock = opts.clock ?? systemClock;
  const t0 = clock.monotonic();
  const refused = opts.maxLag ? await lagPreflight(promoters, opts.maxLag) : undefined;
  if (refused)
    return { ok: false, done: false, epoch, ...refused, durationMs: Math.round(clock.monotonic() - t0) };
  const rows = await settle(
    [...promoters],
    (p) => p.promote({ epoch, timeoutMs: opts.timeoutMs, ...(opts.maxLag ? { maxLag: opts.maxLag } : {}) }),
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

/**
 * The RPO bound, judged on every database of the region before any is promoted: a region is
 * promoted whole or not at all, so one replica beyond the bound keeps all of them replicas.
 * (Each promoter checks again right before promoting; this only keeps the others untouched.)
 * Unreachable databases are left to promote() to report.
 */
async function lagPreflight(
  promoters: Map<string, Promoter>,
  bound: LagBound,
): Promise<Pick<RegionPromotionResult, 'succeeded' | 'failed' | 'results'> | undefined> {
  const rows = await Promise.all(
    [...promoters].map(async ([k, p]): Promise<[string, string | undefined]> => {
      const st = await p.status().catch(() => undefined);
      if (!st?.reachable || st.role !== 'replica') return [k, undefined];
      return [k, beyondBound({ seconds: st.lagSeconds ?? null, bytes: st.lagBytes ?? null }, bound)];
    }),
  );
  const beyond = rows.filter(([, why]) => why !== undefined);
  if (beyond.length === 0) return undefined;
  const names = beyond.map(([k]) => k).join(', ');
  const results: Record<string, PromoteResult> = {};
  const failed: Array<{ key: string; error: DbFailure }> = [];
  for (const [key, why] of rows) {
    const error = fail(
      'PROMOTION_FAILED',
      'beyond-rpo',
      why ??
        `not promoted: ${names} of the same region is beyond the RPO bound, and a region is promoted whole`,
    );
    results[key] = { ok: false, alreadyPrimary: false, verified: false, durationMs: 0, error };
    failed.push({ key, error });
  }
  return { succeeded: [], failed, results };
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
