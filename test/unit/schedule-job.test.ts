import { describe, expect, it } from 'vitest';
import type { CronFactory } from '../../src/schedule/cron.js';
import { cronJob } from '../../src/schedule/job.js';

function manualCron() {
  let trigger: (() => void) | undefined;
  const factory: CronFactory = (_e, fn) => {
    trigger = () => void fn(Date.now());
    return { stop: () => undefined };
  };
  return { factory, fire: () => trigger?.() };
}

describe('cronJob', () => {
  it('never overlaps runs: a fire during a run is skipped, runNow joins the run in flight', async () => {
    const cron = manualCron();
    let runs = 0;
    let release: () => void = () => undefined;
    const job = cronJob(
      '*/5 * * * *',
      () =>
        new Promise<void>((resolve) => {
          runs++;
          release = resolve;
        }),
      { cron: cron.factory },
    );
    cron.fire();
    await Promise.resolve();
    expect(job.running()).toBe(true);
    cron.fire();
    const joined = job.runNow();
    expect(runs).toBe(1);
    release();
    await joined;
    expect(job.running()).toBe(false);
    const second = job.runNow();
    release();
    await second;
    await job.stop();
    expect(runs).toBe(2);
  });

  it('a failing run reports the error and the job keeps working', async () => {
    const cron = manualCron();
    const errors: unknown[] = [];
    let n = 0;
    const job = cronJob(
      '* * * * *',
      () => {
        n++;
        if (n === 1) throw new Error('route53 throttled');
      },
      { cron: cron.factory, onError: (e) => errors.push(e) },
    );
    await job.runNow();
    await job.runNow();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    expect(job.running()).toBe(false);
    await job.stop();
    await job.runNow();
    expect(n).toBe(2);
  });

  it('runs on a real node-cron seconds schedule', async () => {
    let n = 0;
    const job = cronJob('* * * * * *', () => {
      n++;
    });
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    await job.stop();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(3);
  });
});
