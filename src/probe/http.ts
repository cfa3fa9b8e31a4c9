import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Dispatcher, Client as UndiciClient } from 'undici';
import type { HttpCheckConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { type BodyRegex, compileBodyRegex } from './body-regex.js';
import { classifyError, type ProbeFailure } from './failure.js';
import type { Probe, ProbeResult } from './types.js';

export interface HttpProbeOptions {
  timeoutMs: number;
  /** Default for checks without their own `maxBodyBytes` (config `probes.maxBodyBytes`). */
  maxBodyBytes: number;
  clock?: Clock;
  /** Resolves a secret reference (env:/file:) at run time; defaults to `resolveSecret`. */
  secrets?: (ref: string) => string;
  /** How long an idle keep-alive connection is kept (capped by the server's Keep-Alive hint). */
  keepAliveMs?: number;
}

interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

function readTls(tls: HttpCheckConfig['tls']): TlsMaterial | { error: string } {
  const out: TlsMaterial = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const path = tls?.[k];
    if (path === undefined) continue;
    try {
      out[k] = readFileSync(path, 'utf8');
    } catch (e) {
      return { error: `tls.${k} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` };
    }
  }
  return out;
}

/**
 * One TLS context per distinct CA bundle / client certificate, shared by every probe that uses
 * it. Without one, Node builds a context (parses the bundle, builds a trust store) for every
 * connection: per target in memory, and on every reconnect in CPU. Keyed by content, so a
 * reload after a rotated file gets a new context.
 */
const secureContexts = new Map<string, SecureContext>();
const MAX_SECURE_CONTEXTS = 256;
function secureContextFor(m: TlsMaterial): SecureContext | { error: string } | undefined {
  if (m.ca === undefined && m.cert === undefined && m.key === undefined) return undefined;
  const key = `${m.ca ?? ''}\0${m.cert ?? ''}\0${m.key ?? ''}`;
  let ctx = secureContexts.get(key);
  if (!ctx) {
    try {
      ctx = createSecureContext(m);
    } catch (e) {
      return { error: `tls: ${(e as Error).message}` };
    }
    if (secureContexts.size >= MAX_SECURE_CONTEXTS) secureContexts.clear();
    secureContexts.set(key, ctx);
  }
  return ctx;
}

/**
 * undici's Client alone: the package's index also loads fetch, WebSocket, EventSource, the cache
 * stores and their dependencies, ~9 MiB of resident memory a prober never uses. undici is pinned
 * (package-lock); a layout change fails loudly here at start-up and in every HTTP probe test.
 */
const Client = createRequire(import.meta.url)('undici/lib/dispatcher/client.js') as typeof UndiciClient;
type Client = UndiciClient;

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

const defaultSecrets = (ref: string) => resolveSecret(ref);

/**
 * Status lookup tables (one index per response, whatever the list's length), shared by every
 * probe with the same expectStatus: a thousand `[200]` checks hold one table, not a thousand.
 */
const statusTables = new Map<string, Uint8Array>();
function statusTable(codes: readonly number[]): Uint8Array {
  const key = codes.join('|');
  let t = statusTables.get(key);
  if (!t) {
    t = new Uint8Array(600);
    for (const c of codes) t[c] = 1;
    statusTables.set(key, t);
  }
  return t;
}

/** Passed to undici's callback-style destroy: it calls back with (null, null) once closed. */
function destroyed(): void {}

const ONCE = { once: true } as const;

/**
 * An HTTP(S) check. One undici Client (a single keep-alive connection) per probe: the scheduler
 * never overlaps runs of one target, so one connection is all a target needs, and it is reused
 * run after run — while it can be trusted. After a connection error (TLS, protocol, reset,
 * connect timeout) the Client is destroyed and the next run starts on a fresh one: undici 7 can
 * leave a Client whose connection failed (a certificate for the wrong name) with a phantom
 * running request, on which every later request queues for ever. A timeout is not such an error:
 * the request is aborted (undici drops that socket) and the Client, with its TLS session cache,
 * stays, so reconnecting resumes the session instead of paying a full handshake each time —
 * under load, full handshakes that each miss the timeout would never let the target recover.
 * A run that does not end at all is the scheduler's to end: it calls `reset()`.
 *
 * One deadline per run: the caller's signal (the scheduler's, which carries the target's
 * timeout), or the probe's own single timer when run without one. The response goes through a
 * small dispatch handler (no response stream, no async iterator): the body is read only up to
 * `maxBodyBytes` (matches look only there, like Route 53's first 5,120 bytes), past which the
 * connection is dropped, so an endless or huge body costs a bounded read and never hangs.
 */
export function createHttpProbe(check: HttpCheckConfig, opts: HttpProbeOptions): Probe<ProbeResult> {
  return new HttpProbe(check, opts);
}

