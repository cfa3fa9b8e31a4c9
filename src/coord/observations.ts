import type { Logger } from 'pino';
import type { ComponentHealth, DatabaseHealth, HealthView, RegionHealth, Status } from '../decide/types.js';
import type { ObserverIdentity, ObserverView } from '../health/quorum.js';
import type { RegionId } from '../topology/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { isSwitchyardError } from '../util/errors.js';
import type { CoordPort, KeyValue, LeaseId, WatchEvent, WatchHandle } from './types.js';

/**
 * Observations: every instance publishes its own view of every region under
 * `<prefix>observers/<id>`, bound to its own lease, so a dead observer's view disappears with
 * the lease; every instance reads all of them (an initial getPrefix, then a watch).
 *
 * Monotonic clocks are per process, so a published view carries ages ("down for 12 s, checked
 * 800 ms ago"), never instants; the reader turns them back into instants of its own monotonic
 * clock at the moment it receives them. A value the reader finds by reading (not by a watch
 * event) may have been written a while ago: it is taken to be as old as it could be (one
 * republish interval plus one lease TTL), so a value at rest never looks fresher than it is.
 */

export interface ObservedComponent {
  status: Status;
  /** How long the status had held when published (ms). */
  forMs: number;
  /** How long before publication it was last checked (ms); absent when never checked. */
  checkedAgoMs?: number;
  detail?: string;
}

export interface ObservedDatabase extends ObservedComponent {
  /** How long before publication the last successful probe (the sample below) was taken. */
  sampledAgoMs?: number;
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  streaming?: boolean;
}

export interface ObservedRegion {
  gateway?: ObservedComponent;
  keyManager?: ObservedComponent;
  databases?: Record<string, ObservedDatabase>;
}

export type { ObserverIdentity, ObserverView } from '../health/quorum.js';

/** The JSON document under `<prefix>observers/<id>`. */
export interface ObservationDoc {
  version: 1;
  observer: ObserverIdentity;
  /** +1 per publication by this process (restarts at 1 with the process). */
  seq: number;
  /** Wall time of publication: a label for humans, never compared. */
  publishedAt: number;
  /** How often the publisher republishes, and its lease TTL: together they bound the age of a value at rest. */
  republishEveryMs: number;
  leaseTtlMs: number;
  regions: Record<RegionId, ObservedRegion>;
}

/** A view as the reader holds it: the document and the local monotonic time it arrived. */
export interface ReceivedObservation {
  observer: ObserverIdentity;
  doc: ObservationDoc;
  /** Local monotonic instant the ages in `doc` are counted back from. */
  receivedAt: number;
  modRevision: number;
  lease: LeaseId | null;
  /** True when it came from a read rather than a watch event (its age is then assumed the worst). */
  fromRead: boolean;
}

// ---- conversions (pure) ----------------------------------------------------------------------

function ageOf(c: ComponentHealth, now: number): ObservedComponent {
  return {
    status: c.status,
    forMs: Math.max(0, now - c.since),
    ...(c.checkedAt !== undefined ? { checkedAgoMs: Math.max(0, now - c.checkedAt) } : {}),
    ...(c.detail !== undefined ? { detail: c.detail } : {}),
  };
}

function instantOf(c: ObservedComponent, receivedAt: number): ComponentHealth {
  return {
    status: c.status,
    since: receivedAt - c.forMs,
    ...(c.checkedAgoMs !== undefined ? { checkedAt: receivedAt - c.checkedAgoMs } : {}),
    ...(c.detail !== undefined ? { detail: c.detail } : {}),
  };
}

function dbFields(d: DatabaseHealth | ObservedDatabase) {
  return {
    ...(d.role !== undefined ? { role: d.role } : {}),
    ...(d.writable !== undefined ? { writable: d.writable } : {}),
    ...(d.lagSeconds !== undefined ? { lagSeconds: d.lagSeconds } : {}),
    ...(d.lagBytes !== undefined ? { lagBytes: d.lagBytes } : {}),
    ...(d.streaming !== undefined ? { streaming: d.streaming } : {}),
  };
}

