import { expect, it } from 'vitest';
import type { CoordPort } from '../../src/coord/types.js';
import { EtcdStateStore } from '../../src/state/etcd-store.js';
import type { PersistedState } from '../../src/state/types.js';
import { isSwitchyardError } from '../../src/util/errors.js';

/**
 * The etcd state store's compare-and-swap rules, run on the in-memory twin (unit) and on a
 * real etcd cluster (integration) alike: `client()` gives each writer its own connection.
 */
let seq = 0;
const freshPrefix = () => `/store/${process.pid}/${++seq}/`;

export function stateOf(epoch: number, main = 'r1'): PersistedState {
  return {
    version: 1,
    engine: { epoch, main, out: {}, weights: {} },
    overrides: { drained: [], frozen: false, routes: {} },
    journal: [],
  };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

export function stateStoreContract(setup: () => { client(): CoordPort }): void {
  it('starts empty, then loads what it saved, tracking the revision', async () => {
    const port = setup().client();
    const store = new EtcdStateStore({ coord: port, prefix: freshPrefix() });
    expect(store.revision()).toBeNull();
    expect(await store.load()).toBeNull();
    expect(store.revision()).toBe(0);
    await store.save(stateOf(1));
    const rev = store.revision();
    expect(rev).toBeGreaterThan(0);
    expect((await port.get(store.key)).kv?.modRevision).toBe(rev);
    expect(await store.load()).toEqual(stateOf(1));
    await store.save(stateOf(2));
    expect(store.revision()).toBeGreaterThan(rev ?? 0);
  });

  it('two writers on the same revision: one wins, the other gets STATE_CONFLICT until it loads again', async () => {
    const env = setup();
    const prefix = freshPrefix();
    const a = new EtcdStateStore({ coord: env.client(), prefix });
    const b = new EtcdStateStore({ coord: env.client(), prefix });
    await a.load();
    await b.load();
    await a.save(stateOf(1, 'r1'));
    const e = await failure(b.save(stateOf(1, 'r2')));
    expect(isSwitchyardError(e, 'STATE_CONFLICT'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/load it again/);
    expect((await b.load())?.engine.main).toBe('r1');
    await b.save(stateOf(2, 'r2'));
    expect(isSwitchyardError(await failure(a.save(stateOf(2, 'r1'))), 'STATE_CONFLICT')).toBe(true);
    expect((await a.load())?.engine).toMatchObject({ epoch: 2, main: 'r2' });
  });

  it('racing saves from the same revision: exactly one succeeds', async () => {
    const env = setup();
    const prefix = freshPrefix();
    const seed = new EtcdStateStore({ coord: env.client(), prefix });
    await seed.load();
    await seed.save(stateOf(5));
    const writers = [0, 1, 2].map(() => new EtcdStateStore({ coord: env.client(), prefix }));
    await Promise.all(writers.map((w) => w.load()));
    const results = await Promise.all(writers.map((w, i) => failure(w.save(stateOf(6, `r${i + 1}`)))));
    expect(results.filter((r) => r === null)).toHaveLength(1);
    expect(results.filter((r) => isSwitchyardError(r, 'STATE_CONFLICT'))).toHaveLength(2);
  });

  it('never loses an epoch bump: concurrent load → +1 → save loops end at the number of successes', async () => {
    const env = setup();
    const prefix = freshPrefix();
    const writers = [0, 1].map(() => new EtcdStateStore({ coord: env.client(), prefix }));
    let successes = 0;
    await Promise.all(
      writers.map(async (w) => {
        let mine = 0;
        while (mine < 5) {
          const s = (await w.load()) ?? stateOf(0);
          try {
            await w.save(stateOf(s.engine.epoch + 1));
            mine++;
            successes++;
          } catch (e) {
            if (!isSwitchyardError(e, 'STATE_CONFLICT')) throw e;
          }
        }
      }),
    );
    expect(successes).toBe(10);
    expect((await writers[0]?.load())?.engine.epoch).toBe(10);
  });

  it('a fenced save is refused once the leader key is bound to another lease', async () => {
    const env = setup();
    const prefix = freshPrefix();
    const leaderKey = `${prefix}leader`;
    const oldPort = env.client();
    const newPort = env.client();
    const oldLease = await oldPort.grantLease(10_000);
    await oldPort.txn({
      compare: [{ key: leaderKey, target: 'createRevision', op: '=', value: 0 }],
      success: [
        {
          type: 'put',
          key: leaderKey,
          value: JSON.stringify({ id: 'old', region: 'r1' }),
          lease: oldLease.id,
        },
      ],
    });
    const deposed = new EtcdStateStore({ coord: oldPort, prefix });
    await deposed.load();
    await deposed.save(stateOf(1), { fence: { leaderKey, lease: oldLease.id } });
    // The old leader's lease goes (expired, revoked); another instance takes the key.
    await oldPort.revokeLease(oldLease.id);
    const newLease = await newPort.grantLease(10_000);
    await newPort.txn({
      compare: [{ key: leaderKey, target: 'createRevision', op: '=', value: 0 }],
      success: [
        {
          type: 'put',
          key: leaderKey,
          value: JSON.stringify({ id: 'new', region: 'r2' }),
          lease: newLease.id,
        },
      ],
    });
    // The deposed leader's view of the state is current, yet its write aborts.
    const e = await failure(deposed.save(stateOf(2, 'r9'), { fence: { leaderKey, lease: oldLease.id } }));
    expect(isSwitchyardError(e, 'STATE_FENCED'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/held by new \(r2\)/);
    const leader = new EtcdStateStore({ coord: newPort, prefix });
    expect((await leader.load())?.engine.epoch).toBe(1);
    await leader.save(stateOf(2, 'r2'), { fence: { leaderKey, lease: newLease.id } });
    // Nobody holds the key: every fenced save fails.
    await newPort.revokeLease(newLease.id);
    const none = await failure(leader.save(stateOf(3), { fence: { leaderKey, lease: newLease.id } }));
    expect(isSwitchyardError(none, 'STATE_FENCED')).toBe(true);
    expect((none as Error).message).toMatch(/not held by anyone/);
  });

  it('rejects corrupt state on load, naming the field', async () => {
    const port = setup().client();
    const prefix = freshPrefix();
    const store = new EtcdStateStore({ coord: port, prefix });
    const bad = { ...stateOf(1), engine: { ...stateOf(1).engine, epoch: 'seven' } };
    await port.txn({ compare: [], success: [{ type: 'put', key: store.key, value: JSON.stringify(bad) }] });
    const e = await failure(store.load());
    expect(isSwitchyardError(e, 'STATE_CORRUPT')).toBe(true);
    expect((e as Error).message).toMatch(/etcd key .*state is not switchyard state: engine\.epoch/);
    await port.txn({ compare: [], success: [{ type: 'put', key: store.key, value: '{"version": 1, ' }] });
    expect((await failure(store.load())) as Error).toMatchObject({
      code: 'STATE_CORRUPT',
      message: /not valid JSON/,
    });
  });

  it('refuses to write state that would not load again', async () => {
    const port = setup().client();
    const store = new EtcdStateStore({ coord: port, prefix: freshPrefix() });
    await store.load();
    const e = await failure(store.save(stateOf(Number.NaN)));
    expect(isSwitchyardError(e, 'STATE_CORRUPT')).toBe(true);
    expect((await port.get(store.key)).kv).toBeNull();
  });
}
