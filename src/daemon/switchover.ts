import type { Logger } from 'pino';
import type { DatabaseMetrics } from '../database/metrics.js';
import { type RegionSwitchoverResult, switchoverRegion } from '../database/switchover.js';
import type { Promoter } from '../database/types.js';
import { promotionAborted, promotionDone, promotionIntent } from '../decide/transitions.js';
import type { CoreMetrics } from '../metrics.js';
import type { SwitchoverDatabaseReport, SwitchoverRequest, SwitchoverResult } from '../server/admin.js';
import { adminConflict, adminInvalid, adminNotFound } from '../server/admin.js';
import { regionById } from '../topology/build.js';
import type { RegionId, Topology } from '../topology/types.js';
import type { Clock } from '../util/clock.js';
import type { RegionPromoters } from './database-actuator.js';
import type { StateKeeper } from './state-keeper.js';

export interface SwitchoverDeps {
  topology: Topology;
  keeper: StateKeeper;
  promoters: RegionPromoters;
  logger: Logger;
  metrics: CoreMetrics;
  dbMetrics: DatabaseMetrics;
  clock: Clock;
  /** policy.promotion.catchUpTimeout: bound on the target applying the fenced primary's last position. */
  catchUpTimeoutMs: number;
  promoteTimeoutMs: number;
  /**
   * Runs `fn` with the decision loop paused. While the intent is pending, a decision would
   * "resume" it by promoting the target at once — before it caught up — so none may run.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Waits (bounded) for database probes of these regions started after `since`. */
  waitFresh(regions: RegionId[], since: number): Promise<void>;
  /** Runs a decision now (management moves to the new main). */
  evaluate(): Promise<unknown>;
}

type Pairs = Map<string, { from: Promoter; to: Promoter }>;

/**
 * Planned switchover (maintenance, failback) run by the daemon: refuse when it cannot be safe →
 * record intent with a new epoch and the promotion pending (a crash mid-way resumes through the
 * ordinary resume path) → fence every database of the main, wait for the target to catch up,
 * promote and verify (switchoverRegion) → record the outcome → move management. A failure
 * before any promotion un-fences the old main (done by the database layer) and clears the
 * pending promotion: nothing changed hands. The old main is left read-only, to be rebuilt.
 */
export async function runSwitchover(deps: SwitchoverDeps, req: SwitchoverRequest): Promise<SwitchoverResult> {
  const { topology, keeper } = deps;
  const target = regionById(topology, req.to);
  if (!target) throw adminNotFound(`unknown region "${req.to}"`);
  const first = refuse(deps, req.to);
  const databases = [...first.pairs.keys()];

  if (req.dryRun) {
    const results = await Promise.all(
      [...first.pairs].map(async ([key, p]): Promise<SwitchoverDatabaseReport> => {
        const s = await p.to.status();
        const ok = s.reachable && s.role === 'replica';
        return { key, ok, stage: 'precheck', ...(ok ? {} : { error: `${req.to} ${key}: ${s.detail}` }) };
      }),
    );
    const ready = results.every((r) => r.ok);
    return {
      applied: false,
      dryRun: true,
      message: `switchover ${first.main} → ${req.to}: dry run; would fence ${first.main} (${databases.join(', ')}), wait up to ${deps.catchUpTimeoutMs}ms for ${req.to} to catch up, promote it and move management${ready ? '' : `; NOT READY: ${results.flatMap((r) => r.error ?? []).join('; ')}`}`,
      from: first.main,
      to: req.to,
      main: first.main,
      epoch: keeper.current.engine.epoch,
      databases,
      results,
    };
  }

  const outcome = await deps.exclusive(async () => {
    const o = await execute(deps, req.to);
    // Still paused: the first decision on the new topology must see fresh evidence.
    if (o.result.ok) await deps.waitFresh([o.from, req.to], o.doneAt);
    return o;
  });
  if (outcome.result.ok) await deps.evaluate();
  return report(deps, req.to, outcome);
}

