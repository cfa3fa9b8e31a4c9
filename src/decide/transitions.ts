import type { Action, EngineState } from './types.js';

/**
 * The state changes that action outcomes make, as pure functions of the state. The executor, the
 * planned switchover, the simulator and the property tests all move the engine state through these,
 * so no path can, say, promote a region without demoting the old main.
 */

type PromoteAction = Extract<Action, { type: 'promote' }>;

/** Before anything is touched: the new epoch and the pending promotion (a crash resumes it). */
export function promotionIntent(
  state: EngineState,
  a: Pick<PromoteAction, 'region' | 'from' | 'epoch' | 'force'>,
  wall: number,
): EngineState {
  return {
    ...state,
    epoch: Math.max(state.epoch, a.epoch),
    promotion: state.promotion ?? {
      to: a.region,
      from: a.from,
      epoch: a.epoch,
      startedAt: wall,
      force: a.force,
    },
  };
}

/**
 * A verified promotion: the target is the main; the old main is demoted (kept from auth and
 * management until rebuilt), recording whether its fence completed.
 */
export function promotionDone(
  state: EngineState,
  a: Pick<PromoteAction, 'region' | 'from' | 'epoch'>,
  outcome: { oldMainFenced: boolean; wall: number },
): EngineState {
  const { promotion: _done, ...rest } = state;
  const demoted = { ...(state.demoted ?? {}) };
  delete demoted[a.region];
  if (a.from !== a.region)
    demoted[a.from] = {
      reason: 'old-main',
      since: outcome.wall,
      epoch: a.epoch,
      fenced: outcome.oldMainFenced || (state.demoted?.[a.from]?.fenced ?? false),
      detail: `main until epoch ${a.epoch}; ${outcome.oldMainFenced ? 'fenced' : 'not fenced (it did not answer)'}`,
    };
  return { ...rest, main: a.region, epoch: Math.max(state.epoch, a.epoch), demoted };
}

/** A promotion abandoned before anything was promoted (a planned switchover that aborted). */
export function promotionAborted(state: EngineState): EngineState {
  const { promotion: _p, ...rest } = state;
  return rest;
}

/** A completed fence of `region`'s databases. */
export function fenceDone(state: EngineState, region: string): EngineState {
  const d = state.demoted?.[region];
  if (!d || d.fenced) return state;
  return { ...state, demoted: { ...state.demoted, [region]: { ...d, fenced: true } } };
}