/** A local HealthView (monotonic instants) → the ages to publish at monotonic time `now`. */
export function toObservedRegions(view: HealthView, now: number): Record<RegionId, ObservedRegion> {
  const out: Record<RegionId, ObservedRegion> = {};
  for (const [region, h] of Object.entries(view)) {
    const r: ObservedRegion = {};
    if (h.gateway) r.gateway = ageOf(h.gateway, now);
    if (h.keyManager) r.keyManager = ageOf(h.keyManager, now);
    if (h.databases) {
      r.databases = {};
      for (const [key, db] of Object.entries(h.databases))
        r.databases[key] = {
          ...ageOf(db, now),
          ...dbFields(db),
          ...(db.sampledAt !== undefined ? { sampledAgoMs: Math.max(0, now - db.sampledAt) } : {}),
        };
    }
    out[region] = r;
  }
  return out;
}

/** Published ages → a HealthView in the reader's monotonic frame, counted back from `receivedAt`. */
export function toHealthView(regions: Record<RegionId, ObservedRegion>, receivedAt: number): HealthView {
  const out: HealthView = {};
  for (const [region, r] of Object.entries(regions)) {
    const h: RegionHealth = {};
    if (r.gateway) h.gateway = instantOf(r.gateway, receivedAt);
    if (r.keyManager) h.keyManager = instantOf(r.keyManager, receivedAt);
    if (r.databases) {
      h.databases = {};
      for (const [key, db] of Object.entries(r.databases))
        h.databases[key] = {
          ...instantOf(db, receivedAt),
          ...dbFields(db),
          ...(db.sampledAgoMs !== undefined ? { sampledAt: receivedAt - db.sampledAgoMs } : {}),
        };
    }
    out[region] = h;
  }
  return out;
}

/** Every received observation as the quorum's input. */
export function observerViews(received: readonly ReceivedObservation[]): ObserverView[] {
  return received.map((r) => ({
    observer: r.observer,
    receivedAt: r.receivedAt,
    seq: r.doc.seq,
    view: toHealthView(r.doc.regions, r.receivedAt),
  }));
}

const STATUSES = new Set(['up', 'down', 'unknown']);

function validComponent(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return (
    STATUSES.has(o.status as string) &&
    typeof o.forMs === 'number' &&
    Number.isFinite(o.forMs) &&
    o.forMs >= 0 &&
    (o.checkedAgoMs === undefined || (typeof o.checkedAgoMs === 'number' && o.checkedAgoMs >= 0))
  );
}

/** Parses a published document; null when it is not one (never half-trusted). */
export function parseObservation(text: string): ObservationDoc | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const d = raw as Partial<ObservationDoc>;
  if (d.version !== 1 || typeof d.seq !== 'number' || typeof d.republishEveryMs !== 'number') return null;
  if (typeof d.leaseTtlMs !== 'number' || typeof d.publishedAt !== 'number') return null;
  if (typeof d.observer?.id !== 'string' || typeof d.observer.region !== 'string') return null;
  if (typeof d.regions !== 'object' || d.regions === null) return null;
  for (const r of Object.values(d.regions)) {
    if (typeof r !== 'object' || r === null) return null;
    if (r.gateway !== undefined && !validComponent(r.gateway)) return null;
    if (r.keyManager !== undefined && !validComponent(r.keyManager)) return null;
    if (r.databases !== undefined) {
      if (typeof r.databases !== 'object' || r.databases === null) return null;
      for (const db of Object.values(r.databases)) if (!validComponent(db)) return null;
    }
  }
  return d as ObservationDoc;
}

// ---- the publisher ------------------------------------------------------------------------------

export interface ObservationPublisherOptions extends ObserverIdentity {
  coord: CoordPort;
  clock: Clock;
  prefix: string;
  /** TTL of the observer's own lease (config `state.etcd.leaseTtl`). */
  ttlMs: number;
  /** Republish and renew every this often; default ttl/3. */
  republishEveryMs?: number;
  /** The local view to publish (monotonic instants). */
  view: () => HealthView;
  log?: Logger;
}

export interface PublisherStatus {
  lease: LeaseId | null;
  seq: number;
  /** Monotonic time of the last successful publication, null before the first. */
  lastPublishedAt: number | null;
  consecutiveFailures: number;
}

