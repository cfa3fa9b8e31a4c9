import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import type { CoordPort, FencingToken, KeyValue, LeaseId, WatchEvent, WatchHandle } from './types.js';

export type { FencingToken } from './types.js';

/**
 * The leader loop, written on the coordination port (not etcd3's Election, whose `lost` event
 * comes only after 2 × TTL without a keep-alive).
 *
 * - The leader key `<prefix>leader` is created only if absent (createRevision == 0) under this
 *   instance's lease, with `{ id, region, lease, acquiredAt }` (Patroni's race). Whoever's
 *   transaction lands first leads; the others watch the key and race again when it goes.
 * - The lease is renewed every `keepAliveEveryMs` (TTL/3). etcd can expire it no earlier than
 *   (the moment a successful renewal was SENT) + TTL, so this instance steps down on its own
 *   monotonic clock at sentAt + TTL − margin: before the key can expire and be taken elsewhere.
 *   No library event is waited for; `isLeader()` turns false at that instant even if the timer
 *   runs late (a blocked event loop), and the `lost` event says why.
 * - A lost lease is given up (revoked as soon as etcd answers, so the others need not wait for
 *   it to expire) and the instance campaigns again with a fresh one. While etcd is unreachable
 *   no campaign can succeed, so it never claims leadership; a claim whose answer arrives after
 *   the lease's local deadline is given back at once.
 * - `fencingToken()` is what state writes carry: a transaction that also compares that the leader
 *   key is still bound to this lease cannot succeed once another instance leads.
 */

export interface LeaderIdentity {
  id: string;
  region: string;
}

/** The leader key's value. `acquiredAt` is wall time: a label for humans, never compared. */
export interface LeaderRecord extends LeaderIdentity {
  lease: LeaseId;
  acquiredAt: number;
}

/** The current leader as this instance last saw it. */
export interface SeenLeader extends LeaderRecord {
  /** True when the record is this instance's own claim. */
  self: boolean;
  /** Monotonic time of the read or watch event that showed it. */
  seenAt: number;
}

export type LeaderEvent =
  | { type: 'acquired'; at: number; lease: LeaseId; deadline: number }
  /** `deadline`: the lease's local deadline (at − deadline > 0 when the step-down came late). */
  | { type: 'lost'; at: number; lease: LeaseId; reason: string; deadline: number }
  | { type: 'leader'; leader: SeenLeader | null };

export interface LeaderElectorOptions extends LeaderIdentity {
  coord: CoordPort;
  clock: Clock;
  /** Key prefix, ending in "/" (config `state.etcd.prefix`). */
  prefix: string;
  /** The lease TTL requested (etcd grants whole seconds, at least its minimum). */
  ttlMs: number;
  /** Step down this long before the lease could expire in etcd; default max(ttl/5, 500 ms). */
  marginMs?: number;
  /** Default ttl/3. */
  keepAliveEveryMs?: number;
  /** Delay before retrying after a failed call; default min(keepAliveEvery, max(ttl/10, 200 ms)). */
  retryMs?: number;
  log?: Logger;
}

export type LeaderListener = (event: LeaderEvent) => void;

interface Abandoned {
  id: LeaseId;
  /** Monotonic time after which no more attempts are made. */
  until: number;
  pending: Promise<void> | null;
}

interface HeldLease {
  id: LeaseId;
  ttlMs: number;
  /** Monotonic time the last successful grant or renewal was sent. */
  lastSentAt: number;
  /** lastSentAt + ttl − margin: past this the lease may be gone in etcd. */
  validUntil: number;
}

/** Defaults derived from the TTL; exported so the config check and the docs agree with the code. */
export function leaderTimings(ttlMs: number, marginMs?: number, keepAliveEveryMs?: number) {
  const keepAliveEvery = keepAliveEveryMs ?? ttlMs / 3;
  const margin = marginMs ?? Math.max(ttlMs / 5, 500);
  if (margin <= 0 || margin >= ttlMs - keepAliveEvery)
    throw new SwitchyardError(
      'CONFIG_INVALID',
      `leader: margin ${margin} ms must be positive and leave room for a keep-alive within the ${ttlMs} ms lease (keep-alive every ${keepAliveEvery} ms)`,
    );
  return { keepAliveEveryMs: keepAliveEvery, marginMs: margin };
}

