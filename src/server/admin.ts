import { z } from 'zod';
import type { Overrides } from '../decide/types.js';
import type { RegionId } from '../topology/types.js';
import { SwitchyardError } from '../util/errors.js';

/** The result of an override change (drain, undrain, freeze, unfreeze). */
export interface OverrideResult {
  /** False when the override was already in the requested state (the call is idempotent). */
  changed: boolean;
  /** One line for humans and logs: "drained r3: its traffic moves to r1". */
  message: string;
  overrides: Overrides;
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
  epoch: number;
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
  message: string;
  plan: FailoverPreview;
}

export interface FailoverRequest {
  to: RegionId;
  force: boolean;
  dryRun: boolean;
}

export interface SwitchoverRequest {
  to: RegionId;
  dryRun: boolean;
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
}

/**
 * What the daemon supplies to the admin API. Each handler validates against the topology and
 * the current state and either returns its result or throws: an AdminRequestError (status 400,
 * 404 or 409) or a SwitchyardError ADMIN_REQUEST_INVALID (400) for a refusal the operator can
 * fix; anything else becomes a 500.
 */
export interface AdminHandlers {
  drain(region: RegionId): Promise<OverrideResult>;
  undrain(region: RegionId): Promise<OverrideResult>;
  freeze(): Promise<OverrideResult>;
  unfreeze(): Promise<OverrideResult>;
  failover(request: FailoverRequest): Promise<FailoverResult>;
  switchover(request: SwitchoverRequest): Promise<SwitchoverResult>;
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

export const regionBody = z.strictObject({ region: regionField });
export const emptyBody = z.strictObject({});
export const failoverBody = z.strictObject({
  to: z
    .string({ error: '"to" must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,63}$/, '"to" must be a region id (letters, digits, "_" or "-")'),
  force: z.boolean({ error: '"force" must be true or false' }).default(false),
  dryRun: z.boolean({ error: '"dryRun" must be true or false' }).default(false),
});
export const switchoverBody = z.strictObject({
  to: z
    .string({ error: '"to" must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,63}$/, '"to" must be a region id (letters, digits, "_" or "-")'),
  dryRun: z.boolean({ error: '"dryRun" must be true or false' }).default(false),
});
