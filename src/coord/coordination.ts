import type { Logger } from 'pino';
import type { HealthView } from '../decide/types.js';
import { combineViews, type ObserverView, type QuorumResult } from '../health/quorum.js';
import type { RegionId } from '../topology/types.js';
import type { Clock } from '../util/clock.js';
import { LeaderElector } from './leader.js';
import { ObservationPublisher, ObservationReader } from './observations.js';
import type { CoordPort, FencingToken, WatchHandle } from './types.js';

/**
 * The seam between the daemon and "several observers, one actor". The daemon asks three things:
 * may I act now (`canAct`, checked before every DNS write and database action), what is the view
 * to decide on (`combine`: this observer's own view, or the quorum of every live observer's), and
 * what to show (`status`). One instance alone is `StandaloneCoordination`; several on etcd are
 * `EtcdCoordination`; the simulator wires the latter to the in-memory twin of etcd.
 */
export interface Coordination {
  /** `ownView` is what this instance publishes as its observation. */
  start(ctx: { ownView: () => HealthView }): Promise<void>;
  stop(): Promise<void>;
  /** True only while this instance may write DNS and touch databases. */
  canAct(): boolean;
  /** How much longer this instance may act without renewing (ms): Infinity alone, 0 when not leading. */
  actTimeLeftMs(): number;
  /** What this instance's state writes carry while it leads (a deposed leader's write then aborts). */
  fencingToken(): FencingToken | null;
  /** Bumped each time this instance starts leading: reload the state and recover intents first. */
  term(): number;
  /** This observer's view → the view the engine decides on. */
  combine(own: HealthView, now: number): HealthView;
  /** This observer's own view changed (a component's status): publish it now. */
  observed(): void;
  status(): CoordinationStatus;
  /** Something the engine decides on changed (another observer's view, leadership, the state key). */
  onChange(listener: (what: CoordinationChange) => void): () => void;
  /** Changes whenever combine() or canAct() can have changed for reasons other than the own view. */
  version(): number;
}

export type CoordinationChange = 'observers' | 'leadership' | 'state';

export type CoordinationRole = 'standalone' | 'leader' | 'follower' | 'unavailable';

/** What /v1/status shows of the coordination: the leader, the observers, the quorum's view. */
export interface CoordinationStatus {
  role: CoordinationRole;
  /** This instance's identity as an observer. */
  self: { id: string; region?: string };
  leader: {
    id: string;
    region?: string;
    self: boolean;
    leaseTimeLeftMs?: number;
    acquiredAt?: string;
  } | null;
  observers: ObserverStatus[];
  quorum?: number;
  /** Distinct regions of live observers (rule 6: automatic promotion needs three). */
  observerRegions: number;
  /** Why this instance may not act, when it may not; or why coordination is impaired. */
  reason?: string;
  /** Per component key ("r1.gateway", "r1.database.apim"): each counted observer's vote. */
  votes?: Record<string, Record<string, 'up' | 'down' | 'unknown'>>;
}

export interface ObserverStatus {
  id: string;
  region?: string;
  fresh: boolean;
  discounted: boolean;
  reason?: string;
  /** Per region and component ("gateway", "keyManager", "database.apim"): what it sees. */
  view: Record<string, Record<string, 'up' | 'down' | 'unknown'>>;
}

/** One instance: it observes, and it acts. */
export class StandaloneCoordination implements Coordination {
  constructor(private readonly self: { id: string; region?: string }) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  canAct(): boolean {
    return true;
  }
  actTimeLeftMs(): number {
    return Number.POSITIVE_INFINITY;
  }
  fencingToken(): FencingToken | null {
    return null;
  }
  term(): number {
    return 1;
  }
  combine(own: HealthView): HealthView {
    return own;
  }
  observed(): void {}
  status(): CoordinationStatus {
    return { role: 'standalone', self: this.self, leader: null, observers: [], observerRegions: 1 };
  }
  onChange(): () => void {
    return () => undefined;
  }
  version(): number {
    return 0;
  }
}

