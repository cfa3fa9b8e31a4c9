import { readFileSync } from 'node:fs';
import { InterceptingCall, type Interceptor, status } from '@grpc/grpc-js';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, retry } from 'cockatiel';
import {
  castGrpcError,
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCInvalidArgumentError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  GRPCUnauthenticatedError,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type IResponseOp,
  type IWatchResponse,
  isRecoverableError,
} from 'etcd3';
import { type Clock, systemClock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { boundedCall, prefixEnd, ttlSeconds, unavailable } from './call.js';
import type {
  CallOptions,
  Compare,
  CoordPort,
  GetResult,
  KeyValue,
  Lease,
  LeaseId,
  PrefixResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchHandle,
} from './types.js';

/**
 * The coordination port on etcd v3 through the `etcd3` client — used for its connection pool,
 * gRPC stubs, TLS and password authentication only. Its Election, Lease keep-alive loop and
 * `lost` events are not used: every call here is one request under our own deadline (see
 * boundedCall), cancelled through a gRPC interceptor when the deadline passes, and every request
 * carries etcd's `hasleader` metadata so a member cut off from its cluster's leader answers
 * "no leader" at once instead of letting a read or a watch hang.
 */

import type { EtcdCoordOptions } from './etcd-options.js';

export type { EtcdCoordOptions } from './etcd-options.js';
export { etcdOptionsFromConfig } from './etcd-options.js';

export class EtcdCoord implements CoordPort {
  private readonly client: Etcd3;
  private readonly clock: Clock;
  private readonly callTimeoutMs: number;
  private readonly watches = new Set<() => void>();
  private readonly endpointCount: number;
  private closed = false;

  constructor(opts: EtcdCoordOptions) {
    if (opts.endpoints.length === 0) throw new SwitchyardError('COORD_REJECTED', 'etcd: no endpoints');
    this.clock = opts.clock ?? systemClock;
    this.callTimeoutMs = opts.callTimeoutMs;
    const hosts = opts.endpoints;
    this.endpointCount = hosts.length;
    const credentials = opts.tls
      ? {
          // Without a CA file, gRPC trusts the system's CAs (it takes null; etcd3's type says Buffer).
          rootCertificate: opts.tls.ca ? readFileSync(opts.tls.ca) : (null as unknown as Buffer),
          ...(opts.tls.key ? { privateKey: readFileSync(opts.tls.key) } : {}),
          ...(opts.tls.cert ? { certChain: readFileSync(opts.tls.cert) } : {}),
        }
      : undefined;
    this.client = new Etcd3({
      hosts,
      ...(credentials ? { credentials } : {}),
      ...(opts.username !== undefined
        ? {
            auth: {
              username: opts.username,
              password: opts.password ?? '',
              // The token exchange runs inside etcd3, outside our per-call options: bound it too.
              callOptions: () => ({ deadline: this.clock.wall() + this.callTimeoutMs }),
            },
          }
        : {}),
      grpcOptions: {
        // Each port has its own connections (two instances in one process must not share one).
        'grpc.use_local_subchannel_pool': 1,
        // Reconnect quickly after a member or the network comes back.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1_000,
        // Detects a dead connection under an open watch; etcd refuses pings more often than 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': Math.max(1_000, this.callTimeoutMs),
      },
      faultHandling: {
        // A member that failed twice in a row is skipped for a second (streams go to another
        // one), then tried again: short, so a recovered member (or a lone endpoint) is back fast.
        // Our own cancellations say nothing about the member.
        host: () =>
          circuitBreaker(
            handleWhen((e) => isRecoverableError(e) && !(e instanceof GRPCCancelledError)),
            { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(2) },
          ),
        // Try another member when one refuses; never retry what our deadline cancelled.
        global:
          hosts.length > 1
            ? retry(
                handleWhen((e) => isRecoverableError(e) && !(e instanceof GRPCCancelledError)),
                { maxAttempts: hosts.length - 1 },
              )
            : noop,
      },
    });
  }

  get(key: string, opts?: CallOptions): Promise<GetResult> {
    return this.call('get', opts, async (grpc) => {
      const res = await this.client.kv.range({ key: Buffer.from(key) }, grpc);
      const kv = res.kvs[0];
      return { kv: kv ? fromKv(kv) : null, revision: Number(res.header.revision) };
    });
  }

  getPrefix(prefix: string, opts?: CallOptions): Promise<PrefixResult> {
    return this.call('getPrefix', opts, async (grpc) => {
      const res = await this.client.kv.range(
        { key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
        grpc,
      );
      return { kvs: res.kvs.map(fromKv), revision: Number(res.header.revision) };
    });
  }

  txn(req: TxnRequest, opts?: CallOptions): Promise<TxnResult> {
    return this.call('txn', opts, async (grpc) => {
      const res = await this.client.kv.txn(
        {
          compare: req.compare.map(toCompare),
          success: req.success.map(toRequestOp),
          failure: (req.failure ?? []).map(toRequestOp),
        },
        grpc,
      );
      const ops = res.succeeded ? req.success : (req.failure ?? []);
      return {
        succeeded: res.succeeded,
        revision: Number(res.header.revision),
        results: ops.map((op, i) => fromResponseOp(op, res.responses[i])),
      };
    });
  }

  grantLease(ttlMs: number, opts?: CallOptions): Promise<Lease> {
    const seconds = ttlSeconds(ttlMs);
    return this.call('grantLease', opts, async (grpc) => {
      const res = await this.client.leaseClient.leaseGrant({ TTL: seconds, ID: 0 }, grpc);
      if (res.error) throw new SwitchyardError('COORD_REJECTED', `etcd: lease grant refused: ${res.error}`);
      return { id: res.ID, ttlMs: Number(res.TTL) * 1000 };
    });
  }

  keepAliveOnce(lease: LeaseId, opts?: CallOptions): Promise<{ ttlMs: number } | null> {
    return this.call('keepAliveOnce', opts, async (grpc, signal) => {
      // A stream goes to one member: when that one refuses at once, try the others within the
      // same deadline rather than lose a whole keep-alive round to one dead member.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.keepAliveStream(lease, grpc, signal);
        } catch (e) {
          const err = e instanceof Error ? castGrpcError(e) : e;
          if (signal.aborted || attempt >= this.endpointCount || !isRetryableHere(err)) throw err;
        }
      }
    });
  }

  private async keepAliveStream(
    lease: LeaseId,
    grpc: { interceptors: Interceptor[] },
    signal: AbortSignal,
  ): Promise<{ ttlMs: number } | null> {
    const stream = await this.client.leaseClient.leaseKeepAlive(grpc);
    return new Promise<{ ttlMs: number } | null>((resolve, reject) => {
      const finish = () => {
        // end() first: the stream is then no longer writable, and etcd3 does not take the
        // cancellation for a failed member.
        stream.end();
        stream.cancel();
      };
      if (signal.aborted) {
        finish();
        return;
      }
      signal.addEventListener('abort', finish, { once: true });
      stream.on('data', (res) => {
        signal.removeEventListener('abort', finish);
        stream.end();
        // TTL 0 (or below): etcd no longer knows the lease.
        resolve(Number(res.TTL) > 0 ? { ttlMs: Number(res.TTL) * 1000 } : null);
      });
      stream.on('error', (e) => {
        signal.removeEventListener('abort', finish);
        reject(e);
      });
      stream.on('end', () => reject(unavailable('etcd: lease keep-alive stream ended without an answer')));
      stream.write({ ID: lease });
    });
  }

  revokeLease(lease: LeaseId, opts?: CallOptions): Promise<void> {
    return this.call('revokeLease', opts, async (grpc) => {
      try {
        await this.client.leaseClient.leaseRevoke({ ID: lease }, grpc);
      } catch (e) {
        // Already expired or revoked: the outcome the caller wanted.
        if (e instanceof EtcdLeaseInvalidError) return;
        throw e;
      }
    });
  }

  watchPrefix(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): WatchHandle {
    let ended = false;
    let stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
    const stop = () => {
      ended = true;
      this.watches.delete(stop);
      this.clock.clearTimeout(createTimer);
      if (stream) {
        stream.end();
        stream.cancel();
      }
    };
    const broken = (reason: string, compactRevision?: number) => {
      if (ended) return;
      stop();
      onEvent(
        compactRevision === undefined
          ? { type: 'broken', reason }
          : { type: 'broken', reason, compactRevision },
      );
    };
    // The watch must be confirmed within one call timeout, like any other call.
    const createTimer = this.clock.setTimeout(
      () => broken(`etcd: watch on ${prefix} not confirmed within ${this.callTimeoutMs} ms`),
      this.callTimeoutMs,
    );
    this.watches.add(stop);
    if (this.closed) {
      queueMicrotask(() => broken('etcd: client closed'));
      return { cancel: stop };
    }
    this.client.watchClient.watch({ interceptors: [requestInterceptor()] }).then(
      (s) => {
        stream = s;
        if (ended) {
          stop();
          return;
        }
        s.on('data', (res: IWatchResponse) => {
          if (ended) return;
          if (res.created) this.clock.clearTimeout(createTimer);
          if (Number(res.compact_revision) > 0) {
            broken(
              `etcd: required revision ${fromRevision} has been compacted`,
              Number(res.compact_revision),
            );
            return;
          }
          for (const ev of res.events) {
            if (ended) return;
            onEvent(fromEvent(ev.type, ev.kv));
          }
          if (res.canceled) broken(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`);
        });
        s.on('error', (e: Error) => broken(`etcd: watch stream failed: ${e.message}`));
        s.on('end', () => broken('etcd: watch stream ended'));
        s.write({
          create_request: {
            key: Buffer.from(prefix),
            range_end: prefixEnd(prefix),
            start_revision: Math.max(fromRevision, 0),
          },
        });
      },
      (e: unknown) => broken(`etcd: watch could not be opened: ${(e as Error).message}`),
    );
    return { cancel: stop };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of [...this.watches]) stop();
    this.client.close();
  }

  /** One bounded request: our deadline, cancellation through the interceptor, typed errors. */
  private call<T>(
    what: string,
    opts: CallOptions | undefined,
    run: (grpc: { interceptors: Interceptor[] }, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = opts?.timeoutMs ?? this.callTimeoutMs;
    return boundedCall(this.clock, timeoutMs, `etcd: ${what}`, async (signal) => {
      if (this.closed) throw unavailable(`etcd: ${what}: client closed`);
      try {
        return await run({ interceptors: [requestInterceptor(signal)] }, signal);
      } catch (e) {
        throw toSwitchyardError(what, e);
      }
    });
  }
}

/**
 * Adds `hasleader` (etcd then refuses the request on a member without a leader, instead of
 * letting it wait) and cancels the gRPC call when `signal` aborts.
 */
function requestInterceptor(signal?: AbortSignal): Interceptor {
  return (options, nextCall) => {
    const cancel = () => call.cancelWithStatus(status.CANCELLED, 'switchyard: call deadline passed');
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('hasleader', 'true');
        next(metadata, listener);
        if (signal?.aborted) cancel();
      },
    });
    signal?.addEventListener('abort', cancel, { once: true });
    return call;
  };
}

/** A member's failure another member may not share (not our cancellation, not a refusal). */
function isRetryableHere(e: unknown): boolean {
  return e instanceof Error && isRecoverableError(e) && !(e instanceof GRPCCancelledError);
}

function toSwitchyardError(what: string, e: unknown): SwitchyardError {
  if (e instanceof SwitchyardError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof EtcdLeaseInvalidError)
    return new SwitchyardError('COORD_LEASE_NOT_FOUND', `etcd: ${what}: ${message}`, [], { cause: e });
  if (
    e instanceof EtcdAuthenticationFailedError ||
    e instanceof EtcdPermissionDeniedError ||
    e instanceof GRPCUnauthenticatedError ||
    e instanceof GRPCInvalidArgumentError ||
    e instanceof GRPCNotImplementedError ||
    e instanceof GRPCOutOfRangeError
  )
    return new SwitchyardError('COORD_REJECTED', `etcd: ${what}: ${message}`, [], { cause: e });
  // Unavailable, no leader, request timed out, cancelled, connection closed: try again later.
  return unavailable(`etcd: ${what}: ${message}`, e);
}

const COMPARE_RESULT: Record<Compare['op'], number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };

function toCompare(c: Compare): ICompare {
  const base = { key: Buffer.from(c.key), result: COMPARE_RESULT[c.op] };
  switch (c.target) {
    case 'version':
      return { ...base, target: 0, version: c.value };
    case 'createRevision':
      return { ...base, target: 1, create_revision: c.value };
    case 'modRevision':
      return { ...base, target: 2, mod_revision: c.value };
    case 'value':
      return { ...base, target: 3, value: Buffer.from(c.value) };
    case 'lease':
      return { ...base, target: 4, lease: c.value ?? '0' };
  }
}

function toRequestOp(op: TxnOp): IRequestOp {
  switch (op.type) {
    case 'put':
      return {
        request_put: {
          key: Buffer.from(op.key),
          value: Buffer.from(op.value),
          ...(op.lease !== undefined ? { lease: op.lease } : {}),
        },
      };
    case 'delete':
      return { request_delete_range: { key: Buffer.from(op.key) } };
    case 'get':
      return { request_range: { key: Buffer.from(op.key) } };
  }
}

function fromResponseOp(op: TxnOp, res: IResponseOp | undefined): TxnOpResult {
  switch (op.type) {
    case 'put':
      return { type: 'put' };
    case 'delete':
      return { type: 'delete', deleted: Number(res?.response_delete_range?.deleted ?? 0) };
    case 'get': {
      const kv = res?.response_range?.kvs[0];
      return { type: 'get', kv: kv ? fromKv(kv) : null };
    }
  }
}

function fromKv(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: kv.lease && kv.lease !== '0' ? kv.lease : null,
  };
}

function fromEvent(type: string, kv: IKeyValue): Exclude<WatchEvent, { type: 'broken' }> {
  if (type === 'Delete' || type === 'DELETE')
    return { type: 'delete', key: kv.key.toString(), value: '', modRevision: Number(kv.mod_revision) };
  const v = fromKv(kv);
  return { type: 'put', ...v };
}
