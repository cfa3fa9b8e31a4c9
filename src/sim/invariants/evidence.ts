import type { ComponentHealth, HealthView, Status } from '../../decide/types.js';
import { fallbackOrder, regionById } from '../../topology/build.js';
import type { Policy, RecordDef, RegionId, Topology, TrafficClass } from '../../topology/types.js';
import type { Evidence, Invariant } from './types.js';

/**
 * The evidence oracle, written apart from the engine: what one view says of a component, and
 * whether a quorum of views says it. A component never probed, or last probed longer ago than
 * staleAfter, is unknown — and unknown must never move anything.
 */
export function seen(
  h: ComponentHealth | undefined,
  policy: Policy,
  now: number,
): { status: Status; forMs: number } {
  if (!h || h.status === 'unknown' || h.checkedAt === undefined || now - h.checkedAt > policy.staleAfterMs)
    return { status: 'unknown', forMs: 0 };
  return { status: h.status, forMs: now - h.since };
}

function componentOf(cls: TrafficClass): 'gateway' | 'keyManager' | undefined {
  return cls === 'api' ? 'gateway' : cls === 'auth' ? 'keyManager' : undefined;
}

function votes(
  views: readonly HealthView[],
  pick: (v: HealthView) => ComponentHealth | undefined,
  policy: Policy,
  now: number,
  want: (s: { status: Status; forMs: number }) => boolean,
): number {
  return views.filter((v) => want(seen(pick(v), policy, now))).length;
}

/** A region's rank for a record: home first, then the home's fallbacks, then everyone else. */
function rank(record: RecordDef, region: RegionId, topology: Topology): number {
  if (record.home === undefined) return 0;
  if (region === record.home) return 0;
  const home = regionById(topology, record.home);
  if (home?.fallback.kind === 'split') return region in home.fallback.weights ? 1 : 100;
  const order = home ? fallbackOrder(home.fallback) : [];
  const i = order.indexOf(region);
  return i >= 0 ? 1 + i : 100;
}

/** Why a region losing all of its weight in a record is justified by the evidence; undefined when not. */
export function justifyLoss(
  record: RecordDef,
  region: RegionId,
  before: Record<RegionId, number>,
  after: Record<RegionId, number>,
  evidence: Evidence,
  topology: Topology,
  quorum: number,
): string | undefined {
  const policy = topology.policy;
  const { views, now, overrides } = evidence;
  if (overrides.drained.includes(region) || overrides.maintenance?.includes(region)) return 'drained';
  const comp = componentOf(record.class);
  if (!comp) return 'management (judged by the management invariants)';
  const down = votes(
    views,
    (v) => v[region]?.[comp],
    policy,
    now,
    (s) => s.status === 'down' && s.forMs >= policy.failAfterMs,
  );
  if (down >= quorum) return `${region} ${comp} down past failAfter`;
  // Held out by an earlier decision (checked when it was made) and not yet healthy for recoverAfter:
  // its weight was there only because no region could serve (the last good answer).
  if (evidence.out[region]?.includes(record.class)) {
    const back = votes(
      views,
      (v) => v[region]?.[comp],
      policy,
      now,
      (s) => s.status === 'up' && s.forMs >= policy.recoverAfterMs,
    );
    if (back < quorum) return `${region} held out of ${record.class} until recoverAfter`;
  }
  // Auth stays away from a region whose databases are writable without being the main's, and from
  // one demoted by a verified promotion (persisted: its databases may read unknown once fenced).
  if (record.class === 'auth' && evidence.demoted?.includes(region)) return `${region} is demoted`;
  if (record.class === 'auth') {
    const barred = views.filter((v) =>
      Object.values(v[region]?.databases ?? {}).some((d) => {
        const s = seen(d, policy, now);
        return s.status === 'up' && (d.writable === true || d.role === 'primary');
      }),
    ).length;
    if (barred >= quorum) return `${region} databases are not replicas of the main`;
  }
  for (const g of Object.keys(after)) {
    if ((after[g] ?? 0) <= (before[g] ?? 0)) continue;
    if (rank(record, g, topology) >= rank(record, region, topology)) continue;
    const up = votes(
      views,
      (v) => v[g]?.[comp],
      policy,
      now,
      (s) => s.status === 'up',
    );
    if (up >= quorum) return `${g} (preferred) is back`;
  }
  return undefined;
}

