import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { type Logger, silentLogger } from '../log.js';
import { type Clock, systemClock } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import {
  type Actor,
  type AdminHandlers,
  AdminRequestError,
  emptyBody,
  failoverBody,
  regionBody,
  requireReason,
  switchoverBody,
} from './admin.js';
import { bearerToken, type NamedToken, tokenOwner } from './auth.js';
import { MAX_BODY_BYTES, readBody } from './body.js';
import { parseListen } from './listen-address.js';
import type { StatusDocument } from './status.js';
import { serveStatusPage } from './status-page.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, e.g. "first probe round not done". */
  reason?: string;
  /** Ready, but with something an operator must know (rule 6 not met: promotion waits for approval). */
  note?: string;
}

export interface ServerOptions {
  /** The read-only listener, "host:port" (director.listen); port 0 picks a free port (tests). */
  listen: string;
  /**
   * The admin listener (admin.listen), loopback unless `adminAllowNonLoopback`. Without it the
   * daemon serves no admin API at all.
   */
  adminListen?: string;
  /** admin.allowNonLoopback: the operator's explicit opt-in to an admin API on the network. */
  adminAllowNonLoopback?: boolean;
  registry: Registry;
  /**
   * The resolved admin token, or a function returning it (so a rotated secret file is picked up
   * on the next request). Undefined or empty: the admin API is disabled. Its identity is "admin".
   */
  adminToken?: string | (() => string | undefined);
  /** Named admin tokens (admin.tokens), resolved per request; the caller's identity is the name. */
  adminTokens?: () => NamedToken[];
  getStatus(): StatusDocument | Promise<StatusDocument>;
  getReadiness(): Readiness;
  admin: AdminHandlers;
  logger?: Logger;
  /** Request durations and the close grace; the system clock by default. */
  clock?: Clock;
}

export interface ListenAddress {
  address: string;
  port: number;
}

export interface SwitchyardServer {
  /** Binds both listeners; resolves with the read-only address and the admin one (if any). */
  listen(): Promise<ListenAddress & { admin?: ListenAddress }>;
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

/** True for an address only this host can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The daemon's HTTP endpoints, on two listeners:
 * - the read-only surface (`listen`: /metrics, /healthz, /readyz, /v1/status): no token, since
 *   it changes nothing and Prometheus and kubelet probes must reach it without secrets; a pod
 *   may bind it on all interfaces;
 * - the admin API (`adminListen`: /v1/admin/*), loopback by default, every route requiring
 *   `Authorization: Bearer <token>` (admin.token or one of admin.tokens); with no token
 *   configured it is disabled rather than open.
 * Each listener answers the other's paths with 404 and a hint, never by serving them.
 */
export function createServer(opts: ServerOptions): SwitchyardServer {
  const log = opts.logger ?? silentLogger();
  const clock = opts.clock ?? systemClock;
  const { host, port } = parseListen(opts.listen);
  const adminAt = opts.adminListen ? parseListen(opts.adminListen) : undefined;
  if (adminAt && !isLoopback(adminAt.host) && opts.adminAllowNonLoopback !== true)
    throw new SwitchyardError(
      'CONFIG_INVALID',
      `admin.listen: ${opts.adminListen} is not a loopback address: the admin API (failover, switchover, drain) would be reachable from the network`,
      [
        'bind it to 127.0.0.1 (the default, 127.0.0.1:9465) and reach it with kubectl exec or port-forward,',
        'or set admin.allowNonLoopback: true, with TLS in front and a NetworkPolicy that admits only operators',
      ],
    );

  const admin = <S extends z.ZodType>(
    schema: S,
    run: (body: z.output<S>, actor: Actor) => Promise<unknown>,
  ): Handler => {
    return async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const by = authorised(req, res);
      if (by === undefined) return;
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
      const data = parsed.data as { reason?: string };
      const actor: Actor = { by, ...(data.reason ? { reason: data.reason } : {}) };
      const result = await run(parsed.data, actor);
      log.info(
        { event: 'admin', path, body: parsed.data, by, remote: req.socket.remoteAddress },
        'admin request applied',
      );
      sendJson(res, 200, result);
    };
  };

  const currentTokens = (): NamedToken[] => {
    const single = typeof opts.adminToken === 'function' ? opts.adminToken() : opts.adminToken;
    return [
      ...(single ? [{ name: 'admin', token: single }] : []),
      ...(opts.adminTokens?.() ?? []).filter((t) => t.token),
    ];
  };

  /** The identity (token name) of an authorised request; undefined once it has been answered. */
  function authorised(req: IncomingMessage, res: ServerResponse): string | undefined {
    const expected = currentTokens();
    if (expected.length === 0) {
      sendError(
        res,
        403,
        'ADMIN_DISABLED',
        'the admin API is disabled: set admin.token or admin.tokens (env:NAME or file:/path) to enable it',
      );
      return undefined;
    }
    const presented = bearerToken(req.headers.authorization);
    const owner = presented === undefined ? undefined : tokenOwner(presented, expected);
    if (owner === undefined) {
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
      return undefined;
    }
    return owner;
  }

