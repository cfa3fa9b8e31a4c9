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

const ms = (t: number) => Math.round(performance.now() - t);

export async function switchover(
  from: Promoter,
  to: Promoter,
  opts: SwitchoverOptions,
): Promise<SwitchoverResult> {
  const region = await switchoverRegion(new Map([['db', { from, to }]]), opts);
  const r = region.results.db;
  if (!r) throw new Error('unreachable: switchover result missing');
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
  const t0 = performance.now();
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

  // Precheck: never fence a primary for a target that could not take over.
  const statuses = await Promise.all(keys.map((k) => pair(k).to.status()));
  let precheckOk = true;
  keys.forEach((k, i) => {
    const s = statuses[i] as DbStatus;
    get(k).target = s;
    if (!s.reachable || s.role !== 'replica') {
      precheckOk = false;
      get(k).error =
        s.error ??
        fail('PROMOTION_FAILED', 'still-replica', `target is not a replica (${s.detail}); nothing fenced`);
    }
  });
  if (!precheckOk) return finish('precheck', false);

  let t = performance.now();
  const fences = await Promise.all(keys.map((k) => pair(k).from.fence({ hard: opts.hardFence === true })));
  timings.fenceMs = ms(t);
  let fenceOk = true;
  keys.forEach((k, i) => {
    const f = fences[i] as FenceResult;
    const r = get(k);
    r.fence = f;
    r.position = f.position;
    r.stage = 'fence';
    if (!f.ok || !f.position) {
      fenceOk = false;
      r.error = f.error ?? fail('FENCE_FAILED', 'error', 'fenced primary reported no position');
    }
  });
  if (!fenceOk) return finish('fence', true);

  t = performance.now();
  const catchUps = await Promise.all(
    keys.map((k) => pair(k).to.catchUp(get(k).position as string, opts.catchUpTimeoutMs)),
  );
  timings.catchUpMs = ms(t);
  let caughtUp = true;
  keys.forEach((k, i) => {
    const c = catchUps[i] as CatchUpResult;
    const r = get(k);
    r.catchUp = c;
    r.stage = 'catch-up';
    if (!c.ok) {
      caughtUp = false;
      r.error = c.error;
    }
  });
  if (!caughtUp) return finish('catch-up', true);

  t = performance.now();
  const promotions = await Promise.all(
    keys.map((k) => pair(k).to.promote({ epoch: opts.epoch, timeoutMs: opts.promoteTimeoutMs })),
  );
  timings.promoteMs = ms(t);
  let promoted = true;
  keys.forEach((k, i) => {
    const p = promotions[i] as PromoteResult;
    const r = get(k);
    r.promote = p;
    r.stage = 'promote';
    if (!p.ok) {
      promoted = false;
      r.error = p.error;
    }
  });
  // From here on the old primaries stay fenced: a failed promotion is retried, never rolled back.
  return finish(promoted ? 'done' : 'promote', false);
}
