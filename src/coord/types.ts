/**
 * The coordination port: the one narrow interface through which switchyard instances agree, on
 * etcd in production (src/coord/etcd.ts) and on an in-memory twin with the same semantics in
 * tests and the simulator (src/coord/memory.ts).
 *
 * Every call is bounded in time: it has its own deadline on the injected Clock and aborts the
 * underlying request when the deadline passes. A timeout, a refused connection or a cluster that
 * has lost quorum all raise SwitchyardError('COORD_UNAVAILABLE') (retryable). A call that timed
 * out may still have been applied: callers that must know re-read (the leader loop and the state
 * store only ever act on what a later successful call confirms).
 *
 * Semantics follow etcd v3: one store-wide revision, bumped once by every write (a transaction
 * with several writes bumps it once; a transaction or delete that changes nothing does not bump
 * it); per key a createRevision, modRevision, version (1 on creation, +1 per put, the key is gone
 * on delete) and the lease it is attached to; leases granted in whole seconds, expiring with
 * every key attached to them.
 */

/** An etcd lease id: a 64-bit integer, carried as its decimal string (it does not fit a double). */
export type LeaseId = string;

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** 1 after creation, +1 per put; a deleted key has no entry (version 0 in compares). */
  version: number;
  /** The lease the key is bound to, null when none. */
  lease: LeaseId | null;
}

export interface GetResult {
  kv: KeyValue | null;
  /** The store revision the read saw. */
  revision: number;
}

export interface PrefixResult {
  /** Sorted by key, as etcd returns them. */
  kvs: KeyValue[];
  revision: number;
}

export type CompareOp = '=' | '!=' | '>' | '<';

/**
 * A condition of a transaction. On a key that does not exist, version, createRevision and
 * modRevision compare as 0, lease as null, and a value compare is always false (etcd's rule).
 */
export type Compare =
  | { key: string; target: 'version' | 'createRevision' | 'modRevision'; op: CompareOp; value: number }
  | { key: string; target: 'value'; op: CompareOp; value: string }
  | { key: string; target: 'lease'; op: '=' | '!='; value: LeaseId | null };

export type TxnOp =
  | { type: 'put'; key: string; value: string; lease?: LeaseId }
  | { type: 'delete'; key: string }
  | { type: 'get'; key: string };

export type TxnOpResult =
  | { type: 'put' }
  | { type: 'delete'; deleted: number }
  | { type: 'get'; kv: KeyValue | null };

export interface TxnRequest {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** The store revision after the transaction (unchanged when it wrote nothing). */
  revision: number;
  /** One result per op of the branch that ran, in order. */
  results: TxnOpResult[];
}

export interface Lease {
  id: LeaseId;
  /** The TTL etcd granted: the request rounded up to whole seconds, at least the server's minimum. */
  ttlMs: number;
}

export type WatchEvent =
  | {
      type: 'put';
      key: string;
      value: string;
      modRevision: number;
      createRevision: number;
      version: number;
      lease: LeaseId | null;
    }
  | { type: 'delete'; key: string; value: ''; modRevision: number }
  /**
   * The watch ended without being cancelled (connection lost, etcd cancelled it, history
   * compacted): no further events come. Re-read (getPrefix) and watch again from its revision + 1.
   */
  | { type: 'broken'; reason: string; compactRevision?: number };

export interface WatchHandle {
  /** Stops the watch; no event is delivered after this returns. Idempotent. */
  cancel(): void;
}

/**
 * What a leader's writes carry so that a deposed leader's write aborts: the transaction also
 * compares that `leaderKey` is still bound to `lease` (see src/coord/leader.ts).
 */
export interface FencingToken {
  leaderKey: string;
  lease: LeaseId;
}

export interface CallOptions {
  /** Overrides the port's default call timeout for this call. */
  timeoutMs?: number;
}

export interface CoordPort {
  get(key: string, opts?: CallOptions): Promise<GetResult>;
  getPrefix(prefix: string, opts?: CallOptions): Promise<PrefixResult>;
  /** Compare-and-swap and everything else that writes. */
  txn(req: TxnRequest, opts?: CallOptions): Promise<TxnResult>;
  grantLease(ttlMs: number, opts?: CallOptions): Promise<Lease>;
  /** One renewal: the lease's TTL as renewed, or null when the lease no longer exists. */
  keepAliveOnce(lease: LeaseId, opts?: CallOptions): Promise<{ ttlMs: number } | null>;
  /** Revokes the lease and deletes every key bound to it; a lease already gone is not an error. */
  revokeLease(lease: LeaseId, opts?: CallOptions): Promise<void>;
  /**
   * Watches every key under `prefix` from `fromRevision` (inclusive; history included). Events
   * are delivered asynchronously, in revision order; a broken watch is reported once, last.
   */
  watchPrefix(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): WatchHandle;
  /** Ends every watch (without a `broken` event) and releases connections; later calls fail. */
  close(): Promise<void>;
}
