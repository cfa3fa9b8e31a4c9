import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { StandaloneCoordination } from '../../src/coord/coordination.js';
import { DecisionLog } from '../../src/daemon/decision-log.js';
import { DirectorLoop } from '../../src/daemon/loop.js';
import type { PlanExecutor } from '../../src/daemon/plan-execution.js';
import { StateKeeper } from '../../src/daemon/state-keeper.js';
import { decide } from '../../src/decide/decide.js';
import type { DecideInput, Plan } from '../../src/decide/types.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';
import { createCoreMetrics } from '../../src/metrics.js';
import { freshState } from '../../src/state/create.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { buildTopology } from '../../src/topology/build.js';
import { FakeClock, flushMicrotasks, sleep } from '../../src/util/clock.js';

/**
 * `runNow()` is what an operator request waits on after saving its override (failover, drain,
 * freeze): the cycle it waits for must have read its input after the call. CI caught a manual
 * failover answered "did not start" (exit 5): it had joined a tick that was already deciding on
 * the state from before the override, and the override was then withdrawn.
 */
/** A loop on a fake clock whose apply step is `execute` (the n-th call is given n, from 1). */
function loopWith(execute: (n: number, clock: FakeClock) => Promise<void>) {
  process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
  const topology = buildTopology(demoConfig(new DemoWorld(), '/nonexistent', '127.0.0.1:0'));
  const clock = new FakeClock();
  const logger = pino({ level: 'silent' });
  const keeper = new StateKeeper(
    new MemoryStateStore(),
    freshState({ epoch: 0, main: 'r1', out: {}, weights: {} }),
    clock,
  );
  const seen: DecideInput[] = [];
  /** The state version each decision read. */
  const versions: number[] = [];
  let executions = 0;
  const executor = {
    execute: async (_plan: Plan) => {
      executions++;
      await execute(executions, clock);
      return 'applied' as const;
    },
  } as unknown as PlanExecutor;
  const loop = new DirectorLoop({
    topology,
    clock,
    logger,
    metrics: createCoreMetrics(new Registry(), {}, { defaultMetrics: false }),
    keeper,
    executor,
    decisions: new DecisionLog(logger, clock),
    coordination: new StandaloneCoordination({ id: 'test' }),
    ownView: () => ({}),
    ownVersion: () => 0,
    maintenance: () => [],
    tickMs: 1_000,
    decide: (input) => {
      seen.push(structuredClone(input));
      versions.push(keeper.version);
      return decide(input);
    },
    onError: (e) => {
      throw e;
    },
    onStateSaved: () => {},
    extraAlerts: () => [],
    extraAlertsKey: () => '',
  });
  return { loop, clock, keeper, seen, versions, executions: () => executions };
}

/** The first execute() holds until released: a cycle is in flight for as long as the test says. */
function harness() {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const h = loopWith(async (n) => {
    if (n === 1) await held;
  });
  return { ...h, release: () => release() };
}

describe('DirectorLoop.runNow', () => {
  it('joined while a tick is in flight: one more cycle runs after it, on the change saved before the call', async () => {
    const h = harness();
    h.loop.start();
    await h.clock.advanceAsync(0); // the first tick: decided, now held in execute()
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]?.overrides.frozen).toBe(false);

    await h.keeper.update((d) => {
      d.overrides.frozen = true;
    });
    const answered = h.loop.runNow();
    await flushMicrotasks();
    expect(h.seen).toHaveLength(1); // nothing runs beside the cycle in flight
    h.release();
    const plan = await answered;
    expect(h.seen).toHaveLength(2);
    expect(h.seen[1]?.overrides.frozen).toBe(true);
    expect(plan).toBeDefined();
    h.loop.stop();
  });

  it('calls while a cycle runs share one further cycle, which starts after all of them', async () => {
    const h = harness();
    h.loop.start();
    await h.clock.advanceAsync(0);
    expect(h.seen).toHaveLength(1);
    const waits = [h.loop.runNow(), h.loop.runNow()];
    await h.keeper.update((d) => {
      d.overrides.frozen = true;
    });
    waits.push(h.loop.runNow());
    h.release();
    const plans = await Promise.all(waits);
    expect(h.seen).toHaveLength(2);
    expect(h.seen[1]?.overrides.frozen).toBe(true);
    expect(new Set(plans).size).toBe(1);
    expect(h.executions()).toBe(2);
    h.loop.stop();
  });

  it('with nothing in flight: runs at once; the tick after it skips its cycle, nothing having changed', async () => {
    const h = harness();
    h.loop.start();
    h.release();
    const first = h.loop.runNow(); // before the first tick fired
    await h.clock.advanceAsync(0);
    await first;
    expect(h.seen).toHaveLength(1);
    expect(h.executions()).toBe(1);
    h.loop.stop();
  });
});

/**
 * The mechanism, over arbitrary interleavings: ticks, state changes, runNow() calls, and cycles
 * whose apply takes a while (virtual time). Whatever the order, every runNow() resolves only after
 * a decision that started after the call and read the state as of the call or later.
 */
describe('DirectorLoop.runNow, property', () => {
  type Step = { kind: 'change' } | { kind: 'runNow' } | { kind: 'advance'; ms: number };
  const step = fc.oneof(
    fc.constant<Step>({ kind: 'change' }),
    fc.constant<Step>({ kind: 'runNow' }),
    fc.integer({ min: 0, max: 2_500 }).map((ms): Step => ({ kind: 'advance', ms })),
  );

  it('every runNow() is answered by a decision that read the state as of the call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 1, maxLength: 8 }),
        async (steps, applyMs) => {
          // Applying takes virtual time: the window in which requests arrive mid-cycle.
          const {
            loop,
            clock,
            keeper,
            versions: decided,
          } = loopWith((n, clock) => sleep(clock, applyMs[(n - 1) % applyMs.length] ?? 0));
          loop.start();
          const answers: Promise<string | undefined>[] = [];
          for (const s of steps) {
            if (s.kind === 'change')
              await keeper.update((d) => {
                d.overrides.frozen = !d.overrides.frozen;
              });
            else if (s.kind === 'runNow') {
              const version = keeper.version;
              const from = decided.length;
              answers.push(
                loop.runNow().then(() => {
                  const ok = decided.slice(from).some((v) => v >= version);
                  return ok
                    ? undefined
                    : `runNow() at state version ${version} answered by decisions on ${JSON.stringify(decided.slice(from))}`;
                }),
              );
            } else await clock.advanceAsync(s.ms);
          }
          // Let every cycle finish: applies are at most 1.5 s each.
          for (let i = 0; i < 40 && clock.pending() > 0; i++) await clock.advanceAsync(2_000);
          const results = await Promise.all(answers);
          loop.stop();
          expect(results.filter((r) => r !== undefined)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
