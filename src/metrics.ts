import { Counter, collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import type { CoordinationStatus } from './coord/coordination.js';
import {
  ALERT_KINDS,
  type Alert,
  type EngineState,
  type HealthView,
  type Overrides,
  type Plan,
  type Status,
} from './decide/types.js';
import { FlatHistogram, type FlatSeries } from './flat-histogram.js';
import type { SchedulerCounters } from './probe/scheduler.js';
import type { ProbeResult } from './probe/types.js';
import { type Topology, TRAFFIC_CLASSES } from './topology/types.js';
import { type Clock, systemClock } from './util/clock.js';
import { ERROR_CODES, type ErrorCode } from './util/errors.js';

/**
 * Core metrics of the daemon. Every label takes its values from the configuration (regions,
 * records, targets, databases) or from a closed list (classes, action types, outcomes, error
 * codes, alert kinds), so no series count grows with traffic. Known label sets start at 0 so
 * that `rate()` and alerts see a series before the first event.
 *
 * Component status encoding (switchyard_component_status): 1 up, 0 down, -1 unknown
 * (never probed yet, or the last result is older than policy.staleAfter). A database
 * component is reported as `database.<key>` (e.g. `database.apim`).
 */

/** Probe timeouts run from a few ms (loopback TCP) to 10 s (slow SQL), hence these buckets. */
export const PROBE_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How late the scheduler starts runs: on time is ≤ 1 ms; past ~0.5 s it sheds. */
export const PROBE_LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const DEFAULT_GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export type ActionType = 'promote' | 'fence' | 'dns';
export type ActionOutcome = 'done' | 'failed' | 'abandoned';
export type DecisionOutcome = 'changed' | 'unchanged' | 'frozen';
export type ErrorKind = ErrorCode | 'internal';

const ACTION_TYPES: readonly ActionType[] = ['promote', 'fence', 'dns'];
const ACTION_OUTCOMES: readonly ActionOutcome[] = ['done', 'failed', 'abandoned'];
const DECISION_OUTCOMES: readonly DecisionOutcome[] = ['changed', 'unchanged', 'frozen'];

/** A probe target as the metrics label it (a `HealthTarget` fits). */
export interface ProbeTargetLabels {
  id: string;
  region: string;
  /** Component kind: gateway, keyManager, database. */
  component: string;
}

/** Label values known from the configuration, used to initialise series to 0. */
export interface KnownLabels {
  topology?: Topology;
  /**
   * Probe targets. A bare id ("r1.gateway.health") is labelled by its first two segments
   * (region r1, component gateway); pass the targets themselves to label them exactly.
   */
  targets?: readonly (string | ProbeTargetLabels)[];
}

export interface CoreMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop); on by default. */
  defaultMetrics?: boolean;
  /** For the last-decision timestamp; the system clock by default. */
  clock?: Pick<Clock, 'wall'>;
  /**
   * Config `metrics.probeHistograms`: a probe-duration histogram per target (labels region,
   * component, target: 14 series per target) instead of one per region and component kind.
   */
  probeHistograms?: boolean;
}

/** What the probe scheduler's metrics read at each scrape (a ProbeScheduler is one). */
export interface SchedulerSource {
  readonly counters: Readonly<SchedulerCounters>;
  /** Runs in flight. */
  readonly running: number;
  behindMs(): number;
}

