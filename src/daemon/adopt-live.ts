import { settledWeights } from '../decide/records.js';
import type { EngineState, Overrides } from '../decide/types.js';
import type { DesiredWeights } from '../dns/types.js';
import type { RegionId, Topology, TrafficClass } from '../topology/types.js';

export interface Adoption {
  /** Weights to save for records the state has never written: the live ones, minus exclusions. */
  adopt: DesiredWeights;
  /** Records whose live weights put traffic where the saved state keeps it away (corrected). */
  corrected: string[];
  /**
   * Records whose live weights serve only excluded regions, and for which the saved state implies
   * no answer that avoids them either: not adopted (the engine waits for evidence).
   */
  skipped: string[];
}

/**
 * Live DNS read at start, for records the saved state has no weights for (a record added to the
 * configuration, weights pruned, a crash before the first save): those weights become the answer
 * held while evidence is unknown. But the saved state outranks what Route 53 still shows where the
 * two disagree — a region held out of a class (`out`), demoted (kept away from auth), drained, or
 * not the main (management) gets no weight from the live set, or a restart would send traffic back
 * to the old main on no evidence. A live set that serves only excluded regions is replaced by the
 * weights the saved state implies (its main, hold-downs and demotions: `settledWeights`); never by
 * an all-zero set.
 */
export function adoptLiveWeights(
  topology: Topology,
  engine: Readonly<EngineState>,
  overrides: Readonly<Pick<Overrides, 'drained'>>,
  live: Readonly<DesiredWeights>,
): Adoption {
  const adoption: Adoption = { adopt: {}, corrected: [], skipped: [] };
  const excluded = (id: RegionId, cls: TrafficClass): boolean => {
    if (cls === 'management') return id !== engine.main;
    if (overrides.drained.includes(id)) return true;
    if (engine.out[id]?.includes(cls)) return true;
    return cls === 'auth' && engine.demoted?.[id] !== undefined;
  };
  let settled: ReturnType<typeof settledWeights> | undefined;
  const servesExcluded = (w: Record<RegionId, number>, cls: TrafficClass) =>
    Object.entries(w).some(([id, v]) => v > 0 && excluded(id, cls));
  for (const [key, weights] of Object.entries(live)) {
    if (engine.weights[key] !== undefined || !Object.values(weights).some((w) => w > 0)) continue;
    const record = topology.records.find((r) => r.key === key);
    if (!record) continue;
    const kept: Record<RegionId, number> = {};
    let corrected = false;
    for (const [id, w] of Object.entries(weights)) {
      const out = w > 0 && excluded(id, record.class);
      if (out) corrected = true;
      kept[id] = out ? 0 : w;
    }
    if (Object.values(kept).some((w) => w > 0)) {
      adoption.adopt[key] = kept;
      if (corrected) adoption.corrected.push(key);
      continue;
    }
    settled ??= settledWeights(topology, engine);
    const implied = settled[key];
    if (implied && Object.values(implied).some((w) => w > 0) && !servesExcluded(implied, record.class)) {
      adoption.adopt[key] = { ...implied };
      adoption.corrected.push(key);
    } else adoption.skipped.push(key);
  }
  return adoption;
}
