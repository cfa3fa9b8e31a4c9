import type { Config } from '../config/schema.js';
import { SwitchyardError } from '../util/errors.js';
import type { Fallback, Policy, RecordDef, Region, RegionId, Role, Topology } from './types.js';

/** Compiles a validated configuration into the topology the engine reasons about. */
export function buildTopology(config: Config): Topology {
  const entries = Object.entries(config.regions);
  const roleOf = (id: RegionId): Role => config.regions[id]?.role ?? 'edge';
  const main = entries.find(([, r]) => r.role === 'main')?.[0];
  if (main === undefined)
    throw new SwitchyardError('CONFIG_INVALID', 'regions: exactly one region must have role "main"');
  const failovers = entries.filter(([, r]) => r.role === 'failover').map(([id]) => id);

  const regions: Region[] = entries.map(([id, r]) => {
    const configured = r.failover;
    let fallback: Fallback;
    if (configured === undefined) fallback = defaultFallback(id, roleOf(id), main, failovers);
    else if (Array.isArray(configured)) fallback = { kind: 'preference', order: [...configured] };
    else fallback = { kind: 'split', weights: { ...configured.split } };
    return {
      id,
      role: r.role,
      hasGateway: r.gateway !== undefined,
      hasKeyManager: r.keyManager !== undefined,
      databases: Object.keys(r.databases ?? {}),
      fallback,
      fallbackConfigured: configured !== undefined,
    };
  });

  const records: RecordDef[] = config.records.map((rec) => ({
    key: recordKey(rec.name, rec.type),
    name: rec.name,
    class: rec.class,
    ...(rec.home !== undefined ? { home: rec.home } : {}),
    type: rec.type,
    ttlSeconds: Math.max(1, Math.round(rec.ttl / 1000)),
    targets: Object.fromEntries(
      Object.entries(rec.targets).map(([region, t]) => [
        region,
        {
          weight: t.weight,
          setIdentifier: t.setIdentifier ?? region,
          ...(t.values ? { values: [...t.values] } : {}),
          ...(t.alias ? { alias: { ...t.alias } } : {}),
        },
      ]),
    ),
  }));

  const p = config.policy;
  const policy: Policy = {
    failAfterMs: p.failAfter,
    recoverAfterMs: p.recoverAfter,
    staleAfterMs: p.staleAfter,
    panicThreshold: p.panicThreshold,
    promotion: {
      mode: p.promotion.mode,
      promoteAfterMs: p.promotion.promoteAfter,
      maxLagSeconds: p.promotion.maxLagSeconds,
      maxLagBytes: p.promotion.maxLagBytes,
    },
  };
  return { regions, configuredMain: main, records, policy };
}

/**
 * The failover matrix derived from roles: failover → main (2→1); main → failover (1→2);
 * edge → main first, then the failover regions (3/4→1, or 2 when 1 is down too).
 */
export function defaultFallback(id: RegionId, role: Role, main: RegionId, failovers: RegionId[]): Fallback {
  if (role === 'main') return { kind: 'preference', order: [...failovers] };
  if (role === 'failover') return { kind: 'preference', order: [main, ...failovers.filter((f) => f !== id)] };
  return { kind: 'preference', order: [main, ...failovers] };
}

/** Candidates of a fallback in order of preference (split: by weight, then id). */
export function fallbackOrder(fallback: Fallback): RegionId[] {
  if (fallback.kind === 'preference') return fallback.order;
  return Object.entries(fallback.weights)
    .sort(([a, wa], [b, wb]) => wb - wa || a.localeCompare(b))
    .map(([id]) => id);
}

export function recordKey(name: string, type: string): string {
  return `${name.toLowerCase().replace(/\.$/, '')}/${type}`;
}

export function regionById(topology: Topology, id: RegionId): Region | undefined {
  return topology.regions.find((r) => r.id === id);
}
