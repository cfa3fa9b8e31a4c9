import type { Compare, CoordPort, KeyValue, TxnOp } from '../coord/types.js';
import { SwitchyardError } from '../util/errors.js';
import { parseStateFrom } from './file-store.js';
import type { PersistedState, SaveOptions, StateStore } from './types.js';

/**
 * The durable state in etcd, for several director instances: one JSON value under
 * `<prefix>state`, changed only by compare-and-swap on its modRevision so that two instances
 * can never both move the epoch.
 *
 * The store remembers the revision it last loaded or saved. A save compares it (or, when the
 * key did not exist, that it still does not): if anyone else wrote in between, the save fails
 * with STATE_CONFLICT and the caller loads again and decides again on what is really there.
 * With a fencing token the same transaction also requires the leader key to be bound to the
 * caller's lease, so a deposed leader's write is refused (STATE_FENCED) even if its view of the
 * state is current. A save whose call timed out (COORD_UNAVAILABLE) may have been applied: the
 * remembered revision is then stale and the next save conflicts, which is the safe outcome.
 */
export class EtcdStateStore implements StateStore {
  readonly key: string;
  private readonly coord: CoordPort;
  /** modRevision last loaded or saved; 0 when the key was known to be absent; null before any load. */
  private known: number | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: { coord: CoordPort; prefix: string }) {
    this.coord = opts.coord;
    this.key = `${opts.prefix}state`;
  }

  /** The revision the next save will compare against (null before the first load or save). */
  revision(): number | null {
    return this.known;
  }

  async load(): Promise<PersistedState | null> {
    const r = await this.coord.get(this.key);
    if (!r.kv) {
      this.known = 0;
      return null;
    }
    const state = parseStateFrom(`etcd key ${this.key}`, r.kv.value);
    this.known = r.kv.modRevision;
    return state;
  }

  /** Saves are chained: each waits for the previous one, so two writes of one instance never race. */
  save(state: PersistedState, opts: SaveOptions = {}): Promise<void> {
    const text = JSON.stringify(state);
    try {
      parseStateFrom('state to save', text);
    } catch (e) {
      return Promise.reject(
        new SwitchyardError(
          'STATE_CORRUPT',
          `refusing to write invalid state to etcd key ${this.key}: ${(e as Error).message}`,
          [],
          { cause: e },
        ),
      );
    }
    const run = this.queue.then(() => this.write(text, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(text: string, opts: SaveOptions): Promise<void> {
    // Never loaded: the only safe assumption is that there is nothing yet.
    const expected = this.known ?? 0;
    const compare: Compare[] = [
      expected === 0
        ? { key: this.key, target: 'createRevision', op: '=', value: 0 }
        : { key: this.key, target: 'modRevision', op: '=', value: expected },
    ];
    const failure: TxnOp[] = [{ type: 'get', key: this.key }];
    if (opts.fence) {
      compare.push({ key: opts.fence.leaderKey, target: 'lease', op: '=', value: opts.fence.lease });
      failure.push({ type: 'get', key: opts.fence.leaderKey });
    }
    const r = await this.coord.txn({
      compare,
      success: [{ type: 'put', key: this.key, value: text }],
      failure,
    });
    if (r.succeeded) {
      this.known = r.revision;
      return;
    }
    const current = kvOf(r.results[0]);
    if (opts.fence) {
      const leader = kvOf(r.results[1]);
      if (!leader || leader.lease !== opts.fence.lease)
        throw new SwitchyardError(
          'STATE_FENCED',
          `state save refused: the leader key ${opts.fence.leaderKey} is ${
            leader ? `held by ${describeLeader(leader)}` : 'not held by anyone'
          }, not by lease ${opts.fence.lease}`,
        );
    }
    throw new SwitchyardError(
      'STATE_CONFLICT',
      `state save refused: etcd key ${this.key} ${
        current ? `is at revision ${current.modRevision}` : 'no longer exists'
      }, this instance last saw ${expected === 0 ? 'no state' : `revision ${expected}`}; load it again`,
    );
  }
}

function kvOf(result: { type: string; kv?: KeyValue | null } | undefined): KeyValue | null {
  return result?.type === 'get' ? (result.kv ?? null) : null;
}

function describeLeader(kv: KeyValue): string {
  try {
    const v = JSON.parse(kv.value) as { id?: unknown; region?: unknown };
    if (typeof v.id === 'string')
      return `${v.id}${typeof v.region === 'string' ? ` (${v.region})` : ''}, lease ${kv.lease}`;
  } catch {
    // Not a leader record we wrote: name the lease only.
  }
  return `lease ${kv.lease}`;
}
