import type { Status } from '../decide/types.js';

/**
 * A component with several instances: up while at least `minHealthy` are up; down once so
 * many are down that `minHealthy` can no longer be reached; otherwise unknown (not enough
 * evidence either way yet, e.g. right after start).
 */
export function componentStatus(statuses: readonly Status[], minHealthy: number): Status {
  const up = statuses.filter((s) => s === 'up').length;
  const down = statuses.filter((s) => s === 'down').length;
  if (up >= minHealthy) return 'up';
  if (statuses.length - down < minHealthy) return 'down';
  return 'unknown';
}
