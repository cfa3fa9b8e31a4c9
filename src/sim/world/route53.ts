import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { pino } from 'pino';
import type { Config } from '../../config/schema.js';
import { nominalWeights } from '../../decide/records.js';
import { Route53DnsProvider } from '../../dns/route53.js';
import { canonicalName, listingKey } from '../../dns/route53-names.js';
import type { DnsProvider } from '../../dns/types.js';
import type { RecordDef, RegionId, Topology } from '../../topology/types.js';
import { SwitchyardError } from '../../util/errors.js';
import type { Random } from '../../util/random.js';
import type { SimClock } from '../clock.js';
import type { Kernel } from '../kernel.js';
import { draw } from '../random.js';
import { Effects } from './effects.js';

/**
 * A simulated Route 53 with the semantics switchyard relies on: weighted sets per name and type
 * (a weight-0 set is never answered unless every set of the name weighs 0 — then all are),
 * account-wide throttling (5 requests/s, burst 5), changes that go PENDING → INSYNC after a
 * while, outages (503), hangs (no bytes: the SDK's request timeout fires; or, harsher, a call
 * that never answers at all), and unknown errors — some after the change was applied. The real
 * `Route53DnsProvider` runs on top through a fake SDK client, so its pacing, retries, batching
 * and GetChange polling are the production code. Every write is logged with its virtual time
 * and its writer.
 */

export interface DnsEffect {
  /** Every call fails with 503 ServiceUnavailable. */
  outage?: boolean;
  /** Calls never answer: `timeout` = no bytes (the SDK's request timeout fires), `stuck` = never. */
  hang?: 'timeout' | 'stuck';
  /** Share of calls failing with 500 InternalFailure; half of failed writes were applied anyway. */
  errorRate?: number;
  /** Share of the account's request rate other tools consume. */
  noisyNeighbour?: number;
  /** Only for these instances (a partition between one director and the AWS API). */
  only?: string[];
}

export interface ZoneSet {
  name: string;
  type: string;
  /** Empty for a simple (non-weighted) record another tool owns. */
  setIdentifier: string;
  weight: number;
  ttl: number;
  values: string[];
  /** Not switchyard's: a simple record sharing the zone (the provider must list past it, never touch it). */
  foreign?: boolean;
}

/** Records other tools own in the same hosted zone, around and between switchyard's names. */
function foreignRecords(): ZoneSet[] {
  const out: ZoneSet[] = [];
  const simple = (name: string, type: string, value: string): ZoneSet => ({
    name,
    type,
    setIdentifier: '',
    weight: 0,
    ttl: 300,
    values: [value],
    foreign: true,
  });
  out.push(simple('example.com', 'A', '198.51.100.1'), simple('www.example.com', 'CNAME', 'example.com'));
  out.push(
    simple('api.r1.example.com', 'AAAA', '2001:db8::10'),
    simple('mail.example.com', 'MX', '10 mx.example.net'),
  );
  for (let i = 0; i < 40; i++)
    out.push(simple(`h${String(i).padStart(3, '0')}.example.com`, 'A', `198.51.100.${10 + i}`));
  for (let i = 0; i < 10; i++) out.push(simple(`x${i}.api.example.com`, 'TXT', `"v=${i}"`));
  return out;
}

export interface DnsChangeRecord {
  id: string;
  /** Virtual time the change was applied. */
  at: number;
  by: string;
  insyncAt: number;
  sets: Array<{ recordKey: string; setIdentifier: string; region: RegionId; weight: number }>;
  /** The caller was told it failed although it was applied. */
  ambiguous: boolean;
  /** The writer's epoch, as the provider's change comment carries it ("switchyard i1 epoch 3: …"). */
  epoch?: number;
}

export interface Route53Stats {
  calls: Record<string, number>;
  throttled: number;
  failed: number;
}

const ZONE_NAME = 'example.com';
const RATE = 5;
const BURST = 5;

export class SimRoute53 {
  private readonly zone = new Map<string, ZoneSet>();
  readonly changes: DnsChangeRecord[] = [];
  readonly effects = new Effects<DnsEffect>();
  readonly stats: Route53Stats = { calls: {}, throttled: 0, failed: 0 };
  /** Bumped on every applied change. */
  version = 0;
  /** Called with every change applied (the run's trace). */
  onChange?: (c: DnsChangeRecord) => void;
  /** The providers' ListResourceRecordSets page size (small pages exercise the paging code). */
  pageSize = 300;
  private tokens = BURST;
  private lastRefill = 0;
  private changeSeq = 0;
  private readonly recordOf = new Map<string, RecordDef>();

