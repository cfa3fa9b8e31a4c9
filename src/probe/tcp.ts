import { connect } from 'node:net';
import type { TcpCheckConfig } from '../config/schema.js';
import { type Clock, systemClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { classifyError } from './failure.js';
import type { Probe, ProbeResult } from './types.js';

export interface TcpProbeOptions {
  timeoutMs: number;
  clock?: Clock;
}

/** A TCP connect check: ok once the handshake completes; the socket is closed straight away. */
export function createTcpProbe(check: TcpCheckConfig, opts: TcpProbeOptions): Probe<ProbeResult> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs;

  function run(signal?: AbortSignal): Promise<ProbeResult> {
    const at = clock.monotonic();
    return new Promise<ProbeResult>((resolve) => {
      if (signal?.aborted) {
        resolve({ ok: false, at, latencyMs: 0, error: 'aborted', detail: 'aborted before start' });
        return;
      }
      const socket = connect({ host: check.host, port: check.port });
      let settled = false;
      const finish = (r: Omit<ProbeResult, 'at' | 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve({ ...r, at, latencyMs: Math.round(clock.monotonic() - at) });
      };
      const timer = clock.setTimeout(
        () => finish({ ok: false, error: 'timeout', detail: `timeout after ${formatDuration(timeoutMs)}` }),
        timeoutMs,
      );
      const onAbort = () => {
        const c = classifyError(signal?.reason, timeoutMs);
        finish({
          ok: false,
          error: c.error === 'timeout' ? 'timeout' : 'aborted',
          detail: c.error === 'timeout' ? c.detail : 'aborted',
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        const ms = Math.round(clock.monotonic() - at);
        finish({ ok: true, detail: `connected in ${ms}ms` });
      });
      socket.once('error', (e) => {
        const c = classifyError(e, timeoutMs);
        finish({ ok: false, error: c.error, detail: c.detail });
      });
    });
  }

  return { run, close: async () => undefined };
}
