import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { type Logger, silentLogger } from '../log.js';
import { type Clock, systemClock } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import {
  type AdminHandlers,
  AdminRequestError,
  emptyBody,
  failoverBody,
  regionBody,
  switchoverBody,
} from './admin.js';
import { bearerToken, tokenMatches } from './auth.js';
import { MAX_BODY_BYTES, readBody } from './body.js';
import { parseListen } from './listen-address.js';
import type { StatusDocument } from './status.js';
import { serveStatusPage } from './status-page.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, e.g. "first probe round not done". */
  reason?: string;
}

export interface ServerOptions {
  /** "host:port" (director.listen); port 0 picks a free port (tests). */
  listen: string;
  registry: Registry;
  /**
   * The resolved admin token, or a function returning it (so a rotated secret file is picked up
   * on the next request). Undefined or empty: the admin API is disabled.
   */
  adminToken?: string | (() => string | undefined);
  getStatus(): StatusDocument | Promise<StatusDocument>;
  getReadiness(): Readiness;
  admin: AdminHandlers;
  logger?: Logger;
  /** Request durations and the close grace; the system clock by default. */
  clock?: Clock;
}

export interface SwitchyardServer {
  listen(): Promise<{ address: string; port: number }>;
  /**
   * Stops accepting connections and resolves once open requests have finished; after
   * `graceMs` (default 5 s) the remaining connections are cut.
   */
  close(graceMs?: number): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
interface Route {
  methods: readonly string[];
  handler: Handler;
}

const READ_METHODS = ['GET', 'HEAD'] as const;

/**
 * The daemon's HTTP endpoint: /metrics, /healthz, /readyz, /v1/status and the admin API.
 *
 * Reads need no token: they reveal topology and health but change nothing, Prometheus must
 * scrape without secrets, and the listener is loopback by default. Every /v1/admin/* route
 * requires `Authorization: Bearer <director.adminToken>`; with no token configured the admin
 * API is disabled rather than open.
 */
export function createServer(opts: ServerOptions): SwitchyardServer {
  const log = opts.logger ?? silentLogger();
  const clock = opts.clock ?? systemClock;
  const { host, port } = parseListen(opts.listen);

  const admin = <S extends z.ZodType>(schema: S, run: (body: z.output<S>) => Promise<unknown>): Handler => {
    return async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!authorised(req, res)) return;
      const body = await readBody(req, MAX_BODY_BYTES);
      if (!body.ok) {
        if (body.reason === 'too-large') {
          res.setHeader('Connection', 'close');
          sendError(res, 413, 'PAYLOAD_TOO_LARGE', `request body is over ${MAX_BODY_BYTES} bytes`);
        } else req.destroy();
        return;
      }
      let raw: unknown = {};
      if (body.text.trim() !== '') {
        try {
          raw = JSON.parse(body.text);
        } catch (e) {
          sendError(res, 400, 'ADMIN_REQUEST_INVALID', `request body is not JSON: ${(e as Error).message}`);
          return;
        }
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const details = parsed.error.issues.map(
          (i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`,
        );
        sendError(res, 400, 'ADMIN_REQUEST_INVALID', `invalid request body: ${details.join('; ')}`, details);
        return;
      }
      const result = await run(parsed.data);
      log.info(
        { event: 'admin', path, body: parsed.data, remote: req.socket.remoteAddress },
        'admin request applied',
      );
      sendJson(res, 200, result);
    };
  };

  const currentToken = (): string | undefined =>
    typeof opts.adminToken === 'function' ? opts.adminToken() : opts.adminToken;

  function authorised(req: IncomingMessage, res: ServerResponse): boolean {
    const expected = currentToken();
    if (!expected) {
      sendError(
        res,
        403,
        'ADMIN_DISABLED',
        'the admin API is disabled: set director.adminToken (env:NAME or file:/path) to enable it',
      );
      return false;
    }
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !tokenMatches(presented, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="switchyard"');
      log.warn(
        { event: 'admin-unauthorized', path: req.url?.split('?')[0], remote: req.socket.remoteAddress },
        'rejected',
      );
      sendError(
        res,
        401,
        'ADMIN_UNAUTHORIZED',
        presented === undefined ? 'missing bearer token' : 'invalid bearer token',
      );
      return false;
    }
    return true;
  }

  const routes: Record<string, Route> = {
    '/': { methods: READ_METHODS, handler: serveStatusPage },
    '/metrics': {
      methods: READ_METHODS,
      handler: async (_req, res) => {
        const text = await opts.registry.metrics();
        res.writeHead(200, { 'Content-Type': opts.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
    },
    '/healthz': {
      methods: READ_METHODS,
      handler: async (_req, res) => sendText(res, 200, 'ok\n'),
    },
    '/readyz': {
      methods: READ_METHODS,
      handler: async (_req, res) => {
        const r = opts.getReadiness();
        if (r.ready) sendText(res, 200, 'ready\n');
        else sendText(res, 503, `not ready: ${r.reason ?? 'starting'}\n`);
      },
    },
    '/v1/status': {
      methods: READ_METHODS,
      handler: async (_req, res) => sendJson(res, 200, await opts.getStatus()),
    },
    '/v1/admin/drain': {
      methods: ['POST'],
      handler: admin(regionBody, (b) => opts.admin.drain(b.region)),
    },
    '/v1/admin/undrain': {
      methods: ['POST'],
      handler: admin(regionBody, (b) => opts.admin.undrain(b.region)),
    },
    '/v1/admin/freeze': { methods: ['POST'], handler: admin(emptyBody, () => opts.admin.freeze()) },
    '/v1/admin/unfreeze': { methods: ['POST'], handler: admin(emptyBody, () => opts.admin.unfreeze()) },
    '/v1/admin/failover': {
      methods: ['POST'],
      handler: admin(failoverBody, (b) => opts.admin.failover(b)),
    },
    '/v1/admin/switchover': {
      methods: ['POST'],
      handler: admin(switchoverBody, (b) => opts.admin.switchover(b)),
    },
  };

  const server = createHttpServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    const started = clock.monotonic();
    // Method, path and status only: headers (and so the token) are never logged.
    res.on('finish', () =>
      log.debug(
        {
          event: 'http',
          method: req.method,
          path,
          status: res.statusCode,
          ms: Math.round(clock.monotonic() - started),
        },
        'request',
      ),
    );
    try {
      if (!route) {
        sendError(res, 404, 'NOT_FOUND', `no such endpoint: ${path}`);
        return;
      }
      if (!route.methods.includes(req.method ?? '')) {
        res.setHeader('Allow', route.methods.join(', '));
        sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
        return;
      }
      await route.handler(req, res);
    } catch (e) {
      handleError(res, e, path);
    }
  });
  // Bound slow clients: an admin call is tiny and local.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;

  function handleError(res: ServerResponse, e: unknown, path: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof AdminRequestError) {
      log.info(
        { event: 'admin-refused', path, status: e.status, reason: e.message },
        'admin request refused',
      );
      sendError(res, e.status, e.code, e.message, e.details);
    } else if (isSwitchyardError(e, 'ADMIN_REQUEST_INVALID')) {
      log.info({ event: 'admin-refused', path, status: 400, reason: e.message }, 'admin request refused');
      sendError(res, 400, e.code, e.message, e.details);
    } else if (isSwitchyardError(e)) {
      log.error({ event: 'request-failed', path, err: e }, 'request failed');
      sendError(res, 500, e.code, e.message);
    } else {
      log.error({ event: 'request-failed', path, err: e }, 'request failed');
      sendError(res, 500, 'INTERNAL', 'internal error (see the daemon log)');
    }
  }

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) =>
          reject(
            new SwitchyardError(
              'LISTEN_FAILED',
              `cannot listen on ${host}:${port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (another process has this port: stop it, or choose another with --listen)' : e.code === 'EACCES' ? ' (permission denied: ports below 1024 need privileges)' : e.code === 'EADDRNOTAVAIL' ? ' (no interface has this address)' : ''}`,
              [],
              { cause: e },
            ),
          ),
        );
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          log.info({ event: 'listening', address: a.address, port: a.port }, 'http server listening');
          resolve({ address: a.address, port: a.port });
        });
      }),
    close: (graceMs = 5_000) =>
      new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        const cut = clock.setTimeout(() => server.closeAllConnections(), graceMs);
        server.close((e) => {
          clock.clearTimeout(cut);
          if (e) reject(e);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  details: readonly string[] = [],
): void {
  sendJson(res, status, { error: { code, message, ...(details.length > 0 ? { details } : {}) } });
}
