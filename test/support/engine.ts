import { resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { decide } from '../../src/decide/decide.js';
import type { DecideInput, Plan } from '../../src/decide/types.js';
import { parseScenario, scenarioInput } from '../../src/scenario/scenario.js';
import { buildTopology } from '../../src/topology/build.js';
import type { Topology } from '../../src/topology/types.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const EXAMPLE = resolve(ROOT, 'config/switchyard.example.yaml');
export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

let cached: Topology | undefined;
export function exampleTopology(): Topology {
  cached ??= buildTopology(loadConfig(EXAMPLE).config);
  return structuredClone(cached);
}

/** Engine input for a scenario written inline, against the seed's four-region example. */
export function scenario(raw: Record<string, unknown>, topology = exampleTopology()): DecideInput {
  return scenarioInput(topology, parseScenario(raw), 'test', NOW);
}

export function plan(raw: Record<string, unknown>, topology = exampleTopology()): Plan {
  return decide(scenario(raw, topology));
}

/** Weights of one record by name: { r1: 0, r2: 100 }. */
export function weightsOf(p: Plan, name: string): Record<string, number> {
  const r = p.records.find((x) => x.name === name);
  if (!r) throw new Error(`no record ${name} in plan`);
  return r.weights;
}

/** The regions a record sends traffic to (weight > 0), sorted. */
export function servedBy(p: Plan, name: string): string[] {
  return Object.entries(weightsOf(p, name))
    .filter(([, w]) => w > 0)
    .map(([id]) => id)
    .sort();
}
