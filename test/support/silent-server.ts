import { createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP server on 127.0.0.1 that accepts every connection, reads what it is sent, and never
 * answers: the "control plane that hangs" fault. It notes when each connection arrived and how
 * many were closed by the client, so a test can see attempts, their spacing and their abort.
 */
export interface SilentServer {
  port: number;
  endpoint: string;
  /** performance.now() of each accepted connection, in order. */
  arrivals: number[];
  /** Connections the client has closed (aborted) so far. */
  closedByClient(): number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const arrivals: number[] = [];
  let closed = 0;
  let stopping = false;
  const server: Server = createServer((socket) => {
    arrivals.push(performance.now());
    sockets.add(socket);
    socket.on('data', () => undefined); // read and drop: the request is "received", never answered
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!stopping) closed++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    arrivals,
    closedByClient: () => closed,
    close: async () => {
      stopping = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
