import type { Clock, TimerHandle } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { boundedCall, ttlSeconds, unavailable } from './call.js';
import type {
  CallOptions,
  Compare,
  CoordPort,
  GetResult,
  KeyValue,
  Lease,
  LeaseId,
  PrefixResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchHandle,
} from './types.js';

/**
 * The in-memory twin of etcd behind the coordination port: the same revisions, compares, lease
 * expiry and watch semantics (see types.ts), in one process, on the injected Clock only (it never
 * reads real time, so a simulator can drive it with a virtual clock and replay a run exactly).
 *
 * A `MemoryCoordCluster` is the store; every instance talks to it through its own
 * `MemoryCoordClient` (`cluster.connect()`), so faults can hit one instance's link (a partition)
 * or the whole cluster (lost quorum):
 * - unavailable `'timeout'`: requests vanish, calls fail at their deadline, watches stall and are
 *   reported broken one call timeout later (as a keep-alive would notice a dead connection);
 *   `'refuse'`: calls fail at once, watches break at once;
 * - latency: a request is applied `requestMs` after it is sent and answered `responseMs` after
 *   that — a call can time out after it was applied, as with a real network;
 * - watch delay: events reach one client's watches later (still in revision order);
 * - `expireLease(id)`: a lease runs out now; `compact(rev)`: history before `rev` is gone.
 */

export type Unavailability = 'timeout' | 'refuse';

export interface MemoryCoordClusterOptions {
  clock: Clock;
  /** The shortest lease the server grants, in seconds (etcd: 1.5 × election timeout, rounded up). */
  minLeaseTtlSeconds?: number;
  /** Revisions of history kept for watches; older ones are compacted automatically. */
  historyLimit?: number;
}

export interface MemoryClientOptions {
  callTimeoutMs?: number;
  /**
   * The client process's own clock (default the cluster's): its call deadlines, request latency
   * and watch deliveries run on it, so a paused or crashed process (the simulator's) receives
   * nothing meanwhile. Leases still expire on the cluster's clock.
   */
  clock?: Clock;
  /** A label for reasons and debugging. */
  name?: string;
}

interface StoredKv {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: LeaseId | null;
}

interface StoredLease {
  id: LeaseId;
  ttlMs: number;
  expiresAt: number;
  timer: TimerHandle;
  keys: Set<string>;
}

type ChangeEvent = Exclude<WatchEvent, { type: 'broken' }>;

interface HistoryEntry {
  revision: number;
  events: ChangeEvent[];
}

export class MemoryCoordCluster {
  readonly clock: Clock;
  private readonly minTtlSeconds: number;
  private readonly historyLimit: number;
  private readonly data = new Map<string, StoredKv>();
  private readonly leaseTable = new Map<LeaseId, StoredLease>();
  private readonly history: HistoryEntry[] = [];
  private readonly clients = new Set<MemoryCoordClient>();
  private rev = 1;
  private compacted = 0;
  private nextLease = 0x7a10_0000;
  private down: Unavailability | null = null;

  constructor(opts: MemoryCoordClusterOptions) {
    this.clock = opts.clock;
    this.minTtlSeconds = opts.minLeaseTtlSeconds ?? 1;
    this.historyLimit = opts.historyLimit ?? 10_000;
  }

  connect(opts: MemoryClientOptions = {}): MemoryCoordClient {
    const client = new MemoryCoordClient(this, opts);
    this.clients.add(client);
    return client;
  }

  // ---- cluster-wide faults -------------------------------------------------------------------

  /** The whole cluster stops answering (`'timeout'`: lost quorum) or refuses (`'refuse'`); null restores. */
  setUnavailable(mode: Unavailability | null): void {
    this.down = mode;
    for (const c of this.clients) c.linkChanged();
  }

  get unavailable(): Unavailability | null {
    return this.down;
  }

  /** Expires a lease now (and deletes its keys), as if its TTL had run out; false if unknown. */
  expireLease(id: LeaseId): boolean {
    if (!this.leaseTable.has(id)) return false;
    this.revoke(id);
    return true;
  }

