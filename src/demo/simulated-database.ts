import type { DbStatus, Promoter } from '../database/types.js';
import type { DatabaseProbeResult, Probe } from '../probe/types.js';
import { type Clock, systemClock } from '../util/clock.js';

/**
 * A database that exists only in memory, for the demo: it answers like the real probes and
 * promoters do (role, writability, lag; fence, promote, catch-up) so the whole failover sequence
 * can be watched without a PostgreSQL server. Never used outside `switchyard demo`.
 */
export class SimulatedDatabase {
  reachable = true;
  role: 'primary' | 'replica';
  writable: boolean;
  lagSeconds = 0;
  lagBytes = 0;
  epoch = 0;

  constructor(
    readonly label: string,
    primary: boolean,
    private readonly clock: Clock = systemClock,
  ) {
    this.role = primary ? 'primary' : 'replica';
    this.writable = primary;
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
    return {
      engine: 'postgres',
      reachable: true,
      role: this.role,
      writable: this.writable,
      lagSeconds: this.role === 'replica' ? this.lagSeconds : null,
      lagBytes: this.role === 'replica' ? this.lagBytes : null,
      streaming: this.role === 'replica',
      detail:
        this.role === 'replica'
          ? `replica, lag ${this.lagSeconds}s`
          : this.writable
            ? 'primary, writable'
            : 'primary, read-only',
    };
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
          streaming: s.role === 'replica',
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
        return { ok: true, sqlFenced: true, sessionsTerminated: 0, durationMs: 1 };
      },
      promote: async ({ epoch }) => {
        if (!this.reachable)
          return { ok: false, alreadyPrimary: false, verified: false, durationMs: 1, error: fail('promote') };
        const already = this.role === 'primary' && this.writable;
        this.role = 'primary';
        this.writable = true;
        this.epoch = Math.max(this.epoch, epoch);
        return {
          ok: true,
          alreadyPrimary: already,
          verified: true,
          durationMs: 5,
          lagAtPromotion: { seconds: this.lagSeconds, bytes: this.lagBytes },
        };
      },
      catchUp: async () => ({ ok: this.reachable, waitedMs: 0 }),
      unfence: async () => {
        this.writable = this.role === 'primary';
        return { ok: true, durationMs: 1 };
      },
    };
  }
}
