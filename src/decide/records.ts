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
  /**
   * Regions whose evidence for a class is unknown (never probed, stale, no quorum). They keep the
   * weight last written: no record moves on unknown evidence. Omitted: nothing is unknown.
   */
  unknown?: (region: RegionId, cls: TrafficClass) => boolean;
  /** Regions an operator moved (drained, in a maintenance window): their weight follows the override. */
  overridden?: (region: RegionId) => boolean;
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

/**
 * A region whose evidence is unknown keeps the weight last written for it — whatever the matrix
 * would now give it — unless an operator's override moved it. Mutates `weights`; returns the
 * regions held.
 */
function holdUnknown(
  record: RecordDef,
  ctx: RecordContext,
  previous: Weights | undefined,
  weights: Weights,
): RegionId[] {
  if (!previous || !ctx.unknown) return [];
  const held: RegionId[] = [];
  for (const id of Object.keys(record.targets).sort()) {
    if (!ctx.unknown(id, record.class) || ctx.overridden?.(id)) continue;
    const was = previous[id] ?? 0;
    if (weights[id] !== was) {
      weights[id] = was;
      held.push(id);
    }
  }
  return held;
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
    // An unknown region counts as serving only where it already served: the matrix then picks a
    // known candidate rather than pointing traffic at one nobody has seen.
    const serves = (id: RegionId, cls: TrafficClass) =>
      ctx.serves(id, cls) &&
      (!ctx.unknown?.(id, cls) || ctx.overridden?.(id) === true || !previous || (previous[id] ?? 0) > 0);
    ({ weights, reason } = matrixWeights(record, ctx.topology, serves));
    if (forced !== undefined) reason += `; forced route to ${forced} ignored: the record has no target there`;
    // With no candidate at all the last good answer stays whole (below); otherwise the regions
    // nobody has evidence about keep what they had.
    if (!isAllZero(weights)) {
      const held = holdUnknown(record, ctx, previous, weights);
      if (held.length > 0)
        reason += `; ${held.join(', ')} unknown: keep${held.length === 1 ? 's' : ''} the weight last written`;
    }
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

/**
 * The weights the engine writes for a persisted state when nothing is changing: the matrix over
 * the state's own facts (main, hold-downs, demotions), before any override. `plan` scenarios use it
 * as the default "last written" answer, so that "changed" means changed from that state.
 */
export function settledWeights(
  topology: Topology,
  state: Pick<EngineState, 'main' | 'out' | 'demoted'>,
): Record<string, Weights> {
  const serves = (id: RegionId, cls: TrafficClass) => {
    const region = regionById(topology, id);
    if (!region || cls === 'management') return false;
    if (cls === 'api' ? !region.hasGateway : !region.hasKeyManager) return false;
    if (state.out[id]?.includes(cls) ?? false) return false;
    return !(cls === 'auth' && state.demoted?.[id] !== undefined);
  };
  const ctx: RecordContext = {
    topology,
    state: { epoch: 0, main: state.main, out: state.out, weights: {} },
    overrides: { drained: [], frozen: false, routes: {} },
    main: state.main,
    serves,
    managementDependsOn: [],
  };
  const out: Record<string, Weights> = {};
  for (const r of topology.records) out[r.key] = planRecord(r, ctx, []).weights;
  return out;
}