  /** Discards history before `revision`; watches that still need it are reported broken. */
  compact(revision: number): void {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.rev));
    while (this.history.length > 0 && (this.history[0] as HistoryEntry).revision < this.compacted)
      this.history.shift();
  }

  /** Reports every open watch broken (e.g. to exercise a caller's re-read and re-watch). */
  breakWatches(reason = 'watch broken by a fault hook'): void {
    for (const c of this.clients) c.breakAll(reason);
  }

  // ---- inspection (tests, simulator invariants) ------------------------------------------------

  revision(): number {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  /** Every live key under `prefix`, sorted. */
  dump(prefix = ''): KeyValue[] {
    return this.range(prefix, true);
  }

  leases(): { id: LeaseId; ttlMs: number; expiresAt: number; keys: string[] }[] {
    return [...this.leaseTable.values()].map((l) => ({
      id: l.id,
      ttlMs: l.ttlMs,
      expiresAt: l.expiresAt,
      keys: [...l.keys].sort(),
    }));
  }

  // ---- the server side, used by clients at the moment a request is applied ---------------------

  /** @internal */
  forget(client: MemoryCoordClient): void {
    this.clients.delete(client);
  }

  /** @internal */
  range(key: string, prefix: boolean): KeyValue[] {
    if (!prefix) {
      const kv = this.data.get(key);
      return kv ? [toKeyValue(key, kv)] : [];
    }
    const out: KeyValue[] = [];
    for (const [k, kv] of this.data) if (k.startsWith(key)) out.push(toKeyValue(k, kv));
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  /** @internal */
  applyTxn(req: TxnRequest): TxnResult {
    const succeeded = req.compare.every((c) => this.holds(c));
    const ops = succeeded ? req.success : (req.failure ?? []);
    const writes = ops.filter((o) => o.type !== 'get').map((o) => o.key);
    if (new Set(writes).size !== writes.length)
      throw new SwitchyardError('COORD_REJECTED', 'etcdserver: duplicate key given in txn request');
    for (const op of ops)
      if (op.type === 'put' && op.lease !== undefined && !this.leaseTable.has(op.lease))
        throw new SwitchyardError(
          'COORD_LEASE_NOT_FOUND',
          `etcdserver: requested lease not found (${op.lease})`,
        );
    const next = this.rev + 1;
    const events: ChangeEvent[] = [];
    const results: TxnOpResult[] = ops.map((op) => this.applyOp(op, next, events));
    if (events.length > 0) this.commit(events);
    return { succeeded, revision: this.rev, results };
  }

  /** @internal */
  grant(ttlMs: number): Lease {
    const seconds = Math.max(ttlSeconds(ttlMs), this.minTtlSeconds);
    const id = String(++this.nextLease);
    const ms = seconds * 1000;
    const lease: StoredLease = {
      id,
      ttlMs: ms,
      expiresAt: this.clock.monotonic() + ms,
      timer: this.clock.setTimeout(() => this.revoke(id), ms),
      keys: new Set(),
    };
    this.leaseTable.set(id, lease);
    return { id, ttlMs: ms };
  }

  /** @internal */
  renew(id: LeaseId): { ttlMs: number } | null {
    const lease = this.leaseTable.get(id);
    if (!lease) return null;
    this.clock.clearTimeout(lease.timer);
    lease.expiresAt = this.clock.monotonic() + lease.ttlMs;
    lease.timer = this.clock.setTimeout(() => this.revoke(id), lease.ttlMs);
    return { ttlMs: lease.ttlMs };
  }

  /** @internal Revokes (or expires) a lease: its keys are deleted in one revision. */
  revoke(id: LeaseId): void {
    const lease = this.leaseTable.get(id);
    if (!lease) return;
    this.clock.clearTimeout(lease.timer);
    this.leaseTable.delete(id);
    const next = this.rev + 1;
    const events: ChangeEvent[] = [];
    for (const key of [...lease.keys].sort()) {
      this.data.delete(key);
      events.push({ type: 'delete', key, value: '', modRevision: next });
    }
    if (events.length > 0) this.commit(events);
  }

  /** @internal Events at or after `from`, or 'compacted' when part of that history is gone. */
  historyFrom(from: number): ChangeEvent[] | 'compacted' {
    if (from < this.compacted) return 'compacted';
    const out: ChangeEvent[] = [];
    for (const h of this.history) if (h.revision >= from) out.push(...h.events);
    return out;
  }

  private holds(c: Compare): boolean {
    const kv = this.data.get(c.key);
    if (c.target === 'value') {
      if (!kv) return false;
      return compareWith(Buffer.compare(Buffer.from(kv.value), Buffer.from(c.value)), c.op);
    }
    if (c.target === 'lease') {
      const actual = kv?.lease ?? null;
      const wanted = c.value === '0' ? null : c.value;
      return c.op === '=' ? actual === wanted : actual !== wanted;
    }
    const actual =
      c.target === 'version'
        ? (kv?.version ?? 0)
        : c.target === 'createRevision'
          ? (kv?.createRevision ?? 0)
          : (kv?.modRevision ?? 0);
    return compareWith(Math.sign(actual - c.value), c.op);
  }

  private applyOp(op: TxnOp, revision: number, events: ChangeEvent[]): TxnOpResult {
    if (op.type === 'get') {
      const kv = this.data.get(op.key);
      return { type: 'get', kv: kv ? toKeyValue(op.key, kv) : null };
    }
    const old = this.data.get(op.key);
    if (old?.lease) this.leaseTable.get(old.lease)?.keys.delete(op.key);
    if (op.type === 'delete') {
      if (!old) return { type: 'delete', deleted: 0 };
      this.data.delete(op.key);
      events.push({ type: 'delete', key: op.key, value: '', modRevision: revision });
      return { type: 'delete', deleted: 1 };
    }
    const lease = op.lease === undefined || op.lease === '0' ? null : op.lease;
    const kv: StoredKv = {
      value: op.value,
      createRevision: old ? old.createRevision : revision,
      modRevision: revision,
      version: old ? old.version + 1 : 1,
      lease,
    };
    this.data.set(op.key, kv);
    if (lease) this.leaseTable.get(lease)?.keys.add(op.key);
    events.push({ type: 'put', ...toKeyValue(op.key, kv) });
    return { type: 'put' };
  }

  private commit(events: ChangeEvent[]): void {
    this.rev++;
    this.history.push({ revision: this.rev, events });
    if (this.history.length > this.historyLimit)
      this.compact((this.history[this.history.length - this.historyLimit] as HistoryEntry).revision);
    for (const c of this.clients) c.deliver(events);
  }
}

function compareWith(sign: number, op: Compare['op']): boolean {
  switch (op) {
    case '=':
      return sign === 0;
    case '!=':
      return sign !== 0;
    case '>':
      return sign > 0;
    case '<':
      return sign < 0;
  }
}

function toKeyValue(key: string, kv: StoredKv): KeyValue {
  return {
    key,
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

interface MemoryWatch {
  prefix: string;
  onEvent: (e: WatchEvent) => void;
  queue: { event: WatchEvent; dueAt: number }[];
  pump: TimerHandle | null;
  pumpQueued: boolean;
  stallTimer: TimerHandle | null;
  ended: boolean;
  /** Events of revisions below this were already queued from history. */
  from: number;
}

/** One instance's connection to a MemoryCoordCluster; implements the coordination port. */
export class MemoryCoordClient implements CoordPort {
  readonly name: string;
  private readonly cluster: MemoryCoordCluster;
  private readonly clock: Clock;
  private readonly callTimeoutMs: number;
  private readonly watches = new Set<MemoryWatch>();
  private link: Unavailability | null = null;
  private requestMs = 0;
  private responseMs = 0;
  private watchDelayMs = 0;
  private closed = false;
  /** Watch events are delivered by a timer on the client's own clock, not a microtask. */
  private readonly ownClock: boolean;

  constructor(cluster: MemoryCoordCluster, opts: MemoryClientOptions) {
    this.cluster = cluster;
    this.clock = opts.clock ?? cluster.clock;
    this.ownClock = opts.clock !== undefined && opts.clock !== cluster.clock;
    this.callTimeoutMs = opts.callTimeoutMs ?? 2_000;
    this.name = opts.name ?? 'client';
  }

  // ---- fault hooks on this client's link -----------------------------------------------------

  /** Cuts this client off (`'timeout'`: a black hole; `'refuse'`: connection refused); null restores. */
  setUnavailable(mode: Unavailability | null): void {
    this.link = mode;
    this.linkChanged();
  }

  /** Every request is applied `requestMs` after it is sent and answered `responseMs` later. */
  setLatency(requestMs: number, responseMs = 0): void {
    this.requestMs = Math.max(0, requestMs);
    this.responseMs = Math.max(0, responseMs);
  }

  /** Watch events reach this client `ms` after they happen (still in revision order). */
  setWatchDelay(ms: number): void {
    this.watchDelayMs = Math.max(0, ms);
  }

  // ---- the port --------------------------------------------------------------------------------

  get(key: string, opts?: CallOptions): Promise<GetResult> {
    return this.request('get', opts, () => ({
      kv: this.cluster.range(key, false)[0] ?? null,
      revision: this.cluster.revision(),
    }));
  }

  getPrefix(prefix: string, opts?: CallOptions): Promise<PrefixResult> {
    return this.request('getPrefix', opts, () => ({
      kvs: this.cluster.range(prefix, true),
      revision: this.cluster.revision(),
    }));
  }

  txn(req: TxnRequest, opts?: CallOptions): Promise<TxnResult> {
    const copy = structuredClone(req);
    return this.request('txn', opts, () => this.cluster.applyTxn(copy));
  }

  grantLease(ttlMs: number, opts?: CallOptions): Promise<Lease> {
    ttlSeconds(ttlMs);
    return this.request('grantLease', opts, () => this.cluster.grant(ttlMs));
  }

  keepAliveOnce(lease: LeaseId, opts?: CallOptions): Promise<{ ttlMs: number } | null> {
    return this.request('keepAliveOnce', opts, () => this.cluster.renew(lease));
  }

  revokeLease(lease: LeaseId, opts?: CallOptions): Promise<void> {
    return this.request('revokeLease', opts, () => this.cluster.revoke(lease));
  }

  watchPrefix(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): WatchHandle {
    const w: MemoryWatch = {
      prefix,
      onEvent,
      queue: [],
      pump: null,
      pumpQueued: false,
      stallTimer: null,
      ended: false,
      from: 0,
    };
    this.watches.add(w);
    const handle: WatchHandle = { cancel: () => this.endWatch(w) };
    if (this.closed) {
      this.breakWatch(w, 'client closed');
      return handle;
    }
    const mode = this.availability();
    if (mode === 'refuse') {
      this.breakWatch(w, `${this.name}: connection refused`);
      return handle;
    }
    const from = fromRevision > 0 ? fromRevision : this.cluster.revision() + 1;
    const past = this.cluster.historyFrom(from);
    if (past === 'compacted') {
      this.breakWatch(w, `required revision ${from} has been compacted`, this.cluster.compactRevision());
      return handle;
    }
    w.from = Math.max(from, this.cluster.revision() + 1);
    for (const e of past) if (e.key.startsWith(prefix)) this.enqueue(w, e);
    if (mode === 'timeout') this.stall(w);
    return handle;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watches]) this.endWatch(w);
    this.cluster.forget(this);
  }

  // ---- internals -------------------------------------------------------------------------------

  private availability(): Unavailability | null {
    return this.cluster.unavailable ?? this.link;
  }

  private request<T>(what: string, opts: CallOptions | undefined, apply: () => T): Promise<T> {
    const timeoutMs = opts?.timeoutMs ?? this.callTimeoutMs;
    return boundedCall(this.clock, timeoutMs, `${this.name}: ${what}`, async (signal) => {
      if (this.closed) throw unavailable(`${this.name}: ${what}: client closed`);
      await this.travel(this.requestMs, signal, what);
      const result = apply();
      await this.travel(this.responseMs, signal, what);
      return result;
    });
  }

  /** One leg of a request's trip: lost in a black hole, refused, or delayed by the latency. */
  private async travel(ms: number, signal: AbortSignal, what: string): Promise<void> {
    if (ms > 0)
      await new Promise<void>((resolve) => {
        const t = this.clock.setTimeout(resolve, ms);
        signal.addEventListener('abort', () => this.clock.clearTimeout(t), { once: true });
      });
    else await Promise.resolve();
    const mode = this.availability();
    if (mode === 'refuse') throw unavailable(`${this.name}: ${what}: connection refused`);
    if (mode === 'timeout' || signal.aborted) await new Promise<never>(() => {});
  }

  /** @internal Called by the cluster on every commit. */
  deliver(events: ChangeEvent[]): void {
    for (const w of this.watches) {
      if (w.ended) continue;
      for (const e of events) if (e.modRevision >= w.from && e.key.startsWith(w.prefix)) this.enqueue(w, e);
    }
  }

  /** @internal Called when this link's or the cluster's availability changes. */
  linkChanged(): void {
    const mode = this.availability();
    for (const w of [...this.watches]) {
      if (w.ended) continue;
      if (mode === 'refuse') this.breakWatch(w, `${this.name}: connection lost`);
      else if (mode === 'timeout') this.stall(w);
      else {
        if (w.stallTimer) this.clock.clearTimeout(w.stallTimer);
        w.stallTimer = null;
        this.schedule(w);
      }
    }
  }

  /** @internal */
  breakAll(reason: string): void {
    for (const w of [...this.watches]) this.breakWatch(w, reason);
  }

  private stall(w: MemoryWatch): void {
    if (w.stallTimer) return;
    w.stallTimer = this.clock.setTimeout(() => {
      w.stallTimer = null;
      this.breakWatch(w, `${this.name}: no answer on the watch stream for ${this.callTimeoutMs} ms`);
    }, this.callTimeoutMs);
  }

  private enqueue(w: MemoryWatch, event: WatchEvent): void {
    w.queue.push({ event, dueAt: this.clock.monotonic() + this.watchDelayMs });
    this.schedule(w);
  }

  /** Delivers the due head of the queue, in order, asynchronously; a later head waits for earlier ones. */
  private schedule(w: MemoryWatch): void {
    if (w.ended || w.pump || w.pumpQueued || w.queue.length === 0) return;
    if (this.availability() !== null && (w.queue[0] as { event: WatchEvent }).event.type !== 'broken') return;
    const wait = (w.queue[0] as { dueAt: number }).dueAt - this.clock.monotonic();
    const run = () => {
      w.pump = null;
      w.pumpQueued = false;
      this.pumpWatch(w);
    };
    if (wait > 0 || this.ownClock) w.pump = this.clock.setTimeout(run, Math.max(0, wait));
    else {
      w.pumpQueued = true;
      queueMicrotask(run);
    }
  }

  private pumpWatch(w: MemoryWatch): void {
    while (!w.ended && w.queue.length > 0) {
      const head = w.queue[0] as { event: WatchEvent; dueAt: number };
      if (head.dueAt > this.clock.monotonic()) break;
      if (head.event.type !== 'broken' && this.availability() !== null) return;
      w.queue.shift();
      if (head.event.type === 'broken') {
        this.endWatch(w);
        w.onEvent(head.event);
        return;
      }
      w.onEvent(head.event);
    }
    this.schedule(w);
  }

  /** Queues a `broken` report after whatever is already queued, then nothing more. */
  private breakWatch(w: MemoryWatch, reason: string, compactRevision?: number): void {
    if (w.ended || w.queue.some((q) => q.event.type === 'broken')) return;
    if (w.stallTimer) this.clock.clearTimeout(w.stallTimer);
    w.stallTimer = null;
    // Undelivered events are lost with the connection, as they would be on a real stream.
    w.queue = [];
    if (w.pump) this.clock.clearTimeout(w.pump);
    w.pump = null;
    const event: WatchEvent =
      compactRevision === undefined
        ? { type: 'broken', reason }
        : { type: 'broken', reason, compactRevision };
    w.queue.push({ event, dueAt: this.clock.monotonic() });
    this.schedule(w);
  }

  private endWatch(w: MemoryWatch): void {
    w.ended = true;
    if (w.pump) this.clock.clearTimeout(w.pump);
    if (w.stallTimer) this.clock.clearTimeout(w.stallTimer);
    w.pump = null;
    w.stallTimer = null;
    w.queue = [];
    this.watches.delete(w);
  }
}
