import type { Logger } from 'pino';
import type { DatabaseMetrics } from '../database/metrics.js';
import { fenceRegion, promoteRegion } from '../database/region.js';
import type { LagBound, Promoter } from '../database/types.js';
import { fenceDone, promotionDone, promotionIntent } from '../decide/transitions.js';
import type { Action } from '../decide/types.js';
import type { CoreMetrics } from '../metrics.js';
import type { RegionId } from '../topology/types.js';
import type { Clock } from '../util/clock.js';
import type { StateKeeper } from './state-keeper.js';

type PromoteAction = Extract<Action, { type: 'promote' }>;
type FenceAction = Extract<Action, { type: 'fence' }>;

export type RegionPromoters = Map<RegionId, Map<string, Promoter>>;

export interface DatabaseActuatorDeps {
  promoters: RegionPromoters;
  keeper: StateKeeper;
  logger: Logger;
  metrics: CoreMetrics;
  dbMetrics: DatabaseMetrics;
  clock: Clock;
  /** Bound on one region's promotion (ms). */
  promoteTimeoutMs: number;
  /** Wait before retrying a failed fence or promotion (ms); doubles per failure up to 8×. */
  retryAfterMs: number;
  /**
   * Called once a region's databases changed role or writability under us (fenced, promoted), with
   * the monotonic time the change began: probe samples from before then are no longer evidence.
   */
  changed(region: RegionId, since: number): void;
  /** The RPO bound (policy.promotion's maxLag*): checked again right before promoting, unless forced. */
  maxLag?: LagBound;
}

/**
 * Executes the engine's database actions in the order safety needs: record intent (with the new
 * epoch) → fence the old main if it answers → promote every database of the target → verify by
 * a real write → record the outcome. A failure leaves the intent pending, so the next decision
 * resumes it (promoting twice is harmless); it is never reported as done.
 */
export class DatabaseActuator {
  private readonly retryAt = new Map<string, { at: number; failures: number }>();

  constructor(private readonly deps: DatabaseActuatorDeps) {}

  /** True while a failed action on this key waits for its retry time. */
  private backingOff(key: string): boolean {
    const r = this.retryAt.get(key);
    return r !== undefined && this.deps.clock.monotonic() < r.at;
  }

  private failed(key: string): void {
    const failures = (this.retryAt.get(key)?.failures ?? 0) + 1;
    const delay = this.deps.retryAfterMs * Math.min(8, 2 ** (failures - 1));
    this.retryAt.set(key, { at: this.deps.clock.monotonic() + delay, failures });
  }

  async fence(action: FenceAction): Promise<boolean> {
    const { keeper, logger, metrics, dbMetrics } = this.deps;
    const key = `fence:${action.region}`;
    if (this.backingOff(key)) return false;
    const all = this.deps.promoters.get(action.region);
    const promoters = new Map(
      [...(all ?? new Map<string, Promoter>())].filter(([k]) => action.databases.includes(k)),
    );
    if (promoters.size === 0) return false;
    const startedAt = this.deps.clock.monotonic();
    const id = await keeper.journal('fence', action.region, 'intent', action.epoch, action.reason);
    logger.warn(
      { event: 'action', action: 'fence', region: action.region, reason: action.reason },
      'fencing',
    );
    const r = await fenceRegion(promoters, { hard: true }, this.deps.clock);
    for (const [db, res] of Object.entries(r.results)) dbMetrics.recordFence(action.region, db, res);
    metrics.countAction('fence', r.ok ? 'done' : 'failed');
    const detail = r.ok
      ? `fenced ${r.succeeded.join(', ')} in ${r.durationMs}ms`
      : `fence failed on ${r.failed.map((f) => `${f.key}: ${f.error.message}`).join('; ')}`;
    await keeper.journal('fence', action.region, r.ok ? 'done' : 'failed', action.epoch, detail, id, (d) => {
      if (r.ok) d.engine = fenceDone(d.engine, action.region);
    });
    this.deps.changed(action.region, startedAt);
    if (r.ok) this.retryAt.delete(key);
    else {
      this.failed(key);
      metrics.countError('FENCE_FAILED');
    }
    logger[r.ok ? 'info' : 'error'](
      { event: 'action-outcome', action: 'fence', region: action.region, ok: r.ok, detail },
      detail,
    );
    return r.ok;
  }

