import { readFileSync } from 'node:fs';
import type {
  FailoverRequest,
  FailoverResult,
  OverrideResult,
  SwitchoverRequest,
  SwitchoverResult,
} from '../server/admin.js';
import type { StatusDocument } from '../server/status.js';
import { ERROR_CODES, type ErrorCode, isSwitchyardError, SwitchyardError } from '../util/errors.js';
import { type Command, InvalidArgumentError } from './commander.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { CliContext } from './io.js';

/** The read-only listener (director.listen): status, metrics, health. */
export const DEFAULT_ADDR = '127.0.0.1:9464';
/** The admin listener (admin.listen): overrides, failover, switchover. */
export const DEFAULT_ADMIN_ADDR = '127.0.0.1:9465';
const DEFAULT_TIMEOUT_MS = 10_000;

/** An error from the daemon or from reaching it, with the HTTP status when there was one. */
export class AdminClientError extends SwitchyardError {
  readonly httpStatus: number | undefined;
  constructor(code: ErrorCode, message: string, httpStatus?: number, details: readonly string[] = []) {
    super(code, message, details);
    this.name = 'AdminClientError';
    this.httpStatus = httpStatus;
  }
}

export interface AdminClientOptions {
  /** The read-only listener: "host:port" or a base URL ("http://host:port"). */
  addr: string;
  /** The admin listener (writes); `addr` when omitted. */
  adminAddr?: string;
  token?: string;
  timeoutMs?: number;
}

