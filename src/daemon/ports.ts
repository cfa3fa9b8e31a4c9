import type { Logger } from 'pino';
import type { Config, DatabaseConfig } from '../config/schema.js';
import type { Promoter } from '../database/types.js';
import type { HealthView } from '../decide/types.js';
import type { DnsProvider } from '../dns/types.js';
import type { HealthTarget } from '../health/targets.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../probe/types.js';
import type { CronFactory } from '../schedule/cron.js';
import type { StateStore } from '../state/types.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';

/**
 * Everything the daemon does I/O or reads time through. The composition (compose.ts) builds the
 * real ones from the configuration; tests, the demo and the simulator pass their own. Nothing in
 * the loop reaches past these.
 */
export interface DaemonPorts {
  clock: Clock;
  random: Random;
  logger: Logger;
  stateStore: StateStore;
  dnsProvider: DnsProvider;
  /** One probe per health target (HTTP, TCP, SQL — or simulated). */
  probe: ProbeFactory;
  /** One promoter per configured database. */
  promoter: PromoterFactory;
  /** node-cron in production; the simulator drives cron jobs from its own clock. */
  cron: CronFactory;
  /** Several observers and one actor (etcd), or this instance alone. */
  coordination: Coordination;
}

export type ProbeFactory = (target: HealthTarget, clock: Clock) => Probe<ProbeResult | DatabaseProbeResult>;

export type PromoterFactory = (region: string, key: string, db: DatabaseConfig) => Promoter;

export type CoordinationRole = 'standalone' | 'leader' | 'follower' | 'unavailable';

/** What /v1/status shows of the coordination: the leader, the observers, the quorum's view. */
export interface CoordinationStatus {
  role: CoordinationRole;
  /** This instance's identity as an observer. */
  self: { id: string; region?: string };
  leader: { id: string; region?: string; leaseTimeLeftMs?: number } | null;
  observers: ObserverStatus[];
  /** Why this instance may not act, when it may not. */
  reason?: string;
}

export interface ObserverStatus {
  id: string;
  region?: string;
  fresh: boolean;
  discounted: boolean;
  reason?: string;
  /** Per region and component ("gateway", "keyManager", "database.apim"): what it sees. */
  view: Record<string, Record<string, 'up' | 'down' | 'unknown'>>;
}

/**
 * The coordination seam. `canAct()` gates every DNS write and database action; `combine()` turns
 * this observer's own view into the view the engine decides on (with several observers: the
 * quorum of their views). The standalone implementation is this instance alone, always acting.
 */
export interface Coordination {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True only while this instance may write DNS and touch databases. */
  canAct(): boolean;
  /** Publishes this observer's view; returns the view to decide on. */
  combine(own: HealthView, now: number): HealthView;
  status(): CoordinationStatus;
  /** Called when something the engine decides on changed (a watch event, leadership). */
  onChange(listener: () => void): () => void;
}

/** One instance: it observes, and it acts. */
export class StandaloneCoordination implements Coordination {
  constructor(private readonly self: { id: string; region?: string }) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  canAct(): boolean {
    return true;
  }
  combine(own: HealthView): HealthView {
    return own;
  }
  status(): CoordinationStatus {
    return { role: 'standalone', self: this.self, leader: null, observers: [] };
  }
  onChange(): () => void {
    return () => undefined;
  }
}

/** Options that shape the daemon but are not ports. */
export interface DaemonSettings {
  config: Config;
  /** `run --dry-run`: decide and log, write no DNS. */
  dryRun?: boolean;
  /** How often a decision runs even without a change (ms). */
  evaluateIntervalMs?: number;
  /** Grace for the action in flight at shutdown (ms). */
  shutdownGraceMs?: number;
  /** Overrides director.listen (tests use port 0). */
  listen?: string;
}
