import { promotionWithinLagBound, singleWritablePrimary, splitBrainFenced } from './databases.js';
import { managementOneRegion, neverAllZero } from './dns.js';
import { epochMonotonic, savesSerialised, singleActorPerEpoch } from './epoch.js';
import {
  holdDownsRespected,
  noDecisionOnPanicTime,
  noMoveOnUnknown,
  noPromotionOnWeakEvidence,
} from './evidence.js';
import { noFalseFailover, noMoveWithoutCause } from './false-failover.js';
import {
  authAwayFromOldMain,
  convergesAfterHealing,
  promotionHappens,
  trafficLeavesFailedRegion,
} from './liveness.js';
import type { Invariant } from './types.js';

/** Every invariant, freshly made (they keep cursors: one set per run). */
export function allInvariants(): Invariant[] {
  return [
    neverAllZero(),
    managementOneRegion(),
    singleActorPerEpoch(),
    epochMonotonic(),
    savesSerialised(),
    singleWritablePrimary(),
    promotionWithinLagBound(),
    splitBrainFenced(),
    noMoveOnUnknown(),
    holdDownsRespected(),
    noPromotionOnWeakEvidence(),
    noDecisionOnPanicTime(),
    noFalseFailover(),
    noMoveWithoutCause(),
    trafficLeavesFailedRegion(),
    authAwayFromOldMain(),
    convergesAfterHealing(),
    promotionHappens(),
  ];
}

/** The invariants a harness of the given round can check. */
export function invariantsFor(round: 1 | 2): Invariant[] {
  return allInvariants().filter((i) => i.round <= round);
}
