import { z } from 'zod';
import type { Overrides } from '../decide/types.js';
import type { RegionId } from '../topology/types.js';
import { SwitchyardError } from '../util/errors.js';

/**
 * Who asked, and why: the name of the admin token that authenticated the request (`admin.tokens`
 * entries are named; a single `admin.token` is "admin"), and the operator's reason.
 */
export interface Actor {
  by: string;
  reason?: string;
}

/** Who set an override, when and why (GET /v1/status, the journal). */
export interface OverrideNote {
  by: string;
  at: string;
  reason?: string;
}

/** The result of an override change (drain, undrain, freeze, unfreeze). */
export interface OverrideResult {
  /** False when the override was already in the requested state (the call is idempotent). */
  changed: boolean;
  /** One line for humans and logs: "drained r3: its traffic moves to r1". */
  message: string;
  overrides: Overrides;
  /** The identity the change was recorded under. */
  by?: string;
  reason?: string;
}

export interface RecordMove {
  key: string;
  name: string;
  from: Record<RegionId, number>;
  to: Record<RegionId, number>;
}

/** What a manual failover would do (dryRun) or did. */
export interface FailoverPreview {
  from: RegionId;
  to: RegionId;
  force: boolean;
  /** The epoch after the failover (a promotion bumps it; unchanged when none is planned). */
  epoch: number;
  /** The epoch now, before anything is done. */
  epochNow: number;
  records: RecordMove[];
  /** Null when no promotion is needed (e.g. the target is already writable). */
  promotion: {
    databases: string[];
    lagSeconds: number | null;
    lagBytes: number | null;
    maxLagSeconds: number;
    maxLagBytes: number;
    /** False when the lag is over the bound or unknown: only --force goes ahead, and may lose data. */
    withinBound: boolean;
  } | null;
  reasons: string[];
  /** Why the failover cannot go ahead without --force (lag over bound, replica unhealthy), if so. */
  blocked?: string;
}

export interface FailoverResult {
  applied: boolean;
  dryRun: boolean;
  /** True when the target already is the main: nothing to do ("already so", exit 0). */
  already?: boolean;
  /** False when the promotion started but is not complete (the director retries it). */
  complete?: boolean;
  message: string;
  plan: FailoverPreview;
  by?: string;
  reason?: string;
}

export interface FailoverRequest {
  to: RegionId;
  force: boolean;
  dryRun: boolean;
  /** Required unless dryRun: recorded with the caller's identity. */
  reason?: string;
}

export interface SwitchoverRequest {
  to: RegionId;
  dryRun: boolean;
  /** Required unless dryRun: recorded with the caller's identity. */
  reason?: string;
}

/** One database's planned switchover, as the operator reads it. */
export interface SwitchoverDatabaseReport {
  key: string;
  ok: boolean;
  /** The stage reached: 'done' on success, else the stage that failed. */
  stage: string;
  /** The position the target had to reach (WAL LSN / GTID set of the fenced primary). */
  position?: string;
  /** True when an abort made the old primary writable again. */
  unfenced?: boolean;
  error?: string;
}

/** What a planned switchover would do (dryRun) or did, and the topology after it. */
export interface SwitchoverResult {
  applied: boolean;
  dryRun: boolean;
  /**
   * plan: a dry run; already: the target is the main (nothing to do); done: switched over;
   * aborted: failed before any promotion, nothing changed hands; incomplete: a promotion
   * failed part-way, the old main stays fenced and the director retries.
   */
  outcome: 'plan' | 'already' | 'done' | 'aborted' | 'incomplete';
  message: string;
  from: RegionId;
  to: RegionId;
  /** The main and epoch after the call (unchanged by a dry run or a failure before promotion). */
  main: RegionId;
  epoch: number;
  databases: string[];
  /** Milliseconds per stage, slowest database of each stage; absent on a dry run. */
  timings?: { fenceMs: number; catchUpMs: number; promoteMs: number; totalMs: number };
  results?: SwitchoverDatabaseReport[];
  /** Management DNS after the call (the record moves as soon as the promotion is verified). */
  management?: Record<string, Record<RegionId, number>>;
  /** What the operator does next (rebuild the old main as a replica). */
  next?: string;
  /**
   * Set when the switchover aborted after its intent was recorded: this epoch was consumed (an
   * epoch is a fencing token and never goes back) and nothing changed hands.
   */
  epochConsumed?: number;
  by?: string;
  reason?: string;
}

/**
 * What the daemon supplies to the admin API. Each handler validates against the topology and
 * the current state and either returns its result or throws: an AdminRequestError (status 400,
 * 404 or 409) or a SwitchyardError ADMIN_REQUEST_INVALID (400) for a refusal the operator can
 * fix; anything else becomes a 500.
 */
export interface AdminHandlers {
  drain(region: RegionId, actor: Actor): Promise<OverrideResult>;
  undrain(region: RegionId, actor: Actor): Promise<OverrideResult>;
  freeze(actor: Actor): Promise<OverrideResult>;
  unfreeze(actor: Actor): Promise<OverrideResult>;
  failover(request: FailoverRequest, actor: Actor): Promise<FailoverResult>;
  switchover(request: SwitchoverRequest, actor: Actor): Promise<SwitchoverResult>;
}

export type AdminErrorStatus = 400 | 404 | 409;

/** An ADMIN_REQUEST_INVALID error carrying the HTTP status the server answers with. */
export class AdminRequestError extends SwitchyardError {
  readonly status: AdminErrorStatus;
  constructor(status: AdminErrorStatus, message: string, details: readonly string[] = []) {
    super('ADMIN_REQUEST_INVALID', message, details);
    this.name = 'AdminRequestError';
    this.status = status;
  }
}

/** A region or other object named in the request does not exist (404). */
export const adminNotFound = (message: string): AdminRequestError => new AdminRequestError(404, message);
/** The request conflicts with the current state: failover to the current main, a promotion in flight (409). */
export const adminConflict = (message: string): AdminRequestError => new AdminRequestError(409, message);
/** The request is malformed or not allowed as given (400). */
export const adminInvalid = (message: string): AdminRequestError => new AdminRequestError(400, message);

const regionField = z
  .string({ error: '"region" must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,63}$/, '"region" must be a region id (letters, digits, "_" or "-")');

const reasonField = z
  .string({ error: '"reason" must be a string' })
  .trim()
  .min(1, '"reason" must not be empty')
  .max(500, '"reason" is at most 500 characters');

export const regionBody = z.strictObject({ region: regionField, reason: reasonField.optional() });
export const emptyBody = z.strictObject({ reason: reasonField.optional() });
export const failoverBody = z.strictObject({
  to: z
    .string({ error: '"to" must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,63}$/, '"to" must be a region id (letters, digits, "_" or "-")'),
  force: z.boolean({ error: '"force" must be true or false' }).default(false),
  dryRun: z.boolean({ error: '"dryRun" must be true or false' }).default(false),
  reason: reasonField.optional(),
});
export const switchoverBody = z.strictObject({
  to: z
    .string({ error: '"to" must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,63}$/, '"to" must be a region id (letters, digits, "_" or "-")'),
  dryRun: z.boolean({ error: '"dryRun" must be true or false' }).default(false),
  reason: reasonField.optional(),
});

/** Failover and switchover change who holds the data: a reason is required to apply them. */
export function requireReason(body: { dryRun: boolean; reason?: string | undefined }, what: string): void {
  if (!body.dryRun && !body.reason)
    throw adminInvalid(
      `"reason" is required to apply a ${what} (say why; it is recorded with your identity)`,
    );
}
