import { JOURNAL_LIMIT, type JournalEntry, type PersistedState } from './types.js';

/** Returns a copy of `state` with `entry` appended and the journal trimmed to the last JOURNAL_LIMIT. */
export function appendJournal(
  state: PersistedState,
  entry: JournalEntry,
  limit: number = JOURNAL_LIMIT,
): PersistedState {
  const journal = [...state.journal, entry];
  return { ...state, journal: journal.slice(Math.max(0, journal.length - limit)) };
}

/**
 * Intents with no outcome recorded: actions a crash interrupted. The daemon resumes or abandons
 * each on start, and records which.
 */
export function unfinishedIntents(journal: readonly JournalEntry[]): JournalEntry[] {
  const finished = new Set(journal.filter((e) => e.phase !== 'intent').map((e) => e.id));
  return journal.filter((e) => e.phase === 'intent' && !finished.has(e.id));
}