/** "no record moves on unknown evidence or on fewer observers than the quorum". */
export function noMoveOnUnknown(): Invariant {
  const cursors = new Map<string, number>();
  return {
    name: 'no-move-on-unknown',
    description:
      'a region loses a record’s traffic only on known evidence from a quorum of observers: down past failAfter, drained, barred from auth, or a preferred region seen healthy again',
    round: 1,
    check(ctx) {
      for (const inst of ctx.instances) {
        const from = cursors.get(inst.name) ?? 0;
        if (from === inst.moves.length) continue;
        cursors.set(inst.name, inst.moves.length);
        for (const m of inst.moves.slice(from)) {
          const record = ctx.topology.records.find((r) => r.key === m.recordKey);
          if (!record || record.class === 'management') continue;
          for (const region of Object.keys(m.before)) {
            if ((m.before[region] ?? 0) === 0 || (m.after[region] ?? 0) !== 0) continue;
            if (justifyLoss(record, region, m.before, m.after, m.evidence, ctx.topology, ctx.quorum))
              continue;
            const comp = componentOf(record.class) as 'gateway' | 'keyManager';
            const what = describeViews(
              m.evidence.views,
              (v) => v[region]?.[comp],
              ctx.topology.policy,
              m.evidence.now,
            );
            return `${inst.name} moved ${m.recordKey} away from ${region} (${JSON.stringify(m.before)} → ${JSON.stringify(m.after)}) while its ${comp} was ${what}`;
          }
        }
      }
      return undefined;
    },
  };
}

/**
 * The anti-flap memory follows known evidence too: a region is put out of a class only when a
 * quorum saw its component down past failAfter, and let back in only when a quorum saw it up
 * for recoverAfter.
 */
export function holdDownsRespected(): Invariant {
  const cursors = new Map<string, number>();
  return {
    name: 'hold-downs-respected',
    description:
      'a region leaves a class only after a quorum saw it down for failAfter, and returns only after a quorum saw it up for recoverAfter',
    round: 1,
    check(ctx) {
      const policy = ctx.topology.policy;
      for (const inst of ctx.instances) {
        const from = cursors.get(inst.name) ?? 0;
        if (from === inst.holds.length) continue;
        cursors.set(inst.name, inst.holds.length);
        for (const h of inst.holds.slice(from)) {
          const comp = componentOf(h.cls);
          if (!comp) continue;
          const { views, now } = h.evidence;
          const pick = (v: HealthView) => v[h.region]?.[comp];
          if (h.change === 'out') {
            const down = votes(
              views,
              pick,
              policy,
              now,
              (s) => s.status === 'down' && s.forMs >= policy.failAfterMs,
            );
            if (down < ctx.quorum)
              return `${inst.name} held ${h.region} out of ${h.cls} while its ${comp} was ${describeViews(views, pick, policy, now)} (needs down for ${policy.failAfterMs / 1000}s)`;
          } else {
            const up = votes(
              views,
              pick,
              policy,
              now,
              (s) => s.status === 'up' && s.forMs >= policy.recoverAfterMs,
            );
            if (up < ctx.quorum)
              return `${inst.name} let ${h.region} back into ${h.cls} while its ${comp} was ${describeViews(views, pick, policy, now)} (needs up for ${policy.recoverAfterMs / 1000}s)`;
          }
        }
      }
      return undefined;
    },
  };
}

function describeViews(
  views: readonly HealthView[],
  pick: (v: HealthView) => ComponentHealth | undefined,
  policy: Policy,
  now: number,
): string {
  return views
    .map((v) => {
      const s = seen(pick(v), policy, now);
      return `${s.status}${s.status === 'unknown' ? '' : ` for ${Math.round(s.forMs / 1000)}s`}`;
    })
    .join(', ');
}

/**
 * The panic guard suspects the observer while most regions look down at once; what it saw then
 * is no evidence. Once the panic lifts, a region leaves a class, or the main is promoted, only
 * when it has been down for failAfter / promoteAfter since the panic ended — not on down-time
 * that ran on while the guard held everything.
 */
