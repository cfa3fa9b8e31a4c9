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
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { systemRandom } from '../util/random.js';
import { type BackoffBounds, backoffDelay, Sleeper } from './backoff.js';
import type { DnsMetrics, DnsOperation } from './metrics.js';
import { TokenBucket } from './rate-limiter.js';
import { splitBatches, toUpsert } from './route53-batch.js';
import { classifyRoute53Error, describeRoute53Error, route53Messages } from './route53-errors.js';
import { InsyncPoller } from './route53-insync.js';
import { bareId, canonicalName, compareListing, fqdn } from './route53-names.js';
import { adoptLiveSets } from './route53-records.js';
import type { ApplyMeta, ApplyResult, DnsProvider, WeightedSet } from './types.js';

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
  /**
   * Bound of one attempt of one API call (connect, send, answer), overriding the config's
   * `requestTimeout` (tests). Enforced by an abort signal on the injected clock and, as a
   * backstop, by the HTTP handler's own timeouts.
   */
  requestTimeoutMs?: number;
  /** TCP/TLS connection timeout; at most the request timeout. */
  connectTimeoutMs?: number;
}

type Route53Settings = Pick<
  Route53Config,
  'hostedZoneId' | 'region' | 'maxRequestsPerSecond' | 'pollInterval' | 'syncTimeout' | 'maxRetries'
> &
  Partial<Pick<Route53Config, 'endpoint' | 'assumeRoleArn' | 'requestTimeout'>>;

const DEFAULT_RETRY: BackoffBounds = { baseMs: 250, maxMs: 8_000 };
/** Route 53 answers in well under a second; ten seconds without an answer is a hung call. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Why an attempt was aborted: its own deadline, or the provider closing. */
class AttemptAborted extends Error {
  constructor(
    readonly why: 'timeout' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = why === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

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
  private readonly requestTimeoutMs: number;
  /** Aborted by close(): ends waits for a token and every attempt in flight. */
  private readonly closing = new AbortController();
  private zoneName?: string;
  private closed = false;
  /** One GetChange poller for every write in flight. */
  private readonly insync: InsyncPoller;

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
    this.requestTimeoutMs = deps.requestTimeoutMs ?? config.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.insync = new InsyncPoller({
      clock: this.clock,
      pollIntervalMs: config.pollInterval,
      syncTimeoutMs: config.syncTimeout,
      sleep: (ms) => this.sleeper.sleep(ms),
      read: async (id) => {
        const resp = await this.call('GetChange', (abortSignal) =>
          this.client.send(new GetChangeCommand({ Id: id }), { abortSignal }),
        );
        return resp.ChangeInfo?.Status === 'INSYNC';
      },
      onTimeout: (changeIds) =>
        this.log.warn({ changeIds, syncTimeoutMs: config.syncTimeout }, 'change not INSYNC in time'),
      onError: (err, changeIds) =>
        this.log.warn({ err, changeIds }, 'could not confirm the change is INSYNC'),
      onInsync: (done) => this.metrics?.insyncSeconds.observe(done.propagationMs / 1000),
    });
    this.ownsClient = deps.client === undefined;
    this.client =
      deps.client ??
      createRoute53Client(config, deps.credentials, {
        requestTimeoutMs: this.requestTimeoutMs,
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

  async apply(sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult> {
    if (sets.length === 0) return { writeCalls: 0 };
    const batches = splitBatches(sets.map(toUpsert));
    const started = this.clock.monotonic();
    const ids: string[] = [];
    for (const [i, batch] of batches.entries()) {
      const part = batches.length > 1 ? ` (batch ${i + 1}/${batches.length})` : '';
      const resp = await this.call('ChangeResourceRecordSets', (abortSignal) =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: this.zoneId,
            ChangeBatch: {
              Comment: `switchyard${meta?.origin ? ` ${meta.origin}` : ''}: ${batch.length} weighted set(s)${part}`,
              Changes: batch,
            },
          }),
          { abortSignal },
        ),
      );
      ids.push(bareId(resp.ChangeInfo?.Id ?? ''));
    }
    const insync = this.insync.watch(ids, started);
    return { changeId: ids[ids.length - 1], changeIds: ids, writeCalls: batches.length, insync };
  }

  /**
   * Bounded whatever the API does: aborts every attempt in flight and every wait (token bucket,
   * backoff, INSYNC polling), then destroys the client's sockets. Calls in progress reject.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.insync.close();
    this.closing.abort(new AttemptAborted('closed', 'the Route 53 provider was closed'));
    this.sleeper.cancelAll();
    if (this.ownsClient) this.client.destroy();
  }

  /** Once: the zone exists and every managed name lies inside it (a clear error beats a 400). */
  private async checkZone(records: readonly RecordDef[]): Promise<void> {
    if (this.zoneName === undefined) {
      const resp = await this.call('GetHostedZone', (abortSignal) =>
        this.client.send(new GetHostedZoneCommand({ Id: this.zoneId }), { abortSignal }),
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
      const resp = await this.call('ListResourceRecordSets', (abortSignal) =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: this.zoneId,
            StartRecordName: fqdn(from.name),
            ...(from.type ? { StartRecordType: from.type } : {}),
            ...(from.type && from.identifier ? { StartRecordIdentifier: from.identifier } : {}),
            MaxItems: this.pageSize,
          }),
          { abortSignal },
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

  /**
   * One API call: paced by the token bucket, each attempt bounded by its own deadline, retried
   * when Route 53 says it may be (or did not answer in time), counted. Nothing here can wait for
   * ever: close() aborts the token wait, the attempt in flight and the backoff sleep.
   */
  private async call<T>(operation: DnsOperation, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw this.closedError(operation);
      try {
        await this.limiter.acquire(this.closing.signal);
      } catch {
        throw this.closedError(operation);
      }
      try {
        const result = await this.attempt(send);
        this.metrics?.apiCalls.inc({ operation, outcome: 'ok' });
        return result;
      } catch (err) {
        if (this.closed) throw this.closedError(operation, err);
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
        if (!retryable || attempt > this.config.maxRetries)
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

  /**
   * One attempt under its own AbortSignal: aborted when its deadline passes on the injected clock
   * or when the provider closes. The race makes the bound hold even if the SDK ignored the signal.
   */
  private async attempt<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const ms = this.requestTimeoutMs;
    let timer: TimerHandle | undefined;
    const onClose = () => controller.abort(this.closing.signal.reason);
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      timer = this.clock.setTimeout(
        () => controller.abort(new AttemptAborted('timeout', `no answer within ${ms}ms`)),
        ms,
      );
    });
    try {
      return await Promise.race([send(controller.signal), aborted]);
    } finally {
      if (timer) this.clock.clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
  }

  private closedError(operation: DnsOperation, cause?: unknown): SwitchyardError {
    return new SwitchyardError(
      'DNS_UNAVAILABLE',
      `Route 53 ${operation} abandoned: the provider was closed`,
      [],
      cause === undefined ? undefined : { cause },
    );
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
  const requestTimeout = timeouts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return new Route53Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(creds ? { credentials: creds } : {}),
    maxAttempts: 1,
    // A backstop behind the per-attempt abort signal. In @smithy/node-http-handler 4 a
    // requestTimeout only logs a warning unless throwOnRequestTimeout is set; socketTimeout
    // ends a connection that goes quiet mid-answer.
    requestHandler: {
      connectionTimeout: Math.min(timeouts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
    },
  });
}