export interface CoreMetrics {
  readonly registry: Registry;
  /** Registers known label values (call again after a config reload). */
  init(known: KnownLabels): void;
  /** One probe result: O(1), no allocation beyond the histogram's own bookkeeping. */
  observeProbe(target: string, result: Pick<ProbeResult, 'ok' | 'latencyMs'>): void;
  /** Exports a probe scheduler's counters, lateness and backlog (read at scrape time). */
  trackScheduler(source: SchedulerSource): void;
  /** The scheduler's `onLateness` hook: one observation per planned start, in ms. */
  observeLateness(ms: number): void;
  /** Component status and replication lag from the health layer's view. */
  setHealth(view: HealthView): void;
  /** Serving state, active alerts and the decision counter from one engine run. */
  setPlan(plan: Plan, outcome?: DecisionOutcome): void;
  /** Main region, epoch, applied DNS weights, pending promotion: from the persisted state. */
  setState(state: EngineState): void;
  setOverrides(overrides: Overrides): void;
  countAction(type: ActionType, outcome: ActionOutcome): void;
  countError(kind: ErrorKind): void;
  setReady(ready: boolean): void;
  /** Active alerts by kind: the engine's and the daemon's own. */
  setAlerts(alerts: readonly Alert[]): void;
  /** 1 while the state cannot be saved (nothing is applied meanwhile). */
  setStateUnwritable(on: boolean): void;
}

interface ProbeSlot {
  readonly target: { target: string };
  readonly duration: Record<string, string>;
  /** The duration series this target records into (its own, or its region and kind's). */
  readonly series: FlatSeries;
  success: number;
}

/** Region and component kind from a target id: "r1.gateway.gw-1a" or "r1/database.apim/sql". */
function labelsFromId(id: string): { region: string; component: string } {
  const [region = id, component = 'unknown'] = id.split(/[./]/);
  return { region, component };
}

export function statusValue(status: Status): number {
  return status === 'up' ? 1 : status === 'down' ? 0 : -1;
}

