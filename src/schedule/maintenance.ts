import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { SwitchyardError } from '../util/errors.js';
import { type CronFactory, type CronHandle, nodeCronFactory } from './cron.js';
import {
  type ActiveWindow,
  activeWindows,
  type CompiledWindow,
  compileWindows,
  type MaintenanceWindow,
} from './windows.js';

export interface MaintenanceChange {
  region: string;
  /** true: drain the region now; false: its last window ended. */
  active: boolean;
  /** While active: when the (latest-ending) open window closes. */
  until?: number;
  reason: string;
}

export interface MaintenanceSchedule {
  /** Regions inside a maintenance window right now. */
  active(): string[];
  /** Re-evaluates against the clock (also run on every cron fire and window end). */
  evaluate(at?: number): void;
  stop(): Promise<void>;
}

function describe(w: MaintenanceWindow): string {
  return `"${w.cron}"${w.timezone ? ` (${w.timezone})` : ''} for ${formatDuration(w.duration)}`;
}

/**
 * Drains a region while one of its maintenance windows (cron + duration) is open. The state is
 * recomputed from the cron expressions each time (at start, on each cron fire, at each window's
 * end) rather than remembered, so a restart in the middle of a window drains at once.
 */
export function scheduleMaintenance(
  windows: readonly MaintenanceWindow[],
  clock: Clock = systemClock,
  onChange: (change: MaintenanceChange) => void = () => undefined,
  opts: { cron?: CronFactory } = {},
): MaintenanceSchedule {
  let compiled: CompiledWindow[];
  try {
    compiled = compileWindows(windows);
  } catch (e) {
    throw new SwitchyardError('CONFIG_INVALID', `maintenance: ${(e as Error).message}`);
  }
  const cron = opts.cron ?? nodeCronFactory;
  let open = new Map<string, ActiveWindow[]>();
  let endTimer: TimerHandle | undefined;
  let stopped = false;

  const evaluate = (at?: number) => {
    if (stopped) return;
    const now = Math.max(clock.wall(), at ?? 0);
    const next = new Map<string, ActiveWindow[]>();
    for (const a of activeWindows(compiled, now)) next.set(a.region, [...(next.get(a.region) ?? []), a]);
    for (const [region, list] of next) {
      if (open.has(region)) continue;
      const until = Math.max(...list.map((a) => a.end));
      const w = compiled[(list[0] as ActiveWindow).index] as CompiledWindow;
      onChange({
        region,
        active: true,
        until,
        reason: `maintenance window ${describe(w)} opened at ${new Date((list[0] as ActiveWindow).start).toISOString()}, until ${new Date(until).toISOString()}`,
      });
    }
    for (const region of open.keys())
      if (!next.has(region)) onChange({ region, active: false, reason: 'maintenance window ended' });
    open = next;
    if (endTimer) clock.clearTimeout(endTimer);
    endTimer = undefined;
    const ends = [...next.values()].flat().map((a) => a.end);
    if (ends.length > 0)
      endTimer = clock.setTimeout(() => evaluate(), Math.max(0, Math.min(...ends) - clock.wall()));
  };

  const handles: CronHandle[] = compiled.map((w) =>
    cron(w.cron, (firedAt) => evaluate(firedAt), {
      ...(w.timezone ? { timezone: w.timezone } : {}),
      name: `maintenance-${w.region}-${w.index}`,
    }),
  );
  evaluate();

  return {
    active: () => [...open.keys()],
    evaluate,
    async stop() {
      stopped = true;
      if (endTimer) clock.clearTimeout(endTimer);
      await Promise.all(handles.map((h) => h.stop()));
    },
  };
}
