import { appendJournal } from '../state/journal.js';
import type {
  JournalAction,
  JournalEntry,
  JournalPhase,
  PersistedState,
  StateStore,
} from '../state/types.js';
import type { Clock } from '../util/clock.js';
import { type Random, randomId, systemRandom } from '../util/random.js';

/**
 * The daemon's one copy of the durable state. Every change goes through `update`, which applies
 * it to a copy, saves the copy, and only then makes it current: what the daemon acts on is always
 * what is on disk. Updates are serialised.
 */
export class StateKeeper {
  private state: PersistedState;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    initial: PersistedState,
    private readonly clock: Clock,
    private readonly random: Random = systemRandom,
  ) {
    this.state = structuredClone(initial);
  }

  get current(): Readonly<PersistedState> {
    return this.state;
  }

  update(change: (draft: PersistedState) => void): Promise<PersistedState> {
    const next = this.chain.then(async () => {
      const draft = structuredClone(this.state);
      change(draft);
      if (JSON.stringify(draft) === JSON.stringify(this.state)) return this.state;
      await this.store.save(draft);
      this.state = draft;
      return draft;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Records intent (or an outcome) of an action in the journal, durably. Returns the entry id. */
  async journal(
    action: JournalAction,
    target: string,
    phase: JournalPhase,
    epoch: number,
    detail: string,
    id: string = randomId(this.random),
    change?: (draft: PersistedState) => void,
  ): Promise<string> {
    const entry: JournalEntry = { id, epoch, action, target, phase, at: this.clock.wall(), detail };
    await this.update((d) => {
      Object.assign(d, appendJournal(d, entry));
      change?.(d);
    });
    return id;
  }
}