/** A small typed client of the daemon's HTTP API, used by the operator commands. */
export class AdminClient {
  private readonly base: string;
  private readonly adminBase: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: AdminClientOptions) {
    this.base = baseUrl(opts.addr);
    this.adminBase = baseUrl(opts.adminAddr ?? opts.addr);
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  status(): Promise<StatusDocument> {
    return this.call<StatusDocument>('GET', '/v1/status', undefined, this.timeoutMs, isStatusDocument);
  }
  drain(region: string, reason?: string): Promise<OverrideResult> {
    return this.call('POST', '/v1/admin/drain', { region, ...(reason ? { reason } : {}) });
  }
  undrain(region: string, reason?: string): Promise<OverrideResult> {
    return this.call('POST', '/v1/admin/undrain', { region, ...(reason ? { reason } : {}) });
  }
  freeze(reason?: string): Promise<OverrideResult> {
    return this.call('POST', '/v1/admin/freeze', reason ? { reason } : {});
  }
  unfreeze(reason?: string): Promise<OverrideResult> {
    return this.call('POST', '/v1/admin/unfreeze', reason ? { reason } : {});
  }
  /** A promotion can take minutes (catch-up, pg_promote wait): the apply call gets a long timeout. */
  failover(req: FailoverRequest): Promise<FailoverResult> {
    return this.call(
      'POST',
      '/v1/admin/failover',
      req,
      req.dryRun ? this.timeoutMs : Math.max(this.timeoutMs, 300_000),
    );
  }
  /** Fence, catch-up (bounded by catchUpTimeout) and promotion: the apply call gets a long timeout. */
  switchover(req: SwitchoverRequest): Promise<SwitchoverResult> {
    return this.call(
      'POST',
      '/v1/admin/switchover',
      req,
      req.dryRun ? this.timeoutMs : Math.max(this.timeoutMs, 300_000),
    );
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
    looksRight: (v: unknown) => boolean = hasMessage,
  ): Promise<T> {
    const base = method === 'POST' ? this.adminBase : this.base;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      if (this.token) headers.authorization = `Bearer ${this.token}`;
    }
    const where =
      method === 'POST'
        ? 'writes go to the admin listener: check --admin-addr or SWITCHYARD_ADMIN_ADDR'
        : 'check --addr or SWITCHYARD_ADDR';
    // Something answered, but not as switchyard does (every answer of ours on these paths is JSON,
    // errors included): a wrong port, another service, or a proxy in between.
    const notDaemon = (what: string, status?: number) =>
      new AdminClientError(
        'DAEMON_UNREACHABLE',
        `${base} is not a switchyard daemon${method === 'POST' ? ' admin listener' : ''}: ${what} (${where})`,
        status,
      );
    // node:http, loaded when the call is made: the undici package (or even Node's fetch) costs
    // more to load than the call itself takes, and every operator command makes one.
    let answer: Answer;
    try {
      answer = await send(`${base}${path}`, method, headers, body, timeoutMs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((e as Error).name === 'TimeoutError')
        throw new AdminClientError(
          'DAEMON_UNREACHABLE',
          `no answer from ${base} to ${method} ${path} within ${formatTimeout(timeoutMs)} ` +
            `(is the daemon running and not stuck? ${where}; --timeout waits longer)`,
        );
      if (code?.startsWith('HPE_')) throw notDaemon(`what it sent back is not HTTP (${code})`);
      throw new AdminClientError(
        'DAEMON_UNREACHABLE',
        `cannot reach the switchyard daemon at ${base}: ${code ?? (e as Error).message} (is it running? ${where})`,
      );
    }
    const { status, text, contentType } = answer;
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const kind = `HTTP ${status}${contentType ? ` (${contentType.split(';')[0]})` : ''}`;
    if (status >= 200 && status < 300) {
      if (parsed === undefined) throw notDaemon(`${path} answered ${kind}, not JSON`, status);
      if (!looksRight(parsed))
        throw notDaemon(`${path} answered JSON that is not what switchyard sends`, status);
      return parsed as T;
    }
    const err = errorBody(parsed);
    if (!err) throw notDaemon(`${path} answered ${kind} without a switchyard error`, status);
    const message = err.message ?? `HTTP ${status} from ${base}${path}`;
    const details = err.details ?? [];
    if (status === 401)
      throw new AdminClientError(
        'ADMIN_UNAUTHORIZED',
        `${message}: pass the daemon's admin token with --token-file, SWITCHYARD_TOKEN or --token`,
        401,
      );
    if (status === 403) throw new AdminClientError('ADMIN_UNAUTHORIZED', message, 403);
    if (status >= 400 && status < 500)
      throw new AdminClientError('ADMIN_REQUEST_INVALID', message, status, details);
    throw new AdminClientError(
      isKnownCode(err.code) ? err.code : 'ADMIN_REQUEST_INVALID',
      `the daemon failed: ${message}`,
      status,
      details,
    );
  }
}

interface Answer {
  status: number;
  text: string;
  contentType: string | undefined;
}

/** The status document's own marks: switchyard's, not some other JSON service's. */
function isStatusDocument(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as { version?: unknown; director?: unknown; regions?: unknown };
  return typeof d.version === 'number' && typeof d.director === 'object' && Array.isArray(d.regions);
}

/** Every admin result carries a one-line message. */
function hasMessage(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';
}

/** 10000 → "10s", 250 → "250ms". */
export function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** `--timeout`: "500ms", "10s", "2m", or a bare number of milliseconds. */
export function parseTimeout(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 3_600_000)
    throw new InvalidArgumentError('a duration from 1ms to 1h, such as 500ms, 10s or 2m');
  return Math.round(ms);
}

/** One HTTP exchange; rejects on a network error or `timeoutMs` without a byte from the daemon. */
async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number,
): Promise<Answer> {
  const target = new URL(url);
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        headers: { ...headers, ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, contentType: res.headers['content-type'] }),
        );
        res.on('error', reject);
      },
    );
    // An idle-socket bound: a switchover answers only when done, so the caller sizes it.
    req.setTimeout(timeoutMs, () =>
      req.destroy(new DOMException(`no answer within ${formatTimeout(timeoutMs)}`, 'TimeoutError')),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function errorBody(v: unknown): { code?: string; message?: string; details?: string[] } | undefined {
  if (typeof v !== 'object' || v === null || !('error' in v)) return undefined;
  const e = v.error;
  return typeof e === 'object' && e !== null
    ? (e as { code?: string; message?: string; details?: string[] })
    : undefined;
}

function isKnownCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.hasOwn(ERROR_CODES, code);
}

