import type { Config } from '../config/schema.js';
import type { CoordinationStatus } from '../coord/coordination.js';
import type { DatabaseHealth, Demotion, HealthView, Plan } from '../decide/types.js';
import type { DnsStatus as ReconcilerStatus } from '../dns/reconciler.js';
import type { HealthTracker } from '../health/tracker.js';
import type {
  ActiveOverride,
  CurrentRole,
  DecisionSummary,
  RegionStatus,
  StatusDocument,
} from '../server/status.js';
import { isoTime } from '../server/status.js';
import type { PersistedState } from '../state/types.js';
import type { Region, RegionId, Topology, TrafficClass } from '../topology/types.js';
import { type Clock, isoAt } from '../util/clock.js';

export interface StatusInputs {
  config: Config;
  topology: Topology;
  /** Wall time the daemon started. */
  startedAt: number;
  /** Converts the monotonic instants of health and probes into wall-time labels. */
  clock: Clock;
  ready: boolean;
  readyReason?: string;
  state: Readonly<PersistedState>;
  tracker: HealthTracker;
  lastPlan: Plan | undefined;
  maintenance: string[];
  decisions: DecisionSummary[];
  dns: ReconcilerStatus;
  /** The view the engine decides on (with several observers: their quorum); default the own view. */
  view?: HealthView;
  coordination?: CoordinationStatus;
}

const CLASSES: readonly TrafficClass[] = ['api', 'auth', 'management'];

/**
 * Per region and class: does any record of the class give it a weight above 0 in `weights` (the
 * weights actually applied)? What operators see must be what DNS serves, frozen or not.
 */
export function servingFromWeights(
  topology: Topology,
  weights: Record<string, Record<RegionId, number>>,
): Record<RegionId, Record<TrafficClass, boolean>> {
  const out: Record<RegionId, Record<TrafficClass, boolean>> = {};
  for (const r of topology.regions) out[r.id] = { api: false, auth: false, management: false };
  for (const rec of topology.records)
    for (const [id, w] of Object.entries(weights[rec.key] ?? {}))
      if (w > 0 && out[id]) (out[id] as Record<TrafficClass, boolean>)[rec.class] = true;
  return out;
}

/**
 * What a region is now, from its databases' own reports, its persisted demotion and the current
 * main. A database seen writable outside the main is a split-brain whatever was recorded before
 * (an old main that came back writable included); otherwise the demotion the engine persisted
 * says why the region is kept away, and a fenced region waits to be rebuilt as a replica.
 */
export function currentRoleOf(
  region: Region,
  main: RegionId,
  databases: Record<string, DatabaseHealth>,
  demotion?: Demotion,
): { role: CurrentRole; detail?: string } {
  if (region.id === main) return { role: 'main' };
  if (region.databases.length === 0) return { role: 'edge' };
  const rebuild = `rebuild it as a replica of ${main}, then it serves auth again`;
  const dbs = Object.entries(databases);
  const writable = dbs
    .filter(([, d]) => d.status === 'up' && d.role === 'primary' && d.writable === true)
    .map(([k]) => k);
  if (writable.length > 0)
    return {
      role: 'split-brain',
      detail: `${writable.join(', ')} writable outside the main (${main})${
        demotion?.reason === 'old-main' ? ': the old main came back writable' : ''
      }; being fenced`,
    };
  const readOnlyPrimary = dbs.filter(([, d]) => d.role === 'primary' && d.writable === false).map(([k]) => k);
  // One sentence for a detached region whether the engine has recorded the demotion yet or not:
  // the status must not change its wording a cycle later when nothing changed in the world.
  const detached = () =>
    readOnlyPrimary.length > 0
      ? `${readOnlyPrimary.join(', ')} read-only but not replicating from ${main}; ${rebuild}`
      : `databases are read-only primaries that do not replicate from ${main}; ${rebuild}`;
  switch (demotion?.reason) {
    case 'split-brain':
      return demotion.fenced
        ? {
            role: 'detached',
            detail: `fenced after a split-brain: databases read-only, not replicating from ${main}; ${rebuild}`,
          }
        : {
            role: 'split-brain',
            detail: `its fence has not completed (its databases did not answer); fenced when they answer: ${demotion.detail}`,
          };
    case 'old-main':
      return {
        role: 'fenced-old-main',
        detail: demotion.fenced
          ? `databases read-only (fenced); rebuild it as a replica of ${main}, then fail back with a switchover`
          : 'NOT fenced (its databases did not answer): fenced when they answer; it must not come back writable',
      };
    case 'detached':
      return { role: 'detached', detail: detached() };
    default:
      break;
  }
  const replicas = dbs.filter(([, d]) => d.role === 'replica');
  if (dbs.length > 0 && replicas.length === dbs.length) return { role: 'replica' };
  // No demotion recorded yet (the engine records one on its next fresh probe): the configured
  // main is the old main; any other region with a primary is detached from the main.
  if (region.role === 'main')
    return {
      role: 'fenced-old-main',
      detail:
        readOnlyPrimary.length > 0
          ? `databases read-only (fenced); rebuild it as a replica of ${main}, then fail back with a switchover`
          : `databases unreachable or not reporting; fenced if they return writable; rebuild as a replica of ${main}`,
    };
  if (readOnlyPrimary.length > 0) return { role: 'detached', detail: detached() };
  return { role: 'replica', detail: 'databases not reporting a role yet' };
}

