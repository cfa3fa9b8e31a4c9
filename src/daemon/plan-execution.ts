import type { Logger } from 'pino';
import type { Plan } from '../decide/types.js';
import type { DesiredWeights } from '../dns/types.js';
import type { DatabaseActuator } from './database-actuator.js';
import { stageWeights } from './staging.js';
import type { StateKeeper } from './state-keeper.js';

export interface PlanExecutorDeps {
  keeper: StateKeeper;
  actuator: DatabaseActuator;
  logger: Logger;
  /** Checked before every step: an instance that may no longer act stops between steps. */
  canAct(): boolean;
}

export type ExecutionOutcome = 'applied' | 'not-acting' | 'partial';

/**
 * Executes a plan, intent first. The next state — weights to write now, hold-downs, demotions —
 * is saved before anything is applied; DNS is told only what a save committed (the reconciler is
 * fed from the keeper's commits), so a full disk or a crash between two steps can never leave DNS
 * ahead of the state that explains it. Then fences; then the promotion (which records its own
 * intent with the new epoch); then, only once the promotion is verified, the records that waited
 * for it. A save that fails throws (STATE_UNWRITABLE) and nothing of the plan is applied.
 */
export class PlanExecutor {
  constructor(private readonly deps: PlanExecutorDeps) {}

  async execute(plan: Plan): Promise<ExecutionOutcome> {
    const { keeper, actuator } = this.deps;
    if (!this.deps.canAct()) return 'not-acting';
    const staged = stageWeights(plan, keeper.current.engine.weights);
    await keeper.update(
      (d) => {
        d.engine.out = plan.next.out;
        if (plan.next.demoted) d.engine.demoted = plan.next.demoted;
        else delete d.engine.demoted;
        d.engine.weights = staged.now;
      },
      { asLeader: true },
    );

    for (const a of plan.actions) {
      if (a.type !== 'fence') continue;
      if (!this.deps.canAct()) return 'partial';
      await actuator.fence(a);
    }
    const promote = plan.actions.find((a) => a.type === 'promote');
    if (promote?.type !== 'promote' || !staged.afterPromotion) return 'applied';
    if (!this.deps.canAct()) return 'partial';
    if (!(await actuator.promote(promote))) return 'partial';
    const after: DesiredWeights = staged.afterPromotion;
    await keeper.update(
      (d) => {
        d.engine.weights = { ...d.engine.weights, ...after };
      },
      { asLeader: true },
    );
    return 'applied';
  }
}
