import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
  type Route53ClientConfig,
  type RRType,
} from '@aws-sdk/client-route-53';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { type Logger, pino } from 'pino';
import type { Route53Config } from '../config/schema.js';
import type { RecordDef } from '../topology/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { systemRandom } from '../util/random.js';
import { type BackoffBounds, backoffDelay, Sleeper } from './backoff.js';
import type { DnsMetrics, DnsOperation } from './metrics.js';
import { TokenBucket } from './rate-limiter.js';
import { splitBatches, toUpsert } from './route53-batch.js';
import { classifyRoute53Error, describeRoute53Error, route53Messages } from './route53-errors.js';
import { bareId, canonicalName, compareListing, fqdn } from './route53-names.js';
import { adoptLiveSets } from './route53-records.js';
import type { ApplyResult, DnsProvider, InsyncReport, WeightedSet } from './types.js';

export interface Route53ProviderDeps {
  clock?: Clock;
  logger?: Logger;
  metrics?: DnsMetrics;
  /** A ready client (tests, shared clients); otherwise one is built from the config. */
  client?: Route53Client;
  /** Static or custom credentials; otherwise the SDK default chain (plus assumeRoleArn). */
  credentials?: Route53ClientConfig['credentials'];
  random?: () => number;
  /** Backoff between retries of one call (Throttling, PriorRequestNotComplete, 5xx). */
  retry?: Partial<BackoffBounds>;
  /** ListResourceRecordSets page size; Route 53's maximum is 300. */
  pageSize?: number;
  /** Per-request socket timeout, so a hung control plane cannot stall the worker forever. */
  requestTimeoutMs?: number;
  /** TCP/TLS connection timeout. */
  connectTimeoutMs?: number;
}

type Route53Settings = Pick<
  Route53Config,
  'hostedZoneId' | 'region' | 'maxRequestsPerSecond' | 'pollInterval' | 'syncTimeout' | 'maxRetries'
> &
  Partial<Pick<Route53Config, 'endpoint' | 'assumeRoleArn'>>;

const DEFAULT_RETRY: BackoffBounds = { baseMs: 250, maxMs: 8_000 };

/**
 * The Route 53 provider: reads the weighted sets switchyard manages and writes only what differs,
 * in as few ChangeResourceRecordSets batches as Route 53's limits allow. It paces itself with a
 * token bucket, retries throttling and 5xx with jittered backoff (bounded by maxRetries), and
 * polls GetChange itself in the background to report propagation time without blocking anyone.
 */
export class Route53DnsProvider implements DnsProvider {
  readonly kind = 'route53' as const;
  readonly client: Route53Client;
  private readonly ownsClient: boolean;
  private readonly zoneId: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics?: DnsMetrics;
  private readonly limiter: TokenBucket;
  private readonly sleeper: Sleeper;
  private readonly random: () => number;
  private readonly retry: BackoffBounds;
  private readonly pageSize: number;
  private zoneName?: string;
  private closed = false;

