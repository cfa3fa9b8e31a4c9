import type { WeightedSet } from '../../src/dns/types.js';
import type { PersistedState } from '../../src/state/types.js';
import { harnessConfig } from '../support/daemon-harness.js';
const RECORDS = harnessConfig().records;

/** Live DNS sets for the given weights per record name (what an earlier life of the daemon wrote). */
export function liveSets(weights: Record<string, Record<string, number>>): WeightedSet[] {
  const out: WeightedSet[] = [];
  for (const r of RECORDS)
    for (const [region, t] of Object.entries(r.targets))
      out.push({
        recordKey: `${r.name}/A`,
        name: r.name,
        type: 'A',
        region,
        setIdentifier: region,
        weight: weights[r.name]?.[region] ?? 0,
        ttlSeconds: 60,
        values: t.values ?? [],
      });
  return out;
}

/** The weights after r1 was lost and r2 promoted: everything of r1 on r2, management on r2. */
export const AFTER_FAILOVER: Record<string, Record<string, number>> = {
  'api.r1.example.com': { r1: 0, r2: 100 },
  'api.r2.example.com': { r2: 100, r1: 0 },
  'api.r3.example.com': { r3: 100, r1: 0, r2: 0 },
  'api.r4.example.com': { r4: 100, r1: 0, r2: 0 },
  'auth.r1.example.com': { r1: 0, r2: 100 },
  'auth.r3.example.com': { r1: 0, r2: 100 },
  'manage.example.com': { r1: 0, r2: 100 },
};

export function stateAfterFailover(extra: Partial<PersistedState['engine']> = {}): PersistedState {
  return {
    version: 1,
    engine: {
      epoch: 1,
      main: 'r2',
      out: { r1: ['api'] },
      weights: Object.fromEntries(Object.entries(AFTER_FAILOVER).map(([n, w]) => [`${n}/A`, w])),
      ...extra,
    },
    overrides: { drained: [], frozen: false, routes: {} },
    journal: [],
  };
}

