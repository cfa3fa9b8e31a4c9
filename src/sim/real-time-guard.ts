/**
 * While a simulation runs, real time must not be read and real timers must not be armed by the
 * code under test: either would make a run depend on the machine instead of the seed (and a
 * real timer's callback would run outside the kernel's order). This guard wraps the global
 * clocks and timers for the duration of a run and records every call made directly from this
 * repository's `src/` (what the lint rule forbids, caught at run time, including the files it
 * exempts) — the simulator reports them as the `no-real-time` invariant. Calls from elsewhere
 * (libraries, the test runner, Node itself) pass through untouched.
 */
export interface RealTimeUse {
  api: string;
  /** The frame in src/ that made the call. */
  at: string;
}

type Fn = (...args: never[]) => unknown;

export function guardRealTime(): { uses: RealTimeUse[]; restore(): void } {
  const uses: RealTimeUse[] = [];
  const restores: Array<() => void> = [];
  const wrap = (owner: object, name: string, api: string) => {
    const target = owner as Record<string, unknown>;
    const original = target[name] as Fn;
    target[name] = function (this: unknown, ...args: never[]) {
      // The direct caller (the frame after this wrapper): code in src/ calling it itself, as the
      // lint rule forbids; a library's own use of the clock (prom-client, pino) is not counted.
      const frames: { stack?: string } = {};
      Error.captureStackTrace(frames);
      const caller = frames.stack?.split('\n')[2] ?? '';
      if (/\/src\//.test(caller)) uses.push({ api, at: caller.trim() });
      return original.apply(this, args);
    };
    restores.push(() => {
      target[name] = original;
    });
  };
  wrap(Date, 'now', 'Date.now');
  wrap(performance, 'now', 'performance.now');
  wrap(globalThis, 'setTimeout', 'setTimeout');
  wrap(globalThis, 'setInterval', 'setInterval');
  return {
    uses,
    restore: () => {
      for (const r of restores.reverse()) r();
    },
  };
}