export function createCoreMetrics(
  registry: Registry,
  known: KnownLabels = {},
  options: CoreMetricsOptions = {},
): CoreMetrics {
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'switchyard_' });
    // prom-client exposes these sums as gauges ending in `_total`, which promtool rejects (only
    // counters may); the per-type `..._active_handles{type}` etc. gauges carry the same data.
    for (const name of DEFAULT_GAUGES_NAMED_TOTAL) registry.removeSingleMetric(`switchyard_${name}`);
  }
  const registers = [registry];
  const clock = options.clock ?? systemClock;

  // Per target: the last result in a slot, published at scrape time (a gauge set per result
  // would allocate a value object that lives until the next result, i.e. into the old space).
  const perTargetHistograms = options.probeHistograms === true;
  const probeSlots = new Map<string, ProbeSlot>();
  new Gauge({
    name: 'switchyard_probe_success',
    help: 'Result of the last probe of a target: 1 success, 0 failure.',
    labelNames: ['target'] as const,
    registers,
    collect() {
      this.reset();
      for (const slot of probeSlots.values()) this.set(slot.target, slot.success);
    },
  });
  // Recorded per result without allocating (prom-client's observe builds a label hash per call).
  const probeDuration = new FlatHistogram(
    'switchyard_probe_duration_seconds',
    perTargetHistograms
      ? 'Duration of probes per target (metrics.probeHistograms), including failed ones.'
      : 'Duration of probes per region and component kind, including failed ones.',
    PROBE_DURATION_BUCKETS,
    perTargetHistograms ? ['region', 'component', 'target'] : ['region', 'component'],
    registers,
  );
  const probeSlot = (t: string | ProbeTargetLabels): ProbeSlot => {
    const id = typeof t === 'string' ? t : t.id;
    const existing = probeSlots.get(id);
    if (existing) return existing;
    const { region, component } = typeof t === 'string' ? labelsFromId(t) : t;
    const duration: Record<string, string> = perTargetHistograms
      ? { region, component, target: id }
      : { region, component };
    const slot: ProbeSlot = {
      target: { target: id },
      duration,
      series: probeDuration.series(duration),
      success: 0,
    };
    probeSlots.set(id, slot);
    return slot;
  };

  // The scheduler: read at scrape time, nothing per run but the lateness observation.
  const schedulers: { source: SchedulerSource; seen: Record<string, number> }[] = [];
  const counterFrom = (name: string, help: string, key: keyof SchedulerCounters) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        for (const s of schedulers) {
          const now = s.source.counters[key];
          const before = s.seen[key] ?? 0;
          // A new scheduler (after a reload) starts again from 0: count what it has done.
          this.inc(now >= before ? now - before : now);
          s.seen[key] = now;
        }
      },
    });
  counterFrom('switchyard_probe_runs_total', 'Probe runs started by the scheduler.', 'runs');
  counterFrom(
    'switchyard_probe_shed_total',
    'Planned probe runs not started because the event loop was behind by more than the lateness bound (alert: the director cannot keep up with its targets).',
    'shed',
  );
  counterFrom(
    'switchyard_probe_overlaps_skipped_total',
    'Planned probe runs skipped because the previous run of the target had not ended.',
    'skippedOverlaps',
  );
  counterFrom('switchyard_probe_timeouts_total', 'Probe runs aborted at their timeout.', 'timeouts');
  counterFrom(
    'switchyard_probe_abandoned_total',
    'Probe runs that did not stop within timeout + grace: recorded as a timeout, their connection reset.',
    'abandoned',
  );
  const latenessHistogram = new FlatHistogram(
    'switchyard_probe_lateness_seconds',
    'How late probe runs were started against their plan (event loop lag as the scheduler sees it).',
    PROBE_LATENESS_BUCKETS,
    [],
    registers,
  );
  const lateness = latenessHistogram.series({});
  new Gauge({
    name: 'switchyard_probe_scheduler_behind_seconds',
    help: 'How overdue the most overdue planned probe start is right now (0 when on time).',
    registers,
    collect() {
      let behind = 0;
      for (const s of schedulers) behind = Math.max(behind, s.source.behindMs());
      this.set(behind / 1000);
    },
  });
  new Gauge({
    name: 'switchyard_probe_in_flight',
    help: 'Probe runs in flight.',
    registers,
    collect() {
      let n = 0;
      for (const s of schedulers) n += s.source.running;
      this.set(n);
    },
  });

  const componentStatus = new Gauge({
    name: 'switchyard_component_status',
    help: 'Health of a component in a region: 1 up, 0 down, -1 unknown.',
    labelNames: ['region', 'component'] as const,
    registers,
  });
  const serving = new Gauge({
    name: 'switchyard_region_serving',
    help: 'Whether a region serves a traffic class in the current plan: 1 yes, 0 no.',
    labelNames: ['region', 'class'] as const,
    registers,
  });
  const dnsWeight = new Gauge({
    name: 'switchyard_desired_weight',
    help: 'Weight the engine wants for a record (name/type) and region; switchyard_dns_weight is what DNS has.',
    labelNames: ['record', 'region'] as const,
    registers,
  });
  const mainRegion = new Gauge({
    name: 'switchyard_main_region',
    help: 'The current main region: 1 for the main, 0 for the others.',
    labelNames: ['region'] as const,
    registers,
  });
  const epoch = new Gauge({
    name: 'switchyard_epoch',
    help: 'Current epoch; increases with every promotion.',
    registers,
  });
  const promotionPending = new Gauge({
    name: 'switchyard_promotion_pending',
    help: 'Whether a promotion was started and its outcome not yet recorded: 1 yes, 0 no.',
    registers,
  });
  const decisions = new Counter({
    name: 'switchyard_decisions_total',
    help: 'Decision engine runs by outcome (changed: the plan moves records or has actions).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const lastDecision = new Gauge({
    name: 'switchyard_last_decision_timestamp_seconds',
    help: 'Unix time of the last decision engine run.',
    registers,
  });
  const actions = new Counter({
    name: 'switchyard_actions_total',
    help: 'Actions executed by type (promote, fence, dns) and outcome (done, failed, abandoned).',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'switchyard_errors_total',
    help: 'Errors by kind (a switchyard error code, or internal).',
    labelNames: ['kind'] as const,
    registers,
  });
  const lagSeconds = new Gauge({
    name: 'switchyard_replication_lag_seconds',
    help: 'Replication lag of a replica database, in seconds; absent while unknown.',
    labelNames: ['region', 'database'] as const,
    registers,
  });
  const lagBytes = new Gauge({
    name: 'switchyard_replication_lag_bytes',
    help: 'Replication lag of a replica database, in bytes; absent while unknown.',
    labelNames: ['region', 'database'] as const,
    registers,
  });
  const alerts = new Gauge({
    name: 'switchyard_alerts_active',
    help: 'Alerts raised by the last decision, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  const drained = new Gauge({
    name: 'switchyard_region_drained',
    help: 'Whether an operator drained the region: 1 yes, 0 no.',
    labelNames: ['region'] as const,
    registers,
  });
  const frozen = new Gauge({
    name: 'switchyard_frozen',
    help: 'Whether an operator froze traffic changes: 1 yes, 0 no.',
    registers,
  });
  const ready = new Gauge({
    name: 'switchyard_ready',
    help: 'Whether the daemon is ready (configuration loaded, first probe round done): 1 yes, 0 no.',
    registers,
  });

  const stateUnwritable = new Gauge({
    name: 'switchyard_state_unwritable',
    help: 'Whether the last attempt to save the state failed (nothing is applied until a save succeeds): 1 yes, 0 no.',
    registers,
  });

  // Closed label sets start at 0 regardless of configuration.
  for (const o of DECISION_OUTCOMES) decisions.inc({ outcome: o }, 0);
  for (const t of ACTION_TYPES) for (const o of ACTION_OUTCOMES) actions.inc({ type: t, outcome: o }, 0);
  for (const k of [...(Object.keys(ERROR_CODES) as ErrorCode[]), 'internal']) errors.inc({ kind: k }, 0);
  for (const k of ALERT_KINDS) alerts.set({ kind: k }, 0);
  epoch.set(0);
  promotionPending.set(0);
  frozen.set(0);
  ready.set(0);
  stateUnwritable.set(0);

  let regionIds: string[] = [];

  const metrics: CoreMetrics = {
    registry,
    init({ topology, targets }) {
      if (targets) {
        // A reload may drop targets: their series go with them.
        const keep = new Set(targets.map((t) => (typeof t === 'string' ? t : t.id)));
        for (const [id, slot] of probeSlots)
          if (!keep.has(id)) {
            probeSlots.delete(id);
            if (perTargetHistograms) probeDuration.remove(slot.duration);
          }
        for (const t of targets) probeSlot(t);
      }
      if (!topology) return;
      regionIds = topology.regions.map((r) => r.id);
      for (const r of topology.regions) {
        mainRegion.set({ region: r.id }, r.id === topology.configuredMain ? 1 : 0);
        drained.set({ region: r.id }, 0);
        for (const c of TRAFFIC_CLASSES) serving.set({ region: r.id, class: c }, 0);
        if (r.hasGateway) componentStatus.set({ region: r.id, component: 'gateway' }, -1);
        if (r.hasKeyManager) componentStatus.set({ region: r.id, component: 'keyManager' }, -1);
        for (const db of r.databases) componentStatus.set({ region: r.id, component: `database.${db}` }, -1);
      }
      for (const rec of topology.records)
        for (const [region, target] of Object.entries(rec.targets))
          dnsWeight.set({ record: rec.key, region }, target.weight);
    },
    observeProbe(target, result) {
      const slot = probeSlots.get(target) ?? probeSlot(target);
      slot.success = result.ok ? 1 : 0;
      probeDuration.observe(slot.series, Math.max(0, result.latencyMs) / 1000);
    },
    trackScheduler(source) {
      schedulers.push({ source, seen: {} });
    },
    observeLateness(ms) {
      latenessHistogram.observe(lateness, Math.max(0, ms) / 1000);
    },
    setHealth(view) {
      for (const [region, h] of Object.entries(view)) {
        if (h.gateway) componentStatus.set({ region, component: 'gateway' }, statusValue(h.gateway.status));
        if (h.keyManager)
          componentStatus.set({ region, component: 'keyManager' }, statusValue(h.keyManager.status));
        for (const [db, d] of Object.entries(h.databases ?? {})) {
          componentStatus.set({ region, component: `database.${db}` }, statusValue(d.status));
          const labels = { region, database: db };
          if (typeof d.lagSeconds === 'number') lagSeconds.set(labels, d.lagSeconds);
          else lagSeconds.remove(labels);
          if (typeof d.lagBytes === 'number') lagBytes.set(labels, d.lagBytes);
          else lagBytes.remove(labels);
        }
      }
    },
    setPlan(plan, outcome) {
      const changed = plan.actions.length > 0 || plan.records.some((r) => r.changed);
      decisions.inc({ outcome: outcome ?? (changed ? 'changed' : 'unchanged') });
      lastDecision.set(clock.wall() / 1000);
      for (const [region, classes] of Object.entries(plan.serving))
        for (const [c, on] of Object.entries(classes)) serving.set({ region, class: c }, on ? 1 : 0);
      metrics.setAlerts(plan.alerts);
    },
    setAlerts(list) {
      const counts = new Map<string, number>(ALERT_KINDS.map((k) => [k, 0]));
      for (const a of list) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
      for (const [kind, n] of counts) alerts.set({ kind }, n);
    },
    setState(state) {
      epoch.set(state.epoch);
      const regions = new Set([...regionIds, state.main]);
      for (const r of regions) mainRegion.set({ region: r }, r === state.main ? 1 : 0);
      for (const [record, weights] of Object.entries(state.weights))
        for (const [region, w] of Object.entries(weights)) dnsWeight.set({ record, region }, w);
      promotionPending.set(state.promotion ? 1 : 0);
    },
    setOverrides(o) {
      frozen.set(o.frozen ? 1 : 0);
      const regions = new Set([...regionIds, ...o.drained]);
      for (const r of regions) drained.set({ region: r }, o.drained.includes(r) ? 1 : 0);
    },
    countAction(type, outcome) {
      actions.inc({ type, outcome });
    },
    countError(kind) {
      errors.inc({ kind });
    },
    setReady(on) {
      ready.set(on ? 1 : 0);
    },
    setStateUnwritable(on) {
      stateUnwritable.set(on ? 1 : 0);
    },
  };
  metrics.init(known);
  return metrics;
}