export interface EtcdCoordinationOptions {
  coord: CoordPort;
  clock: Clock;
  id: string;
  region: RegionId;
  /** Key prefix ending in "/" (state.etcd.prefix). */
  prefix: string;
  /** state.etcd.leaseTtl: of the leader's and of each observer's lease. */
  leaseTtlMs: number;
  /** director.quorum; default a majority of live observers. */
  quorum?: number;
  /** policy.staleAfter: a component checked longer ago does not vote. */
  staleAfterMs: number;
  /** policy.panicThreshold: an observer seeing more regions down at once is discounted. */
  panicThreshold: number;
  /** Every configured region. */
  regions: readonly RegionId[];
  log?: Logger;
}

/**
 * Several instances on etcd: the leader loop (src/coord/leader.ts), this observer's publication
 * and every observer's view (src/coord/observations.ts), and the quorum over them
 * (src/health/quorum.ts). The state key is watched so that a follower's copy of the state (its
 * status, its admin previews) follows the leader's writes.
 */
export class EtcdCoordination implements Coordination {
  private readonly elector: LeaderElector;
  private readonly reader: ObservationReader;
  private publisher: ObservationPublisher | undefined;
  private readonly listeners = new Set<(what: CoordinationChange) => void>();
  private stateWatch: WatchHandle | undefined;
  private generation = 0;
  private terms = 0;
  private last: QuorumResult | undefined;
  private lastViews: ObserverView[] = [];
  private stopped = false;

  constructor(private readonly opts: EtcdCoordinationOptions) {
    this.elector = new LeaderElector({
      coord: opts.coord,
      clock: opts.clock,
      id: opts.id,
      region: opts.region,
      prefix: opts.prefix,
      ttlMs: opts.leaseTtlMs,
      ...(opts.log ? { log: opts.log.child({ module: 'leader' }) } : {}),
    });
    this.reader = new ObservationReader({
      coord: opts.coord,
      clock: opts.clock,
      prefix: opts.prefix,
      ...(opts.log ? { log: opts.log.child({ module: 'observations' }) } : {}),
      onChange: () => this.changed('observers'),
    });
    this.elector.on((e) => {
      if (e.type === 'acquired') {
        this.terms++;
        opts.log?.warn(
          { event: 'leader', lease: e.lease, reason: 'took the leader key' },
          'this instance leads',
        );
      } else if (e.type === 'lost')
        opts.log?.warn(
          { event: 'leader-lost', lease: e.lease, reason: e.reason },
          `stepped down: ${e.reason}`,
        );
      this.changed('leadership');
    });
  }

  async start(ctx: { ownView: () => HealthView }): Promise<void> {
    this.publisher = new ObservationPublisher({
      coord: this.opts.coord,
      clock: this.opts.clock,
      prefix: this.opts.prefix,
      ttlMs: this.opts.leaseTtlMs,
      id: this.opts.id,
      region: this.opts.region,
      view: ctx.ownView,
      ...(this.opts.log ? { log: this.opts.log.child({ module: 'observations' }) } : {}),
    });
    this.publisher.start();
    this.reader.start();
    this.elector.start();
    this.watchState();
  }

