import { regionById } from '../topology/build.js';
import type { RecordDef, RegionId, Topology, TrafficClass } from '../topology/types.js';
import type { Alert, EngineState, Overrides, RecordPlan } from './types.js';

export type Weights = Record<RegionId, number>;

/** Every target of the record, zero except the given ones. */
function only(record: RecordDef, picks: Weights): Weights {
  const w: Weights = {};
  for (const id of Object.keys(record.targets).sort()) w[id] = picks[id] ?? 0;
  return w;
}

export function isAllZero(w: Weights): boolean {
  return Object.values(w).every((v) => v === 0);
}

export function sameWeights(a: Weights | undefined, b: Weights): boolean {
  if (!a) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

/** Where a record points when everything is healthy: the matrix with every region serving. */
export function nominalWeights(record: RecordDef, main: RegionId, topology: Topology): Weights {
  if (record.class === 'management') return only(record, { [main]: record.targets[main]?.weight ?? 100 });
  return matrixWeights(record, topology, () => true).weights;
}

export interface RecordContext {
  topology: Topology;
  state: EngineState;
  overrides: Overrides;
  main: RegionId;
  serves: (region: RegionId, cls: TrafficClass) => boolean;
  /** Actions the management record must wait for ("promote:r2"). */
  managementDependsOn: string[];
}

/** Weights for a record from the failover matrix; may be all zero (the caller applies the last-good rule). */
function matrixWeights(
  record: RecordDef,
  topology: Topology,
  serves: (region: RegionId, cls: TrafficClass) => boolean,
): { weights: Weights; reason: string } {
  const cls = record.class;
  const can = (id: RegionId) => record.targets[id] !== undefined && serves(id, cls);
  if (record.home === undefined) {
    const picks: Weights = {};
    for (const [id, t] of Object.entries(record.targets)) if (can(id)) picks[id] = t.weight;
    const away = Object.keys(record.targets).filter((id) => !can(id));
    return {
      weights: only(record, picks),
      reason: away.length
        ? `${cls} served by ${Object.keys(picks).sort().join(', ') || 'nobody'}; ${away.sort().join(', ')} cannot serve it`
        : `${cls} served by every target`,
    };
  }
  const home = record.home;
  if (can(home))
    return {
      weights: only(record, { [home]: record.targets[home]?.weight ?? 100 }),
      reason: `served at home (${home})`,
    };
  const region = regionById(topology, home);
  const why = record.targets[home] ? `${home} cannot serve ${cls}` : `${home} has no ${cls} of its own`;
  if (region?.fallback.kind === 'split') {
    const picks: Weights = {};
    for (const [id, w] of Object.entries(region.fallback.weights)) if (can(id)) picks[id] = w;
    if (Object.keys(picks).length > 0)
      return {
        weights: only(record, picks),
        reason: `${why}; split ${Object.entries(picks)
          .sort()
          .map(([id, w]) => `${id}:${w}`)
          .join(' ')}`,
      };
  } else if (region) {
    const first = region.fallback.order.find(can);
    if (first)
      return {
        weights: only(record, { [first]: record.targets[first]?.weight ?? 100 }),
        reason: `${why}; → ${first}`,
      };
  }
  // Last resort: any target that can serve, so no traffic stays on a down region while one can.
  const any = Object.keys(record.targets).sort().find(can);
  if (any)
    return {
      weights: only(record, { [any]: record.targets[any]?.weight ?? 100 }),
      reason: `${why}; no preferred fallback can; → ${any}`,
    };
  return { weights: only(record, {}), reason: `${why}; no region can serve ${cls}` };
}

function forcedRoute(record: RecordDef, routes: Overrides['routes']): RegionId | undefined {
  const name = record.name.toLowerCase().replace(/\.$/, '');
  return routes[record.key] ?? routes[name] ?? routes[`${name}.`];
}

/** Plans one record: forced route, management, or the matrix; never all-zero. */
export function planRecord(record: RecordDef, ctx: RecordContext, alerts: Alert[]): RecordPlan {
  const previous = ctx.state.weights[record.key];
  const base = {
    key: record.key,
    name: record.name,
    class: record.class,
    ...(record.home !== undefined ? { home: record.home } : {}),
    type: record.type,
  };
  let weights: Weights;
  let reason: string;
  let dependsOn: string[] = [];
  const forced = forcedRoute(record, ctx.overrides.routes);
  if (record.class === 'management') {
    weights = only(record, { [ctx.main]: record.targets[ctx.main]?.weight ?? 100 });
    dependsOn = ctx.managementDependsOn;
    reason = dependsOn.length
      ? `management moves to ${ctx.main} after ${dependsOn.join(', ')} is verified`
      : `management points at the main (${ctx.main})`;
    if (forced !== undefined)
      reason += `; forced route to ${forced} ignored: management moves only with a promotion`;
  } else if (forced !== undefined && record.targets[forced]) {
    weights = only(record, { [forced]: record.targets[forced]?.weight ?? 100 });
    reason = `forced to ${forced} by an operator`;
  } else {
    ({ weights, reason } = matrixWeights(record, ctx.topology, ctx.serves));
    if (forced !== undefined) reason += `; forced route to ${forced} ignored: the record has no target there`;
  }
  if (isAllZero(weights)) {
    const lastGood =
      previous && !isAllZero(previous) ? previous : nominalWeights(record, ctx.main, ctx.topology);
    const msg = `${record.name}: no region can serve ${record.class}; keeping the last good weights`;
    alerts.push({ kind: 'no-candidate', subject: record.name, message: msg });
    weights = only(record, lastGood);
    reason = `${reason}; keeping the last good weights (never an all-zero set)`;
  }
  return { ...base, weights, dependsOn, changed: !sameWeights(previous, weights), reason };
}
