import type { Config } from '../config/schema.js';
import type { CoordPort } from '../coord/types.js';
import { type EngineState, NO_OVERRIDES } from '../decide/types.js';
import { SwitchyardError } from '../util/errors.js';
import { EtcdStateStore } from './etcd-store.js';
import { FileStateStore } from './file-store.js';
import type { PersistedState, StateStore } from './types.js';

/**
 * The store `state.store` names. The etcd store needs the instance's coordination port (one
 * connection to etcd per instance, shared with the leader loop and the observations).
 */
export function createStateStore(state: Config['state'], deps: { coord?: CoordPort } = {}): StateStore {
  if (state.store === 'file') return new FileStateStore(state.path);
  if (state.etcd && deps.coord) return new EtcdStateStore({ coord: deps.coord, prefix: state.etcd.prefix });
  throw new SwitchyardError(
    'CONFIG_INVALID',
    `state.store: "${state.store}" is not available without a connection to etcd (state.etcd and a coordination port)`,
  );
}

/** What a first start persists: the engine's initial state, no overrides, an empty journal. */
export function freshState(engine: EngineState): PersistedState {
  return { version: 1, engine, overrides: structuredClone(NO_OVERRIDES), journal: [] };
}