  /** Watches the state key from now on; a broken watch is re-opened (a missed write only delays a follower's copy). */
  private watchState(): void {
    if (this.stopped) return;
    const key = `${this.opts.prefix}state`;
    this.opts.coord.get(key).then(
      (r) => {
        if (this.stopped) return;
        this.stateWatch = this.opts.coord.watchPrefix(key, r.revision + 1, (e) => {
          if (e.type === 'broken') {
            this.stateWatch = undefined;
            this.opts.clock.setTimeout(() => this.watchState(), 1_000);
            return;
          }
          if (e.key === key) this.changed('state');
        });
        this.changed('state');
      },
      () => this.opts.clock.setTimeout(() => this.watchState(), 1_000),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stateWatch?.cancel();
    this.reader.stop();
    // Step down first (revoking the lease lets another instance lead at once), then go quiet.
    await Promise.allSettled([this.elector.stop(), this.publisher?.stop()]);
    await this.opts.coord.close().catch(() => undefined);
  }

  canAct(): boolean {
    return !this.stopped && this.elector.isLeader();
  }

  actTimeLeftMs(): number {
    return this.canAct() ? (this.elector.leaseTimeLeftMs() ?? 0) : 0;
  }

  fencingToken(): FencingToken | null {
    return this.elector.fencingToken();
  }

  term(): number {
    return this.terms;
  }

  combine(own: HealthView, now: number): HealthView {
    const self: ObserverView = {
      observer: { id: this.opts.id, region: this.opts.region },
      receivedAt: now,
      seq: 0,
      view: own,
    };
    const others = this.reader.views().filter((v) => v.observer.id !== this.opts.id);
    this.lastViews = [self, ...others];
    this.last = combineViews(this.lastViews, {
      now,
      staleAfterMs: this.opts.staleAfterMs,
      // An observer's view is republished every TTL/3; one not heard from for a TTL is gone.
      observerStaleAfterMs: this.opts.leaseTtlMs,
      panicThreshold: this.opts.panicThreshold,
      regions: this.opts.regions,
      ...(this.opts.quorum !== undefined ? { quorum: this.opts.quorum } : {}),
    });
    return this.last.view;
  }

  observed(): void {
    this.publisher?.publishNow();
  }

  /** The views the last combine() counted and its result (the simulator's evidence of a decision). */
  lastCombine(): { views: readonly ObserverView[]; result: QuorumResult } | undefined {
    return this.last ? { views: this.lastViews, result: this.last } : undefined;
  }

  onChange(listener: (what: CoordinationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  version(): number {
    return this.generation;
  }

  private changed(what: CoordinationChange): void {
    this.generation++;
    for (const l of this.listeners) l(what);
  }

  status(): CoordinationStatus {
    const leading = this.canAct();
    const seen = this.elector.currentLeader();
    const pub = this.publisher?.status();
    const reachable = this.reader.isSynced() && (pub?.consecutiveFailures ?? 0) === 0;
    const role = leading ? 'leader' : reachable ? 'follower' : 'unavailable';
    const last = this.last;
    const observers: ObserverStatus[] = [];
    const votes: Record<string, Record<string, 'up' | 'down' | 'unknown'>> = {};
    if (last) {
      const discounted = new Map(last.discounted.map((d) => [d.id, d.reason]));
      const staleNotes = new Map(last.stale.map((d) => [d.id, d.reason]));
      const views = new Map(
        [{ observer: { id: this.opts.id, region: this.opts.region } }, ...this.reader.views()].map((v) => [
          v.observer.id,
          v.observer,
        ]),
      );
      for (const v of last.votes)
        for (const [who, status] of [
          ...v.up.map((id) => [id, 'up'] as const),
          ...v.down.map((id) => [id, 'down'] as const),
          ...v.abstained.map((id) => [id, 'unknown'] as const),
        ]) {
          const byObserver = votes[v.key] ?? {};
          votes[v.key] = byObserver;
          byObserver[who] = status;
        }
      for (const [id, o] of views) {
        const view: ObserverStatus['view'] = {};
        for (const [key, byObserver] of Object.entries(votes)) {
          const status = byObserver[id];
          if (!status) continue;
          const [region, ...rest] = key.split('.');
          const comp = rest.join('.');
          view[region as string] ??= {};
          (view[region as string] as Record<string, 'up' | 'down' | 'unknown'>)[comp] = status;
        }
        observers.push({
          id,
          region: o.region,
          fresh: last.live.includes(id),
          discounted: discounted.has(id),
          ...(discounted.has(id)
            ? { reason: discounted.get(id) }
            : staleNotes.has(id)
              ? { reason: staleNotes.get(id) }
              : {}),
          view,
        });
      }
    }
    const liveRegions = new Set(
      observers.filter((o) => o.fresh && !o.discounted).map((o) => o.region ?? o.id),
    ).size;
    return {
      role,
      self: { id: this.opts.id, region: this.opts.region },
      leader: seen
        ? {
            id: seen.id,
            region: seen.region,
            self: seen.self && leading,
            ...(seen.self && leading
              ? { leaseTimeLeftMs: Math.max(0, Math.round(this.elector.leaseTimeLeftMs() ?? 0)) }
              : {}),
            acquiredAt: new Date(seen.acquiredAt).toISOString(),
          }
        : null,
      observers,
      ...(last ? { quorum: last.quorum } : {}),
      observerRegions: Math.max(1, liveRegions),
      ...(reachable
        ? {}
        : { reason: 'etcd is not reachable: nobody acts from here; probing and status go on' }),
      ...(Object.keys(votes).length > 0 ? { votes } : {}),
    };
  }
}
