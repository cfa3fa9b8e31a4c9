import type { FencingToken } from '../coord/types.js';
import type { EngineState, Overrides } from '../decide/types.js';
import type { RegionId } from '../topology/types.js';

/** How many journal entries a store keeps: enough to explain the last incident, small enough to rewrite. */
export const JOURNAL_LIMIT = 50;

/** `override`: an operator's drain, undrain, freeze, unfreeze, failover or switchover request (the audit trail). */
/** `lead`: an instance took the lead (several instances on etcd) and began a new epoch. */
export type JournalAction = 'promote' | 'fence' | 'dns' | 'override' | 'lead';
/**
 * `intent` is written before an action starts; exactly one of `done`, `failed` or `abandoned`
 * follows it. An `intent` with no outcome after a restart is an action interrupted by a crash.
 */
export type JournalPhase = 'intent' | 'done' | 'failed' | 'abandoned';

export interface JournalEntry {
  /** Shared by an intent and its outcome, so the two can be paired. */
  id: string;
  epoch: number;
  action: JournalAction;
  /** The region (or record key, for dns) the action targets. */
  target: RegionId;
  phase: JournalPhase;
  /** ms since the epoch. */
  at: number;
  detail: string;
  /** Who asked (the admin token's name), for operator requests. */
  by?: string;
  /** The operator's reason, when one was given. */
  reason?: string;
}

/** Who set an override, when (ms since the epoch) and why. */
export interface OverrideNote {
  by: string;
  at: number;
  reason?: string;
}

/** The notes of the overrides in force: one per drained region, one for the freeze. */
export interface OverrideNotes {
  drained?: Record<RegionId, OverrideNote>;
  frozen?: OverrideNote;
}

/**
 * An operator's planned switchover, asked of an instance that does not lead: the leader (whose
 * promoters act) runs it and records the answer under the same id.
 */
export interface SwitchoverRequestRecord {
  id: string;
  to: RegionId;
  by: string;
  reason?: string;
  /** Wall time of the request (a label). */
  at: number;
}

export interface PersistedState {
  version: 1;
  engine: EngineState;
  overrides: Overrides;
  /** Who set the overrides in force, when and why (absent in state files from before it). */
  notes?: OverrideNotes;
  journal: JournalEntry[];
  /** Requests waiting for the leader (several instances). */
  requests?: { switchover?: SwitchoverRequestRecord };
  /**
   * The leader's answer to the last request: the admin API's result document, or its refusal
   * (status and message), under the request's id.
   */
  answers?: {
    switchover?: {
      id: string;
      result?: Record<string, unknown>;
      refused?: { status: number; message: string };
    };
  };
}

export interface SaveOptions {
  /**
   * Write only while this instance still leads: the save is refused (STATE_FENCED) unless the
   * leader key is bound to this lease. Stores without leaders (the file store) ignore it.
   */
  fence?: FencingToken;
}

export interface StateStore {
  /** The stored state; null only when no state exists yet. Corrupt or unreadable state throws. */
  load(): Promise<PersistedState | null>;
  /**
   * Durably replaces the stored state. Saves never overlap; each resolves once on disk (or in
   * etcd). The etcd store writes only by compare-and-swap on the revision it last loaded or saved
   * (STATE_CONFLICT when someone else wrote meanwhile: load again and re-decide).
   */
  save(state: PersistedState, opts?: SaveOptions): Promise<void>;
}
