import { type CronFactory, nodeCronFactory } from './cron.js';

export interface CronJob {
  /** Runs the job now unless a run is in flight (then waits for that one). */
  runNow(): Promise<void>;
  /** Stops the trigger and waits for a run in flight. */
  stop(): Promise<void>;
  running(): boolean;
}

export interface CronJobOptions {
  name?: string;
  timezone?: string;
  /** Called with the job's error; a failed run never stops the schedule. */
  onError?: (err: unknown) => void;
  cron?: CronFactory;
}

/**
 * A periodic job (e.g. the full DNS reconcile) on a cron expression. Runs never overlap, whether
 * triggered by the cron or by `runNow`: a run due while one is in flight is skipped.
 */
export function cronJob(expr: string, fn: () => Promise<void> | void, opts: CronJobOptions = {}): CronJob {
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const run = (): Promise<void> => {
    if (inFlight) return inFlight;
    if (stopped) return Promise.resolve();
    const p = (async () => {
      try {
        await fn();
      } catch (e) {
        opts.onError?.(e);
      }
    })().then(() => {
      if (inFlight === p) inFlight = undefined;
    });
    inFlight = p;
    return p;
  };
  const handle = (opts.cron ?? nodeCronFactory)(
    expr,
    () => {
      void run();
    },
    { ...(opts.timezone ? { timezone: opts.timezone } : {}), ...(opts.name ? { name: opts.name } : {}) },
  );
  return {
    runNow: run,
    running: () => inFlight !== undefined,
    async stop() {
      stopped = true;
      await handle.stop();
      await inFlight;
    },
  };
}