/** Publishes this instance's view under its own lease, every `republishEveryMs` and on demand. */
export class ObservationPublisher {
  readonly key: string;
  private readonly opts: ObservationPublisherOptions;
  private readonly everyMs: number;
  private lease: { id: LeaseId; lastRenewSentAt: number } | null = null;
  private seq = 0;
  private lastPublishedAt: number | null = null;
  private failures = 0;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;

  constructor(opts: ObservationPublisherOptions) {
    this.opts = opts;
    this.key = `${opts.prefix}observers/${opts.id}`;
    this.everyMs = opts.republishEveryMs ?? opts.ttlMs / 3;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.publishNow();
  }

  /** Publishes at once (e.g. on a health change); coalesced with a publication in progress. */
  publishNow(): void {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.running = this.tick().finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.publishNow();
      } else {
        this.timer = this.opts.clock.setTimeout(() => {
          this.timer = null;
          this.publishNow();
        }, this.everyMs);
      }
    });
  }

  status(): PublisherStatus {
    return {
      lease: this.lease?.id ?? null,
      seq: this.seq,
      lastPublishedAt: this.lastPublishedAt,
      consecutiveFailures: this.failures,
    };
  }

  /** Stops publishing and revokes the lease: the view disappears at once for every reader. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    const lease = this.lease;
    this.lease = null;
    if (lease)
      await this.opts.coord.revokeLease(lease.id).catch((e: unknown) => {
        this.opts.log?.warn(
          { err: e, lease: lease.id },
          'observation lease not revoked; it expires with its TTL',
        );
      });
  }

  private async tick(): Promise<void> {
    const { coord, clock } = this.opts;
    try {
      if (!this.lease) {
        const sentAt = clock.monotonic();
        const g = await coord.grantLease(this.opts.ttlMs);
        this.lease = { id: g.id, lastRenewSentAt: sentAt };
      } else if (clock.monotonic() - this.lease.lastRenewSentAt >= this.everyMs - 1) {
        const sentAt = clock.monotonic();
        const r = await coord.keepAliveOnce(this.lease.id);
        if (r === null) {
          // The lease expired in etcd (and the view with it): start over on a fresh one.
          this.lease = null;
          this.again = true;
          return;
        }
        this.lease.lastRenewSentAt = sentAt;
      }
      if (this.stopped) return;
      const doc: ObservationDoc = {
        version: 1,
        observer: { id: this.opts.id, region: this.opts.region },
        seq: this.seq + 1,
        publishedAt: clock.wall(),
        republishEveryMs: this.everyMs,
        leaseTtlMs: this.opts.ttlMs,
        regions: toObservedRegions(this.opts.view(), clock.monotonic()),
      };
      await coord.txn({
        compare: [],
        success: [{ type: 'put', key: this.key, value: JSON.stringify(doc), lease: this.lease.id }],
      });
      this.seq = doc.seq;
      this.lastPublishedAt = clock.monotonic();
      if (this.failures > 0)
        this.opts.log?.info({ reason: 'etcd answered again', seq: this.seq }, 'observation published again');
      this.failures = 0;
    } catch (e) {
      if (isSwitchyardError(e, 'COORD_LEASE_NOT_FOUND')) this.lease = null;
      if (this.failures++ === 0)
        this.opts.log?.warn(
          { err: e, reason: isSwitchyardError(e) ? e.code : 'error' },
          'observation not published',
        );
    }
  }
}

// ---- the reader ---------------------------------------------------------------------------------

export interface ObservationReaderOptions {
  coord: CoordPort;
  clock: Clock;
  prefix: string;
  /** Delay before re-reading after a failed read or a broken watch; default 1 s. */
  retryMs?: number;
  log?: Logger;
  /** Called after every change to the set of views (for an immediate re-decision). */
  onChange?: () => void;
}

/** Keeps every live observer's latest view, with the local monotonic time it was received. */
export class ObservationReader {
  private readonly opts: ObservationReaderOptions;
  private readonly dir: string;
  private readonly byId = new Map<string, ReceivedObservation>();
  private watch: WatchHandle | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private synced = false;
  /** Documents that did not parse (counted, and logged once per key). */
  rejected = 0;
  private readonly rejectedKeys = new Set<string>();