export class LeaderElector {
  readonly leaderKey: string;
  private readonly coord: CoordPort;
  private readonly clock: Clock;
  private readonly identity: LeaderIdentity;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly keepAliveEveryMs: number;
  private readonly retryMs: number;
  private readonly log: Logger | undefined;
  private readonly listeners = new Set<LeaderListener>();

  private lease: HeldLease | null = null;
  private leading = false;
  private acquired: { at: number; lease: LeaseId } | null = null;
  /** The store revision at which this instance's claim of the key landed (watch events before it are history). */
  private claimRevision = 0;
  private seen: SeenLeader | null = null;
  private abandoned: Abandoned[] = [];
  private started = false;
  private stopped = false;
  private holdUntil = 0;
  private tickTimer: TimerHandle | null = null;
  private stepDownTimer: TimerHandle | null = null;
  private watch: WatchHandle | null = null;
  private watchTimer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private etcdDown = false;

  constructor(opts: LeaderElectorOptions) {
    this.coord = opts.coord;
    this.clock = opts.clock;
    this.identity = { id: opts.id, region: opts.region };
    this.leaderKey = `${opts.prefix}leader`;
    this.ttlMs = opts.ttlMs;
    const t = leaderTimings(opts.ttlMs, opts.marginMs, opts.keepAliveEveryMs);
    this.marginMs = t.marginMs;
    this.keepAliveEveryMs = t.keepAliveEveryMs;
    this.retryMs = opts.retryMs ?? Math.min(this.keepAliveEveryMs, Math.max(opts.ttlMs / 10, 200));
    this.log = opts.log;
  }

  // ---- what the daemon reads -------------------------------------------------------------------

  /** True only while this instance holds the key and its lease cannot have expired anywhere. */
  isLeader(): boolean {
    if (this.leading && this.lease && this.clock.monotonic() >= this.lease.validUntil)
      this.stepDown('no successful keep-alive in time: the lease may expire in etcd (checked late)');
    return this.leading;
  }

  /** Time left on this instance's lease before it steps down (leader) or re-grants (follower); null without one. */
  leaseTimeLeftMs(): number | null {
    if (!this.lease) return null;
    return Math.max(0, this.lease.validUntil - this.clock.monotonic());
  }

  /** The leader as last seen in etcd (possibly this instance), or null when there is none. */
  currentLeader(): SeenLeader | null {
    return this.seen ? { ...this.seen } : null;
  }

  /** What state writes must carry while leading; null when not leading. */
  fencingToken(): FencingToken | null {
    if (!this.isLeader() || !this.lease) return null;
    return { leaderKey: this.leaderKey, lease: this.lease.id };
  }

  /** Monotonic time this instance last became leader, while it leads. */
  acquiredAt(): number | null {
    return this.leading && this.acquired ? this.acquired.at : null;
  }

  timings(): { ttlMs: number; marginMs: number; keepAliveEveryMs: number; retryMs: number } {
    return {
      ttlMs: this.ttlMs,
      marginMs: this.marginMs,
      keepAliveEveryMs: this.keepAliveEveryMs,
      retryMs: this.retryMs,
    };
  }

