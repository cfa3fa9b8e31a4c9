import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { createPromoter } from '../database/index.js';
import { createDnsProvider } from '../dns/index.js';
import type { DnsMetrics } from '../dns/metrics.js';
import { moduleLogger } from '../log.js';
import { nodeCronFactory } from '../schedule/cron.js';
import { createStateStore } from '../state/create.js';
import { type Clock, systemClock } from '../util/clock.js';
import { systemRandom } from '../util/random.js';
import { type DaemonPorts, StandaloneCoordination } from './ports.js';
import { realProbeFactory } from './probes.js';

/**
 * Builds every port the configuration asks for, except those the caller supplies (tests, the
 * demo, the simulator). This is the only place that knows which concrete I/O a deployment uses.
 */
export function composePorts(
  config: Config,
  base: { logger: Logger; registry: Registry; dnsMetrics: DnsMetrics },
  given: Partial<DaemonPorts> = {},
): DaemonPorts {
  const clock: Clock = given.clock ?? systemClock;
  const logger = given.logger ?? base.logger;
  const promoterLog = moduleLogger(logger, 'database');
  return {
    clock,
    random: given.random ?? systemRandom,
    logger,
    stateStore: given.stateStore ?? createStateStore(config.state),
    dnsProvider:
      given.dnsProvider ??
      // The reconciler and the providers name their own module in their log lines.
      createDnsProvider(config.dns, { clock, logger, metrics: base.dnsMetrics }),
    probe: given.probe ?? realProbeFactory,
    promoter: given.promoter ?? ((_region, _key, db) => createPromoter(db, { logger: promoterLog, clock })),
    cron: given.cron ?? nodeCronFactory,
    coordination: given.coordination ?? new StandaloneCoordination({ id: config.director.id }),
  };
}
