import { readFileSync } from 'node:fs';
import { Client } from 'undici';
import type { HttpCheckConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { type Clock, systemClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
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

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * An HTTP(S) check. One undici Client (a single keep-alive connection) per probe: the scheduler
 * never overlaps runs of one target, so one connection is all a target needs, and it is reused
 * run after run. The body is read only up to `maxBodyBytes` (matches look only there, like Route
 * 53's first 5,120 bytes), so an endless or huge body costs a bounded read and never hangs.
 */
export function createHttpProbe(check: HttpCheckConfig, opts: HttpProbeOptions): Probe<ProbeResult> {
  const clock = opts.clock ?? systemClock;
  const secrets = opts.secrets ?? ((ref: string) => resolveSecret(ref));
  const timeoutMs = opts.timeoutMs;
  const maxBody = check.maxBodyBytes ?? opts.maxBodyBytes;
  const url = new URL(check.url);
  const path = `${url.pathname}${url.search}`;
  const regex = check.bodyRegex !== undefined ? new RegExp(check.bodyRegex) : undefined;
  const needBody = check.method !== 'HEAD' && (check.bodyMatch !== undefined || regex !== undefined);
  const tls = readTls(check.tls);
  const tlsError = 'error' in tls ? tls.error : undefined;

  const client = new Client(url.origin, {
    connect: {
      timeout: timeoutMs,
      ...('error' in tls ? {} : tls),
      ...(check.tls?.serverName ? { servername: check.tls.serverName } : {}),
      rejectUnauthorized: !(check.tls?.insecureSkipVerify ?? false),
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: opts.keepAliveMs ?? 60_000,
    pipelining: 1,
  });

  async function run(signal?: AbortSignal): Promise<ProbeResult> {
    const at = clock.monotonic();
    const elapsed = () => Math.round(clock.monotonic() - at);
    const fail = (error: ProbeFailure, detail: string, status?: number): ProbeResult => ({
      ok: false,
      at,
      latencyMs: elapsed(),
      error,
      detail,
      ...(status !== undefined ? { status } : {}),
    });
    if (tlsError) return fail('tls-config', tlsError);
    if (signal?.aborted) return fail('aborted', 'aborted before start');

    const headers: Record<string, string> = { 'user-agent': 'switchyard-probe', ...check.headers };
    if (check.bearerToken !== undefined) {
      try {
        headers.authorization = `Bearer ${secrets(check.bearerToken)}`;
      } catch (e) {
        return fail('secret', `bearer token: ${(e as Error).message}`);
      }
    }

    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([deadline, signal]) : deadline;
    try {
      const res = await client.request({
        path,
        method: check.method,
        headers,
        ...(check.body !== undefined && check.method === 'POST' ? { body: check.body } : {}),
        signal: combined,
      });
      // Read at most maxBody bytes; leaving the loop early destroys the stream (and the socket).
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (size + chunk.length >= maxBody) {
          kept.push(chunk.subarray(0, maxBody - size));
          size = maxBody;
          break;
        }
        kept.push(chunk);
        size += chunk.length;
      }
      const status = res.statusCode;
      if (!check.expectStatus.includes(status))
        return fail('status', `status ${status}, expected ${check.expectStatus.join('|')}`, status);
      if (needBody) {
        const text = Buffer.concat(kept).toString('utf8');
        if (check.bodyMatch !== undefined && !text.includes(check.bodyMatch))
          return fail(
            'body-mismatch',
            `body lacks ${quote(check.bodyMatch)} in its first ${size} bytes`,
            status,
          );
        if (regex && !regex.test(text))
          return fail(
            'body-mismatch',
            `body does not match /${check.bodyRegex}/ in its first ${size} bytes`,
            status,
          );
      }
      const ms = elapsed();
      return { ok: true, at, latencyMs: ms, status, detail: `${status} in ${ms}ms` };
    } catch (e) {
      if (deadline.aborted) return fail('timeout', `timeout after ${formatDuration(timeoutMs)}`);
      if (signal?.aborted) {
        const c = classifyError(signal.reason, timeoutMs);
        return fail(
          c.error === 'timeout' ? 'timeout' : 'aborted',
          c.error === 'timeout' ? c.detail : 'aborted',
        );
      }
      const c = classifyError(e, timeoutMs);
      return fail(c.error, c.detail);
    }
  }

  return {
    run,
    async close() {
      await client.destroy().catch(() => undefined);
    },
  };
}
