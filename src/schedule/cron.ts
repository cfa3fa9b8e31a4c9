import { createTask, schedule, validate } from 'node-cron';
import { SwitchyardError } from '../util/errors.js';

/** Tests the cron expression against an instant; cheap enough to call per minute stepped over. */
export type CronMatcher = (at: Date) => boolean;

/**
 * node-cron's own matcher (same parser, same timezone handling as the scheduler that fires the
 * job), without keeping a task registered: the task is destroyed at once, its matcher survives.
 */
export function cronMatcher(expr: string, timezone?: string): CronMatcher {
  if (!validate(expr))
    throw new SwitchyardError('CONFIG_INVALID', `"${expr}" is not a valid cron expression`);
  if (timezone !== undefined) new Intl.DateTimeFormat('en-US', { timeZone: timezone }); // throws RangeError
  const task = createTask(expr, () => undefined, timezone ? { timezone } : {});
  void task.destroy();
  return (at) => task.match(at);
}

/** True when the expression has a seconds field (6 fields): fire times are then per second. */
export function hasSeconds(expr: string): boolean {
  return expr.trim().split(/\s+/).length === 6;
}

/** A started cron trigger; `firedAt` is the planned fire time (ms), not when the callback ran. */
export interface CronHandle {
  stop(): void | Promise<void>;
}
export type CronFactory = (
  expr: string,
  fn: (firedAt: number) => void | Promise<void>,
  opts: { timezone?: string; name?: string },
) => CronHandle;

/** The production trigger: node-cron. */
export const nodeCronFactory: CronFactory = (expr, fn, opts) => {
  const task = schedule(expr, (ctx) => fn(ctx.date.getTime()), {
    ...(opts.timezone ? { timezone: opts.timezone } : {}),
    ...(opts.name ? { name: opts.name } : {}),
    noOverlap: true,
  });
  return { stop: () => task.destroy() };
};
