import type { FaultEngine } from '../faults.js';
import type { World } from '../world/world.js';

/**
 * What is really going on, tracked over time for the invariants: since when the world has been
 * nominal (no real outage), calm (no fault at all), since when each component has been failing
 * from a quorum of observers, and when Route 53 trouble, pauses and the panic share last ended.
 * Recomputed only when a fault starts or heals (the world's faultVersion).
 */
export class GroundTruth {
  /** The world has had no real outage since (undefined while it has one). */
  nominalSince: number | undefined = 0;
  /** Nominal and no link impaired at all (no loss either) since. */
  strictSince: number | undefined = 0;
  /** No fault in progress since (pauses count until they end). */
  calmSince: number | undefined = 0;
  /** Route 53 without any fault since (undefined while it has one). */
  dnsHealthySince: number | undefined = 0;
  /** End of the latest instance pause (past or future). */
  lastPauseEnd = 0;
  /** Time of the latest drift made in the DNS console. */
  lastDriftAt = Number.NEGATIVE_INFINITY;
  /**
   * Since when more regions than the panic threshold may look down to a director: something is
   * wrong with one of their components or with a path there (undefined when not). The panic
   * guard then holds everything still, rightly: liveness waits until it ends.
   */
  panicSince: number | undefined;
  panicEndedAt = Number.NEGATIVE_INFINITY;
  /** Every instance's disk without a fault since (undefined while one has one). */
  diskHealthySince: number | undefined = 0;
  /**
   * `${region}.gateway` / `${region}.keyManager` → clean since: no fault on the component and
   * clean paths (at most LOSS_CLEAN loss) from a quorum of observers. A clean region can serve.
   */
  readonly cleanSince = new Map<string, number>();
  /** `${region}.gateway`, `${region}.keyManager`, `${region}.database.${key}` → failing from a quorum since. */
  readonly failingSince = new Map<string, number>();
  /** Region → since when nothing at all has been wrong with it or with the paths to it (from a quorum). */
  readonly pristineSince = new Map<string, number>();
  /** Region → since when it has held a detached database (an old primary, or a hard-fenced server). */
  readonly detachedSince = new Map<string, number>();
  private seen = -1;
  private dbSeen = -1;
  private lastChangeAt = 0;

  update(now: number, world: World, faults: FaultEngine, observers: readonly string[], quorum: number): void {
    // Directors change the world too (a fence stops a server): recompute on either.
    const version = world.faultVersion * 1_000_003 + world.databases.version;
    if (version !== this.seen) {
      this.seen = version;
      this.lastChangeAt = now;
      this.recompute(now, world, faults, observers, quorum);
    }
    if (world.databases.version !== this.dbSeen) {
      this.dbSeen = world.databases.version;
      const regions = new Set(world.databases.detached().map((n) => n.region));
      for (const r of [...this.detachedSince.keys()]) if (!regions.has(r)) this.detachedSince.delete(r);
      for (const r of regions) if (!this.detachedSince.has(r)) this.detachedSince.set(r, now);
    }
    const active = faults.activeCount > 0;
    this.calmSince =
      active || now < this.lastPauseEnd ? undefined : Math.max(this.lastChangeAt, this.lastPauseEnd);
  }

  private recompute(
    now: number,
    world: World,
    faults: FaultEngine,
    observers: readonly string[],
    quorum: number,
  ): void {
    const nominal = world.nominal();
    this.nominalSince = nominal ? (this.nominalSince ?? now) : undefined;
    const strict = nominal && world.network.impairedLinks().length === 0;
    this.strictSince = strict ? (this.strictSince ?? now) : undefined;
    const dnsOk = world.dns.effects.size === 0;
    this.dnsHealthySince = dnsOk ? (this.dnsHealthySince ?? now) : undefined;
    for (const f of faults.records) {
      if (f.kind === 'pause')
        this.lastPauseEnd = Math.max(this.lastPauseEnd, f.at + Number(f.params.pauseMs));
      if (f.kind === 'dns-drift') this.lastDriftAt = Math.max(this.lastDriftAt, f.at);
    }

    let diskOk = true;
    for (const d of world.disks.values()) if (d.effects.size > 0) diskOk = false;
    this.diskHealthySince = diskOk ? (this.diskHealthySince ?? now) : undefined;

    const suspect = new Set<string>();
    const mark = (key: string, failing: boolean) => {
      if (failing) {
        if (!this.failingSince.has(key)) this.failingSince.set(key, now);
      } else this.failingSince.delete(key);
    };
    for (const region of world.topology.regions) {
      const untouchedPaths =
        observers.filter((o) => world.network.effects(o, region.id).size === 0).length >= quorum;
      const untouchedRegion =
        world.services.impaired().every((id) => world.services.targets.get(id)?.region !== region.id) &&
        world.databases.ofRegion(region.id).every((n) => n.effects.size === 0 && n.isRunning);
      if (untouchedPaths && untouchedRegion) {
        if (!this.pristineSince.has(region.id)) this.pristineSince.set(region.id, now);
      } else this.pristineSince.delete(region.id);
      const cleanPaths = observers.filter((o) => world.pathClean(o, region.id)).length >= quorum;
      if (!cleanPaths) suspect.add(region.id);
      for (const component of ['gateway', 'keyManager'] as const) {
        const has = component === 'gateway' ? region.hasGateway : region.hasKeyManager;
        if (!has) continue;
        const key = `${region.id}.${component}`;
        const seen = observers.filter((o) => world.failingFrom(o, region.id, component)).length;
        mark(key, seen >= quorum);
        const untouched = world.services
          .targetsOf(region.id, component)
          .every((id) => world.services.effectsOf(id).size === 0);
        if (!untouched) suspect.add(region.id);
        if (untouched && cleanPaths) {
          if (!this.cleanSince.has(key)) this.cleanSince.set(key, now);
        } else this.cleanSince.delete(key);
      }
      for (const key of region.databases) {
        const reachable = world.databaseReachable(region.id, key);
        if (!reachable) suspect.add(region.id);
        const seen = observers.filter((o) => !reachable || world.pathBroken(o, region.id)).length;
        mark(`${region.id}.database.${key}`, seen >= quorum);
      }
    }
    const panic = suspect.size / world.topology.regions.length > world.topology.policy.panicThreshold;
    if (panic && this.panicSince === undefined) this.panicSince = now;
    if (!panic && this.panicSince !== undefined) {
      this.panicSince = undefined;
      this.panicEndedAt = now;
    }
  }

  /** Since when `key` ("r2.gateway") has been clean (no fault, clean paths), if it is. */
  clean(key: string): number | undefined {
    return this.cleanSince.get(key);
  }

  /** Since when `key` (e.g. "r1.gateway") has failed from a quorum, if it does. */
  failing(key: string): number | undefined {
    return this.failingSince.get(key);
  }
}