/** Assembles GET /v1/status from the daemon's parts; pure. */
export function buildStatusDocument(i: StatusInputs): StatusDocument {
  const view = i.view ?? i.tracker.view();
  const votes = i.coordination?.votes ?? {};
  const { engine, overrides } = i.state;
  // The weights actually applied: live DNS as last read or written, else what was persisted.
  const applied = { ...engine.weights, ...(i.dns.live ?? {}) };
  const servingNow = servingFromWeights(i.topology, applied);
  const regions: RegionStatus[] = i.topology.regions.map((r) => {
    const h = view[r.id] ?? {};
    const components: RegionStatus['components'] = [];
    if (h.gateway)
      components.push({
        name: 'gateway',
        kind: 'gateway',
        status: h.gateway.status,
        since: isoAt(i.clock, h.gateway.since),
        ...(h.gateway.detail ? { detail: h.gateway.detail } : {}),
      });
    if (h.keyManager)
      components.push({
        name: 'keyManager',
        kind: 'keyManager',
        status: h.keyManager.status,
        since: isoAt(i.clock, h.keyManager.since),
        ...(h.keyManager.detail ? { detail: h.keyManager.detail } : {}),
      });
    for (const [key, d] of Object.entries(h.databases ?? {}))
      components.push({
        name: `database.${key}`,
        kind: 'database',
        status: d.status,
        since: isoAt(i.clock, d.since),
        ...(d.detail ? { detail: d.detail } : {}),
        ...(d.role ? { role: d.role } : {}),
        ...(d.writable !== undefined ? { writable: d.writable } : {}),
        lagSeconds: d.lagSeconds ?? null,
        lagBytes: d.lagBytes ?? null,
      });
    const serving = servingNow[r.id] ?? { api: false, auth: false, management: false };
    for (const c of CLASSES) serving[c] = serving[c] === true;
    for (const c of components) {
      const v = votes[`${r.id}.${c.name}`];
      if (v) c.observers = v;
    }
    const current = currentRoleOf(r, engine.main, h.databases ?? {}, engine.demoted?.[r.id]);
    return {
      id: r.id,
      role: r.role,
      configuredRole: r.role,
      currentRole: current.role,
      ...(current.detail ? { currentRoleDetail: current.detail } : {}),
      isMain: r.id === engine.main,
      components,
      serving,
      drained: overrides.drained.includes(r.id),
      inMaintenance: i.maintenance.includes(r.id),
    };
  });
  const reasons = new Map(i.lastPlan?.records.map((r) => [r.key, r.reason]) ?? []);
  return {
    version: 1,
    director: {
      id: i.config.director.id,
      ...(i.config.director.region ? { region: i.config.director.region } : {}),
      role: i.coordination?.role ?? 'standalone',
      startedAt: isoTime(i.startedAt) ?? '',
      ready: i.ready,
      ...(i.ready ? {} : { readyReason: i.readyReason ?? 'not ready' }),
    },
    generatedAt: isoTime(i.clock.wall()) ?? '',
    main: engine.main,
    epoch: engine.epoch,
    overrides: { ...overrides, maintenance: i.maintenance },
    activeOverrides: activeOverrides(i),
    regions,
    targets: i.tracker.targets().map((t) => ({
      id: t.id,
      region: t.region,
      component: t.component,
      state: t.status,
      since: isoAt(i.clock, t.since),
      last: t.last
        ? {
            ok: t.last.ok,
            at: isoAt(i.clock, t.last.at) ?? '',
            latencyMs: Math.round(t.last.latencyMs),
            detail: t.last.detail,
          }
        : null,
    })),
    records: i.topology.records.map((r) => ({
      key: r.key,
      name: r.name,
      type: r.type,
      class: r.class,
      ...(r.home !== undefined ? { home: r.home } : {}),
      weights: engine.weights[r.key] ?? {},
      live: i.dns.live?.[r.key] ?? null,
      ...(reasons.get(r.key) ? { reason: reasons.get(r.key) } : {}),
    })),
    alerts: i.lastPlan?.alerts ?? [],
    decisions: i.decisions,
    dns: {
      provider: i.dns.provider,
      dryRun: i.dns.dryRun,
      lastApplyAt: i.dns.lastApplyAt ?? null,
      lastChangeAt: i.dns.lastChangeAt ?? null,
      lastReadAt: i.dns.lastReadAt ?? null,
      lastApplyOk: i.dns.lastApplyAt === undefined && !i.dns.lastError ? null : !i.dns.failing,
      failing: i.dns.failing,
      ...(i.dns.lastError ? { lastError: `${i.dns.lastError.code}: ${i.dns.lastError.message}` } : {}),
    },
    promotion: engine.promotion
      ? {
          from: engine.promotion.from,
          to: engine.promotion.to,
          epoch: engine.promotion.epoch,
          startedAt: isoTime(engine.promotion.startedAt) ?? '',
          force: engine.promotion.force,
        }
      : null,
    leader: i.coordination?.leader ?? null,
    observers: i.coordination?.observers ?? [],
    coordination: {
      role: i.coordination?.role ?? 'standalone',
      ...(i.coordination?.quorum !== undefined ? { quorum: i.coordination.quorum } : {}),
      observerRegions: i.coordination?.observerRegions ?? 1,
      ...(i.coordination?.reason ? { reason: i.coordination.reason } : {}),
    },
    journal: [...i.state.journal]
      .slice(-20)
      .reverse()
      .map((e) => ({
        at: isoTime(e.at) ?? '',
        epoch: e.epoch,
        action: e.action,
        target: e.target,
        phase: e.phase,
        detail: e.detail,
        ...(e.by ? { by: e.by } : {}),
        ...(e.reason ? { reason: e.reason } : {}),
      })),
  };
}

function activeOverrides(i: StatusInputs): ActiveOverride[] {
  const { overrides, notes } = i.state;
  const noted = (n: { by: string; at: number; reason?: string } | undefined) =>
    n ? { by: n.by, at: isoTime(n.at) ?? '', ...(n.reason ? { reason: n.reason } : {}) } : {};
  return [
    ...(overrides.frozen ? [{ kind: 'freeze' as const, target: 'director', ...noted(notes?.frozen) }] : []),
    ...overrides.drained.map((r) => ({ kind: 'drain' as const, target: r, ...noted(notes?.drained?.[r]) })),
    ...Object.entries(overrides.routes).map(([name, to]) => ({ kind: 'route' as const, target: name, to })),
    ...i.maintenance.map((r) => ({ kind: 'maintenance' as const, target: r, reason: 'maintenance window' })),
  ];
}
