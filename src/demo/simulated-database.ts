import { beyondBound } from '../database/common.js';
import type { DbStatus, Promoter } from '../database/types.js';
import type { DatabaseProbeResult, Probe } from '../probe/types.js';
import { type Clock, sleep, systemClock } from '../util/clock.js';

/** Bytes of WAL a writable simulated primary produces per second (its steady write load). */
export const WRITE_RATE_BYTES_PER_S = 64 * 1024;

/** "0/16B3748": PostgreSQL's LSN notation for a byte position in the WAL. */
export function formatLsn(pos: number): string {
  const n = Math.max(0, Math.floor(pos));
  return `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;
}

export function parseLsn(lsn: string): number | undefined {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn);
  return m ? Number.parseInt(m[1] as string, 16) * 2 ** 32 + Number.parseInt(m[2] as string, 16) : undefined;
}

/**
 * A database that exists only in memory, for the demo: it answers like the real probes and
 * promoters do, positions included, so the whole failover and switchover sequences can be
 * watched without a PostgreSQL server.
 * - A writable primary's position advances with its writes (WRITE_RATE_BYTES_PER_S); a fence
 *   stops it, and `fence` returns where it stopped.
 * - A replica replays its upstream's stream `lagSeconds` behind, so its lag in bytes is what the
 *   primary wrote in that time, and after a fence it catches up `lagSeconds` later; `catchUp`
 *   waits (bounded) until the replica has replayed the position asked for.
 * - While the upstream is unreachable the replica keeps what it had replayed.
 * Never used outside `switchyard demo` and its tests.
 */
export class SimulatedDatabase {
  reachable = true;
  role: 'primary' | 'replica';
  writable: boolean;
  lagSeconds = 0;
  epoch = 0;
  /** The primary this replica streams from. */
  upstream: SimulatedDatabase | undefined;
  /** Primary: position at `since`, where writes (re)started. */
  private base = 0;
  private since: number;
  /** Primary: monotonic time writes stopped (fenced, or made a replica), if they did. */
  private stoppedAt: number | undefined;
  /** Replica: what it had replayed the last time its upstream was reachable. */
  private replayed = 0;

  constructor(
    readonly label: string,
    primary: boolean,
    private readonly clock: Clock = systemClock,
  ) {
    this.role = primary ? 'primary' : 'replica';
    this.writable = primary;
    this.since = clock.monotonic();
    if (primary) this.stoppedAt = undefined;
  }

  /** This server's position at monotonic time `t`: written (primary) or replayed (replica). */
  positionAt(t: number = this.clock.monotonic()): number {
    if (this.role === 'primary') {
      const end = Math.min(t, this.stoppedAt ?? Number.POSITIVE_INFINITY);
      return this.base + (Math.max(0, end - this.since) * WRITE_RATE_BYTES_PER_S) / 1000;
    }
    const up = this.upstream;
    if (up?.reachable) {
      const behind = up.positionAt(t - this.lagSeconds * 1000);
      this.replayed = Math.max(this.replayed, Math.min(behind, up.positionAt(t)));
    }
    return this.replayed;
  }

  /** Bytes the upstream has written that this replica has not replayed (null when not known). */
  private lagBytes(): number | null {
    const up = this.upstream;
    if (this.role !== 'replica' || !up) return null;
    return Math.max(0, Math.round(up.positionAt() - this.positionAt()));
  }

  status(): DbStatus {
    if (!this.reachable)
      return {
        engine: 'postgres',
        reachable: false,
        detail: 'connect ECONNREFUSED (simulated)',
        error: {
          code: 'DATABASE_UNAVAILABLE',
          reason: 'refused',
          message: 'connect ECONNREFUSED (simulated)',
        },
      };
    const position = formatLsn(this.positionAt());
    if (this.role === 'replica') {
      const lagBytes = this.lagBytes();
      const streaming = this.upstream?.reachable === true;
      // Once replay has reached the upstream's end (a fenced primary), no time is left to replay.
      const lagSeconds = lagBytes === 0 ? 0 : this.lagSeconds;
      return {
        engine: 'postgres',
        reachable: true,
        role: 'replica',
        writable: false,
        position,
        lagSeconds,
        lagBytes,
        streaming,
        detail: `replica at ${position}, lag ${lagSeconds}s${streaming ? '' : ', upstream unreachable'}`,
      };
    }
    return {
      engine: 'postgres',
      reachable: true,
      role: 'primary',
      writable: this.writable,
      position,
      lagSeconds: null,
      lagBytes: null,
      streaming: false,
      detail: `primary at ${position}, ${this.writable ? 'writable' : 'read-only (fenced)'}`,
    };
  }

  /** Turns a fenced old primary into a replica of `primary` (what pg_rewind or a base backup does). */
  rebuildAsReplicaOf(primary: SimulatedDatabase): void {
    this.role = 'replica';
    this.writable = false;
    this.upstream = primary;
    this.lagSeconds = 0;
    // A rebuilt replica starts from the new primary's history, already replayed up to now.
    this.replayed = primary.positionAt();
  }

  private stopWrites(): void {
    if (this.role === 'primary' && this.stoppedAt === undefined) this.stoppedAt = this.clock.monotonic();
  }

  private startWrites(from: number): void {
    this.base = from;
    this.since = this.clock.monotonic();
    this.stoppedAt = undefined;
  }

  probe(): Probe<DatabaseProbeResult> {
    return {
      run: async () => {
        const at = this.clock.monotonic();
        const s = this.status();
        if (!s.reachable)
          return { ok: false, at, latencyMs: 1, detail: s.detail, error: 'refused', engine: 'postgres' };
        return {
          ok: true,
          at,
          latencyMs: 1,
          detail: s.detail,
          engine: 'postgres',
          ...(s.role ? { role: s.role } : {}),
          ...(s.writable !== undefined ? { writable: s.writable } : {}),
          lagSeconds: s.lagSeconds ?? null,
          lagBytes: s.lagBytes ?? null,
          streaming: s.streaming === true,
        };
      },
      close: async () => undefined,
    };
  }

  promoter(): Promoter {
    const fail = (what: string) => ({
      code: 'PROMOTION_FAILED' as const,
      reason: 'refused' as const,
      message: `${what}: unreachable (simulated)`,
    });
    return {
      engine: 'postgres',
      label: this.label,
      status: async () => this.status(),
      fence: async () => {
        if (!this.reachable)
          return {
            ok: false,
            sqlFenced: false,
            sessionsTerminated: 0,
            durationMs: 1,
            error: { ...fail('fence'), code: 'FENCE_FAILED' },
          };
        this.writable = false;
        this.stopWrites();
        return {
          ok: true,
          sqlFenced: true,
          sessionsTerminated: 0,
          durationMs: 1,
          position: formatLsn(this.positionAt()),
        };
      },
      promote: async ({ epoch, maxLag }) => {
        if (!this.reachable)
          return { ok: false, alreadyPrimary: false, verified: false, durationMs: 1, error: fail('promote') };
        const already = this.role === 'primary' && this.writable;
        const bytes = this.lagBytes();
        // As status() reports it: a replica that has applied all it received is not behind.
        const lag = { seconds: this.role === 'replica' ? (bytes === 0 ? 0 : this.lagSeconds) : null, bytes };
        const beyond = this.role === 'replica' ? beyondBound(lag, maxLag) : undefined;
        if (beyond)
          return {
            ok: false,
            alreadyPrimary: false,
            verified: false,
            durationMs: 1,
            lagAtPromotion: lag,
            error: { code: 'PROMOTION_FAILED', reason: 'beyond-rpo', message: beyond },
          };
        if (!already) {
          const from = this.positionAt();
          this.role = 'primary';
          this.writable = true;
          this.upstream = undefined;
          this.startWrites(from);
        }
        this.epoch = Math.max(this.epoch, epoch);
        return {
          ok: true,
          alreadyPrimary: already,
          verified: true,
          durationMs: 5,
          lagAtPromotion: lag,
          position: formatLsn(this.positionAt()),
        };
      },
      catchUp: async (target, timeoutMs) => {
        const started = this.clock.monotonic();
        const want = parseLsn(target);
        if (want === undefined)
          return {
            ok: false,
            waitedMs: 0,
            error: { code: 'CATCHUP_FAILED', reason: 'error', message: `not a position: "${target}"` },
          };
        for (;;) {
          const waited = this.clock.monotonic() - started;
          if (this.reachable && this.positionAt() >= want)
            return { ok: true, waitedMs: Math.round(waited), position: formatLsn(this.positionAt()) };
          if (waited >= timeoutMs)
            return {
              ok: false,
              waitedMs: Math.round(waited),
              position: formatLsn(this.positionAt()),
              error: {
                code: 'CATCHUP_FAILED',
                reason: 'not-caught-up',
                message: `replayed ${formatLsn(this.positionAt())} of ${target} after ${Math.round(waited)}ms (bound ${timeoutMs}ms)`,
              },
            };
          await sleep(this.clock, Math.min(50, Math.max(1, timeoutMs - waited)));
        }
      },
      unfence: async () => {
        this.writable = this.role === 'primary';
        if (this.writable) this.startWrites(this.positionAt());
        return { ok: true, durationMs: 1 };
      },
    };
  }
}