  constructor(
    private readonly kernel: Kernel,
    private readonly topology: Topology,
    private readonly random: Random,
  ) {
    for (const r of topology.records) {
      this.recordOf.set(`${canonicalName(r.name)}|${r.type}`, r);
      const w = nominalWeights(r, topology.configuredMain, topology);
      for (const [region, t] of Object.entries(r.targets))
        this.zone.set(zoneKey(r.name, r.type, t.setIdentifier), {
          name: canonicalName(r.name),
          type: r.type,
          setIdentifier: t.setIdentifier,
          weight: w[region] ?? 0,
          ttl: r.ttlSeconds,
          values: [...(t.values ?? [])],
        });
    }
    for (const f of foreignRecords()) this.zone.set(zoneKey(f.name, f.type, f.setIdentifier), f);
  }

  private weightsCache: { version: number; weights: Record<string, Record<RegionId, number>> } | undefined;

  /** Live weights per record key and region (do not modify: it is cached until the next change). */
  weights(): Record<string, Record<RegionId, number>> {
    if (this.weightsCache?.version === this.version) return this.weightsCache.weights;
    const out: Record<string, Record<RegionId, number>> = {};
    for (const r of this.topology.records) {
      const w: Record<RegionId, number> = {};
      for (const [region, t] of Object.entries(r.targets))
        w[region] = this.zone.get(zoneKey(r.name, r.type, t.setIdentifier))?.weight ?? 0;
      out[r.key] = w;
    }
    this.weightsCache = { version: this.version, weights: out };
    return out;
  }

  /** Regions a resolver would be sent to for a record: weight > 0, or every one when all weigh 0. */
  answer(recordKey: string): RegionId[] {
    const r = this.topology.records.find((x) => x.key === recordKey);
    if (!r) return [];
    const w = this.weights()[recordKey] ?? {};
    const positive = Object.keys(w).filter((id) => (w[id] ?? 0) > 0);
    return positive.length > 0 ? positive.sort() : Object.keys(w).sort();
  }

  /** Sets a weight behind switchyard's back (an operator in the console): drift. */
  drift(recordKey: string, region: RegionId, weight: number): void {
    const r = this.topology.records.find((x) => x.key === recordKey);
    const t = r?.targets[region];
    if (!r || !t) throw new SwitchyardError('INTERNAL', `no set ${recordKey}/${region}`);
    const s = this.zone.get(zoneKey(r.name, r.type, t.setIdentifier));
    if (s) s.weight = weight;
    this.version++;
  }

  /** The DNS provider port for one instance: the real Route 53 provider over the simulated API. */
  provider(instance: string, clock: SimClock, random: Random, config: Config): DnsProvider {
    const r53 = config.dns.route53;
    if (!r53) throw new SwitchyardError('INTERNAL', 'the simulation configuration needs dns.route53');
    return new Route53DnsProvider(
      {
        hostedZoneId: r53.hostedZoneId,
        region: r53.region,
        maxRequestsPerSecond: r53.maxRequestsPerSecond,
        pollInterval: r53.pollInterval,
        syncTimeout: r53.syncTimeout,
        maxRetries: r53.maxRetries,
      },
      {
        clock,
        random,
        client: this.client(instance, clock),
        logger: pino({ level: 'silent' }),
        pageSize: this.pageSize,
      },
    );
  }

