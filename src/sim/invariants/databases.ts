import type { SimDatabase } from '../world/databases.js';
import type { Invariant } from './types.js';

/** The legitimate primary among writable nodes: the newest heartbeat epoch. */
function ranked(nodes: SimDatabase[]): SimDatabase[] {
  return [...nodes].sort((a, b) => b.epoch - a.epoch);
}

/**
 * "at most one writable primary once a fence has completed". Two writable primaries can exist
 * while the old main is unreachable and unfenced (nothing can be done about it but keeping its
 * DNS away); but a node a director has fenced must not become writable again by a director's
 * hand (a promotion of the wrong node, an unfence at the wrong time), and two nodes may never
 * hold the same epoch writable.
 */
export function singleWritablePrimary(): Invariant {
  let seen = -1;
  return {
    name: 'single-writable-primary',
    description:
      'per database, at most one writable primary once a fence completed: a fenced node made writable again by a director while another is writable, or two writable at one epoch, is a split brain',
    round: 1,
    check(ctx) {
      const dbs = ctx.world.databases;
      if (dbs.version === seen) return undefined;
      seen = dbs.version;
      for (const key of dbs.keys()) {
        const w = ranked(dbs.writableOf(key));
        if (w.length < 2) continue;
        const [top, ...rest] = w as [SimDatabase, ...SimDatabase[]];
        for (const n of rest) {
          if (n.epoch === top.epoch && n.writableCause !== 'initial' && top.writableCause !== 'initial')
            return `${top.id} and ${n.id} are both writable at epoch ${n.epoch}`;
          if (n.everFenced && (n.writableCause === 'promote' || n.writableCause === 'unfence'))
            return `${n.id} (epoch ${n.epoch}) was fenced, then made writable again by a ${n.writableCause}, while ${top.id} (epoch ${top.epoch}) is writable`;
        }
      }
      return undefined;
    },
  };
}

/** A writable node that is not the legitimate primary, reachable by a quorum, is fenced within a bound. */
export function splitBrainFenced(): Invariant {
  const since = new Map<string, number>();
  return {
    name: 'split-brain-fenced',
    description:
      'a second writable primary that a quorum of observers can reach is fenced within the split-brain bound',
    round: 1,
    check(ctx) {
      const dbs = ctx.world.databases;
      const stray = new Set<string>();
      for (const key of dbs.keys()) {
        const [, ...rest] = ranked(dbs.writableOf(key));
        for (const n of rest) {
          const reachable = ctx.world
            .observers()
            .filter((o) => n.hostUp && !ctx.world.pathBroken(o, n.region)).length;
          if (reachable >= ctx.quorum) stray.add(n.id);
        }
      }
      for (const id of [...since.keys()]) if (!stray.has(id)) since.delete(id);
      for (const id of stray) {
        const t = since.get(id) ?? ctx.now;
        since.set(id, t);
        if (ctx.now - t > ctx.bounds.splitBrainMs)
          return `${id} has been a second writable primary, reachable, for ${Math.round((ctx.now - t) / 1000)}s without being fenced`;
      }
      return undefined;
    },
  };
}

/** "no promotion beyond the lag bound unless forced", by the lag the replica itself reported at promotion. */
export function promotionWithinLagBound(): Invariant {
  let cursor = 0;
  return {
    name: 'promotion-within-lag-bound',
    description:
      'a replica is promoted only while its own reported lag is known and within maxLagSeconds and maxLagBytes, unless an operator forced it',
    round: 1,
    check(ctx) {
      const events = ctx.world.databases.events;
      const { maxLagSeconds, maxLagBytes } = ctx.topology.policy.promotion;
      while (cursor < events.length) {
        const e = events[cursor++];
        if (e?.kind !== 'promote' || !e.reportedLag) continue;
        const forced = ctx.instances.some((i) => i.promotions.some((p) => p.epoch === e.epoch && p.force));
        if (forced) continue;
        const { seconds, bytes } = e.reportedLag;
        if (seconds === null || bytes === null || seconds > maxLagSeconds || bytes > maxLagBytes)
          return `${e.node} was promoted (epoch ${e.epoch}, by ${e.by}) at a reported lag of ${seconds ?? '?'}s / ${bytes ?? '?'}B, beyond the bound ${maxLagSeconds}s / ${maxLagBytes}B, without force`;
      }
      return undefined;
    },
  };
}
