import type { Plan } from '../decide/types.js';
import type { DesiredWeights } from '../dns/types.js';

export interface StagedWeights {
  /** What to save (intent first) and then write now: records that wait for nothing. */
  now: DesiredWeights;
  /**
   * What to save and write once the plan's promotion is verified: `now` plus the records that
   * waited for it (management). Undefined when the plan promotes nothing.
   */
  afterPromotion?: DesiredWeights;
}

/**
 * Splits a plan's weights into the stages the failover sequence needs. A record that waits for
 * something keeps the weights written before (the old main's DNS leaves first; management moves
 * only after the promotion is verified); a record that waits for evidence and was never written
 * is not written at all. Pure: the executor, the simulator and the property tests share it.
 */
export function stageWeights(plan: Plan, previous: Readonly<DesiredWeights>): StagedWeights {
  const now: DesiredWeights = {};
  for (const [key, w] of Object.entries(previous)) now[key] = { ...w };
  const promote = plan.actions.find((a) => a.type === 'promote');
  const promoteDep = promote ? `promote:${promote.region}` : undefined;
  let after: DesiredWeights | undefined;
  for (const r of plan.records) {
    if (r.dependsOn.length === 0) now[r.key] = { ...r.weights };
    else if (promoteDep && r.dependsOn.every((d) => d === promoteDep)) {
      after ??= {};
      after[r.key] = { ...r.weights };
    }
  }
  if (!promote) return { now };
  return { now, afterPromotion: { ...now, ...(after ?? {}) } };
}
