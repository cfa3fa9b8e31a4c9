import type { CheckContext } from './invariants/types.js';

/**
 * Bugs in the production code the simulator has found and that are not fixed yet. Each names
 * the invariant that catches it and how to recognise its violation. A run with `skipKnownBugs`
 * (the CI seed budget, sweeps over many seeds) records a matching violation as a known-bug hit,
 * mutes that invariant for the rest of the run and goes on, so other bugs stay visible; the
 * regression seeds in test/sim/regression-seeds.json replay each one strictly. Delete an entry
 * with its fix, and flip its regression seed to "ok".
 */
export interface KnownBug {
  invariant: string;
  description: string;
  /** Is this violation the known bug (default: any violation of the invariant)? */
  matches?(ctx: CheckContext): boolean;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    invariant: 'auth-away-from-old-main',
    description:
      'decide bars auth from an old main only while its databases are seen up (split-brain / detached); once the hard fence has stopped them they read as down, the bar lifts, and auth returns to the old main (seed 1, scenario main-lost)',
    matches: (ctx) => ctx.world.databases.detached().some((n) => n.hardFenced),
  },
  {
    invariant: 'no-decision-on-panic-time',
    description:
      'the panic guard holds everything while most regions look down, but the hold-down clocks keep running: when the panic lifts because other regions answer first, the down-time counted during the panic makes the main promoted away (and traffic leave it) at once (seed 1, scenario observer-isolated)',
  },
  {
    invariant: 'no-false-failover',
    description:
      'the same bug seen from the world: the promotion lands with no real outage left (swarm seed 203)',
    matches: (ctx) => ctx.now - ctx.truth.panicEndedAt < 2 * ctx.topology.policy.promotion.promoteAfterMs,
  },
  {
    invariant: 'promotion-within-lag-bound',
    description:
      'the RPO guard (maxLagSeconds / maxLagBytes) is judged on the last probe, up to an interval old; the promoter reads the replica’s lag right before pg_promote, records it, and promotes anyway, so a replica falling behind meanwhile is promoted beyond the bound (seed 30, random)',
  },
];

export function knownBug(invariant: string, ctx: CheckContext): KnownBug | undefined {
  return KNOWN_BUGS.find((b) => b.invariant === invariant && (b.matches?.(ctx) ?? true));
}
