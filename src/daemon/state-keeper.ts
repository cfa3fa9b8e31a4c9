import type { FencingToken } from '../coord/types.js';
import type { EngineState } from '../decide/types.js';
import { appendJournal } from '../state/journal.js';
import type {
  JournalAction,
  JournalEntry,
  JournalPhase,
  PersistedState,
  StateStore,
} from '../state/types.js';
import type { Clock } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import { type Random, randomId, systemRandom } from '../util/random.js';

export type CommitListener = (state: Readonly<PersistedState>) => void;

/**
 * The daemon's one copy of the durable state. Every change goes through `update`, which applies it
 * to a copy, saves the copy, and only then makes it current and tells the commit listeners: what
 * the daemon acts on — and what DNS is told, since the DNS reconciler is fed from commits only — is
 * always what is in the store. A save that fails changes nothing and rejects (intent first).
 * Updates are serialised.
 */
export class StateKeeper {
  private state: PersistedState;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<CommitListener>();
  private saved: boolean;
  private lastFailure: { at: number; message: string } | undefined;
  private readonly random: Random;
  private commits = 0;
  /** Saves lost to another writer (compare-and-swap); the loop reloads after one. */
  conflicts = 0;

  private readonly fence: () => FencingToken | null;
  private readonly check: (loaded: PersistedState) => PersistedState;

  constructor(
    private readonly store: StateStore,
    initial: PersistedState,
    private readonly clock: Clock,
    opts: {
      random?: Random;
      persisted?: boolean;
      /** While leading: the token every save carries, so a deposed leader's save aborts (STATE_FENCED). */
      fence?: () => FencingToken | null;
      /** Validates (and prunes) state loaded again from the store; throws STATE_CORRUPT. */
      check?: (loaded: PersistedState) => PersistedState;
      /** This instance's id, recorded as `by` on the journal entries of its own actions. */
      actor?: string;
      /**
       * Whether this instance may act now (it leads, its lease valid on its own clock). Checked
       * before every leader write (`asLeader`, every journal entry): a leader deposed in the middle
       * of an action must not record — nor, by a retry on the new leader's state, impose — its step.
       */
      mayAct?: () => boolean;
    } = {},
  ) {
    this.state = structuredClone(initial);
    this.random = opts.random ?? systemRandom;
    this.saved = opts.persisted ?? true;
    this.fence = opts.fence ?? (() => null);
    this.check = opts.check ?? ((s) => s);
    this.actor = opts.actor;
    this.mayAct = opts.mayAct ?? (() => true);
  }

  private readonly actor: string | undefined;
  private readonly mayAct: () => boolean;

  /**
   * Loads the state again from the store and makes it current: a new leader before it acts, a
   * follower when the leader wrote, anyone whose save lost a compare-and-swap (STATE_CONFLICT).
   */
  reload(): Promise<PersistedState> {
    const next = this.chain.then(() => this.loadNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Counts commits: changes whenever `current` does. */
  get version(): number {
    return this.commits;
  }

  get current(): Readonly<PersistedState> {
    return this.state;
  }

  /** False until the state has been saved once (a first start whose save keeps failing). */
  get persisted(): boolean {
    return this.saved;
  }

  /** The last failed save (wall time), until a save succeeds. */
  get failure(): { at: number; message: string } | undefined {
    return this.lastFailure;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies `change` to a copy, saves it, then makes it current. A save lost to another writer
   * (STATE_CONFLICT) is, on an instance that does not lead, retried on the state as it now is:
   * an operator's override is a small change worth re-applying. The leader never re-applies: its
   * change came from a decision on the state it had, so it reloads and decides again. A leader's
   * write (`asLeader`: a plan's state, an action's journal) is refused (STATE_FENCED) unless this
   * instance may act at the moment it is saved.
   */
  update(
    change: (draft: PersistedState) => void,
    opts: { asLeader?: boolean } = {},
  ): Promise<PersistedState> {
    const next = this.chain.then(async () => {
      for (let attempt = 1; ; attempt++) {
        if (opts.asLeader && !this.mayAct())
          throw new SwitchyardError(
            'STATE_FENCED',
            'this instance no longer leads: the write of its action is refused (the new leader resumes or abandons it)',
          );
        const draft = structuredClone(this.state);
        change(draft);
        if (this.saved && JSON.stringify(draft) === JSON.stringify(this.state)) return this.state;
        const fence = this.fence();
        try {
          await this.store.save(draft, fence ? { fence } : {});
        } catch (e) {
          if (isSwitchyardError(e, 'STATE_CONFLICT')) {
            this.conflicts++;
            if (!fence && attempt < 3) {
              await this.loadNow();
              continue;
            }
            throw e;
          }
          this.lastFailure = { at: this.clock.wall(), message: e instanceof Error ? e.message : String(e) };
          throw e;
        }
        this.lastFailure = undefined;
        this.saved = true;
        this.state = draft;
        this.commits++;
        for (const l of this.listeners) l(this.state);
        return draft;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Loads and makes current (inside the chain: callers hold it). */
  private async loadNow(): Promise<PersistedState> {
    const loaded = await this.store.load();
    if (!loaded) return this.state;
    const checked = this.check(loaded);
    if (JSON.stringify(checked) === JSON.stringify(this.state)) return this.state;
    this.state = checked;
    this.saved = true;
    this.commits++;
    for (const l of this.listeners) l(this.state);
    return this.state;
  }

  /** Moves the engine state through a transition (src/decide/transitions.ts), durably. */
  transition(fn: (engine: EngineState) => EngineState): Promise<PersistedState> {
    return this.update((d) => {
      d.engine = fn(d.engine);
    });
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
    // The instance's own actions carry its identity: with several instances the journal shows who acted.
    const entry: JournalEntry = {
      id,
      epoch,
      action,
      target,
      phase,
      at: this.clock.wall(),
      detail,
      ...(this.actor ? { by: this.actor } : {}),
    };
    await this.update(
      (d) => {
        Object.assign(d, appendJournal(d, entry));
        change?.(d);
      },
      { asLeader: true },
    );
    return id;
  }
}
