import type { Config } from '../config/schema.js';
import { type EngineState, NO_OVERRIDES } from '../decide/types.js';
import { SwitchyardError } from '../util/errors.js';
import { FileStateStore } from './file-store.js';
import type { PersistedState, StateStore } from './types.js';

/** The store `state.store` names. The etcd store (HA) is its own piece of work. */
export function createStateStore(state: Config['state']): StateStore {
  if (state.store === 'file') return new FileStateStore(state.path);
  throw new SwitchyardError(
    'CONFIG_INVALID',
    `state.store: "${state.store}" is not available in this build; use "file"`,
  );
}

/** What a first start persists: the engine's initial state, no overrides, an empty journal. */
export function freshState(engine: EngineState): PersistedState {
  return { version: 1, engine, overrides: structuredClone(NO_OVERRIDES), journal: [] };
}
