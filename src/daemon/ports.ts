import type { Logger } from 'pino';
import type { Config, DatabaseConfig } from '../config/schema.js';
import type { Coordination } from '../coord/coordination.js';
import type { Promoter } from '../database/types.js';
import type { DecideInput, Plan } from '../decide/types.js';
import type { DnsProvider } from '../dns/types.js';
import type { HealthTarget } from '../health/targets.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../probe/types.js';
import type { CronFactory } from '../schedule/cron.js';
import type { ServerOptions, SwitchyardServer } from '../server/http-server.js';
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
  /** The HTTP listeners (the simulator serves nothing: it reads status() directly). */
  server: ServerFactory;
}

export type ServerFactory = (opts: ServerOptions) => SwitchyardServer;

export type ProbeFactory = (target: HealthTarget, clock: Clock) => Probe<ProbeResult | DatabaseProbeResult>;

export type PromoterFactory = (region: string, key: string, db: DatabaseConfig) => Promoter;

export {
  type Coordination,
  type CoordinationChange,
  type CoordinationRole,
  type CoordinationStatus,
  type ObserverStatus,
  StandaloneCoordination,
} from '../coord/coordination.js';

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
  /** Overrides admin.listen (tests use port 0). */
  adminListen?: string;
  /** The engine (default `decide`): the simulator wraps it to record what each decision rested on. */
  engine?: (input: DecideInput) => Plan;
  /** Node.js process metrics (default true; off where many daemons share one process: the simulator). */
  processMetrics?: boolean;
}