/** The refusals (409/400), checked on the request and again once decisions are paused. */
function refuse(deps: SwitchoverDeps, to: RegionId): { main: RegionId; pairs: Pairs } {
  const s = deps.keeper.current;
  const main = s.engine.main;
  if (main === to) throw adminConflict(`${to} is already the main (epoch ${s.engine.epoch})`);
  if (s.engine.promotion)
    throw adminConflict(
      `a promotion of ${s.engine.promotion.to} (epoch ${s.engine.promotion.epoch}) is in progress; wait for it (switchyard status)`,
    );
  if (s.overrides.frozen) throw adminConflict('the director is frozen: unfreeze before a switchover');
  return { main, pairs: pairsFor(deps, main, to) };
}

function pairsFor(deps: SwitchoverDeps, main: RegionId, to: RegionId): Pairs {
  const target = regionById(deps.topology, to);
  if (!target || target.role === 'edge' || target.databases.length === 0)
    throw adminInvalid(`"${to}" has no databases to promote; switch over to a failover region`);
  const mainDbs = regionById(deps.topology, main)?.databases ?? [];
  if (mainDbs.length === 0) throw adminInvalid(`the main ${main} has no databases: nothing to switch over`);
  const missing = mainDbs.filter((k) => !target.databases.includes(k));
  if (missing.length > 0) throw adminInvalid(`${to} has no replica of ${missing.join(', ')}`);
  const pairs: Pairs = new Map();
  for (const k of mainDbs) {
    const from = deps.promoters.get(main)?.get(k);
    const toP = deps.promoters.get(to)?.get(k);
    if (!from || !toP) throw adminInvalid(`no promoter for database ${k} in ${from ? to : main}`);
    pairs.set(k, { from, to: toP });
  }
  return pairs;
}

interface Outcome {
  from: RegionId;
  epoch: number;
  result: RegionSwitchoverResult;
  /** Clock time the outcome was recorded (fresh evidence is newer than this). */
  doneAt: number;
}

async function execute(deps: SwitchoverDeps, to: RegionId): Promise<Outcome> {
  const { keeper, logger, metrics, dbMetrics, clock } = deps;
  // Re-checked inside the pause: a decision that ran meanwhile may have changed the state.
  const { main: from, pairs } = refuse(deps, to);
  const s = keeper.current;
  const epoch = s.engine.epoch + 1;

  // 1. Intent, with the new epoch and the promotion pending, durably before anything is touched.
  const id = await keeper.journal(
    'promote',
    to,
    'intent',
    epoch,
    `planned switchover from ${from}: fence, catch up (bound ${deps.catchUpTimeoutMs}ms), promote`,
    undefined,
    (d) => {
      d.engine = promotionIntent(d.engine, { region: to, from, epoch, force: false }, clock.wall());
    },
  );
  logger.warn(
    { event: 'action', action: 'promote', kind: 'switchover', region: to, from, epoch },
    `planned switchover: promoting ${to} in place of ${from}`,
  );

  // 2. Fence → catch up → promote → verify, every database of the region stage by stage.
  const r = await switchoverRegion(pairs, {
    clock,
    epoch,
    catchUpTimeoutMs: deps.catchUpTimeoutMs,
    promoteTimeoutMs: deps.promoteTimeoutMs,
    // Planned: the old main stays up and read-only, to be rebuilt as a replica.
    hardFence: false,
    unfenceOnAbort: true,
  });
  let fenced = false;
  for (const [key, res] of Object.entries(r.results)) {
    if (res.fence) {
      fenced = true;
      dbMetrics.recordFence(from, key, res.fence);
    }
    if (res.promote) dbMetrics.recordPromotion(to, key, res.promote);
  }
  const promoted = Object.values(r.results).some((x) => x.promote !== undefined);
  const unfenced = Object.values(r.results).some((x) => x.unfence?.ok);
  if (fenced) {
    const fenceOk = Object.values(r.results).every((x) => x.fence?.ok);
    metrics.countAction('fence', fenceOk ? 'done' : 'failed');
    await keeper.journal(
      'fence',
      from,
      fenceOk && !unfenced ? 'done' : 'failed',
      epoch,
      unfenced
        ? `old main ${from} fenced, then un-fenced: the switchover aborted before any promotion`
        : `old main ${from} fenced read-only for the switchover (${r.timings.fenceMs}ms)`,
    );
  }
  metrics.countAction('promote', r.ok ? 'done' : 'failed');

  // 3. The outcome. Only a complete, verified promotion makes the target the main.
  const why = r.failed.map((f) => `${f.key}: ${f.error.message}`).join('; ');
  const t = r.timings;
  if (r.ok) {
    await keeper.journal(
      'promote',
      to,
      'done',
      epoch,
      `switchover done: fence ${t.fenceMs}ms, catch-up ${t.catchUpMs}ms, promote ${t.promoteMs}ms, total ${t.totalMs}ms`,
      id,
      (d) => {
        // The old main was fenced read-only: it stays demoted (no auth) until rebuilt as a replica.
        d.engine = promotionDone(
          d.engine,
          { region: to, from, epoch },
          { oldMainFenced: true, wall: clock.wall() },
        );
      },
    );
  } else if (promoted) {
    // Some target may be writable: the old main stays fenced and the promotion stays pending;
    // the decision loop resumes it (promoting twice is harmless) and management waits.
    await keeper.journal(
      'promote',
      to,
      'failed',
      epoch,
      `switchover promotion incomplete: ${why}; will retry`,
      id,
    );
    metrics.countError('PROMOTION_FAILED');
  } else {
    await keeper.journal(
      'promote',
      to,
      'failed',
      epoch,
      `switchover aborted at ${r.stage} before any promotion: ${why}; ${from} remains the main${unfenced ? ' and writable again' : ''}`,
      id,
      (d) => {
        d.engine = promotionAborted(d.engine);
      },
    );
    metrics.countError(
      r.stage === 'catch-up' ? 'CATCHUP_FAILED' : r.stage === 'fence' ? 'FENCE_FAILED' : 'PROMOTION_FAILED',
    );
  }
  logger[r.ok ? 'warn' : 'error'](
    {
      event: 'action-outcome',
      action: 'promote',
      kind: 'switchover',
      region: to,
      from,
      epoch,
      ok: r.ok,
      stage: r.stage,
      timings: r.timings,
    },
    r.ok
      ? `${to} is the main (epoch ${epoch}) after a planned switchover`
      : `switchover failed at ${r.stage}: ${why}`,
  );
  return { from, epoch, result: r, doneAt: clock.monotonic() };
}

