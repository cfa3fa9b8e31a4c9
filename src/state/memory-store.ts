import type { PersistedState, StateStore } from './types.js';

/** An in-memory store for tests and simulations; it hands out copies so callers cannot alias it. */
export class MemoryStateStore implements StateStore {
  private state: PersistedState | null;
  saves = 0;

  constructor(initial: PersistedState | null = null) {
    this.state = initial ? structuredClone(initial) : null;
  }

  async load(): Promise<PersistedState | null> {
    return this.state ? structuredClone(this.state) : null;
  }

  async save(state: PersistedState): Promise<void> {
    this.state = structuredClone(state);
    this.saves++;
  }

  /** The last saved state, for assertions. */
  peek(): PersistedState | null {
    return this.state;
  }
}