function baseUrl(addr: string): string {
  const a = addr.trim().replace(/\/+$/, '');
  return /^https?:\/\//.test(a) ? a : `http://${a}`;
}

/** The exit code for an error an operator command hit. */
export function exitCodeFor(e: unknown): ExitCode {
  if (!isSwitchyardError(e)) return EXIT.INVALID;
  if (e.code === 'DAEMON_UNREACHABLE') return EXIT.UNREACHABLE;
  if (e.code === 'ADMIN_UNAUTHORIZED') return EXIT.UNAUTHORIZED;
  const status = e instanceof AdminClientError ? e.httpStatus : undefined;
  if (status === 409) return EXIT.CONFLICT;
  if (status !== undefined && status >= 500) return EXIT.DAEMON_ERROR;
  return EXIT.INVALID;
}

/** Prints an error the way every operator command does (stderr, details indented) and sets the exit code. */
export function reportError(ctx: CliContext, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  ctx.err(`switchyard: ${message}\n`);
  if (isSwitchyardError(e)) for (const d of e.details) ctx.err(`  ${d}\n`);
  ctx.fail(exitCodeFor(e));
}

export interface ConnectionFlags {
  addr?: string;
  adminAddr?: string;
  token?: string;
  tokenFile?: string;
  timeout?: number;
}

/**
 * Adds --addr, --admin-addr, --token, --token-file and --timeout to a command. No commander defaults: the value is
 * resolved in `clientFromFlags` as flag → environment → default, so a flag given on the
 * program (before the subcommand) or on the subcommand both work.
 */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--addr <host:port>',
      `the daemon's read-only listener, for status (env SWITCHYARD_ADDR, default ${DEFAULT_ADDR})`,
    )
    .option(
      '--admin-addr <host:port>',
      `the daemon's admin listener, for changes (env SWITCHYARD_ADMIN_ADDR, default ${DEFAULT_ADMIN_ADDR})`,
    )
    .option('--token <token>', 'admin token (env SWITCHYARD_TOKEN); visible in ps, prefer --token-file')
    .option('--token-file <path>', 'file holding the admin token (env SWITCHYARD_TOKEN_FILE)')
    .option(
      '--timeout <duration>',
      `how long to wait for the daemon to answer (default ${formatTimeout(DEFAULT_TIMEOUT_MS)}; a failover or switchover being applied waits at least 5m)`,
      parseTimeout,
    );
}

/** Builds a client from a command's flags, its parents' flags and the environment. */
export function clientFromCommand(cmd: Command, env: NodeJS.ProcessEnv): AdminClient {
  const merged: ConnectionFlags = {};
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts<ConnectionFlags>();
    merged.addr ??= o.addr;
    merged.adminAddr ??= o.adminAddr;
    merged.token ??= o.token;
    merged.tokenFile ??= o.tokenFile;
    merged.timeout ??= o.timeout;
  }
  return new AdminClient({
    addr: merged.addr ?? env.SWITCHYARD_ADDR ?? DEFAULT_ADDR,
    adminAddr: merged.adminAddr ?? env.SWITCHYARD_ADMIN_ADDR ?? DEFAULT_ADMIN_ADDR,
    token: resolveToken(merged, env),
    ...(merged.timeout !== undefined ? { timeoutMs: merged.timeout } : {}),
  });
}

export function resolveToken(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.token) return flags.token;
  const file = flags.tokenFile ?? env.SWITCHYARD_TOKEN_FILE;
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new SwitchyardError(
        'SECRET_UNRESOLVED',
        `token file ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  return env.SWITCHYARD_TOKEN || undefined;
}