export function noDecisionOnPanicTime(): Invariant {
  const moveCursor = new Map<string, number>();
  const promoteCursor = new Map<string, number>();
  return {
    name: 'no-decision-on-panic-time',
    description:
      'after the panic guard lifts, traffic leaves a region, or the main is promoted, only on down-time counted since the panic ended',
    round: 1,
    check(ctx) {
      const policy = ctx.topology.policy;
      for (const inst of ctx.instances) {
        const ended = (now: number) => {
          let end: number | undefined;
          for (const w of inst.panics) if (w.to !== undefined && w.to <= now) end = w.to;
          return end;
        };
        const m0 = moveCursor.get(inst.name) ?? 0;
        moveCursor.set(inst.name, inst.moves.length);
        for (const m of inst.moves.slice(m0)) {
          const end = ended(m.evidence.now);
          if (end === undefined || m.evidence.now - end >= policy.failAfterMs) continue;
          const record = ctx.topology.records.find((r) => r.key === m.recordKey);
          const comp = record ? componentOf(record.class) : undefined;
          if (!comp) continue;
          for (const region of Object.keys(m.before)) {
            if ((m.before[region] ?? 0) === 0 || (m.after[region] ?? 0) !== 0) continue;
            const since = m.evidence.views
              .map((v) => v[region]?.[comp])
              .find((h) => h?.status === 'down')?.since;
            if (
              since !== undefined &&
              since < end &&
              !m.evidence.out[region]?.includes(record?.class ?? 'api')
            )
              return `${inst.name} moved ${m.recordKey} away from ${region} ${Math.round((m.evidence.now - end) / 1000)}s after the panic guard lifted, on down-time counted during the panic`;
          }
        }
        const p0 = promoteCursor.get(inst.name) ?? 0;
        promoteCursor.set(inst.name, inst.promotions.length);
        for (const p of inst.promotions.slice(p0)) {
          const end = ended(p.evidence.now);
          if (end === undefined || p.evidence.now - end >= policy.promotion.promoteAfterMs) continue;
          if (p.evidence.overrides.failover?.to === p.region) continue;
          const main = regionById(ctx.topology, p.from);
          const early = (main?.databases ?? []).some((key) =>
            p.evidence.views.some((v) => {
              const d = v[p.from]?.databases?.[key];
              return d?.status === 'down' && d.since < end;
            }),
          );
          if (early)
            return `${inst.name} promoted ${p.region} (epoch ${p.epoch}) ${Math.round((p.evidence.now - end) / 1000)}s after the panic guard lifted, on ${p.from}'s down-time counted during the panic`;
        }
      }
      return undefined;
    },
  };
}

/** "nothing is promoted on unknown evidence or on one observer's view" (round 2: the daemon promotes). */
export function noPromotionOnWeakEvidence(): Invariant {
  const cursors = new Map<string, number>();
  return {
    name: 'no-promotion-on-weak-evidence',
    description:
      'a promotion needs every database of the main down past promoteAfter and the target’s replicas up, each from a quorum of observers (or an operator’s failover)',
    round: 1,
    check(ctx) {
      const policy = ctx.topology.policy;
      for (const inst of ctx.instances) {
        const from = cursors.get(inst.name) ?? 0;
        if (from === inst.promotions.length) continue;
        cursors.set(inst.name, inst.promotions.length);
        for (const p of inst.promotions.slice(from)) {
          const { views, now, overrides } = p.evidence;
          if (overrides.failover?.to === p.region) continue;
          const main = regionById(ctx.topology, p.from);
          const target = regionById(ctx.topology, p.region);
          for (const key of main?.databases ?? []) {
            const down = votes(
              views,
              (v) => v[p.from]?.databases?.[key],
              policy,
              now,
              (s) => s.status === 'down' && s.forMs >= policy.promotion.promoteAfterMs,
            );
            if (down < ctx.quorum)
              return `${inst.name} promoted ${p.region} (epoch ${p.epoch}) although ${p.from} database ${key} was not seen down past promoteAfter by ${ctx.quorum} observer(s)`;
          }
          for (const key of target?.databases ?? []) {
            const up = votes(
              views,
              (v) => v[p.region]?.databases?.[key],
              policy,
              now,
              (s) => s.status === 'up',
            );
            if (up < ctx.quorum)
              return `${inst.name} promoted ${p.region} (epoch ${p.epoch}) although its database ${key} was not seen up by ${ctx.quorum} observer(s)`;
          }
        }
      }
      return undefined;
    },
  };
}
