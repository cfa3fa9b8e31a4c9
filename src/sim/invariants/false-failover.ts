import { nominalWeights } from '../../decide/records.js';
import type { Invariant } from './types.js';

/**
 * "no failover while every region is healthy": while the world has had no real outage (probe
 * loss up to the benign share, Route 53 trouble, clock steps, pauses, lag and full disks are not
 * outages), nothing is promoted and management does not move.
 */
export function noFalseFailover(): Invariant {
  const cursors = new Map<string, number>();
  let dbCursor = 0;
  let dnsCursor = 0;
  let management: string | undefined;
  return {
    name: 'no-false-failover',
    description:
      'no promotion and no management move while the world has had no real outage (benign probe loss included)',
    round: 1,
    check(ctx) {
      const t = ctx.truth;
      const calm = (at: number) => t.nominalSince !== undefined && at - t.nominalSince >= ctx.bounds.graceMs;
      for (const inst of ctx.instances) {
        const from = cursors.get(inst.name) ?? 0;
        cursors.set(inst.name, inst.promotions.length);
        for (const p of inst.promotions.slice(from))
          if (calm(p.at))
            return `${inst.name} started promoting ${p.region} (epoch ${p.epoch}) with no real outage`;
      }
      const events = ctx.world.databases.events;
      while (dbCursor < events.length) {
        const e = events[dbCursor++];
        if (e?.kind === 'promote' && e.by && calm(e.at))
          return `${e.by} promoted ${e.node} with no real outage`;
      }
      const record = ctx.topology.records.find((r) => r.class === 'management');
      const changes = ctx.world.dns.changes;
      while (record && dnsCursor < changes.length) {
        const c = changes[dnsCursor++];
        const sets = c?.sets.filter((s) => s.recordKey === record.key) ?? [];
        if (!c || sets.length === 0) continue;
        const w = ctx.world.dns.weights()[record.key] ?? {};
        const now = Object.keys(w).find((id) => (w[id] ?? 0) > 0);
        if (management !== undefined && now !== management && calm(c.at))
          return `management moved from ${management} to ${now} (change ${c.id} by ${c.by}) with no real outage`;
        management = now;
      }
      if (record && management === undefined) {
        const w = ctx.world.dns.weights()[record.key] ?? {};
        management = Object.keys(w).find((id) => (w[id] ?? 0) > 0);
      }
      return undefined;
    },
  };
}

/**
 * While nothing but benign faults happen — no outage and no impaired link at all — no decision
 * takes traffic away from a region that nominally serves it: a clock step, a pause, a Route 53
 * outage or a full disk must never move traffic.
 */
export function noMoveWithoutCause(): Invariant {
  const cursors = new Map<string, number>();
  return {
    name: 'no-move-without-cause',
    description:
      'with no outage and no impaired link (clock steps, pauses, DNS trouble, full disks only), no decision takes traffic from a region that nominally serves it',
    round: 1,
    check(ctx) {
      const t = ctx.truth;
      for (const inst of ctx.instances) {
        const from = cursors.get(inst.name) ?? 0;
        if (from === inst.moves.length) continue;
        cursors.set(inst.name, inst.moves.length);
        for (const m of inst.moves.slice(from)) {
          if (t.strictSince === undefined || m.at - t.strictSince < ctx.bounds.graceMs) continue;
          if (m.at - t.lastPauseEnd < ctx.bounds.graceMs) continue;
          const record = ctx.topology.records.find((r) => r.key === m.recordKey);
          if (!record) continue;
          const nominal = nominalWeights(record, m.main, ctx.topology);
          for (const region of Object.keys(m.before))
            if (
              (m.before[region] ?? 0) > 0 &&
              (m.after[region] ?? 0) === 0 &&
              (nominal[region] ?? 0) > 0 &&
              // Held out since an earlier outage (hold-downs-respected checks how it got there).
              !m.evidence.out[region]?.includes(record.class)
            )
              return `${inst.name} moved ${m.recordKey} away from ${region} (${JSON.stringify(m.before)} → ${JSON.stringify(m.after)}) with no outage and no impaired link for ${Math.round((m.at - t.strictSince) / 1000)}s`;
        }
      }
      return undefined;
    },
  };
}
