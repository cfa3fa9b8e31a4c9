import { nominalWeights } from '../../decide/records.js';
import type { CheckContext, Invariant } from './types.js';

/**
 * The earliest time a deadline counted from `since` may fall: the bound restarts after Route 53
 * trouble, a pause, a possible panic or a full disk (nobody may act without saving intent), and
 * a drift made in the console waits for the next full reconcile.
 */
function deadline(ctx: CheckContext, since: number, bound: number): number {
  const t = ctx.truth;
  const b = ctx.bounds;
  const after = (s: number | undefined, ms: number) => (s === undefined ? Number.POSITIVE_INFINITY : s + ms);
  return Math.max(
    since + bound,
    after(t.dnsHealthySince, b.dnsRecoveryMs),
    after(t.diskHealthySince, bound),
    t.lastPauseEnd + bound,
    t.panicEndedAt + bound,
    t.lastDriftAt + b.fullReconcileMs + b.dnsRecoveryMs,
  );
}

/**
 * Liveness of traffic moves: a region whose gateway (api) or key manager (auth) has failed from
 * a quorum of observers for longer than the detection bound no longer gets that traffic, when
 * another target of the record can serve. The clock of the bound restarts after Route 53 trouble,
 * a pause, or a panic (more regions failing than the panic threshold: nothing moves then).
 */
export function trafficLeavesFailedRegion(): Invariant {
  return {
    name: 'traffic-leaves-failed-region',
    description:
      'a region whose gateway / key manager fails from a quorum for longer than the detection bound gets no api / auth traffic (when another target can serve)',
    round: 1,
    check(ctx) {
      const t = ctx.truth;
      if (t.panicSince !== undefined || t.failingSince.size === 0) return undefined;
      if (!ctx.instances.some((i) => i.alive())) return undefined;
      const weights = ctx.world.dns.weights();
      for (const record of ctx.topology.records) {
        const comp = record.class === 'api' ? 'gateway' : record.class === 'auth' ? 'keyManager' : undefined;
        if (!comp) continue;
        const w = weights[record.key] ?? {};
        for (const region of Object.keys(record.targets)) {
          const since = t.failing(`${region}.${comp}`);
          if (since === undefined || (w[region] ?? 0) === 0) continue;
          // Somewhere to go: another target clean long enough to have come back from any hold-down
          // (counted, like every hold-down, from the end of the last possible panic at the earliest).
          // (For auth, not a region holding a detached database: rule 4 keeps auth away from it.)
          const ready = Object.keys(record.targets)
            .filter((g) => g !== region && !(comp === 'keyManager' && t.detachedSince.has(g)))
            .map((g) => t.clean(`${g}.${comp}`))
            .filter((c): c is number => c !== undefined)
            .map((c) => Math.max(c, t.panicEndedAt) + ctx.bounds.recoverMs);
          if (ready.length === 0) continue;
          const due = Math.max(deadline(ctx, since, ctx.bounds.detectMs), Math.min(...ready));
          if (ctx.now >= due)
            return `${region} ${comp} has failed for ${Math.round((ctx.now - since) / 1000)}s (bound ${Math.round(ctx.bounds.detectMs / 1000)}s) but ${record.key} still sends it weight ${w[region]} (${JSON.stringify(w)})`;
        }
      }
      return undefined;
    },
  };
}

/**
 * Safety rule 4: a returning old main never takes auth (or management) again by itself. A region
 * holding a detached database — an old primary the failover left behind, or a server stopped by
 * the hard fence — gets no auth traffic until an operator rebuilds it as a replica (when another
 * target can serve auth), past the detection bound.
 */
export function authAwayFromOldMain(): Invariant {
  return {
    name: 'auth-away-from-old-main',
    description:
      'a region holding a detached database (an old primary, or one the hard fence stopped) gets no auth traffic until it is rebuilt as a replica',
    round: 1,
    check(ctx) {
      const t = ctx.truth;
      if (t.detachedSince.size === 0 || t.panicSince !== undefined) return undefined;
      const weights = ctx.world.dns.weights();
      for (const record of ctx.topology.records) {
        if (record.class !== 'auth') continue;
        const w = weights[record.key] ?? {};
        for (const [region, since] of t.detachedSince) {
          if ((w[region] ?? 0) === 0) continue;
          // Somewhere else to send auth: a target clean long enough to have come back from any
          // hold-down (until then the never-all-zero rule keeps the last good answer).
          const ready = Object.keys(record.targets)
            .filter((g) => g !== region && !t.detachedSince.has(g))
            .map((g) => t.clean(`${g}.keyManager`))
            .filter((c): c is number => c !== undefined)
            .map((c) => Math.max(c, t.panicEndedAt) + ctx.bounds.recoverMs);
          if (ready.length === 0) continue;
          if (ctx.now < Math.max(deadline(ctx, since, ctx.bounds.detectMs), Math.min(...ready))) continue;
          const nodes = ctx.world.databases
            .detached()
            .filter((n) => n.region === region)
            .map(
              (n) =>
                `${n.id}${n.hardFenced ? ' (stopped by the hard fence)' : ` (primary at epoch ${n.epoch})`}`,
            );
          return `${record.key} sends auth to ${region} (weight ${w[region]}) although ${nodes.join(', ')} ${nodes.length === 1 ? 'is' : 'are'} not the main's replica${nodes.length === 1 ? '' : 's'} (for ${Math.round((ctx.now - since) / 1000)}s)`;
        }
      }
      return undefined;
    },
  };
}

