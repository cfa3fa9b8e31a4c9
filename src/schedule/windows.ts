import type { Config } from '../config/schema.js';
import { type CronMatcher, cronMatcher, hasSeconds } from './cron.js';

export type MaintenanceWindow = Config['maintenance'][number];

export interface ActiveWindow {
  index: number;
  region: string;
  /** The fire time that opened the window, and when it closes (ms since the epoch). */
  start: number;
  end: number;
}

const MINUTE = 60_000;

/**
 * The most recent fire time of the cron in (now − lookbackMs, now], or undefined. Steps back
 * minute by minute (second by second only within minutes of a 6-field expression): node-cron
 * has no "previous run", and this must work right after a restart, when no run was observed.
 */
export function previousFire(
  match: CronMatcher,
  seconds: boolean,
  now: number,
  lookbackMs: number,
): number | undefined {
  const floor = now - lookbackMs;
  for (let m = Math.floor(now / MINUTE) * MINUTE; m + MINUTE > floor; m -= MINUTE) {
    for (let s = seconds ? 59 : 0; s >= 0; s--) {
      const t = m + s * 1_000;
      if (t > now || t <= floor) continue;
      if (match(new Date(t))) return t;
    }
  }
  return undefined;
}

/** Compiled windows: matchers built once (they validate the expression and the timezone). */
export interface CompiledWindow extends MaintenanceWindow {
  index: number;
  match: CronMatcher;
  seconds: boolean;
}

export function compileWindows(windows: readonly MaintenanceWindow[]): CompiledWindow[] {
  return windows.map((w, index) => ({
    ...w,
    index,
    match: cronMatcher(w.cron, w.timezone),
    seconds: hasSeconds(w.cron),
  }));
}

/**
 * Which windows are open at `now`: a window opened by the cron's latest fire time is open for
 * `duration`. Pure given the matchers, so a director restarted mid-window knows it is inside.
 */
export function activeWindows(windows: readonly CompiledWindow[], now: number): ActiveWindow[] {
  const out: ActiveWindow[] = [];
  for (const w of windows) {
    const start = previousFire(w.match, w.seconds, now, w.duration);
    if (start !== undefined) out.push({ index: w.index, region: w.region, start, end: start + w.duration });
  }
  return out;
}
