import type { Logger } from 'pino';
import type { Plan } from '../decide/types.js';
import type { DecisionSummary } from '../server/status.js';
import type { Clock } from '../util/clock.js';

const KEEP = 20;

/**
 * The decisions an operator reads: one log event (and one /v1/status entry) per decision that
 * differs from the previous one — not one per tick. Changed records, actions and alerts make the
 * signature; a steady state logs nothing.
 */
export class DecisionLog {
  private lastSignature = '';
  private recent: DecisionSummary[] = [];

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  record(plan: Plan): void {
    const changed = plan.records.filter((r) => r.changed);
    const signature = JSON.stringify([
      changed.map((r) => [r.key, r.weights]),
      plan.actions.map((a) => [a.type, a.region, a.epoch]),
      plan.alerts.map((a) => a.message),
    ]);
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    if (changed.length === 0 && plan.actions.length === 0 && plan.alerts.length === 0) return;
    const summary: DecisionSummary = {
      at: new Date(this.clock.wall()).toISOString(),
      changed: changed.length > 0 || plan.actions.length > 0,
      reasons: plan.reasons,
      actions: [
        ...plan.actions.map((a) =>
          a.type === 'promote' ? `promote ${a.region} (epoch ${a.epoch})` : `fence ${a.region}`,
        ),
        ...changed.map(
          (r) =>
            `dns ${r.key} ${Object.entries(r.weights)
              .map(([id, w]) => `${id}=${w}`)
              .join(' ')}${r.dependsOn.length ? ` (after ${r.dependsOn.join(', ')})` : ''}`,
        ),
      ],
    };
    this.recent = [summary, ...this.recent].slice(0, KEEP);
    this.log.info(
      {
        event: 'decision',
        main: plan.main,
        epoch: plan.epoch,
        actions: summary.actions,
        alerts: plan.alerts.map((a) => a.kind),
        reasons: plan.reasons,
      },
      'decision',
    );
  }

  /** Newest first. */
  list(): DecisionSummary[] {
    return [...this.recent];
  }
}
