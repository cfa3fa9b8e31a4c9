import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { RecordDef } from '../topology/types.js';
import type { Clock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { FileDnsProvider } from './file.js';
import { MemoryDnsProvider } from './memory.js';
import type { DnsMetrics } from './metrics.js';
import type { Route53ProviderDeps } from './route53.js';
import type { ApplyMeta, ApplyResult, DnsProvider, WeightedSet } from './types.js';

export { FileDnsProvider, readDnsFile } from './file.js';
export { MemoryDnsProvider } from './memory.js';
export { createDnsMetrics, type DnsMetrics } from './metrics.js';
export { type Plan, type PlanProblem, planChanges } from './plan.js';
export { DnsReconciler, type DnsStatus, type ReconcileOutcome } from './reconciler.js';
// Route53DnsProvider is not re-exported: importing it loads the AWS SDK. Import src/dns/route53.js.
export type * from './types.js';

export interface DnsProviderDeps {
  clock: Clock;
  logger: Logger;
  metrics: DnsMetrics;
  /** Test hooks for the Route 53 provider (static credentials, shorter backoff…). */
  route53?: Omit<Route53ProviderDeps, 'clock' | 'logger' | 'metrics'>;
}

/** Builds the provider the configuration names. */
export function createDnsProvider(dns: Config['dns'], deps: DnsProviderDeps): DnsProvider {
  switch (dns.provider) {
    case 'memory':
      return new MemoryDnsProvider();
    case 'file':
      return new FileDnsProvider(dns.file.path, () => deps.clock.wall());
    case 'route53':
      if (!dns.route53)
        throw new SwitchyardError('CONFIG_INVALID', 'dns.route53: required when dns.provider is "route53"');
      return lazyRoute53(dns.route53, {
        ...deps.route53,
        clock: deps.clock,
        logger: deps.logger,
        metrics: deps.metrics,
      });
  }
}

/**
 * The Route 53 provider, with the AWS SDK loaded on its first call: a deployment on the file
 * provider (and every CLI command) never loads the SDK.
 */
function lazyRoute53(config: NonNullable<Config['dns']['route53']>, deps: Route53ProviderDeps): DnsProvider {
  let real: Promise<DnsProvider> | undefined;
  const get = () => {
    real ??= import('./route53.js').then((m) => new m.Route53DnsProvider(config, deps));
    return real;
  };
  return {
    kind: 'route53',
    read: async (records: readonly RecordDef[]) => (await get()).read(records),
    apply: async (sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult> =>
      (await get()).apply(sets, meta),
    close: async () => {
      if (real) await (await real).close?.();
    },
  };
}

/** Whether missing sets may be created: only Route 53 has the setting; embedded providers start empty. */
export function createMissingFor(dns: Config['dns']): boolean {
  return dns.provider === 'route53' ? (dns.route53?.createMissing ?? false) : true;
}