  constructor(
    private readonly config: Route53Settings,
    deps: Route53ProviderDeps = {},
  ) {
    this.zoneId = bareId(config.hostedZoneId);
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.logger ?? pino({ level: 'silent' })).child({ module: 'dns.route53', zone: this.zoneId });
    this.metrics = deps.metrics;
    this.limiter = new TokenBucket(config.maxRequestsPerSecond, this.clock);
    this.sleeper = new Sleeper(this.clock);
    this.random = deps.random ?? systemRandom;
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.pageSize = Math.min(300, Math.max(1, deps.pageSize ?? 300));
    this.ownsClient = deps.client === undefined;
    this.client =
      deps.client ??
      createRoute53Client(config, deps.credentials, {
        requestTimeoutMs: deps.requestTimeoutMs,
        connectTimeoutMs: deps.connectTimeoutMs,
      });
  }

  async read(records: readonly RecordDef[]): Promise<WeightedSet[]> {
    if (records.length === 0) return [];
    await this.checkZone(records);
    const live = await this.listManaged(records);
    const { sets, refused } = adoptLiveSets(records, live);
    if (refused.length > 0)
      throw new SwitchyardError(
        'DNS_OWNERSHIP',
        `refusing to manage hosted zone ${this.zoneId}: ${refused.length} live record set(s) at managed names are not switchyard's (first: ${refused[0]})`,
        refused,
      );
    return sets;
  }

  async apply(sets: readonly WeightedSet[]): Promise<ApplyResult> {
    if (sets.length === 0) return { writeCalls: 0 };
    const batches = splitBatches(sets.map(toUpsert));
    const started = this.clock.monotonic();
    const ids: string[] = [];
    for (const [i, batch] of batches.entries()) {
      const part = batches.length > 1 ? ` (batch ${i + 1}/${batches.length})` : '';
      const resp = await this.call('ChangeResourceRecordSets', () =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: this.zoneId,
            ChangeBatch: { Comment: `switchyard: ${batch.length} weighted set(s)${part}`, Changes: batch },
          }),
        ),
      );
      ids.push(bareId(resp.ChangeInfo?.Id ?? ''));
    }
    const insync = this.waitInsync(ids, started);
    return { changeId: ids[ids.length - 1], changeIds: ids, writeCalls: batches.length, insync };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sleeper.cancelAll();
    if (this.ownsClient) this.client.destroy();
  }

  /** Once: the zone exists and every managed name lies inside it (a clear error beats a 400). */
  private async checkZone(records: readonly RecordDef[]): Promise<void> {
    if (this.zoneName === undefined) {
      const resp = await this.call('GetHostedZone', () =>
        this.client.send(new GetHostedZoneCommand({ Id: this.zoneId })),
      );
      this.zoneName = canonicalName(resp.HostedZone?.Name ?? '');
    }
    const zone = this.zoneName;
    const outside = records.filter((r) => {
      const n = canonicalName(r.name);
      return n !== zone && !n.endsWith(`.${zone}`);
    });
    if (outside.length > 0)
      throw new SwitchyardError(
        'DNS_OWNERSHIP',
        `${outside.length} configured record(s) are not in hosted zone ${this.zoneId} (${zone})`,
        outside.map((r) => `${r.key} is outside ${zone}`),
      );
  }

  /**
   * Lists only the managed names: starts at the first, pages while a page ends inside managed
   * names, and jumps over everything else, so a large shared zone costs a few calls, not a scan.
   */
  private async listManaged(records: readonly RecordDef[]): Promise<ResourceRecordSet[]> {
    const names = [...new Set(records.map((r) => canonicalName(r.name)))].sort(compareListing);
    const managed = new Set(names);
    const out: ResourceRecordSet[] = [];
    let pos = 0;
    let start: { name: string; type?: RRType; identifier?: string } | undefined = {
      name: names[0] as string,
    };
    while (start) {
      const from: { name: string; type?: RRType; identifier?: string } = start;
      const resp = await this.call('ListResourceRecordSets', () =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: this.zoneId,
            StartRecordName: fqdn(from.name),
            ...(from.type ? { StartRecordType: from.type } : {}),
            ...(from.type && from.identifier ? { StartRecordIdentifier: from.identifier } : {}),
            MaxItems: this.pageSize,
          }),
        ),
      );
      for (const rrs of resp.ResourceRecordSets ?? [])
        if (managed.has(canonicalName(rrs.Name ?? ''))) out.push(rrs);
      if (!resp.IsTruncated || !resp.NextRecordName) break;
      const next = canonicalName(resp.NextRecordName);
      // Every managed name sorting before the next page's first name was in the listed range.
      while (pos < names.length && compareListing(names[pos] as string, next) < 0) pos++;
      const target = names[pos];
      if (target === undefined) break;
      start =
        target === next
          ? {
              name: next,
              ...(resp.NextRecordType ? { type: resp.NextRecordType } : {}),
              ...(resp.NextRecordIdentifier ? { identifier: resp.NextRecordIdentifier } : {}),
            }
          : { name: target };
    }
    return out;
  }

  /** Polls GetChange every pollInterval until every change is INSYNC or syncTimeout passes. */
  private async waitInsync(ids: readonly string[], started: number): Promise<InsyncReport> {
    const remaining = new Set(ids.filter((id) => id !== ''));
    const deadline = started + this.config.syncTimeout;
    const report = (status: InsyncReport['status']): InsyncReport => ({
      changeIds: [...ids],
      status,
      propagationMs: this.clock.monotonic() - started,
    });
    try {
      while (remaining.size > 0) {
        if (this.clock.monotonic() >= deadline || this.closed) {
          this.log.warn(
            { changeIds: ids, syncTimeoutMs: this.config.syncTimeout },
            'change not INSYNC in time',
          );
          return report('timeout');
        }
        await this.sleeper.sleep(
          Math.min(this.config.pollInterval, Math.max(0, deadline - this.clock.monotonic())),
        );
        if (this.closed) return report('timeout');
        for (const id of [...remaining]) {
          const resp = await this.call('GetChange', () => this.client.send(new GetChangeCommand({ Id: id })));
          if (resp.ChangeInfo?.Status === 'INSYNC') remaining.delete(id);
        }
      }
      const done = report('INSYNC');
      this.metrics?.insyncSeconds.observe(done.propagationMs / 1000);
      return done;
    } catch (err) {
      this.log.warn({ err, changeIds: ids }, 'could not confirm the change is INSYNC');
      return report('error');
    }
  }

  /** One API call: paced by the token bucket, retried when Route 53 says it may be, counted. */
  private async call<T>(operation: DnsOperation, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.limiter.acquire();
      try {
        const result = await send();
        this.metrics?.apiCalls.inc({ operation, outcome: 'ok' });
        return result;
      } catch (err) {
        const kind = classifyRoute53Error(err);
        this.metrics?.apiCalls.inc({
          operation,
          outcome: kind === 'throttled' ? 'throttled' : kind === 'invalid' ? 'invalid' : 'error',
        });
        if (kind === 'invalid') {
          const messages = route53Messages(err);
          throw new SwitchyardError(
            'DNS_INVALID_CHANGE',
            `Route 53 rejected ${operation}: ${messages.join('; ')}`,
            messages,
            { cause: err },
          );
        }
        const retryable = kind === 'throttled' || kind === 'transient';
        if (!retryable || attempt > this.config.maxRetries || this.closed)
          throw new SwitchyardError(
            'DNS_UNAVAILABLE',
            `Route 53 ${operation} failed${retryable ? ` after ${attempt} attempt(s)` : ''}: ${describeRoute53Error(err)}`,
            [],
            { cause: err },
          );
        const delay = backoffDelay(attempt, this.retry, this.random);
        this.metrics?.retries.inc({ operation });
        this.log.debug(
          { operation, attempt, delay, error: describeRoute53Error(err) },
          'retrying Route 53 call',
        );
        await this.sleeper.sleep(delay);
      }
    }
  }
}

/** The SDK client: default credential chain, optional role, no SDK retries (switchyard retries). */
export function createRoute53Client(
  config: Pick<Route53Settings, 'region' | 'endpoint' | 'assumeRoleArn'>,
  credentials?: Route53ClientConfig['credentials'],
  timeouts: { requestTimeoutMs?: number | undefined; connectTimeoutMs?: number | undefined } = {},
): Route53Client {
  const creds =
    credentials ??
    (config.assumeRoleArn
      ? fromTemporaryCredentials({
          params: { RoleArn: config.assumeRoleArn, RoleSessionName: 'switchyard' },
          clientConfig: { region: config.region },
        })
      : undefined);
  return new Route53Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(creds ? { credentials: creds } : {}),
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: timeouts.connectTimeoutMs ?? 5_000,
      requestTimeout: timeouts.requestTimeoutMs ?? 15_000,
    },
  });
}