function report(deps: SwitchoverDeps, to: RegionId, o: Outcome): SwitchoverResult {
  const engine = deps.keeper.current.engine;
  const r = o.result;
  const results: SwitchoverDatabaseReport[] = Object.entries(r.results).map(([key, x]) => ({
    key,
    ok: x.ok,
    stage: x.stage,
    ...(x.position ? { position: x.position } : {}),
    ...(x.unfence ? { unfenced: x.unfence.ok } : {}),
    ...(x.error ? { error: x.error.message } : {}),
  }));
  const management = Object.fromEntries(
    deps.topology.records
      .filter((rec) => rec.class === 'management')
      .map((rec) => [rec.key, engine.weights[rec.key] ?? {}]),
  );
  const base = {
    dryRun: false,
    from: o.from,
    to,
    main: engine.main,
    epoch: engine.epoch,
    databases: Object.keys(r.results),
    timings: r.timings,
    results,
    management,
  };
  if (r.ok)
    return {
      ...base,
      applied: true,
      message: `${to} is the main (epoch ${o.epoch}); ${o.from} is fenced read-only: rebuild it as a replica of ${to} before failing back (docs/runbook.md)`,
      next: `rebuild ${o.from} as a replica of ${to} (pg_rewind or a fresh base backup; MariaDB: CHANGE MASTER TO … MASTER_USE_GTID=slave_pos)`,
    };
  const why = r.failed.map((f) => `${f.key}: ${f.error.message}`).join('; ');
  if (engine.promotion?.to === to)
    throw adminConflict(
      `switchover to ${to}: promotion incomplete (${why}); ${o.from} stays fenced, the promotion (epoch ${o.epoch}) is pending and the director retries it; management moves once it completes`,
    );
  throw adminConflict(
    `switchover to ${to} failed at ${r.stage} before any promotion (${why}); ${o.from} is still the main${results.some((x) => x.unfenced) ? ' and writable again' : ''}`,
  );
}
