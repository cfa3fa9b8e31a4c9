import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * An in-process TCP proxy on 127.0.0.1 that a test can break (`tc netem` is not available in
 * this kernel): put it between a client and a server (an etcd client and its member, an
 * observer and a region's endpoint) and
 * - `cut()`: every open connection is reset and new ones are reset as soon as they connect
 *   (the peer sees ECONNRESET): a link that is down and says so;
 * - `stall()`: connections stay open but nothing passes in either direction, new ones are
 *   accepted and left silent: a black hole, only timeouts notice it. Data is held, as TCP
 *   would retransmit it, and flows again on `restore()`;
 * - `reset()`: resets the open connections once; new ones work;
 * - `restore()`: back to forwarding.
 */
export type ProxyMode = 'open' | 'cut' | 'stall';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class TcpProxy {
  readonly targetHost: string;
  readonly targetPort: number;
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = 'open';
  /** Connections accepted since start (for assertions that a client reconnected). */
  accepted = 0;

  constructor(targetPort: number, targetHost = '127.0.0.1') {
    this.targetPort = targetPort;
    this.targetHost = targetHost;
  }

  /** Listens on 127.0.0.1 (port 0 = any free port); resolves to the port. */
  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.port;
  }

  get port(): number {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy not listening');
    return addr.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  cut(): void {
    this.current = 'cut';
    for (const p of [...this.pairs]) this.destroy(p, true);
  }

  stall(): void {
    this.current = 'stall';
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream.pause();
    }
  }

  reset(): void {
    for (const p of [...this.pairs]) this.destroy(p, true);
  }

  restore(): void {
    this.current = 'open';
    for (const p of this.pairs) {
      p.client.resume();
      p.upstream.resume();
    }
  }

  openConnections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.destroy(p, false);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.current === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    // Manual pumping rather than pipe(): a paused (stalled) pair must hold data, not drop it.
    client.on('data', (chunk) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => this.current === 'open' && client.resume());
    upstream.on('data', (chunk) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => this.current === 'open' && upstream.resume());
    const end = () => this.destroy(pair, false);
    client.on('close', end);
    upstream.on('close', end);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    if (this.current === 'stall') {
      client.pause();
      upstream.pause();
    }
  }

  private destroy(p: Pair, reset: boolean): void {
    if (!this.pairs.delete(p)) return;
    if (reset) {
      if (!p.client.destroyed) p.client.resetAndDestroy();
      if (!p.upstream.destroyed) p.upstream.resetAndDestroy();
    } else {
      p.client.destroy();
      p.upstream.destroy();
    }
  }
}
