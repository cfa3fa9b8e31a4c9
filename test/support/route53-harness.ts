import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createDnsMetrics, type DnsMetrics } from '../../src/dns/metrics.js';
import { DnsReconciler } from '../../src/dns/reconciler.js';
import { Route53DnsProvider } from '../../src/dns/route53.js';
import type { RecordDef } from '../../src/topology/types.js';
import { systemClock } from '../../src/util/clock.js';
import { Route53Emulator, type Route53EmulatorOptions } from './route53-emulator.js';

/** A started emulator, a Route 53 provider (real SDK) pointed at it, and a reconciler over both. */
export interface Route53Harness {
  emulator: Route53Emulator;
  provider: Route53DnsProvider;
  reconciler: DnsReconciler;
  metrics: DnsMetrics;
  registry: Registry;
  close(): Promise<void>;
}

export interface HarnessOptions {
  records: readonly RecordDef[];
  emulator?: Route53EmulatorOptions;
  dryRun?: boolean;
  createMissing?: boolean;
  maxRequestsPerSecond?: number;
  pageSize?: number;
  maxRetries?: number;
  /** Called with the started emulator before the provider reads anything. */
  seed?: (emu: Route53Emulator) => void;
}

export async function startRoute53Harness(opts: HarnessOptions): Promise<Route53Harness> {
  const emulator = new Route53Emulator({ insyncDelayMs: 30, ...opts.emulator });
  const endpoint = await emulator.start();
  opts.seed?.(emulator);
  const registry = new Registry();
  const metrics = createDnsMetrics(registry);
  const logger = pino({ level: 'silent' });
  const provider = new Route53DnsProvider(
    {
      hostedZoneId: emulator.zoneId,
      region: 'us-east-1',
      endpoint,
      maxRequestsPerSecond: opts.maxRequestsPerSecond ?? 100,
      pollInterval: 10,
      syncTimeout: 5_000,
      maxRetries: opts.maxRetries ?? 4,
    },
    {
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      clock: systemClock,
      logger,
      metrics,
      retry: { baseMs: 5, maxMs: 20 },
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      requestTimeoutMs: 5_000,
    },
  );
  const reconciler = new DnsReconciler({
    provider,
    records: opts.records,
    logger,
    metrics,
    clock: systemClock,
    options: {
      dryRun: opts.dryRun ?? false,
      createMissing: opts.createMissing ?? false,
      retry: { baseMs: 10, maxMs: 40 },
    },
  });
  return {
    emulator,
    provider,
    reconciler,
    metrics,
    registry,
    async close() {
      await reconciler.close();
      await emulator.stop();
    },
  };
}