  /** A fake of the SDK client: `send` goes over the network to the simulated service. */
  client(instance: string, clock: SimClock, requestTimeoutMs = 15_000): Route53Client {
    const send = (command: unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const op = operationOf(command);
        this.stats.calls[op] = (this.stats.calls[op] ?? 0) + 1;
        const oneWay = () => draw.between(this.random, 15, 60);
        this.kernel.after(
          oneWay(),
          () => {
            const fx = this.activeEffects(instance);
            if (fx.hang) {
              // No bytes: the SDK's socket timeout ends the call; "stuck" never ends.
              if (fx.hang === 'timeout')
                clock.setTimeout(
                  () =>
                    reject(
                      sdkError('TimeoutError', undefined, `socket timed out after ${requestTimeoutMs}ms`),
                    ),
                  Math.max(0, requestTimeoutMs - oneWay()),
                );
              return;
            }
            let outcome: { ok: unknown } | { err: Error };
            try {
              outcome = { ok: this.handle(op, command, instance, fx) };
            } catch (e) {
              outcome = { err: e as Error };
            }
            clock.setTimeout(() => ('ok' in outcome ? resolve(outcome.ok) : reject(outcome.err)), oneWay());
          },
          { settle: false },
        );
      });
    return { send, destroy: () => undefined } as unknown as Route53Client;
  }

  private activeEffects(instance: string) {
    const fx = { outage: false, hang: undefined as DnsEffect['hang'], errorRate: 0, noisy: 0 };
    for (const e of this.effects.values()) {
      if (e.only && !e.only.includes(instance)) continue;
      fx.outage ||= e.outage === true;
      if (e.hang === 'stuck' || (e.hang === 'timeout' && fx.hang === undefined)) fx.hang = e.hang;
      fx.errorRate = Math.max(fx.errorRate, e.errorRate ?? 0);
      fx.noisy = Math.max(fx.noisy, e.noisyNeighbour ?? 0);
    }
    return fx;
  }

  /** Server side of one call, at its arrival; throws SDK-shaped errors. */
  private handle(
    op: string,
    command: unknown,
    instance: string,
    fx: ReturnType<SimRoute53['activeEffects']>,
  ): unknown {
    if (fx.outage) {
      this.stats.failed++;
      throw sdkError('ServiceUnavailable', 503, 'Service Unavailable (simulated outage)');
    }
    if (!this.takeToken(fx.noisy)) {
      this.stats.throttled++;
      throw sdkError('Throttling', 400, 'Rate exceeded');
    }
    const failing = fx.errorRate > 0 && this.random() < fx.errorRate;
    if (failing && (op !== 'ChangeResourceRecordSets' || this.random() < 0.5)) {
      this.stats.failed++;
      throw sdkError('InternalFailure', 500, 'An internal error occurred (simulated)');
    }
    const input = (command as { input: Record<string, unknown> }).input;
    switch (op) {
      case 'GetHostedZone':
        return { HostedZone: { Id: `/hostedzone/${String(input.Id)}`, Name: `${ZONE_NAME}.` } };
      case 'ListResourceRecordSets':
        return this.list(input);
      case 'ChangeResourceRecordSets': {
        const out = this.change(input, instance, failing);
        if (failing) {
          this.stats.failed++;
          throw sdkError(
            'InternalFailure',
            500,
            'An internal error occurred after the change was accepted (simulated)',
          );
        }
        return out;
      }
      case 'GetChange': {
        const id = String(input.Id).replace(/^\/change\//, '');
        const c = this.changes.find((x) => x.id === id);
        if (!c) throw sdkError('NoSuchChange', 404, `no change ${id}`);
        return {
          ChangeInfo: { Id: `/change/${id}`, Status: this.kernel.now >= c.insyncAt ? 'INSYNC' : 'PENDING' },
        };
      }
      default:
        throw sdkError('InvalidAction', 400, `the simulation does not implement ${op}`);
    }
  }

  private takeToken(noisy: number): boolean {
    const now = this.kernel.now;
    const rate = RATE * (1 - Math.min(0.95, noisy));
    this.tokens = Math.min(BURST, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private list(input: Record<string, unknown>): unknown {
    const all = [...this.zone.values()].sort(compareSets);
    const start = [
      input.StartRecordName ? listingKey(String(input.StartRecordName)) : '',
      String(input.StartRecordType ?? ''),
      String(input.StartRecordIdentifier ?? ''),
    ];
    const from = all.filter((s) => compareTuple([listingKey(s.name), s.type, s.setIdentifier], start) >= 0);
    const max = Number(input.MaxItems ?? 300);
    const page = from.slice(0, max);
    const next = from[max];
    return {
      ResourceRecordSets: page.map(
        (s): ResourceRecordSet => ({
          Name: `${s.name}.`,
          Type: s.type as ResourceRecordSet['Type'],
          ...(s.foreign ? {} : { SetIdentifier: s.setIdentifier, Weight: s.weight }),
          TTL: s.ttl,
          ResourceRecords: s.values.map((Value) => ({ Value })),
        }),
      ),
      IsTruncated: next !== undefined,
      ...(next
        ? {
            NextRecordName: `${next.name}.`,
            NextRecordType: next.type,
            NextRecordIdentifier: next.setIdentifier,
          }
        : {}),
    };
  }

  /** Applies one batch atomically (all or nothing), as Route 53 does. */
  private change(input: Record<string, unknown>, instance: string, ambiguous: boolean): unknown {
    const cb = input.ChangeBatch as { Changes?: Change[]; Comment?: string } | undefined;
    const batch = cb?.Changes ?? [];
    const epoch = /\bepoch (\d+)\b/.exec(cb?.Comment ?? '')?.[1];
    const seen = new Set<string>();
    const updates: ZoneSet[] = [];
    const sets: DnsChangeRecord['sets'] = [];
    for (const c of batch) {
      const rrs = c.ResourceRecordSet;
      if (c.Action !== 'UPSERT' || !rrs?.Name || !rrs.Type || rrs.SetIdentifier === undefined)
        throw sdkError('InvalidChangeBatch', 400, 'only UPSERTs of weighted sets are simulated');
      const weight = rrs.Weight;
      if (weight === undefined || !Number.isInteger(weight) || weight < 0 || weight > 255)
        throw sdkError('InvalidChangeBatch', 400, `invalid weight ${String(weight)}`);
      const key = zoneKey(rrs.Name, rrs.Type, rrs.SetIdentifier);
      if (seen.has(key)) throw sdkError('InvalidChangeBatch', 400, `duplicate change for ${key}`);
      if (this.zone.get(zoneKey(rrs.Name, rrs.Type, ''))?.foreign)
        throw sdkError(
          'InvalidChangeBatch',
          400,
          `a simple record already exists at ${rrs.Name} ${rrs.Type}`,
        );
      seen.add(key);
      const record = this.recordOf.get(`${canonicalName(rrs.Name)}|${rrs.Type}`);
      const region = record
        ? Object.entries(record.targets).find(([, t]) => t.setIdentifier === rrs.SetIdentifier)?.[0]
        : undefined;
      updates.push({
        name: canonicalName(rrs.Name),
        type: rrs.Type,
        setIdentifier: rrs.SetIdentifier,
        weight,
        ttl: rrs.TTL ?? 60,
        values: (rrs.ResourceRecords ?? []).map((r) => r.Value ?? ''),
      });
      sets.push({
        recordKey: record?.key ?? `${canonicalName(rrs.Name)}/${rrs.Type}`,
        setIdentifier: rrs.SetIdentifier,
        region: region ?? '?',
        weight,
      });
    }
    for (const u of updates) this.zone.set(zoneKey(u.name, u.type, u.setIdentifier), u);
    const id = `C${String(++this.changeSeq).padStart(6, '0')}`;
    const now = this.kernel.now;
    const record: DnsChangeRecord = {
      id,
      at: now,
      by: instance,
      insyncAt: now + draw.between(this.random, 5_000, 60_000),
      sets,
      ambiguous,
      ...(epoch !== undefined ? { epoch: Number(epoch) } : {}),
    };
    this.changes.push(record);
    this.version++;
    this.onChange?.(record);
    return {
      ChangeInfo: {
        Id: `/change/${id}`,
        Status: 'PENDING',
        SubmittedAt: new Date(this.kernel.startWall + now),
      },
    };
  }
}

function operationOf(command: unknown): string {
  if (command instanceof ChangeResourceRecordSetsCommand) return 'ChangeResourceRecordSets';
  if (command instanceof ListResourceRecordSetsCommand) return 'ListResourceRecordSets';
  if (command instanceof GetChangeCommand) return 'GetChange';
  if (command instanceof GetHostedZoneCommand) return 'GetHostedZone';
  return (command as { constructor?: { name?: string } })?.constructor?.name ?? 'unknown';
}

/** The simulated API's failures: Errors shaped like the SDK's service exceptions. */
class SimulatedServiceException extends Error {}

/** An error shaped like the SDK's service exceptions (what classifyRoute53Error reads). */
function sdkError(name: string, status: number | undefined, message: string): Error {
  return Object.assign(new SimulatedServiceException(message), {
    name,
    ...(status !== undefined ? { $metadata: { httpStatusCode: status } } : { $metadata: {} }),
    $fault: status !== undefined && status >= 500 ? 'server' : 'client',
  });
}

function zoneKey(name: string, type: string, setIdentifier: string): string {
  return `${canonicalName(name)}|${type}|${setIdentifier}`;
}

function compareSets(a: ZoneSet, b: ZoneSet): number {
  return compareTuple(
    [listingKey(a.name), a.type, a.setIdentifier],
    [listingKey(b.name), b.type, b.setIdentifier],
  );
}

function compareTuple(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