class HttpProbe implements Probe<ProbeResult> {
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly maxBody: number;
  readonly needBody: boolean;
  readonly needle: Buffer | undefined;
  readonly regex: BodyRegex | undefined;
  readonly check: HttpCheckConfig;
  private readonly expected: Uint8Array;
  private readonly expectedText: string;
  private readonly origin: string;
  private readonly clientOptions: UndiciClient.Options;
  private readonly tlsError: string | undefined;
  private readonly secrets: (ref: string) => string;
  /** Reused for every run: undici reads it synchronously when the request is dispatched. */
  private readonly request: Dispatcher.DispatchOptions;
  private readonly headers: Record<string, string>;
  private token: string | undefined;
  private client: Client | undefined;
  private closed = false;

  constructor(check: HttpCheckConfig, opts: HttpProbeOptions) {
    this.check = check;
    this.clock = opts.clock ?? systemClock;
    this.secrets = opts.secrets ?? defaultSecrets;
    this.timeoutMs = opts.timeoutMs;
    this.maxBody = check.maxBodyBytes ?? opts.maxBodyBytes;
    const url = new URL(check.url);
    this.origin = url.origin;
    this.regex = check.bodyRegex !== undefined ? compileBodyRegex(check.bodyRegex) : undefined;
    this.needle = check.bodyMatch !== undefined ? Buffer.from(check.bodyMatch, 'utf8') : undefined;
    this.needBody = check.method !== 'HEAD' && (this.needle !== undefined || this.regex !== undefined);
    this.expected = statusTable(check.expectStatus);
    this.expectedText = check.expectStatus.join('|');
    const material = readTls(check.tls);
    const tls = 'error' in material ? material : secureContextFor(material);
    this.tlsError = tls && 'error' in tls ? tls.error : undefined;
    this.clientOptions = {
      connect: {
        timeout: this.timeoutMs,
        ...(tls && !('error' in tls) ? { secureContext: tls } : {}),
        ...(check.tls?.serverName ? { servername: check.tls.serverName } : {}),
        rejectUnauthorized: !(check.tls?.insecureSkipVerify ?? false),
      },
      // The run's deadline (the signal or the probe's timer) ends the run; these bound only an
      // exchange the run has already given up on (see Exchange.onRequestStart).
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: opts.keepAliveMs ?? 60_000,
      pipelining: 1,
    };
    this.headers = { 'user-agent': 'switchyard-probe', ...check.headers };
    this.request = {
      origin: this.origin,
      path: `${url.pathname}${url.search}`,
      method: check.method,
      headers: this.headers,
      ...(check.body !== undefined && check.method === 'POST' ? { body: check.body } : {}),
    };
  }

  run(signal?: AbortSignal): Promise<ProbeResult> {
    const at = this.clock.monotonic();
    if (this.tlsError) return Promise.resolve(this.failure(at, 'tls-config', this.tlsError));
    if (this.closed) return Promise.resolve(this.failure(at, 'aborted', 'probe closed'));
    if (signal?.aborted) return Promise.resolve(this.failure(at, 'aborted', 'aborted before start'));
    if (this.check.bearerToken !== undefined) {
      let token: string;
      try {
        token = this.secrets(this.check.bearerToken);
      } catch (e) {
        return Promise.resolve(this.failure(at, 'secret', `bearer token: ${(e as Error).message}`));
      }
      if (token !== this.token) {
        this.token = token;
        this.headers.authorization = `Bearer ${token}`;
      }
    }
    this.client ??= new Client(this.origin, this.clientOptions);
    const exchange = new Exchange(this, this.client, at, signal);
    if (signal) signal.addEventListener('abort', exchange, ONCE);
    else exchange.arm();
    this.client.dispatch(this.request, exchange);
    return exchange.promise;
  }

  reset(reason: string): void {
    if (this.client) this.discard(this.client, reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (c && !c.destroyed) await new Promise<void>((resolve) => c.destroy(null, () => resolve()));
  }

  /** Drops a connection that cannot be trusted any more; the next run makes a new Client. */
  discard(client: Client, reason: string): void {
    if (this.client === client) this.client = undefined;
    if (!client.destroyed)
      client.destroy(new DOMException(`probe connection discarded: ${reason}`, 'AbortError'), destroyed);
  }

  statusOk(status: number): boolean {
    return this.expected[status] === 1;
  }

  statusFailure(at: number, status: number): ProbeResult {
    return this.failure(at, 'status', `status ${status}, expected ${this.expectedText}`, status);
  }

  failure(at: number, error: ProbeFailure, detail: string, status?: number): ProbeResult {
    const r: ProbeResult = {
      ok: false,
      at,
      latencyMs: Math.round(this.clock.monotonic() - at),
      error,
      detail,
    };
    if (status !== undefined) r.status = status;
    return r;
  }
}

/**
 * One run: undici's dispatch handler, the abort listener (`handleEvent`) and the run's state in
 * one object, so a run allocates this and its promise rather than a closure per callback.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly promise: Promise<ProbeResult>;
  private resolve!: (r: ProbeResult) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private timer: TimerHandle | undefined;
  private status = 0;
  private size = 0;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;
  private done = false;
  /** The error this run aborted its own request with (undici reports it back). */
  private abortedWith: Error | undefined;

