import { describe, expect, it } from 'vitest';
import { MemoryCoordCluster } from '../../src/coord/memory.js';
import { EtcdStateStore } from '../../src/state/etcd-store.js';
import { FakeClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { stateOf, stateStoreContract } from '../support/state-store-contract.js';

describe('etcd state store on the in-memory twin', () => {
  stateStoreContract(() => {
    const cluster = new MemoryCoordCluster({ clock: new FakeClock() });
    return { client: () => cluster.connect() };
  });

  it('createStateStore builds the etcd store from config and the instance’s port', async () => {
    const { createStateStore } = await import('../../src/state/create.js');
    const cluster = new MemoryCoordCluster({ clock: new FakeClock() });
    const etcd = {
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/x/',
      leaseTtl: 10_000,
      callTimeout: 2_000,
    };
    const store = createStateStore({ store: 'etcd', path: 'unused', etcd }, { coord: cluster.connect() });
    expect(store).toBeInstanceOf(EtcdStateStore);
    expect((store as EtcdStateStore).key).toBe('/x/state');
  });

  it('a save that timed out after it was applied makes the next save conflict, never overwrite blindly', async () => {
    const clock = new FakeClock();
    const cluster = new MemoryCoordCluster({ clock });
    const port = cluster.connect({ callTimeoutMs: 100 });
    const store = new EtcdStateStore({ coord: port, prefix: '/p/' });
    await store.load();
    port.setLatency(0, 200);
    const first = store.save(stateOf(1)).catch((e: unknown) => e);
    await clock.advanceAsync(100);
    expect(isSwitchyardError(await first, 'COORD_UNAVAILABLE')).toBe(true);
    port.setLatency(0, 0);
    expect(isSwitchyardError(await store.save(stateOf(2)).catch((e: unknown) => e), 'STATE_CONFLICT')).toBe(
      true,
    );
    expect((await store.load())?.engine.epoch).toBe(1);
  });
});
