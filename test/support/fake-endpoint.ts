import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stand-in for one gateway or key manager: a real HTTP server on 127.0.0.1 that answers 200
 * while up, and can be stopped (connection refused) and started again on the same port.
 */
export class FakeEndpoint {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;
  status = 200;

  constructor(readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }

  async start(): Promise<this> {
    const server = createServer((_req, res) => {
      res.writeHead(this.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: this.name, status: this.status === 200 ? 'ok' : 'failing' }));
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening and cuts open connections: probes now see "connection refused". */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** The seed layout's endpoints: a gateway in every region, a key manager in r1 and r2. */
export function seedEndpoints(): {
  gw: Record<'r1' | 'r2' | 'r3' | 'r4', FakeEndpoint>;
  km: Record<'r1' | 'r2', FakeEndpoint>;
} {
  return {
    gw: {
      r1: new FakeEndpoint('gw-r1'),
      r2: new FakeEndpoint('gw-r2'),
      r3: new FakeEndpoint('gw-r3'),
      r4: new FakeEndpoint('gw-r4'),
    },
    km: { r1: new FakeEndpoint('km-r1'), r2: new FakeEndpoint('km-r2') },
  };
}
