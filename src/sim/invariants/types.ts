import type { HealthView, Overrides } from '../../decide/types.js';
import type { RegionId, Topology, TrafficClass } from '../../topology/types.js';
import type { FaultEngine } from '../faults.js';
import type { World } from '../world/world.js';
import type { Bounds } from './bounds.js';
import type { GroundTruth } from './truth.js';

/** The evidence one decision rested on: the views of the observers it counted, and its clock. */
export interface Evidence {
  /** One view per observer whose health the decision used (round 1: the instance's own). */
  views: HealthView[];
  /** The deciding instance's monotonic time at the decision. */
  now: number;
  overrides: Overrides;
  /** The hold-down memory the decision started from: classes each region was held out of. */
  out: Record<RegionId, TrafficClass[]>;
  /** Regions demoted in the state the decision started from (an old main after a verified promotion). */
  demoted?: readonly RegionId[];
}

/** A decision that put a region out of a traffic class, or let it back in (the anti-flap memory). */
export interface HoldRecord {
  at: number;
  instance: string;
  region: RegionId;
  cls: TrafficClass;
  change: 'out' | 'in';
  evidence: Evidence;
}

/** A decision that changed the weights an instance asks DNS for. */
export interface MoveRecord {
  /** Virtual time of the decision. */
  at: number;
  instance: string;
  epoch: number;
  recordKey: string;
  before: Record<RegionId, number>;
  after: Record<RegionId, number>;
  /** The main the deciding instance's state named. */
  main: RegionId;
  evidence: Evidence;
}

/** A promotion an instance started (round 2: the daemon's actuator). */
export interface PromotionRecord {
  at: number;
  instance: string;
  epoch: number;
  region: RegionId;
  from: RegionId;
  force: boolean;
  evidence: Evidence;
}

/** What an invariant may see of an instance: its observable state, never its internals. */
export interface InstanceObservation {
  readonly name: string;
  alive(): boolean;
  /** The engine epoch in the instance's state right now. */
  epoch(): number;
  /** Leadership term (round 2: the lease); 0 while one instance is all there is. */
  term(): number;
  /** The main its state names. */
  main(): RegionId;
  readonly moves: readonly MoveRecord[];
  readonly holds: readonly HoldRecord[];
  /** Windows (the instance's monotonic time) in which its plans carried the panic alert. */
  readonly panics: readonly { from: number; to?: number }[];
  readonly promotions: readonly PromotionRecord[];
  /** Terms this instance began (several instances: its 'lead' journal entry saved, a new epoch). */
  readonly leads?: readonly { at: number; epoch: number }[];
}

export interface CheckContext {
  /** Virtual time. */
  now: number;
  world: World;
  faults: FaultEngine;
  truth: GroundTruth;
  instances: readonly InstanceObservation[];
  topology: Topology;
  bounds: Bounds;
  /** Observers a move or a promotion needs (1 with one instance; the quorum with several). */
  quorum: number;
  /**
   * Several instances: distinct regions of the observers surely live. Rule 6: below three,
   * automatic promotion waits for an operator.
   */
  observerRegions?: number;
}

/**
 * A named property checked after every event. `check` is a pure function of what the context
 * shows (the world's logs and the instances' observable state); an invariant may keep cursors
 * into append-only logs so that each check costs only what is new, which gives the same answer
 * as re-reading the whole log.
 */
export interface Invariant {
  readonly name: string;
  readonly description: string;
  /** 1: checked with today's round-1 harness; 2: needs the daemon (promotions, fences, leaders). */
  readonly round: 1 | 2;
  /** undefined while it holds; otherwise what broke, in one sentence. */
  check(ctx: CheckContext): string | undefined;
  /** At the end of the run (open liveness windows). */
  finish?(ctx: CheckContext): string | undefined;
}