/**
 * "after all faults heal the system converges within a bound": once no fault has been in
 * progress for the convergence bound, every record has its nominal weights for the current
 * main, and the main's databases are writable.
 */
export function convergesAfterHealing(): Invariant {
  let checkedFor: number | undefined;
  let dnsSeen = -1;
  const verdict = (ctx: CheckContext): string | undefined => {
    const inst = ctx.instances.find((i) => i.alive());
    if (!inst) return undefined;
    // An old main after a failover waits for an operator's rebuild: auth stays away from it.
    if (ctx.world.databases.detached().length > 0) return undefined;
    const main = inst.main();
    const live = ctx.world.dns.weights();
    for (const record of ctx.topology.records) {
      const want = nominalWeights(record, main, ctx.topology);
      const have = live[record.key] ?? {};
      for (const id of Object.keys(record.targets))
        if ((want[id] ?? 0) !== (have[id] ?? 0))
          return `${Math.round((ctx.now - (ctx.truth.calmSince ?? 0)) / 1000)}s after the last fault healed, ${record.key} is ${JSON.stringify(have)}, not its nominal ${JSON.stringify(want)}`;
    }
    const notWritable = ctx.world.databases.ofRegion(main).filter((n) => !n.writable);
    if (notWritable.length > 0)
      return `${Math.round((ctx.now - (ctx.truth.calmSince ?? 0)) / 1000)}s after the last fault healed, the main ${main} has ${notWritable.map((n) => n.id).join(', ')} not writable`;
    return undefined;
  };
  return {
    name: 'converges-after-healing',
    description:
      'once every fault has healed for the convergence bound, every record is at its nominal weights and the main’s databases are writable',
    round: 1,
    check(ctx) {
      const calm = ctx.truth.calmSince;
      if (calm === undefined || ctx.now < calm + ctx.bounds.convergeMs) return undefined;
      if (checkedFor === calm && dnsSeen === ctx.world.dns.version) return undefined;
      checkedFor = calm;
      dnsSeen = ctx.world.dns.version;
      return verdict(ctx);
    },
  };
}

/**
 * Liveness of promotion (round 2): the main's databases unreachable from a quorum for longer
 * than the promotion bound, with a healthy replica region, means the replica has been promoted
 * (automatic mode).
 */
export function promotionHappens(): Invariant {
  return {
    name: 'promotion-happens',
    description:
      'in automatic mode, a main whose every database fails from a quorum past the promotion bound has been replaced',
    round: 1,
    check(ctx) {
      if (ctx.topology.policy.promotion.mode !== 'automatic' || ctx.truth.panicSince !== undefined)
        return undefined;
      // Rule 6: with fewer than three observer regions automatic promotion waits for an operator.
      if (ctx.observerRegions !== undefined && ctx.observerRegions < 3) return undefined;
      const inst = ctx.instances.find((i) => i.alive());
      if (!inst) return undefined;
      const main = ctx.topology.regions.find((r) => r.id === inst.main());
      if (!main || main.databases.length === 0) return undefined;
      const since = main.databases.map((k) => ctx.truth.failing(`${main.id}.database.${k}`));
      if (since.some((s) => s === undefined)) return undefined;
      const start = Math.max(...(since as number[]));
      // A candidate with nothing wrong with it or the paths to it (a lossy path may fail any number of attempts).
      const candidate = ctx.topology.regions.find(
        (r) => r.id !== main.id && r.role !== 'edge' && ctx.truth.pristineSince.has(r.id),
      );
      if (!candidate) return undefined;
      const due = Math.max(
        deadline(ctx, start, ctx.bounds.promoteMs),
        (ctx.truth.pristineSince.get(candidate.id) as number) + ctx.bounds.promoteMs,
      );
      if (ctx.now < due) return undefined;
      return `${main.id}'s databases have failed for ${Math.round((ctx.now - start) / 1000)}s and ${candidate.id} is healthy, but ${inst.name} still names ${main.id} the main`;
    },
  };
}
