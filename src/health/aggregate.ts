import type { Status } from '../decide/types.js';

/**
 * A component with several instances: up while at least `minHealthy` are up; down once so
 * many are down that `minHealthy` can no longer be reached; otherwise unknown (not enough
 * evidence either way yet, e.g. right after start).
 */
export function componentStatus(statuses: readonly Status[], minHealthy: number): Status {
  let up = 0;
  let down = 0;
  for (const s of statuses) {
    if (s === 'up') up++;
    else if (s === 'down') down++;
  }
  return statusFromCounts(up, down, statuses.length, minHealthy);
}

/** The same rule from counts kept up to date per result (O(1) per result, not O(instances)). */
export function statusFromCounts(up: number, down: number, total: number, minHealthy: number): Status {
  if (up >= minHealthy) return 'up';
  if (total - down < minHealthy) return 'down';
  return 'unknown';
}
