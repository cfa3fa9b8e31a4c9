import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps, type ServerOptions as HttpsOptions } from 'node:https';
import { type AddressInfo, createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  port: number;
  /** http(s)://127.0.0.1:port */
  origin: string;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections(): number;
  requests(): number;
  close(): Promise<void>;
}

async function listen(server: Server | NetServer, scheme: string): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let requests = 0;
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // For TLS servers the raw TCP connection event is the same; count requests separately.
  server.on('request', () => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `${scheme}://127.0.0.1:${port}`,
    connections: () => connections,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A real HTTP server on 127.0.0.1, on a port the OS picks. */
export function startHttpServer(handler: Handler): Promise<TestServer> {
  return listen(createHttp({ keepAliveTimeout: 30_000 }, handler), 'http');
}

export interface TestHttpsServer extends TestServer {
  /** Swaps the certificate for new handshakes (as a renewal does); open connections keep the old one. */
  setSecureContext(options: SecureContextOptions): void;
}

export async function startHttpsServer(options: HttpsOptions, handler: Handler): Promise<TestHttpsServer> {
  const server = createHttps({ keepAliveTimeout: 30_000, ...options }, handler);
  const base = await listen(server, 'https');
  return { ...base, setSecureContext: (o) => server.setSecureContext(o) };
}

/** A raw TCP server (for "not HTTP at all" peers). */
export function startTcpServer(onSocket: (s: Socket) => void): Promise<TestServer> {
  const server = createNet(onSocket);
  return listen(server, 'http');
}

/** A loopback port with nothing listening: bind, note the port, close. */
export async function closedPort(): Promise<number> {
  const s = createNet();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
