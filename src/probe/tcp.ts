import { connect, type Socket } from 'node:net';
import type { TcpCheckConfig } from '../config/schema.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { classifyError } from './failure.js';
import type { Probe, ProbeResult } from './types.js';

const ONCE = { once: true } as const;

export interface TcpProbeOptions {
  timeoutMs: number;
  clock?: Clock;
}

/**
 * A TCP connect check: ok once the handshake completes; the socket is closed straight away.
 * One deadline per run: the caller's signal (the scheduler's carries the timeout), or the
 * probe's own timer when run without one.
 */
export function createTcpProbe(check: TcpCheckConfig, opts: TcpProbeOptions): Probe<ProbeResult> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs;
  const target = { host: check.host, port: check.port };
  return {
    run(signal?: AbortSignal): Promise<ProbeResult> {
      const at = clock.monotonic();
      if (signal?.aborted)
        return Promise.resolve({
          ok: false,
          at,
          latencyMs: 0,
          error: 'aborted',
          detail: 'aborted before start',
        });
      return new Promise<ProbeResult>((resolve) => {
        new Attempt(clock, timeoutMs, at, signal, resolve).start(target);
      });
    },
    close: async () => undefined,
  };
}

/** One run: socket events and the abort listener on one object, so a run is not a bag of closures. */
class Attempt {
  private socket: Socket | undefined;
  private timer: TimerHandle | undefined;
  private settled = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly at: number,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (r: ProbeResult) => void,
  ) {}

  start(target: { host: string; port: number }): void {
    if (this.signal) this.signal.addEventListener('abort', this, ONCE);
    else
      this.timer = this.clock.setTimeout(
        () => this.fail('timeout', `timeout after ${formatDuration(this.timeoutMs)}`),
        this.timeoutMs,
      );
    const socket = connect(target);
    this.socket = socket;
    socket.once('connect', () => {
      const ms = Math.round(this.clock.monotonic() - this.at);
      this.finish({ ok: true, at: this.at, latencyMs: ms, detail: `connected in ${ms}ms` });
    });
    socket.once('error', (e) => {
      const c = classifyError(e, this.timeoutMs);
      this.fail(c.error, c.detail);
    });
  }

  /** The caller's signal aborted: its reason says timeout or cancellation. */
  handleEvent(): void {
    const c = classifyError(this.signal?.reason, this.timeoutMs);
    if (c.error === 'timeout') this.fail('timeout', c.detail);
    else this.fail('aborted', 'aborted');
  }

  private fail(error: string, detail: string): void {
    this.finish({
      ok: false,
      at: this.at,
      latencyMs: Math.round(this.clock.monotonic() - this.at),
      error,
      detail,
    });
  }

  private finish(r: ProbeResult): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    this.socket?.destroy();
    this.resolve(r);
  }
}
