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
  const next = { ...s };
  advance(next, ok, at, rise, fall);
  return next;
}

/**
 * `step` in place, for the per-result path (a new state object per result would be garbage at
 * thousands of results a second). Returns true when the status changed.
 */
export function advance(s: TargetState, ok: boolean, at: number, rise: number, fall: number): boolean {
  s.successes = ok ? s.successes + 1 : 0;
  s.failures = ok ? 0 : s.failures + 1;
  const before = s.status;
  if (ok && before !== 'up' && s.successes >= rise) s.status = 'up';
  if (!ok && before !== 'down' && s.failures >= fall) s.status = 'down';
  if (s.status === before) return false;
  s.since = at;
  return true;
}
