import type { Config } from '../config/schema.js';
import type { Plan } from '../decide/types.js';
import type { DnsStatus as ReconcilerStatus } from '../dns/reconciler.js';
import type { HealthTracker } from '../health/tracker.js';
import type { DecisionSummary, RegionStatus, StatusDocument } from '../server/status.js';
import { isoTime } from '../server/status.js';
import type { PersistedState } from '../state/types.js';
import type { Topology } from '../topology/types.js';
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
}

/** Assembles GET /v1/status from the daemon's parts; pure. */
export function buildStatusDocument(i: StatusInputs): StatusDocument {
  const view = i.tracker.view();
  const { engine, overrides } = i.state;
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
    const serving = i.lastPlan?.serving[r.id] ?? {
      api: !(engine.out[r.id]?.includes('api') ?? false) && r.hasGateway,
      auth: !(engine.out[r.id]?.includes('auth') ?? false) && r.hasKeyManager,
      management: r.id === engine.main,
    };
    return {
      id: r.id,
      role: r.role,
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
      startedAt: isoTime(i.startedAt) ?? '',
      ready: i.ready,
      ...(i.ready ? {} : { readyReason: i.readyReason ?? 'not ready' }),
    },
    generatedAt: isoTime(i.clock.wall()) ?? '',
    main: engine.main,
    epoch: engine.epoch,
    overrides: { ...overrides, maintenance: i.maintenance },
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
  };
}