/**
 * Leadership and observers, read from the coordination at scrape time (a lease's time left moves
 * between decisions). Observer ids are the instances' configured ids: one per region.
 */
export function registerCoordinationMetrics(registry: Registry, status: () => CoordinationStatus): void {
  const registers = [registry];
  new Gauge({
    name: 'switchyard_leader',
    help: 'Whether this instance is the one that acts: 1 yes (leader, or standalone), 0 no.',
    registers,
    collect() {
      const s = status();
      this.set(s.role === 'leader' || s.role === 'standalone' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchyard_leader_lease_remaining_seconds',
    help: 'On the leader: time before it must have renewed its etcd lease (it steps down then); 0 elsewhere.',
    registers,
    collect() {
      this.set((status().leader?.self ? (status().leader?.leaseTimeLeftMs ?? 0) : 0) / 1000);
    },
  });
  new Gauge({
    name: 'switchyard_coordination_available',
    help: 'Whether this instance reaches the coordination store (etcd): 1 yes (or standalone), 0 no.',
    registers,
    collect() {
      this.set(status().role === 'unavailable' ? 0 : 1);
    },
  });
  new Gauge({
    name: 'switchyard_observer_regions',
    help: 'Distinct regions of live, counted observers (automatic promotion needs three).',
    registers,
    collect() {
      this.set(status().observerRegions);
    },
  });
  new Gauge({
    name: 'switchyard_observer_discounted',
    help: 'Per observer: 1 when its votes are not counted (it sees most regions down at once), 0 otherwise.',
    labelNames: ['observer'] as const,
    registers,
    collect() {
      this.reset();
      for (const o of status().observers) this.set({ observer: o.id }, o.discounted ? 1 : 0);
    },
  });
}