  constructor(
    private readonly probe: HttpProbe,
    private readonly client: Client,
    private readonly at: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<ProbeResult>((resolve) => {
      this.resolve = resolve;
    });
  }

  /** Standalone run: the probe's own deadline. */
  arm(): void {
    const ms = this.probe.timeoutMs;
    this.timer = this.probe.clock.setTimeout(() => {
      this.timer = undefined;
      this.stop('timeout', `timeout after ${formatDuration(ms)}`);
    }, ms);
  }

  /** The caller's signal aborted (the scheduler's timeout, or the target being removed). */
  handleEvent(): void {
    const c = classifyError(this.signal?.reason, this.probe.timeoutMs);
    if (c.error === 'timeout') this.stop('timeout', c.detail);
    else this.stop('aborted', 'aborted');
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // If the run already ended (its deadline came while the connection was being made), the
    // request still goes out and its answer is read and ignored: that leaves the next run a warm
    // connection (and TLS session) instead of a handshake thrown away on every timeout, which
    // under load never completes. undici's header and body timeouts bound this late exchange.
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const max = this.probe.maxBody;
    const room = max - this.size;
    if (chunk.length > room) {
      // Past the limit: judge what was read, and drop the connection rather than read on.
      if (!this.done) {
        if (this.probe.needBody && room > 0) this.keep(chunk.subarray(0, room));
        this.size = max;
        this.finish(this.judge());
      }
      this.abortRequest(controller, 'body limit reached');
      return;
    }
    if (!this.done && this.probe.needBody) this.keep(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    if (this.done) return;
    this.finish(this.judge());
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    // Our own abort (deadline, body limit) says nothing about the connection: undici has dropped
    // the socket and the Client reconnects.
    if (err === this.abortedWith) return;
    const c = classifyError(err, this.probe.timeoutMs);
    if (!this.done) this.finish(this.probe.failure(this.at, c.error, c.detail));
    // Anything else — TLS, protocol, reset, connect timeout — and the Client is not trusted again,
    // also when the run had already ended: undici 7 can leave a Client wedged after a TLS error.
    this.probe.discard(this.client, c.error);
  }

  /** Ends the run now (its deadline, or the caller's abort). */
  private stop(error: ProbeFailure, detail: string): void {
    if (this.done) return;
    this.finish(this.probe.failure(this.at, error, detail));
    // A request on the wire is aborted (undici drops its socket); one still waiting for its
    // connection is left to finish (see onRequestStart).
    if (this.controller) this.abortRequest(this.controller, detail);
  }

  private abortRequest(controller: Dispatcher.DispatchController, why: string): void {
    if (this.abortedWith) return;
    this.abortedWith = new DOMException(why, 'AbortError');
    controller.abort(this.abortedWith);
  }

  private keep(chunk: Buffer): void {
    if (this.first === undefined) this.first = chunk;
    else if (this.rest === undefined) this.rest = [this.first, chunk];
    else this.rest.push(chunk);
  }

  private body(): Buffer {
    if (this.rest) return Buffer.concat(this.rest, this.size);
    return this.first ?? Buffer.alloc(0);
  }

  private judge(): ProbeResult {
    const p = this.probe;
    const status = this.status;
    if (!p.statusOk(status)) return p.statusFailure(this.at, status);
    if (p.needBody) {
      const body = this.body();
      const check = p.check;
      if (p.needle !== undefined && body.indexOf(p.needle) < 0)
        return p.failure(
          this.at,
          'body-mismatch',
          `body lacks ${quote(check.bodyMatch as string)} in its first ${body.length} bytes`,
          status,
        );
      if (p.regex !== undefined && !p.regex.test(body.toString('utf8')))
        return p.failure(
          this.at,
          'body-mismatch',
          `body does not match /${check.bodyRegex}/ in its first ${body.length} bytes`,
          status,
        );
    }
    const ms = Math.round(p.clock.monotonic() - this.at);
    return { ok: true, at: this.at, latencyMs: ms, status, detail: `${status} in ${ms}ms` };
  }

  private finish(r: ProbeResult): void {
    this.done = true;
    if (this.timer) this.probe.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener('abort', this);
    this.first = undefined;
    this.rest = undefined;
    this.resolve(r);
  }
}
