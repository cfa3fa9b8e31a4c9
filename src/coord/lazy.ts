import type { EtcdCoordOptions } from './etcd.js';
import type {
  CallOptions,
  CoordPort,
  GetResult,
  Lease,
  LeaseId,
  PrefixResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchHandle,
} from './types.js';

/**
 * The etcd port, loaded on first use: etcd3 and gRPC weigh several MiB and a noticeable share of
 * start-up, which a deployment on the file store (and every CLI command) should not pay.
 */
export class LazyEtcdCoord implements CoordPort {
  private port: Promise<CoordPort> | undefined;

  constructor(private readonly opts: EtcdCoordOptions) {}

  private load(): Promise<CoordPort> {
    this.port ??= import('./etcd.js').then(({ EtcdCoord }) => new EtcdCoord(this.opts));
    return this.port;
  }

  async get(key: string, opts?: CallOptions): Promise<GetResult> {
    return (await this.load()).get(key, opts);
  }
  async getPrefix(prefix: string, opts?: CallOptions): Promise<PrefixResult> {
    return (await this.load()).getPrefix(prefix, opts);
  }
  async txn(req: TxnRequest, opts?: CallOptions): Promise<TxnResult> {
    return (await this.load()).txn(req, opts);
  }
  async grantLease(ttlMs: number, opts?: CallOptions): Promise<Lease> {
    return (await this.load()).grantLease(ttlMs, opts);
  }
  async keepAliveOnce(lease: LeaseId, opts?: CallOptions): Promise<{ ttlMs: number } | null> {
    return (await this.load()).keepAliveOnce(lease, opts);
  }
  async revokeLease(lease: LeaseId, opts?: CallOptions): Promise<void> {
    return (await this.load()).revokeLease(lease, opts);
  }
  /** The watch opens once the port has loaded; cancelling before that cancels it as it opens. */
  watchPrefix(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): WatchHandle {
    let inner: WatchHandle | undefined;
    let cancelled = false;
    void this.load().then(
      (p) => {
        if (!cancelled) inner = p.watchPrefix(prefix, fromRevision, onEvent);
      },
      (e: unknown) => onEvent({ type: 'broken', reason: `etcd client did not load: ${String(e)}` }),
    );
    return {
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
    };
  }
  async close(): Promise<void> {
    if (this.port) await (await this.port).close();
  }
}
