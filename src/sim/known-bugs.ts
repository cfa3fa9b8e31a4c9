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

/**
 * None open. The five the simulator found in round 1 are fixed, each with its regression seed
 * flipped to "ok" (test/sim/regression-seeds.json, field `fixed`): the panic guard's hold-downs
 * (PanicMemory), auth back on a hard-fenced old main (persisted demotion), the RPO bound at the
 * moment of promotion (PromoteOptions.maxLag), a Route 53 call that never answers (bounded calls),
 * GetChange pollers starving writes (one poller for the latest change). The one found in round 2
 * is fixed too: a leader deposed mid-failover went on acting (StateKeeper refuses leader writes
 * unless the instance may act).
 */
export const KNOWN_BUGS: readonly KnownBug[] = [];

export function knownBug(
  invariant: string,
  ctx: CheckContext,
  bugs: readonly KnownBug[] = KNOWN_BUGS,
): KnownBug | undefined {
  return bugs.find((b) => b.invariant === invariant && (b.matches?.(ctx) ?? true));
}
