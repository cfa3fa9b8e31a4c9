import type { RecordType, RegionId, Topology, TrafficClass } from '../topology/types.js';

/** What the probes have seen, as the health layer summarises it. */
export type Status = 'up' | 'down' | 'unknown';

export interface ComponentHealth {
  status: Status;
  /** When the current status began (ms since the epoch); hold-downs are measured from here. */
  since: number;
  /** When the component was last probed; older than policy.staleAfter means `unknown`. */
  checkedAt?: number;
  detail?: string;
}

export interface DatabaseHealth extends ComponentHealth {
  /** primary = not in recovery / no replication configured. */
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
}

export interface RegionHealth {
  gateway?: ComponentHealth;
  keyManager?: ComponentHealth;
  databases?: Record<string, DatabaseHealth>;
}

export type HealthView = Record<RegionId, RegionHealth>;

/** A promotion whose intent was recorded and whose outcome was not (yet). */
export interface PendingPromotion {
  to: RegionId;
  from: RegionId;
  epoch: number;
  startedAt: number;
  force: boolean;
}

/** The small durable truth the engine reads and proposes the next version of. */
export interface EngineState {
  /** Monotonic; bumped by every promotion so stale actors can be fenced by it. */
  epoch: number;
  main: RegionId;
  /** Regions held out of a traffic class by health (the anti-flap memory). */
  out: Record<RegionId, TrafficClass[]>;
  /** Last weights written per record key: the "last good" answer. */
  weights: Record<string, Record<RegionId, number>>;
  promotion?: PendingPromotion;
}

export interface Overrides {
  drained: RegionId[];
  frozen: boolean;
  /** Forced routes: record name (or key) → the only region it serves from. */
  routes: Record<string, RegionId>;
  /** A manual failover requested by an operator. */
  failover?: { to: RegionId; force: boolean };
  /** Regions inside a configured maintenance window: drained while it lasts. */
  maintenance?: RegionId[];
}

export interface DecideInput {
  topology: Topology;
  health: HealthView;
  state: EngineState;
  overrides: Overrides;
  now: number;
}

export interface RecordPlan {
  key: string;
  name: string;
  class: TrafficClass;
  home?: RegionId;
  type: RecordType;
  weights: Record<RegionId, number>;
  /** Actions this record change waits for, as "type:region" (e.g. "promote:r2"). */
  dependsOn: string[];
  changed: boolean;
  reason: string;
}

export type Action =
  | {
      type: 'promote';
      region: RegionId;
      from: RegionId;
      epoch: number;
      databases: string[];
      force: boolean;
      /** Worst lag seen on the replicas when deciding (null when unknown). */
      lagSeconds: number | null;
      lagBytes: number | null;
      resume: boolean;
      reason: string;
    }
  | { type: 'fence'; region: RegionId; databases: string[]; epoch: number; reason: string };

export type AlertKind =
  | 'panic'
  | 'frozen'
  | 'no-candidate'
  | 'split-brain'
  | 'awaiting-approval'
  | 'promotion-blocked'
  | 'promotion-pending'
  | 'main-unavailable';

export interface Alert {
  kind: AlertKind;
  subject: string;
  message: string;
}

export interface Plan {
  /** The main region after the plan's actions succeed. */
  main: RegionId;
  epoch: number;
  records: RecordPlan[];
  actions: Action[];
  reasons: string[];
  alerts: Alert[];
  /** Per region and class: does it serve that class after this plan? */
  serving: Record<RegionId, Record<TrafficClass, boolean>>;
  /** The state to persist once every action has succeeded. */
  next: EngineState;
}

export const NO_OVERRIDES: Overrides = { drained: [], frozen: false, routes: {} };

export function initialState(topology: Topology): EngineState {
  return { epoch: 0, main: topology.configuredMain, out: {}, weights: {} };
}
