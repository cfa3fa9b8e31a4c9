import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Operations providers report: Route 53 API names, or read/write for the embedded providers. */
export type DnsOperation =
  | 'ListResourceRecordSets'
  | 'ChangeResourceRecordSets'
  | 'GetChange'
  | 'GetHostedZone'
  | 'read'
  | 'write';

export type DnsCallOutcome = 'ok' | 'throttled' | 'error' | 'invalid';

export interface DnsMetrics {
  apiCalls: Counter<'operation' | 'outcome'>;
  retries: Counter<'operation'>;
  changesApplied: Counter<'record'>;
  insyncSeconds: Histogram<string>;
  weight: Gauge<'record' | 'set'>;
  apiFailing: Gauge<string>;
  guardBlocked: Counter<'record'>;
  lastApplyTimestamp: Gauge<string>;
}

const OPERATIONS: readonly DnsOperation[] = [
  'ListResourceRecordSets',
  'ChangeResourceRecordSets',
  'GetChange',
  'GetHostedZone',
  'read',
  'write',
];
const OUTCOMES: readonly DnsCallOutcome[] = ['ok', 'throttled', 'error', 'invalid'];

/** Registers the DNS metrics on the daemon's own registry (one per daemon, one per test). */
export function createDnsMetrics(registry: Registry): DnsMetrics {
  const registers = [registry];
  const apiCalls = new Counter({
    name: 'switchyard_dns_api_calls_total',
    help: 'DNS provider API calls by operation and outcome (ok, throttled, error, invalid)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  for (const operation of OPERATIONS) for (const outcome of OUTCOMES) apiCalls.inc({ operation, outcome }, 0);
  const retries = new Counter({
    name: 'switchyard_dns_api_retries_total',
    help: 'DNS provider API calls retried after throttling or a transient failure',
    labelNames: ['operation'] as const,
    registers,
  });
  for (const operation of OPERATIONS) retries.inc({ operation }, 0);
  return {
    apiCalls,
    retries,
    changesApplied: new Counter({
      name: 'switchyard_dns_changes_applied_total',
      help: 'Weighted record sets written (created or updated), by record',
      labelNames: ['record'] as const,
      registers,
    }),
    insyncSeconds: new Histogram({
      name: 'switchyard_dns_insync_seconds',
      help: 'Time from a DNS write until the provider reported it INSYNC',
      buckets: [1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    }),
    weight: new Gauge({
      name: 'switchyard_dns_weight',
      help: 'Current live weight of each managed weighted record set',
      labelNames: ['record', 'set'] as const,
      registers,
    }),
    apiFailing: new Gauge({
      name: 'switchyard_dns_api_failing',
      help: '1 while DNS reads or writes are failing and being retried (desired state not applied)',
      registers,
    }),
    guardBlocked: new Counter({
      name: 'switchyard_dns_all_zero_blocked_total',
      help: 'Record changes refused because every set of the record would have weighed 0',
      labelNames: ['record'] as const,
      registers,
    }),
    lastApplyTimestamp: new Gauge({
      name: 'switchyard_dns_last_apply_timestamp_seconds',
      help: 'Unix time of the last successful reconcile (write or confirmed no-op)',
      registers,
    }),
  };
}