  /** Runs the failover sequence; resolves true once the target is the verified, recorded main. */
  async promote(action: PromoteAction): Promise<boolean> {
    const { keeper, logger, metrics, dbMetrics, clock } = this.deps;
    const key = `promote:${action.region}`;
    if (this.backingOff(key)) return false;
    const target = this.deps.promoters.get(action.region);
    if (!target || target.size === 0) return false;

    // 1. Intent, with the new epoch, durably before anything is touched.
    const id = await keeper.journal(
      'promote',
      action.region,
      'intent',
      action.epoch,
      `${action.resume ? 'resume: ' : ''}${action.reason}`,
      undefined,
      (d) => {
        d.engine = promotionIntent(d.engine, action, clock.wall());
      },
    );
    const startedAt = clock.monotonic();
    logger.warn(
      {
        event: 'action',
        action: 'promote',
        region: action.region,
        from: action.from,
        epoch: action.epoch,
        reason: action.reason,
      },
      `promoting ${action.region}`,
    );

    // 2. Fence the old main if it answers (and run its hard fence, if configured).
    const old = this.deps.promoters.get(action.from);
    let oldFenced = false;
    if (old && old.size > 0) {
      const f = await fenceRegion(old, { hard: true }, clock);
      for (const [db, res] of Object.entries(f.results)) dbMetrics.recordFence(action.from, db, res);
      metrics.countAction('fence', f.ok ? 'done' : 'failed');
      const detail = f.ok
        ? `old main ${action.from} fenced (${f.succeeded.join(', ')})`
        : `old main ${action.from} not fenced: ${f.failed.map((x) => `${x.key}: ${x.error.message}`).join('; ')}; its DNS has already left`;
      oldFenced = f.ok;
      await keeper.journal('fence', action.from, f.ok ? 'done' : 'failed', action.epoch, detail);
      this.deps.changed(action.from, startedAt);
      logger[f.ok ? 'info' : 'warn'](
        { event: 'action-outcome', action: 'fence', region: action.from, ok: f.ok },
        detail,
      );
    }

    // 3. Promote every database of the target, verified by a heartbeat write.
    const maxLag = action.force ? undefined : this.deps.maxLag;
    const r = await promoteRegion(target, action.epoch, {
      timeoutMs: this.deps.promoteTimeoutMs,
      clock,
      ...(maxLag ? { maxLag } : {}),
    });
    this.deps.changed(action.region, startedAt);
    for (const [db, res] of Object.entries(r.results)) dbMetrics.recordPromotion(action.region, db, res);
    metrics.countAction('promote', r.ok ? 'done' : 'failed');

    // 4. The outcome. Only a complete, verified promotion makes the target the main.
    if (r.ok) {
      await keeper.journal(
        'promote',
        action.region,
        'done',
        action.epoch,
        `${r.succeeded.join(', ')} writable and verified in ${r.durationMs}ms`,
        id,
        (d) => {
          d.engine = promotionDone(d.engine, action, { oldMainFenced: oldFenced, wall: clock.wall() });
          if (d.overrides.failover?.to === action.region) delete d.overrides.failover;
        },
      );
      this.retryAt.delete(key);
      logger.warn(
        {
          event: 'action-outcome',
          action: 'promote',
          region: action.region,
          epoch: action.epoch,
          ok: true,
          ms: r.durationMs,
        },
        `${action.region} is the main (epoch ${action.epoch})`,
      );
      return true;
    }
    const detail = `promotion incomplete: ${r.failed.map((f) => `${f.key}: ${f.error.message}`).join('; ')}${r.succeeded.length ? `; writable: ${r.succeeded.join(', ')}` : ''}; will retry`;
    await keeper.journal('promote', action.region, 'failed', action.epoch, detail, id);
    this.failed(key);
    metrics.countError('PROMOTION_FAILED');
    logger.error(
      { event: 'action-outcome', action: 'promote', region: action.region, epoch: action.epoch, ok: false },
      detail,
    );
    return false;
  }
}
