import type { Region, RegionId, TrafficClass } from '../topology/types.js';
import { formatDuration } from '../util/duration.js';
import { canServe, classEvidence } from './evidence.js';
import type { DecideInput } from './types.js';

const ROUTED: readonly TrafficClass[] = ['api', 'auth'];

export interface ServingDecision {
  /** Next anti-flap memory: classes each region is held out of by health. */
  out: Record<RegionId, TrafficClass[]>;
  /** Can region serve class after this decision (health, drains, split-brain)? Management excluded. */
  serves: (region: RegionId, cls: TrafficClass) => boolean;
  reasons: string[];
}

/**
 * Hold-downs. A region leaves a class once its component has been down for `failAfter`, and comes
 * back only after it has been up for `recoverAfter`. Unknown evidence keeps whatever held before.
 * With `holdHealth` (panic guard) the previous memory is kept as it is.
 */
export function decideServing(
  input: DecideInput,
  opts: {
    holdHealth: boolean;
    /** Regions whose databases are not the main's replicas: kept away from auth. */
    demoted: ReadonlySet<RegionId>;
    maintenance?: Set<RegionId>;
  },
): ServingDecision {
  const { topology, health, state, overrides, now } = input;
  const { failAfterMs, recoverAfterMs } = topology.policy;
  const reasons: string[] = [];
  const out: Record<RegionId, TrafficClass[]> = {};
  const drained = new Set(overrides.drained);

  for (const region of topology.regions) {
    const held: TrafficClass[] = [];
    for (const cls of ROUTED) {
      if (!canServe(region, cls)) continue;
      const wasOut = state.out[region.id]?.includes(cls) ?? false;
      let isOut = wasOut;
      if (!opts.holdHealth) {
        const ev = classEvidence(health, region, cls, topology.policy, now);
        const what = cls === 'api' ? 'gateway' : 'keyManager';
        if (!wasOut && ev.status === 'down') {
          if (ev.forMs >= failAfterMs) {
            isOut = true;
            reasons.push(
              `${region.id}: ${what} down for ${formatDuration(ev.forMs)} (failAfter ${formatDuration(failAfterMs)}); ${cls} traffic leaves ${region.id}`,
            );
          } else
            reasons.push(
              `${region.id}: ${what} down for ${formatDuration(ev.forMs)}; holding ${cls} until failAfter ${formatDuration(failAfterMs)}`,
            );
        } else if (wasOut && ev.status === 'up') {
          if (ev.forMs >= recoverAfterMs) {
            isOut = false;
            const barred = cls === 'auth' && opts.demoted.has(region.id);
            reasons.push(
              `${region.id}: ${what} healthy for ${formatDuration(ev.forMs)} (recoverAfter ${formatDuration(recoverAfterMs)}); ${barred ? `${cls} still stays away: its databases are not the main's replicas` : `${cls} traffic returns to ${region.id}`}`,
            );
          } else
            reasons.push(
              `${region.id}: ${what} healthy for ${formatDuration(ev.forMs)}; ${cls} stays away until recoverAfter ${formatDuration(recoverAfterMs)}`,
            );
        } else if (wasOut && ev.status === 'unknown') {
          reasons.push(`${region.id}: ${what} state unknown; ${cls} stays away until it is seen healthy`);
        }
      }
      if (isOut) held.push(cls);
    }
    if (held.length > 0) out[region.id] = held;
    if (drained.has(region.id))
      reasons.push(`${region.id}: drained by an operator; api and auth traffic leave it`);
    if (opts.maintenance?.has(region.id))
      reasons.push(`${region.id}: in a maintenance window; drained while it lasts`);
  }

  const serves = (id: RegionId, cls: TrafficClass): boolean => {
    const region: Region | undefined = topology.regions.find((r) => r.id === id);
    if (!region || !canServe(region, cls) || cls === 'management') return false;
    if (drained.has(id) || opts.maintenance?.has(id)) return false;
    if (out[id]?.includes(cls)) return false;
    if (cls === 'auth' && opts.demoted.has(id)) return false;
    return true;
  };
  return { out, serves, reasons };
}