  const readRoutes: Record<string, Route> = {
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
        if (r.ready) sendText(res, 200, r.note ? `ready; ${r.note}\n` : 'ready\n');
        else sendText(res, 503, `not ready: ${r.reason ?? 'starting'}\n`);
      },
    },
    '/v1/status': {
      methods: READ_METHODS,
      handler: async (_req, res) => sendJson(res, 200, await opts.getStatus()),
    },
  };
  const adminRoutes: Record<string, Route> = {
    '/healthz': readRoutes['/healthz'] as Route,
    '/v1/admin/drain': {
      methods: ['POST'],
      handler: admin(regionBody, (b, a) => opts.admin.drain(b.region, a)),
    },
    '/v1/admin/undrain': {
      methods: ['POST'],
      handler: admin(regionBody, (b, a) => opts.admin.undrain(b.region, a)),
    },
    '/v1/admin/freeze': { methods: ['POST'], handler: admin(emptyBody, (_b, a) => opts.admin.freeze(a)) },
    '/v1/admin/unfreeze': {
      methods: ['POST'],
      handler: admin(emptyBody, (_b, a) => opts.admin.unfreeze(a)),
    },
    '/v1/admin/failover': {
      methods: ['POST'],
      handler: admin(failoverBody, (b, a) => {
        requireReason(b, 'failover');
        return opts.admin.failover(b, a);
      }),
    },
    '/v1/admin/switchover': {
      methods: ['POST'],
      handler: admin(switchoverBody, (b, a) => {
        requireReason(b, 'switchover');
        return opts.admin.switchover(b, a);
      }),
    },
  };

  const readServer = httpServer(readRoutes, (path) =>
    path.startsWith('/v1/admin/')
      ? `no such endpoint here: ${path}; the admin API is on its own listener (admin.listen, 127.0.0.1:9465 by default)`
      : `no such endpoint: ${path}`,
  );
  const adminServer = adminAt
    ? httpServer(adminRoutes, (path) =>
        readRoutes[path]
          ? `no such endpoint here: ${path}; reads are on the read-only listener (director.listen)`
          : `no such endpoint: ${path}`,
      )
    : undefined;

  function httpServer(routes: Record<string, Route>, notFound: (path: string) => string) {
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
          sendError(res, 404, 'NOT_FOUND', notFound(path));
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
    // Bound slow clients: a request is tiny and local. (A switchover's answer may take minutes:
    // requestTimeout bounds receiving the request, not the handler.)
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    return server;
  }

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

  const bind = (
    server: ReturnType<typeof httpServer>,
    at: { host: string; port: number },
    surface: 'read-only' | 'admin',
  ) =>
    new Promise<ListenAddress>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => reject(listenError(e, at, surface));
      server.once('error', fail);
      server.listen(at.port, at.host, () => {
        server.off('error', fail);
        const a = server.address() as AddressInfo;
        log.info({ event: 'listening', surface, address: a.address, port: a.port }, `${surface} listener up`);
        resolve({ address: a.address, port: a.port });
      });
    });
  const closeOne = (server: ReturnType<typeof httpServer> | undefined, graceMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (!server?.listening) {
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
    });

  return {
    listen: async () => {
      const read = await bind(readServer, { host, port }, 'read-only');
      if (!adminServer || !adminAt) return read;
      try {
        return { ...read, admin: await bind(adminServer, adminAt, 'admin') };
      } catch (e) {
        await closeOne(readServer, 0);
        throw e;
      }
    },
    close: async (graceMs = 5_000) => {
      await Promise.all([closeOne(readServer, graceMs), closeOne(adminServer, graceMs)]);
    },
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

/** A listener that cannot bind: what happened, and what the operator can do about it. */
function listenError(
  e: NodeJS.ErrnoException,
  at: { host: string; port: number },
  surface: 'read-only' | 'admin',
): SwitchyardError {
  const flag = surface === 'admin' ? '--admin-listen (admin.listen)' : '--listen (director.listen)';
  const hint =
    e.code === 'EADDRINUSE'
      ? ` (another process has this port: stop it, or choose another with ${flag})`
      : e.code === 'EACCES'
        ? ' (permission denied: ports below 1024 need privileges)'
        : e.code === 'EADDRNOTAVAIL'
          ? ' (no interface has this address)'
          : '';
  return new SwitchyardError(
    'LISTEN_FAILED',
    `cannot listen on ${at.host}:${at.port} (${surface} listener): ${e.code ?? e.message}${hint}`,
    [],
    { cause: e },
  );
}
