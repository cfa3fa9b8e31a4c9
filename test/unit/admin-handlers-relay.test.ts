import { describe, expect, it } from 'vitest';
import { adminHandlers } from '../../src/daemon/admin-handlers.js';
import { StateKeeper } from '../../src/daemon/state-keeper.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';
import { freshState } from '../../src/state/create.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { buildTopology } from '../../src/topology/build.js';
import { systemClock } from '../../src/util/clock.js';

/**
 * A planned switchover asked of a follower (several instances on etcd) is a request in the state
 * that the leader runs; the follower's journal entry and its log line carry who asked and why,
 * like every other operator request (issue 9, item 9).
 */
describe('a switchover relayed through a follower', () => {
  it('journals and logs the identity and the reason, and answers with the leader’s result', async () => {
    process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
    const topology = buildTopology(demoConfig(new DemoWorld(), '/nonexistent', '127.0.0.1:0'));
    const keeper = new StateKeeper(
      new MemoryStateStore(),
      freshState({ epoch: 0, main: 'r1', out: {}, weights: {} }),
      systemClock,
    );
    const logged: Array<{ event: Record<string, unknown>; message: string }> = [];
    const handlers = adminHandlers({
      topology,
      keeper,
      wall: () => Date.UTC(2026, 11, 1),
      input: () => {
        throw new Error('a follower does not decide');
      },
      leading: () => ({ self: false, leader: 'sy-r2' }),
      log: (event, message) => logged.push({ event, message }),
      switchover: () => Promise.reject(new Error('a follower does not run the switchover')),
      // The leader's part: it sees the request and answers under its id.
      evaluate: async () => {
        const id = keeper.current.requests?.switchover?.id ?? '';
        await keeper.update((d) => {
          d.answers = { switchover: { id, result: { outcome: 'done', message: 'switchover done' } } };
        });
        return undefined;
      },
    });
    const result = await handlers.switchover(
      { to: 'r2', dryRun: false, reason: 'storage maintenance in r1' },
      { by: 'alice', reason: 'storage maintenance in r1' },
    );
    expect(result).toMatchObject({ outcome: 'done' });
    expect(keeper.current.journal.at(-1)).toMatchObject({
      action: 'override',
      target: 'r2',
      by: 'alice',
      reason: 'storage maintenance in r1',
    });
    expect(logged).toEqual([
      {
        event: expect.objectContaining({
          event: 'override',
          kind: 'switchover',
          target: 'r2',
          by: 'alice',
          reason: 'storage maintenance in r1',
        }),
        message: expect.stringMatching(
          /^planned switchover to r2 requested through this instance; the leader \(sy-r2\) runs it \(by alice: storage maintenance in r1\)$/,
        ),
      },
    ]);
  });
});
