import { type Clock, systemClock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { fail } from './failure.js';
import type {
  CatchUpResult,
  DbFailure,
  DbStatus,
  FenceResult,
  PromoteResult,
  Promoter,
  UnfenceResult,
} from './types.js';

/**
 * Planned switchover: check the target → fence the current primary → read its position → wait
 * (bounded) for the target to apply it → promote → verify. Zero data loss by construction: the
 * target is promoted only after it applied everything the fenced primary wrote.
 *
 * If the switchover aborts before anything was promoted (target not a healthy replica, fence or
 * catch-up failed), the old primary is unfenced again by default: it is still the only primary,
 * and leaving it read-only would turn a maintenance step into an outage. Once a target may have
 * been promoted, the old primary stays fenced whatever happens (never two writable primaries).
 */

export interface SwitchoverOptions {
  epoch: number;
  /** Bound on the target catching up with the fenced primary. */
  catchUpTimeoutMs: number;
  promoteTimeoutMs?: number;
  /** Run the configured hard fence on the old primary (default false: a planned switchover leaves it read-only, to be rebuilt as a replica). */
  hardFence?: boolean;
  /** Unfence the old primary when aborting before any promotion (default true). */
  unfenceOnAbort?: boolean;
  clock?: Clock;
}

export type SwitchoverStage = 'precheck' | 'fence' | 'catch-up' | 'promote' | 'done';

export interface SwitchoverTimings {
  fenceMs: number;
  catchUpMs: number;
  promoteMs: number;
  totalMs: number;
}

export interface SwitchoverResult {
  ok: boolean;
  /** The stage reached: 'done' on success, else the stage that failed. */
  stage: SwitchoverStage;
  target?: DbStatus;
  fence?: FenceResult;
  /** The position the target had to reach (read from the fenced primary). */
  position?: string;
  catchUp?: CatchUpResult;
  promote?: PromoteResult;
  /** Present when an abort reverted the fence. */
  unfence?: UnfenceResult;
  timings: SwitchoverTimings;
  error?: DbFailure;
}

export async function switchover(
  from: Promoter,
  to: Promoter,
  opts: SwitchoverOptions,
): Promise<SwitchoverResult> {
  const region = await switchoverRegion(new Map([['db', { from, to }]]), opts);
  const r = region.results.db;
  if (!r) throw new SwitchyardError('INTERNAL', 'switchover of one database returned no result');
  return r;
}

export interface RegionSwitchoverResult {
  ok: boolean;
  stage: SwitchoverStage;
  results: Record<string, SwitchoverResult>;
  timings: SwitchoverTimings;
  failed: Array<{ key: string; error: DbFailure }>;
}

/**
 * Switches over every database of a region together, stage by stage in parallel: all fenced,
 * then all caught up, then all promoted. Any failure before promotion aborts the whole region
 * (and unfences), so the two regions never each hold part of the writable databases.
 */
export async function switchoverRegion(
  pairs: Map<string, { from: Promoter; to: Promoter }>,
  opts: SwitchoverOptions,
): Promise<RegionSwitchoverResult> {
  const clock = opts.clock ?? systemClock;
  const ms = (t: number) => Math.round(clock.monotonic() - t);
  const t0 = clock.monotonic();
  const keys = [...pairs.keys()];
  const res: Record<string, SwitchoverResult> = {};
  for (const k of keys)
    res[k] = {
      ok: false,
      stage: 'precheck',
      timings: { fenceMs: 0, catchUpMs: 0, promoteMs: 0, totalMs: 0 },
    };
  const get = (k: string) => res[k] as SwitchoverResult;
  const pair = (k: string) => pairs.get(k) as { from: Promoter; to: Promoter };
  const timings = { fenceMs: 0, catchUpMs: 0, promoteMs: 0, totalMs: 0 };

  const finish = async (stage: SwitchoverStage, unfence: boolean): Promise<RegionSwitchoverResult> => {
    if (unfence && opts.unfenceOnAbort !== false)
      await Promise.all(
        keys
          .filter((k) => get(k).fence?.sqlFenced)
          .map(async (k) => {
            get(k).unfence = await pair(k).from.unfence();
          }),
      );
    timings.totalMs = ms(t0);
    const failed: RegionSwitchoverResult['failed'] = [];
    for (const k of keys) {
      const r = get(k);
      r.timings = { ...timings };
      // A database counts as switched over once its own target is promoted and verified.
      r.ok = r.promote?.ok === true;
      r.stage = r.ok ? 'done' : (r.stage ?? stage);
      if (!r.ok) {
        r.error ??= fail(
          'PROMOTION_FAILED',
          'error',
          `switchover aborted at ${stage} (another database failed)`,
        );
        failed.push({ key: k, error: r.error });
      }
    }
    return {
      ok: failed.length === 0,
      stage: failed.length === 0 ? 'done' : stage,
      results: res,
      timings,
      failed,
    };
  };

  /** One step on every database at once; `record` keeps each result and says if it succeeded. */
  const step = async <R>(
    name: SwitchoverStage,
    op: (k: string) => Promise<R>,
    record: (r: SwitchoverResult, result: R) => boolean,
  ): Promise<boolean> => {
    const results = await Promise.all(keys.map(op));
    let ok = true;
    keys.forEach((k, i) => {
      const r = get(k);
      r.stage = name;
      if (!record(r, results[i] as R)) ok = false;
    });
    return ok;
  };

  // Precheck: never fence a primary for a target that could not take over.
  const ready = await step(
    'precheck',
    (k) => pair(k).to.status(),
    (r, s: DbStatus) => {
      r.target = s;
      if (s.reachable && s.role === 'replica') return true;
      r.error =
        s.error ??
        fail('PROMOTION_FAILED', 'still-replica', `target is not a replica (${s.detail}); nothing fenced`);
      return false;
    },
  );
  if (!ready) return finish('precheck', false);

  let t = clock.monotonic();
  const fenced = await step(
    'fence',
    (k) => pair(k).from.fence({ hard: opts.hardFence === true }),
    (r, f: FenceResult) => {
      r.fence = f;
      r.position = f.position;
      if (f.ok && f.position) return true;
      r.error = f.error ?? fail('FENCE_FAILED', 'error', 'fenced primary reported no position');
      return false;
    },
  );
  timings.fenceMs = ms(t);
  if (!fenced) return finish('fence', true);

  t = clock.monotonic();
  const caughtUp = await step(
    'catch-up',
    (k) => pair(k).to.catchUp(get(k).position as string, opts.catchUpTimeoutMs),
    (r, c: CatchUpResult) => {
      r.catchUp = c;
      if (!c.ok) r.error = c.error;
      return c.ok;
    },
  );
  timings.catchUpMs = ms(t);
  if (!caughtUp) return finish('catch-up', true);

  t = clock.monotonic();
  const promoted = await step(
    'promote',
    (k) => pair(k).to.promote({ epoch: opts.epoch, timeoutMs: opts.promoteTimeoutMs }),
    (r, p: PromoteResult) => {
      r.promote = p;
      if (!p.ok) r.error = p.error;
      return p.ok;
    },
  );
  timings.promoteMs = ms(t);
  // From here on the old primaries stay fenced: a failed promotion is retried, never rolled back.
  return finish(promoted ? 'done' : 'promote', false);
}
