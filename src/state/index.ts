export { createStateStore, freshState } from './create.js';
export { EtcdStateStore } from './etcd-store.js';
export { FileStateStore, parseState, parseStateFrom } from './file-store.js';
export { appendJournal, unfinishedIntents } from './journal.js';
export { MemoryStateStore } from './memory-store.js';
export { persistedStateSchema } from './schema.js';
export type {
  JournalAction,
  JournalEntry,
  JournalPhase,
  PersistedState,
  SaveOptions,
  StateStore,
} from './types.js';
export { JOURNAL_LIMIT } from './types.js';
