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
  /**
   * What the last successful probe saw (role, writability, lag), taken at `sampledAt`. These come
   * from one result, not from the rise/fall status: a writable database outside the main is fenced
   * on the first probe that sees it. Absent when no successful probe has been seen since the last
   * fence or promotion of its region (evidence from before a fence is not evidence).
   */
  sampledAt?: number;
  /** primary = not in recovery / no replication configured. */
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  /** Replica only: is the replication stream running (WAL receiver / IO thread)? */
  streaming?: boolean;
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

/**
 * Why a non-main region's databases may not serve auth or management: an old main (after a
 * failover or switchover), a region that was found writable outside the main (split-brain), or one
 * whose databases are primaries that do not replicate from the main (detached). Persisted, so a
 * restart with no evidence yet cannot send auth back to a fenced old main. Cleared only on positive
 * evidence: every database of the region seen up as a streaming replica of the main (rebuilt).
 */
export interface Demotion {
  reason: 'old-main' | 'split-brain' | 'detached';
  /** Wall time (ms) the demotion was recorded: a label, never used for elapsed time. */
  since: number;
  epoch: number;
  /** Whether a fence of its databases has completed since the demotion. */
  fenced: boolean;
  detail: string;
}

/** The small durable truth the engine reads and proposes the next version of. */
export interface EngineState {
  /** Monotonic; bumped by every promotion so stale actors can be fenced by it. */
  epoch: number;
  main: RegionId;
  /** Regions held out of a traffic class by health (the anti-flap memory). */
  out: Record<RegionId, TrafficClass[]>;
  /**
   * Weights written (intent first: saved before DNS is told) per record key: the "last good" and
   * the live answer the engine holds while evidence is unknown.
   */
  weights: Record<string, Record<RegionId, number>>;
  promotion?: PendingPromotion;
  /** Regions kept away from auth and management until rebuilt (see Demotion). */
  demoted?: Record<RegionId, Demotion>;
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
  /** Monotonic time (ms), the frame of every `since`/`checkedAt` in `health`. */
  now: number;
  /** Wall time (ms): only to label what the plan records in the state (a demotion's `since`). */
  wall: number;
  /**
   * With several observers: how many distinct regions observe now. Automatic promotion across
   * regions needs three (rule 6); with fewer it waits for an operator. Absent: one instance alone,
   * which behaves as configured.
   */
  observers?: { regions: number };
  /**
   * What the previous decision knew of the panic guard (in memory, like the evidence it judged;
   * the plan's `panic` fed back). Absent: no panic seen.
   */
  panic?: PanicMemory;
}

/**
 * The panic guard's memory. While it holds, the evidence is suspect; once it lifts, durations are
 * counted from the moment it lifted (`liftedAt`, monotonic ms), not from before the panic: down-time
 * counted while nothing could be trusted must not move traffic or promote the instant it ends.
 */
export interface PanicMemory {
  active: boolean;
  /** When the guard last lifted; dropped once every hold-down counted from it has passed. */
  liftedAt?: number;
}

export interface RecordPlan {
  key: string;
  name: string;
  class: TrafficClass;
  home?: RegionId;
  type: RecordType;
  weights: Record<RegionId, number>;
  /**
   * What this record change waits for: "promote:r2" (the promotion of r2), or "evidence" (no
   * weights were ever written or read for it and its regions' evidence is unknown: nothing is
   * written until there is something to go on). The executor keeps the written weights meanwhile.
   */
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
  | 'main-unavailable'
  /** An old main whose fence has not completed (it was unreachable): it must not come back writable. */
  | 'old-main-unfenced'
  /** A demoted region (fenced old main, split-brain, detached) that must be rebuilt as a replica. */
  | 'rebuild-needed'
  /** The main's databases have no streaming replica anywhere: losing the main now loses data. */
  | 'no-replica'
  /** Management points at a main whose databases are read-only. */
  | 'main-read-only'
  /** A record has no basis to be written yet: no persisted or live weights and evidence unknown. */
  | 'no-evidence'
  /** Raised by the daemon, not the engine: the state cannot be saved, so nothing is applied. */
  | 'state-unwritable'
  /** Raised by the daemon: writes or reads of the DNS provider are failing and being retried. */
  | 'dns-failing'
  /** Raised by the daemon: etcd is not reachable from this instance; nobody acts from here. */
  | 'coordination-unavailable'
  /** Raised by the daemon: several instances, and none holds the leader key. */
  | 'no-leader'
  /** Raised by the daemon: an observer sees most regions down at once and its votes are not counted. */
  | 'observer-discounted'
  /** Automatic promotion is held: fewer than three regions observe (rule 6); operator approval is needed. */
  | 'needs-witnesses';

/** Every alert kind, in a stable order (metrics initialise a series per kind). */
export const ALERT_KINDS: readonly AlertKind[] = [
  'panic',
  'frozen',
  'no-candidate',
  'split-brain',
  'awaiting-approval',
  'promotion-blocked',
  'promotion-pending',
  'main-unavailable',
  'old-main-unfenced',
  'rebuild-needed',
  'no-replica',
  'main-read-only',
  'no-evidence',
  'state-unwritable',
  'dns-failing',
  'coordination-unavailable',
  'no-leader',
  'observer-discounted',
  'needs-witnesses',
];

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
  /** The panic guard's memory after this decision: the next decision's `input.panic`. */
  panic: PanicMemory;
}

export const NO_OVERRIDES: Overrides = { drained: [], frozen: false, routes: {} };

export function initialState(topology: Topology): EngineState {
  return { epoch: 0, main: topology.configuredMain, out: {}, weights: {} };
}
