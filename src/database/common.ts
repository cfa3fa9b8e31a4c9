import type { DatabaseConfig } from '../config/schema.js';
import { type Clock, systemClock, withDeadline } from '../util/clock.js';
import { fail, toFailure } from './failure.js';
import { type HardFenceRunner, hardFenceEnv, runHardFence } from './hard-fence.js';
import type { DbFailure, FenceOptions, FenceResult, LagBound, PromoteResult } from './types.js';

/** What the promoters share: dependencies, the time bound, and the hard-fence half of fence(). */

/** The subset of a pino logger the promoters use (so tests can pass a recorder). */
export interface PromoterLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface PromoterDeps {
  env?: NodeJS.ProcessEnv;
  /** Replaceable for tests; defaults to spawning the configured command. */
  runHardFence?: HardFenceRunner;
  logger?: PromoterLogger;
  /** Default bound of promote() when the caller gives none (ms). */
  promoteTimeoutMs?: number;
  /** Polling interval of catch-up and verification loops (ms). */
  pollMs?: number;
  /** Deadlines, polling and durations; the system clock by default. */
  clock?: Clock;
}

export function clockOf(deps: PromoterDeps): Clock {
  return deps.clock ?? systemClock;
}

export const DEFAULT_PROMOTE_TIMEOUT_MS = 60_000;

/**
 * Why a replica's lag, read right before promoting, breaks the RPO bound (undefined when it does
 * not). A lag the server cannot tell (a standby restarted after its primary died has no WAL
 * receiver, so no received position) is left to the engine's check, which refuses unknown lag on
 * the probes before it records the intent: here only a known lag beyond the bound refuses.
 */
export function beyondBound(
  lag: { seconds: number | null; bytes: number | null },
  bound: LagBound | undefined,
): string | undefined {
  if (!bound) return undefined;
  const out: string[] = [];
  if (lag.seconds !== null && lag.seconds > bound.seconds)
    out.push(`${+lag.seconds.toFixed(1)}s behind (bound ${bound.seconds}s)`);
  if (lag.bytes !== null && lag.bytes > bound.bytes)
    out.push(`${lag.bytes} bytes behind (bound ${bound.bytes})`);
  return out.length
    ? `not promoted: ${out.join(', ')} right before promoting; left a replica (the engine retries; --force accepts the loss)`
    : undefined;
}

export interface SqlFenceOutcome {
  sqlFenced: boolean;
  sessionsTerminated: number;
  position?: string;
  error?: DbFailure;
}

/**
 * Completes fence() after its SQL half: runs the hard fence when configured (and not disabled
 * by the caller). Fenced = (SQL fence held or the hard fence ran) and no configured hard fence failed:
 * an unreachable old primary counts as fenced only when a hard fence made sure of it.
 */
export async function finishFence(
  db: DatabaseConfig,
  deps: PromoterDeps,
  opts: FenceOptions | undefined,
  sql: SqlFenceOutcome,
  startedAt: number,
): Promise<FenceResult> {
  const wantHard = db.hardFence !== undefined && opts?.hard !== false;
  let hardFence: FenceResult['hardFence'];
  if (wantHard && db.hardFence) {
    const runner = deps.runHardFence ?? runHardFence;
    hardFence = await runner(
      db.hardFence.command,
      db.hardFence.timeout,
      hardFenceEnv(db),
      clockOf(deps),
    ).catch((e: unknown) => ({
      ran: false,
      ok: false,
      detail: `hard fence failed: ${e instanceof Error ? e.message : String(e)}`,
    }));
  }
  const ok = (sql.sqlFenced || hardFence?.ok === true) && (hardFence === undefined || hardFence.ok);
  let error: DbFailure | undefined;
  if (!ok) {
    error =
      hardFence && !hardFence.ok
        ? fail(
            'FENCE_FAILED',
            'hard-fence',
            `${hardFence.detail}${sql.error ? `; SQL fence: ${sql.error.message}` : ''}`,
          )
        : (sql.error ?? fail('FENCE_FAILED', 'error', 'the SQL fence did not take effect'));
  }
  const result: FenceResult = {
    ok,
    sqlFenced: sql.sqlFenced,
    sessionsTerminated: sql.sessionsTerminated,
    position: sql.position,
    durationMs: Math.round(clockOf(deps).monotonic() - startedAt),
  };
  if (hardFence) result.hardFence = hardFence;
  if (error) result.error = error;
  deps.logger?.[ok ? 'info' : 'warn'](
    {
      db: `${db.engine}://${db.host}:${db.port ?? ''}/${db.database}`,
      sqlFenced: sql.sqlFenced,
      sessions: sql.sessionsTerminated,
      hard: hardFence?.detail,
      error: error?.message,
    },
    ok ? 'database fenced' : 'database fence failed',
  );
  return result;
}

/** Splits and double-quotes a validated `schema.table` name for PostgreSQL. */
export function pgIdent(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/** Back-quotes a validated `db.table` name for MySQL/MariaDB. */
export function myIdent(name: string): string {
  return name
    .split('.')
    .map((p) => `\`${p.replace(/`/g, '``')}\``)
    .join('.');
}

/**
 * Finishes promote(): runs its work within the deadline, turns a throw or the deadline into a
 * failed result (keeping what was learnt so far, e.g. the lag before promoting), and logs once.
 */
export async function settlePromotion(
  work: () => Promise<PromoteResult>,
  c: {
    partial: Omit<PromoteResult, 'ok' | 'durationMs'>;
    startedAt: number;
    timeoutMs: number;
    deadlineMs: number;
    secret: string | undefined;
    logger: PromoterLogger | undefined;
    label: string;
    epoch: number;
    clock: Clock;
  },
): Promise<PromoteResult> {
  const elapsed = () => Math.round(c.clock.monotonic() - c.startedAt);
  const result = await withDeadline(
    c.clock,
    work().catch(
      (e: unknown): PromoteResult => ({
        ...c.partial,
        ok: false,
        durationMs: elapsed(),
        error: toFailure('PROMOTION_FAILED', e, c.secret),
      }),
    ),
    c.deadlineMs,
    (): PromoteResult => ({
      ...c.partial,
      ok: false,
      durationMs: elapsed(),
      error: fail('PROMOTION_FAILED', 'timeout', `promotion did not finish within ${c.timeoutMs}ms`),
    }),
  );
  c.logger?.[result.ok ? 'info' : 'warn'](
    { db: c.label, epoch: c.epoch, alreadyPrimary: result.alreadyPrimary, error: result.error?.message },
    result.ok ? 'database promoted and verified' : 'database promotion failed',
  );
  return result;
}
