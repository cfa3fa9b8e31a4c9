import type { Policy, Region, TrafficClass } from '../topology/types.js';
import type { ComponentHealth, DatabaseHealth, HealthView, RegionHealth, Status } from './types.js';

/** A database's last successful probe sample, if it is not older than staleAfter. */
export interface DatabaseSample {
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  streaming?: boolean;
}

export function freshSample(
  db: DatabaseHealth | undefined,
  policy: Policy,
  now: number,
): DatabaseSample | undefined {
  if (!db || db.sampledAt === undefined || now - db.sampledAt > policy.staleAfterMs) return undefined;
  return db;
}

/**
 * What the engine may conclude from the probes. No evidence is not bad evidence: a component
 * never probed, or whose last probe is older than `staleAfter`, is `unknown`, and `unknown`
 * never moves traffic or triggers a promotion.
 */
export interface Evidence {
  status: Status;
  /** How long the status has held, in ms (0 for unknown). */
  forMs: number;
}

const UNKNOWN: Evidence = { status: 'unknown', forMs: 0 };

export function evidenceOf(h: ComponentHealth | undefined, policy: Policy, now: number): Evidence {
  if (!h || h.status === 'unknown') return UNKNOWN;
  if (h.checkedAt !== undefined && now - h.checkedAt > policy.staleAfterMs) return UNKNOWN;
  return { status: h.status, forMs: Math.max(0, now - h.since) };
}

/**
 * The view with every known status counted from `floor` at the earliest (monotonic ms): after the
 * panic guard lifts, a component down (or up) since before it has been so, as evidence, only since
 * the guard lifted. Staleness (`checkedAt`, `sampledAt`) is left as it is.
 */
export function floorEvidence(health: HealthView, floor: number): HealthView {
  const clamp = <T extends ComponentHealth>(c: T | undefined): T | undefined =>
    c && c.status !== 'unknown' && c.since < floor ? { ...c, since: floor } : c;
  const out: HealthView = {};
  for (const [id, r] of Object.entries(health)) {
    const region: RegionHealth = {};
    if (r.gateway) region.gateway = clamp(r.gateway);
    if (r.keyManager) region.keyManager = clamp(r.keyManager);
    if (r.databases) {
      const dbs: Record<string, DatabaseHealth> = {};
      for (const [k, d] of Object.entries(r.databases)) dbs[k] = clamp(d) as DatabaseHealth;
      region.databases = dbs;
    }
    out[id] = region;
  }
  return out;
}

/** The longest hold-down counted from a status change: how long a panic floor can matter. */
export function longestHoldDown(policy: Policy): number {
  return Math.max(policy.failAfterMs, policy.recoverAfterMs, policy.promotion.promoteAfterMs);
}

/** The component whose health decides whether a region can serve a traffic class. */
export function componentFor(cls: TrafficClass): 'gateway' | 'keyManager' | undefined {
  if (cls === 'api') return 'gateway';
  if (cls === 'auth') return 'keyManager';
  return undefined;
}

export function canServe(region: Region, cls: TrafficClass): boolean {
  if (cls === 'api') return region.hasGateway;
  if (cls === 'auth') return region.hasKeyManager;
  return region.role !== 'edge' && region.databases.length > 0;
}

export function classEvidence(
  health: HealthView,
  region: Region,
  cls: TrafficClass,
  policy: Policy,
  now: number,
): Evidence {
  const kind = componentFor(cls);
  if (!kind) return UNKNOWN;
  return evidenceOf(health[region.id]?.[kind], policy, now);
}

export interface DatabaseEvidence extends Evidence {
  key: string;
  db: DatabaseHealth | undefined;
}

export function databaseEvidence(
  health: HealthView,
  region: Region,
  policy: Policy,
  now: number,
): DatabaseEvidence[] {
  return region.databases.map((key) => {
    const db = health[region.id]?.databases?.[key];
    return { key, db, ...evidenceOf(db, policy, now) };
  });
}

/** Components of a region that are down right now (any duration), for reasons and the panic guard. */
export function downComponents(health: HealthView, region: Region, policy: Policy, now: number): string[] {
  const out: string[] = [];
  if (region.hasGateway && evidenceOf(health[region.id]?.gateway, policy, now).status === 'down')
    out.push('gateway');
  if (region.hasKeyManager && evidenceOf(health[region.id]?.keyManager, policy, now).status === 'down')
    out.push('keyManager');
  const dbs = databaseEvidence(health, region, policy, now).filter((d) => d.status === 'down');
  if (dbs.length > 0)
    out.push(
      dbs.length === region.databases.length ? 'database' : `database(${dbs.map((d) => d.key).join(',')})`,
    );
  return out;
}