  /** Subscribes to acquired / lost / leader-changed events; returns the unsubscribe function. */
  on(listener: LeaderListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  start(): void {
    if (this.started) return;
    this.started = true;
    this.openWatch();
    this.wake();
  }

  /** Stops campaigning; if leading, steps down and revokes the lease so another instance takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer('tick');
    this.clearTimer('watch');
    this.watch?.cancel();
    this.watch = null;
    this.stepDown('stopped');
    if (this.lease) this.abandon(this.lease.id);
    this.lease = null;
    await this.running?.catch(() => {});
    await Promise.all(this.abandoned.map((a) => this.revoke(a)));
  }

  /**
   * Gives leadership up: steps down, deletes the key (by revoking the lease) and does not
   * campaign for `holdOffMs` (default one TTL), so that another instance takes over.
   */
  async resign(holdOffMs = this.ttlMs): Promise<void> {
    this.holdUntil = this.clock.monotonic() + holdOffMs;
    this.stepDown('resigned');
    const lease = this.lease;
    this.lease = null;
    if (lease) {
      this.abandon(lease.id);
      const entry = this.abandoned.find((a) => a.id === lease.id);
      if (entry) await this.revoke(entry);
    }
    this.wake();
  }

  // ---- the loop --------------------------------------------------------------------------------

  /** Runs a tick now (or right after the one in progress). */
  private wake(): void {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.clearTimer('tick');
    this.running = this.tick()
      .catch((e: unknown) => {
        // A bug, not an etcd failure (those are handled in tick): log it and keep the loop alive.
        this.log?.error({ err: e }, 'leader loop failed; retrying');
        this.schedule(this.retryMs);
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.clearTimer('tick');
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = null;
      this.wake();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.retryAbandoned();
    const now = this.clock.monotonic();
    if (now < this.holdUntil) {
      this.schedule(this.holdUntil - now);
      return;
    }
    if (!(await this.renewOrGrant())) return;
    if (this.stopped) return;
    if (this.leading) await this.verifyKey();
    else await this.campaign();
    if (this.stopped) return;
    const lease = this.lease;
    if (lease) this.schedule(Math.max(0, lease.lastSentAt + this.keepAliveEveryMs - this.clock.monotonic()));
    else this.schedule(0);
  }

  /** Makes sure a lease valid on our clock is held; false when the tick cannot go on. */
  private async renewOrGrant(): Promise<boolean> {
    const held = this.lease;
    const now = this.clock.monotonic();
    if (held && now >= held.validUntil) {
      // isLeader() steps down too; this is the same rule for the follower's lease.
      this.stepDown('no successful keep-alive in time: the lease may expire in etcd');
      this.abandon(held.id);
      this.lease = null;
    }
    const lease = this.lease;
    if (!lease) {
      const sentAt = this.clock.monotonic();
      try {
        const g = await this.coord.grantLease(this.ttlMs);
        this.etcdReachable();
        if (this.stopped) {
          this.abandon(g.id);
          return false;
        }
        this.lease = {
          id: g.id,
          ttlMs: g.ttlMs,
          lastSentAt: sentAt,
          validUntil: sentAt + g.ttlMs - this.marginMs,
        };
        return true;
      } catch (e) {
        this.callFailed('lease grant', e);
        return false;
      }
    }
    if (now - lease.lastSentAt < this.keepAliveEveryMs - 1) return true;
    const sentAt = this.clock.monotonic();
    try {
      const r = await this.coord.keepAliveOnce(lease.id);
      this.etcdReachable();
      if (this.lease?.id !== lease.id) return false;
      if (r === null) {
        this.stepDown('etcd no longer knows the lease (expired or revoked)');
        this.lease = null;
        this.schedule(0);
        return false;
      }
      lease.lastSentAt = sentAt;
      lease.validUntil = Math.max(lease.validUntil, sentAt + r.ttlMs - this.marginMs);
      if (this.leading) this.armStepDown();
      return true;
    } catch (e) {
      this.callFailed('lease keep-alive', e);
      return false;
    }
  }

  private async campaign(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    const record: LeaderRecord = { ...this.identity, lease: lease.id, acquiredAt: this.clock.wall() };
    try {
      const r = await this.coord.txn({
        compare: [{ key: this.leaderKey, target: 'createRevision', op: '=', value: 0 }],
        success: [{ type: 'put', key: this.leaderKey, value: JSON.stringify(record), lease: lease.id }],
        failure: [{ type: 'get', key: this.leaderKey }],
      });
      this.etcdReachable();
      const existing = r.succeeded ? null : r.results[0]?.type === 'get' ? r.results[0].kv : null;
      // Our own earlier claim (a transaction that timed out after it was applied) is ours too.
      if (r.succeeded || existing?.lease === lease.id) {
        this.claimRevision = r.succeeded ? r.revision : (existing?.createRevision ?? 0);
        this.claimed(lease);
      } else if (existing) this.saw(existing);
    } catch (e) {
      if (isSwitchyardError(e, 'COORD_LEASE_NOT_FOUND')) {
        this.abandon(lease.id);
        this.lease = null;
        return;
      }
      this.callFailed('campaign', e);
    }
  }

  /** The key is ours in etcd; lead only if the lease is still valid here and nothing changed meanwhile. */
  private claimed(lease: HeldLease): void {
    if (this.stopped || this.lease?.id !== lease.id || this.clock.monotonic() >= lease.validUntil) {
      this.log?.warn({ lease: lease.id, reason: 'claim confirmed too late' }, 'giving the leader key back');
      this.abandon(lease.id);
      if (this.lease?.id === lease.id) this.lease = null;
      return;
    }
    if (this.leading) return;
    this.leading = true;
    const at = this.clock.monotonic();
    this.acquired = { at, lease: lease.id };
    this.seen = { ...this.identity, lease: lease.id, acquiredAt: this.clock.wall(), self: true, seenAt: at };
    this.armStepDown();
    this.log?.info(
      { lease: lease.id, reason: 'created the leader key', leaseTimeLeftMs: lease.validUntil - at },
      'became leader',
    );
    this.emit({ type: 'acquired', at, lease: lease.id, deadline: lease.validUntil });
    this.emit({ type: 'leader', leader: this.currentLeader() });
  }

  /** The leader re-reads its key each tick: a deleted or re-bound key ends leadership even if a watch missed it. */
  private async verifyKey(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    try {
      const r = await this.coord.get(this.leaderKey);
      this.etcdReachable();
      if (!this.leading || this.lease?.id !== lease.id) return;
      if (!r.kv) this.stepDown('the leader key was deleted');
      else if (r.kv.lease !== lease.id) {
        this.saw(r.kv);
        this.stepDown('the leader key is bound to another lease');
      }
    } catch (e) {
      // The keep-alive just succeeded; the deadline still protects us if etcd is now gone.
      this.callFailed('leader key check', e);
    }
  }

  /** Synchronous: from here on isLeader() is false and fencingToken() null. */
  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.clearTimer('stepDown');
    const at = this.clock.monotonic();
    const lease = this.lease?.id ?? this.acquired?.lease ?? '0';
    const deadline = this.lease?.validUntil ?? at;
    if (this.lease) {
      this.abandon(this.lease.id);
      this.lease = null;
    }
    const wasSelf = this.seen?.self === true;
    if (wasSelf) this.seen = null;
    this.log?.warn({ lease, reason, lateMs: Math.max(0, at - deadline) }, 'stepped down as leader');
    this.emit({ type: 'lost', at, lease, reason, deadline });
    if (wasSelf) this.emit({ type: 'leader', leader: null });
    if (!this.stopped) this.schedule(0);
  }

  private armStepDown(): void {
    const lease = this.lease;
    if (!lease) return;
    this.clearTimer('stepDown');
    this.stepDownTimer = this.clock.setTimeout(
      () => {
        this.stepDownTimer = null;
        if (this.leading && this.lease?.id === lease.id && this.clock.monotonic() >= lease.validUntil)
          this.stepDown(
            `no successful keep-alive since ${Math.round(this.clock.monotonic() - lease.lastSentAt)} ms ago: the lease may expire in etcd within ${this.marginMs} ms`,
          );
        else if (this.leading) this.armStepDown();
      },
      Math.max(0, lease.validUntil - this.clock.monotonic()),
    );
  }

  // ---- the leader key watch ---------------------------------------------------------------------

  private openWatch(): void {
    if (this.stopped) return;
    this.coord.get(this.leaderKey).then(
      (r) => {
        if (this.stopped) return;
        this.etcdReachable();
        if (r.kv) this.saw(r.kv);
        else this.unseen();
        this.watch = this.coord.watchPrefix(this.leaderKey, r.revision + 1, (e) => this.onWatch(e));
      },
      (e: unknown) => {
        this.callFailed('leader key read', e);
        this.reopenWatch();
      },
    );
  }

  private reopenWatch(): void {
    if (this.stopped) return;
    this.clearTimer('watch');
    this.watchTimer = this.clock.setTimeout(() => {
      this.watchTimer = null;
      this.openWatch();
    }, this.retryMs);
  }

  private onWatch(e: WatchEvent): void {
    if (this.stopped) return;
    if (e.type === 'broken') {
      this.watch = null;
      this.log?.debug({ reason: e.reason }, 'leader key watch broken; re-reading');
      this.reopenWatch();
      return;
    }
    if (e.key !== this.leaderKey) return;
    // A late event from before our own claim (a slow watch: the previous leader's key expiring)
    // says nothing about the key we hold now.
    if (this.leading && e.modRevision < this.claimRevision) return;
    if (e.type === 'delete') {
      this.unseen();
      if (this.leading) this.stepDown('the leader key was deleted');
      // The key is free: race for it now rather than at the next tick.
      else this.wake();
      return;
    }
    this.saw({
      key: e.key,
      value: e.value,
      lease: e.lease,
      modRevision: e.modRevision,
      createRevision: e.createRevision,
      version: e.version,
    });
    if (this.leading && e.lease !== this.lease?.id) this.stepDown('another instance holds the leader key');
  }

  private saw(kv: KeyValue): void {
    const record = parseRecord(kv);
    const self = kv.lease !== null && kv.lease === this.lease?.id && this.leading;
    const before = this.seen;
    this.seen = record
      ? { ...record, self, seenAt: this.clock.monotonic() }
      : {
          id: '(unreadable)',
          region: '(unreadable)',
          lease: kv.lease ?? '0',
          acquiredAt: 0,
          self,
          seenAt: this.clock.monotonic(),
        };
    if (!before || before.lease !== this.seen.lease || before.id !== this.seen.id)
      this.emit({ type: 'leader', leader: this.currentLeader() });
  }

  private unseen(): void {
    if (this.seen === null) return;
    this.seen = null;
    this.emit({ type: 'leader', leader: null });
  }

  // ---- giving leases back -----------------------------------------------------------------------

  /** Remembers a lease to revoke: revoking deletes the leader key at once instead of after its TTL. */
  private abandon(id: LeaseId): void {
    if (this.abandoned.some((a) => a.id === id)) return;
    // etcd may keep a lease beyond its TTL (a leader change in etcd renews every lease): keep
    // trying for a few TTLs.
    const entry: Abandoned = { id, until: this.clock.monotonic() + 3 * this.ttlMs, pending: null };
    this.abandoned.push(entry);
    void this.revoke(entry);
  }

  private retryAbandoned(): void {
    const now = this.clock.monotonic();
    this.abandoned = this.abandoned.filter((a) => a.until > now || a.pending !== null);
    for (const a of this.abandoned) if (!a.pending) void this.revoke(a);
  }

  /** One revoke attempt (or the one in flight); failures are retried on later ticks. */
  private revoke(entry: Abandoned): Promise<void> {
    if (entry.pending) return entry.pending;
    entry.pending = this.coord
      .revokeLease(entry.id)
      .then(
        () => {
          this.abandoned = this.abandoned.filter((a) => a !== entry);
        },
        (e: unknown) => {
          this.log?.debug({ lease: entry.id, err: e }, 'lease revoke failed; retrying on the next tick');
        },
      )
      .finally(() => {
        entry.pending = null;
      });
    return entry.pending;
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  private callFailed(what: string, e: unknown): void {
    if (!this.etcdDown) {
      this.etcdDown = true;
      this.log?.warn(
        { err: e, reason: isSwitchyardError(e) ? e.code : 'error', leading: this.leading },
        `etcd ${what} failed; not claiming leadership until etcd answers`,
      );
    }
    this.schedule(this.retryMs);
  }

  private etcdReachable(): void {
    if (this.etcdDown) {
      this.etcdDown = false;
      this.log?.info({ reason: 'etcd answered again' }, 'etcd reachable');
    }
  }

  private clearTimer(which: 'tick' | 'stepDown' | 'watch'): void {
    const t = which === 'tick' ? this.tickTimer : which === 'stepDown' ? this.stepDownTimer : this.watchTimer;
    if (t) this.clock.clearTimeout(t);
    if (which === 'tick') this.tickTimer = null;
    else if (which === 'stepDown') this.stepDownTimer = null;
    else this.watchTimer = null;
  }

  private emit(event: LeaderEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (e) {
        this.log?.error({ err: e, event: event.type }, 'leader listener failed');
      }
    }
  }
}

function parseRecord(kv: KeyValue): LeaderRecord | null {
  try {
    const v = JSON.parse(kv.value) as Partial<LeaderRecord>;
    if (typeof v.id !== 'string' || typeof v.region !== 'string') return null;
    return {
      id: v.id,
      region: v.region,
      lease: kv.lease ?? (typeof v.lease === 'string' ? v.lease : '0'),
      acquiredAt: typeof v.acquiredAt === 'number' ? v.acquiredAt : 0,
    };
  } catch {
    // Not our record (written by hand or another program): shown as unreadable, never trusted.
    return null;
  }
}
