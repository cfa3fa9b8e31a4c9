import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { EtcdCoordination, StandaloneCoordination } from '../coord/coordination.js';
import { etcdOptionsFromConfig } from '../coord/etcd-options.js';
import { LazyEtcdCoord } from '../coord/lazy.js';
import type { CoordPort } from '../coord/types.js';
import { createPromoter } from '../database/index.js';
import { createDnsProvider } from '../dns/index.js';
import type { DnsMetrics } from '../dns/metrics.js';
import { moduleLogger } from '../log.js';
import { nodeCronFactory } from '../schedule/cron.js';
import { createServer } from '../server/http-server.js';
import { createStateStore } from '../state/create.js';
import { type Clock, systemClock } from '../util/clock.js';
import { systemRandom } from '../util/random.js';
import type { DaemonPorts } from './ports.js';
import { realProbeFactory } from './probes.js';

/**
 * Builds every port the configuration asks for, except those the caller supplies (tests, the
 * demo, the simulator). This is the only place that knows which concrete I/O a deployment uses.
 */
export function composePorts(
  config: Config,
  base: { logger: Logger; registry: Registry; dnsMetrics: DnsMetrics },
  given: Partial<DaemonPorts> & { coordPort?: CoordPort } = {},
): DaemonPorts {
  const clock: Clock = given.clock ?? systemClock;
  const logger = given.logger ?? base.logger;
  const promoterLog = moduleLogger(logger, 'database');
  // Several instances: one etcd connection per instance, shared by the state store, the leader
  // loop and the observations.
  const etcd = config.state.store === 'etcd' ? config.state.etcd : undefined;
  const coordPort =
    etcd && (!given.stateStore || !given.coordination)
      ? (given.coordPort ?? new LazyEtcdCoord(etcdOptionsFromConfig(etcd, { clock })))
      : undefined;
  const coordination =
    given.coordination ??
    (etcd && coordPort
      ? new EtcdCoordination({
          coord: coordPort,
          clock,
          id: config.director.id,
          region: config.director.region ?? config.director.id,
          prefix: etcd.prefix,
          leaseTtlMs: etcd.leaseTtl,
          ...(config.director.quorum !== undefined ? { quorum: config.director.quorum } : {}),
          staleAfterMs: config.policy.staleAfter,
          panicThreshold: config.policy.panicThreshold,
          regions: Object.keys(config.regions),
          log: moduleLogger(logger, 'coord'),
        })
      : new StandaloneCoordination({
          id: config.director.id,
          ...(config.director.region ? { region: config.director.region } : {}),
        }));
  return {
    clock,
    random: given.random ?? systemRandom,
    logger,
    stateStore: given.stateStore ?? createStateStore(config.state, coordPort ? { coord: coordPort } : {}),
    dnsProvider:
      given.dnsProvider ??
      // The reconciler and the providers name their own module in their log lines.
      createDnsProvider(config.dns, { clock, logger, metrics: base.dnsMetrics }),
    probe: given.probe ?? realProbeFactory,
    promoter: given.promoter ?? ((_region, _key, db) => createPromoter(db, { logger: promoterLog, clock })),
    cron: given.cron ?? nodeCronFactory,
    coordination,
    server: given.server ?? createServer,
  };
}