  constructor(opts: ObservationReaderOptions) {
    this.opts = opts;
    this.dir = `${opts.prefix}observers/`;
  }

  start(): void {
    this.resync();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.watch = null;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** True once a read succeeded and the watch is open (views may still be empty: no observer). */
  isSynced(): boolean {
    return this.synced;
  }

  /** The latest view of every observer whose key exists, sorted by observer id. */
  observations(): ReceivedObservation[] {
    return [...this.byId.values()].sort((a, b) => (a.observer.id < b.observer.id ? -1 : 1));
  }

  /**
   * The same, converted into this process's monotonic frame for the quorum. A received document's
   * view depends only on it and its arrival, so each is converted once (every decision reads them).
   */
  views(): ObserverView[] {
    return this.observations().map((r) => {
      let v = this.converted.get(r);
      if (!v) {
        v = observerViews([r])[0] as ObserverView;
        this.converted.set(r, v);
      }
      return v;
    });
  }

  private readonly converted = new WeakMap<ReceivedObservation, ObserverView>();

  private resync(): void {
    if (this.stopped) return;
    this.opts.coord.getPrefix(this.dir).then(
      (r) => {
        if (this.stopped) return;
        const now = this.opts.clock.monotonic();
        const seen = new Set<string>();
        for (const kv of r.kvs) {
          const id = kv.key.slice(this.dir.length);
          seen.add(id);
          const prev = this.byId.get(id);
          // Unchanged since we last had it: keep the instant we really received it.
          if (prev && prev.modRevision === kv.modRevision) continue;
          this.accept(kv, now, true);
        }
        for (const id of [...this.byId.keys()]) if (!seen.has(id)) this.byId.delete(id);
        this.watch = this.opts.coord.watchPrefix(this.dir, r.revision + 1, (e) => this.onEvent(e));
        this.synced = true;
        this.opts.onChange?.();
      },
      (e: unknown) => {
        this.opts.log?.warn({ err: e }, 'observations not read; retrying');
        this.retry();
      },
    );
  }

  private retry(): void {
    if (this.stopped) return;
    this.synced = false;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      this.resync();
    }, this.opts.retryMs ?? 1_000);
  }

  private onEvent(e: WatchEvent): void {
    if (this.stopped) return;
    if (e.type === 'broken') {
      this.watch = null;
      this.opts.log?.debug({ reason: e.reason }, 'observations watch broken; re-reading');
      this.retry();
      return;
    }
    const id = e.key.slice(this.dir.length);
    if (e.type === 'delete') {
      const prev = this.byId.get(id);
      if (prev && prev.modRevision < e.modRevision) this.byId.delete(id);
    } else {
      this.accept(
        {
          key: e.key,
          value: e.value,
          lease: e.lease,
          modRevision: e.modRevision,
          createRevision: e.createRevision,
          version: e.version,
        },
        this.opts.clock.monotonic(),
        false,
      );
    }
    this.opts.onChange?.();
  }

  private accept(kv: KeyValue, now: number, fromRead: boolean): void {
    const id = kv.key.slice(this.dir.length);
    const prev = this.byId.get(id);
    if (prev && prev.modRevision >= kv.modRevision) return;
    const doc = parseObservation(kv.value);
    if (!doc || doc.observer.id !== id) {
      this.rejected++;
      if (!this.rejectedKeys.has(kv.key)) {
        this.rejectedKeys.add(kv.key);
        this.opts.log?.warn({ key: kv.key, reason: 'not an observation document' }, 'observation ignored');
      }
      this.byId.delete(id);
      return;
    }
    // A value found by reading may be as old as one republish interval plus the lease TTL.
    const receivedAt = fromRead ? now - (doc.republishEveryMs + doc.leaseTtlMs) : now;
    this.byId.set(id, {
      observer: doc.observer,
      doc,
      receivedAt,
      modRevision: kv.modRevision,
      lease: kv.lease,
      fromRead,
    });
  }
}
