import type { Status } from '../decide/types.js';

/** One target's memory of its recent results: pure data, advanced by `step`. */
export interface TargetState {
  status: Status;
  /** When `status` began (ms since the epoch). */
  since: number;
  successes: number;
  failures: number;
}

export function initialTargetState(now: number): TargetState {
  return { status: 'unknown', since: now, successes: 0, failures: 0 };
}

/**
 * Applies one result. Up after `rise` consecutive successes, down after `fall` consecutive
 * failures; in between the status holds (a single blip changes nothing). A target starts
 * `unknown` and leaves it only on the same evidence, so a restarted director never declares
 * everything up (or down) before it has data.
 */
export function step(s: TargetState, ok: boolean, at: number, rise: number, fall: number): TargetState {
  const successes = ok ? s.successes + 1 : 0;
  const failures = ok ? 0 : s.failures + 1;
  let status = s.status;
  if (ok && status !== 'up' && successes >= rise) status = 'up';
  if (!ok && status !== 'down' && failures >= fall) status = 'down';
  return { status, since: status === s.status ? s.since : at, successes, failures };
}
