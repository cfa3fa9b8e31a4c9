import { floorEvidence, longestHoldDown } from './evidence.js';
import type { ComponentHealth, DatabaseHealth, DecideInput, PanicMemory } from './types.js';

/**
 * The earliest time (monotonic ms) at which `decide` could answer differently on the same evidence:
 * a hold-down (failAfter, recoverAfter, promoteAfter) ends, or a probe result or sample goes stale.
 * Until then, and while nothing else changes, the last plan stands and the loop need not decide
 * again. Conservative: any instant where a threshold is crossed counts, whether or not it matters.
 */
export function nextChange(input: DecideInput, panic?: PanicMemory): number {
  const { now, topology } = input;
  const p = topology.policy;
  let next = Number.POSITIVE_INFINITY;
  const at = (t: number | undefined) => {
    if (t !== undefined && t > now && t < next) next = t;
  };
  // After the panic guard lifted, hold-downs count from then (as decide counts them), and the
  // floor itself ends once the longest of them has passed.
  const floor = panic && !panic.active ? panic.liftedAt : undefined;
  const health = floor === undefined ? input.health : floorEvidence(input.health, floor);
  if (floor !== undefined) at(floor + longestHoldDown(p));
  const component = (c: ComponentHealth | undefined) => {
    if (!c) return;
    if (c.checkedAt !== undefined) at(c.checkedAt + p.staleAfterMs + 1);
    if (c.status === 'unknown') return;
    at(c.since + p.failAfterMs);
    at(c.since + p.recoverAfterMs);
  };
  for (const region of Object.values(health)) {
    component(region.gateway);
    component(region.keyManager);
    for (const d of Object.values(region.databases ?? {}) as DatabaseHealth[]) {
      component(d);
      if (d.status !== 'unknown') at(d.since + p.promotion.promoteAfterMs);
      if (d.sampledAt !== undefined) at(d.sampledAt + p.staleAfterMs + 1);
    }
  }
  return next;
}
