import { describe, expect, it } from 'vitest';
import { MemoryCoordCluster } from '../../src/coord/memory.js';
import { StateKeeper } from '../../src/daemon/state-keeper.js';
import { initialState } from '../../src/decide/types.js';
import { simConfig } from '../../src/sim/config.js';
import { freshState } from '../../src/state/create.js';
import { EtcdStateStore } from '../../src/state/etcd-store.js';
import { buildTopology } from '../../src/topology/build.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * Found by the simulator (leader-paused-mid-failover, seed 1, three instances): a leader deposed
 * in the middle of an action (paused past its lease) resumed its step. Its journal writes carried
 * no fencing token any more, lost the compare-and-swap to the new leader — and the keeper, as for
 * an operator's small change, reloaded and re-applied them on the new leader's state.
 */
describe('StateKeeper: a leader write from an instance that may no longer act', () => {
  const setup = async () => {
    const clock = new FakeClock();
    const cluster = new MemoryCoordCluster({ clock });
    const initial = freshState(initialState(buildTopology(simConfig())));
    const storeOf = () => new EtcdStateStore({ coord: cluster.connect(), prefix: '/t/' });
    const a = storeOf();
    await a.save(initial);
    let aLeads = true;
    const old = new StateKeeper(a, initial, clock, { mayAct: () => aLeads, actor: 'a' });
    const b = storeOf();
    const fresh = new StateKeeper(b, (await b.load()) ?? initial, clock, { actor: 'b' });
    return {
      old,
      fresh,
      depose: () => {
        aLeads = false;
      },
      stored: async () => (await storeOf().load())?.engine.epoch,
      journalOf: async () => (await storeOf().load())?.journal ?? [],
    };
  };

  it('is refused (STATE_FENCED) and never lands on the new leader’s state, even after a conflict', async () => {
    const s = await setup();
    await s.old.journal('promote', 'r2', 'intent', 2, 'promoting r2');
    s.depose();
    // The new leader begins its term: a new epoch, written over the old leader's revision.
    await s.fresh.reload();
    await s.fresh.journal('lead', 'b', 'done', 3, 'b leads from epoch 3', undefined, (d) => {
      d.engine.epoch = 3;
    });
    await expect(
      s.old.journal('promote', 'r2', 'done', 2, 'r2 promoted', undefined, (d) => {
        d.engine.epoch = 2;
      }),
    ).rejects.toMatchObject({ code: 'STATE_FENCED' });
    await expect(
      s.old.update(
        (d) => {
          d.engine.weights = {};
        },
        { asLeader: true },
      ),
    ).rejects.toMatchObject({ code: 'STATE_FENCED' });
    expect(await s.stored()).toBe(3);
    expect((await s.journalOf()).filter((j) => j.phase === 'done').map((j) => j.by)).toEqual(['b']);
  });

  it('an operator’s change through a follower is still written (not a leader write)', async () => {
    const s = await setup();
    s.depose();
    await s.old.update((d) => {
      d.overrides.drained = ['r4'];
    });
    expect((await s.fresh.reload()).overrides.drained).toEqual(['r4']);
  });
});
