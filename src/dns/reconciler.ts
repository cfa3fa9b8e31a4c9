import type { Logger } from 'pino';
import type { RecordDef, RegionId } from '../topology/types.js';
import { type Clock, type TimerHandle, withDeadline } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import { systemRandom } from '../util/random.js';
import { type BackoffBounds, backoffDelay, Sleeper } from './backoff.js';
import type { DnsMetrics } from './metrics.js';
import { type PlanProblem, planChanges, weightsOf } from './plan.js';
import type { DesiredWeights, DnsProvider, InsyncReport, WeightedSet } from './types.js';

export interface DnsReconcilerOptions {
  /** Log and return the changes, write nothing. */
  dryRun: boolean;
  /** Create configured sets that are not live (otherwise they are reported and skipped). */
  createMissing: boolean;
  /**
   * Backoff between failed reconcile attempts, permanent failures included; retried forever while
   * the daemon runs (a permanent failure is also retried at once when the desired state changes).
   */
  retry?: Partial<BackoffBounds>;
  /** Randomness for jitter (injected so tests are deterministic). */
  random?: () => number;
  /**
   * A read or write still unanswered after this long raises the alert (the provider keeps
   * trying within its own bounds): an operator learns of a hung API before the call gives up.
   */
  stallAfterMs?: number;
  /** close() waits this long for the call in flight to finish, then aborts it (closes the provider). */
  closeGraceMs?: number;
  /**
   * Asked right before every write: may this instance still write? With several instances only
   * the leader may, and only while its lease outlasts the write's own bound — a deposed leader's
   * write must not land after another instance took over. A refused write is dropped, not retried:
   * whoever leads now applies its own desired state.
   */
  mayWrite?: () => boolean;
  /** Who writes, for the provider's record of each change ("sy-r2 epoch 3"). */
  origin?: () => string;
}

export interface DnsReconcilerDeps {
  provider: DnsProvider;
  records: readonly RecordDef[];
  logger: Logger;
  metrics: DnsMetrics;
  clock: Clock;
  options: DnsReconcilerOptions;
}

export interface ReconcileOutcome {
  /** The sets written (or, in dry-run, that would have been written). */
  changes: WeightedSet[];
  problems: PlanProblem[];
  dryRun: boolean;
  writeCalls: number;
  changeId?: string;
  /** Clock time at which the outcome was reached. */
  at: number;
  /** Resolves when the provider reports the change live (Route 53 INSYNC); never rejects. */
  insync?: Promise<InsyncReport>;
}

export interface DnsStatus {
  provider: DnsProvider['kind'];
  dryRun: boolean;
  /** A desired state is waiting or being applied. */
  pending: boolean;
  /**
   * Reads or writes are failing (or a call has gone unanswered for stallAfterMs) and are being
   * retried with backoff; the alert gauge is 1. Stays true until an apply succeeds.
   */
  failing: boolean;
  consecutiveFailures: number;
  /** Wall time of the last successful reconcile, a no-op included (the loop offers every second). */
  lastApplyAt?: string;
  /** Wall time of the last write that changed live DNS (not dry-run, not a no-op). */
  lastChangeAt?: string;
  /** Wall time of the last successful read of live DNS (start, full reconcile, after a failure). */
  lastReadAt?: string;
  lastError?: { code: string; message: string; at: string };
  /** Problems of the last plan (missing sets, refused all-zero changes…). */
  problems: PlanProblem[];
  /** Live weights per record key and region as last read or written; null before the first read. */
  live: Record<string, Record<RegionId, number>> | null;
}

interface Waiter {
  resolve(outcome: ReconcileOutcome): void;
  reject(err: unknown): void;
}

interface Job {
  /** Undefined for a read-only job (adopt live state). */
  desired?: DesiredWeights;
  waiters: Waiter[];
}

const DEFAULT_RETRY: BackoffBounds = { baseMs: 1_000, maxMs: 30_000 };
const DEFAULT_STALL_AFTER_MS = 20_000;
const DEFAULT_CLOSE_GRACE_MS = 5_000;

/**
 * Sits between the engine and a DNS provider. The engine calls `submit()` every loop; the
 * reconciler plans against a cache of live state (so steady state costs no API calls), and a
 * single worker applies only the newest desired state: while the API is failing, submissions
 * coalesce instead of queueing, and the newest is applied when it recovers.
 */
export class DnsReconciler {
  private readonly provider: DnsProvider;
  private readonly records: readonly RecordDef[];
  private readonly log: Logger;
  private readonly metrics: DnsMetrics;
  private readonly clock: Clock;
  private readonly options: DnsReconcilerOptions;
  private readonly retry: BackoffBounds;
  private readonly random: () => number;
  private readonly sleeper: Sleeper;
  private readonly stallAfterMs: number;
  private readonly closeGraceMs: number;

  /** Live sets as last read or written; undefined until read, `stale` forces a re-read. */
  private live?: WeightedSet[];
  private stale = true;
  private pending?: Job;
  /** The job the worker is processing (its waiters are released by close() whatever happens). */
  private current?: Job;
  private lastDesired?: DesiredWeights;
  private worker?: Promise<void>;
  private closed = false;
  private closing?: Promise<void>;
  private failures = 0;
  /** The call in flight has gone unanswered for stallAfterMs. */
  private stalled = false;
  private stallTimer?: TimerHandle;
  /** Signature of the desired state whose last attempt failed permanently (undefined otherwise). */
  private refused?: string;
  private lastApplyAt?: number;
  private lastChangeAt?: number;
  private lastReadAt?: number;
  private lastError?: { code: string; message: string; at: number };
  private lastProblems: PlanProblem[] = [];
  private lastLoggedPlan = '';

  constructor(deps: DnsReconcilerDeps) {
    this.provider = deps.provider;
    this.records = deps.records;
    this.log = deps.logger.child({ module: 'dns', provider: deps.provider.kind });
    this.metrics = deps.metrics;
    this.clock = deps.clock;
    this.options = deps.options;
    this.retry = { ...DEFAULT_RETRY, ...deps.options.retry };
    this.random = deps.options.random ?? systemRandom;
    this.sleeper = new Sleeper(deps.clock);
    this.stallAfterMs = deps.options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS;
    this.closeGraceMs = deps.options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  }

  /** Reads live state (adopting it); resolves once read. Same as a full reconcile. */
  start(): Promise<ReconcileOutcome> {
    return this.fullReconcile();
  }

  /**
   * Re-reads live state and re-applies the newest desired state, correcting drift made behind
   * switchyard's back. The daemon calls this from its periodic (cron) job.
   */
  fullReconcile(): Promise<ReconcileOutcome> {
    this.stale = true;
    if (this.pending) return this.join(this.pending);
    const job: Job = this.lastDesired ? { desired: this.lastDesired, waiters: [] } : { waiters: [] };
    this.pending = job;
    const p = this.join(job);
    this.kick();
    return p;
  }

  /**
   * Hands the engine's desired weights over. Never blocks the caller's loop: it resolves when
   * this desired state (or a newer one that superseded it) has been applied, and rejects when an
   * attempt fails with an error a retry of the same request cannot fix (DNS_INVALID_CHANGE,
   * DNS_OWNERSHIP). Such a failure keeps the alert raised and is retried only after backoff, or
   * at once when the desired state changes (the new one may not have the problem).
   */
  submit(desired: DesiredWeights): Promise<ReconcileOutcome> {
    if (this.closed) return Promise.reject(closedError());
    this.lastDesired = desired;
    if (this.pending) this.pending.desired = desired;
    else this.pending = { desired, waiters: [] };
    const p = this.join(this.pending);
    if (this.refused !== undefined && this.refused !== signature(desired)) this.sleeper.cancelAll();
    this.kick();
    return p;
  }

  /**
   * Fire-and-forget form of `submit` for the daemon's loop: the outcome is logged, and permanent
   * errors are already logged and visible in `status().lastError`, so nothing is left unhandled.
   */
  offer(desired: DesiredWeights): void {
    this.submit(desired).catch(() => undefined);
  }

  /** Whether calls are failing or stalled (the alert); cheap, unlike status(). */
  get failing(): boolean {
    return this.failures > 0 || this.stalled;
  }

  status(): DnsStatus {
    const iso = (wall: number | undefined) => (wall === undefined ? undefined : new Date(wall).toISOString());
    const lastApplyAt = iso(this.lastApplyAt);
    const lastChangeAt = iso(this.lastChangeAt);
    const lastReadAt = iso(this.lastReadAt);
    return {
      provider: this.provider.kind,
      dryRun: this.options.dryRun,
      pending: this.pending !== undefined || this.worker !== undefined,
      failing: this.failures > 0 || this.stalled,
      consecutiveFailures: this.failures,
      ...(lastApplyAt ? { lastApplyAt } : {}),
      ...(lastChangeAt ? { lastChangeAt } : {}),
      ...(lastReadAt ? { lastReadAt } : {}),
      ...(this.lastError
        ? {
            lastError: {
              code: this.lastError.code,
              message: this.lastError.message,
              at: new Date(this.lastError.at).toISOString(),
            },
          }
        : {}),
      problems: [...this.lastProblems],
      live: this.live ? weightsOf(this.live) : null,
    };
  }

  /**
   * Stops the worker and closes the provider, bounded whatever the provider does: the call in
   * flight gets closeGraceMs to finish, then the provider is closed (which aborts it), and that
   * too is given closeGraceMs. Every waiter is released.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.sleeper.cancelAll();
    this.clearStallWatch();
    const job = this.pending;
    this.pending = undefined;
    for (const w of job?.waiters ?? []) w.reject(closedError());
    const worker = this.worker;
    if (worker) {
      const finished = await withDeadline(
        this.clock,
        worker.then(() => true),
        this.closeGraceMs,
        () => false,
      );
      if (!finished)
        this.log.warn(
          { graceMs: this.closeGraceMs, reason: 'shutdown' },
          'a DNS call was still in flight at shutdown; aborting it',
        );
    }
    const closed = await withDeadline(
      this.clock,
      (this.provider.close?.() ?? Promise.resolve()).then(
        () => true,
        (err: unknown) => {
          this.log.warn({ err, reason: 'shutdown' }, 'closing the DNS provider failed');
          return true;
        },
      ),
      this.closeGraceMs,
      () => false,
    );
    if (!closed)
      this.log.warn(
        { graceMs: this.closeGraceMs, reason: 'shutdown' },
        'the DNS provider did not close in time; leaving it',
      );
    for (const w of this.current?.waiters ?? []) w.reject(closedError());
  }

  private join(job: Job): Promise<ReconcileOutcome> {
    return new Promise((resolve, reject) => job.waiters.push({ resolve, reject }));
  }

  private kick(): void {
    if (this.worker || this.closed) return;
    this.worker = this.run().finally(() => {
      this.worker = undefined;
      if (this.pending && !this.closed) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.pending && !this.closed) {
      const job = this.pending;
      this.pending = undefined;
      this.current = job;
      this.armStallWatch();
      try {
        const outcome = await this.process(job);
        this.clearStallWatch();
        this.recovered();
        for (const w of job.waiters) w.resolve(outcome);
      } catch (err) {
        this.clearStallWatch();
        if (this.closed) {
          for (const w of job.waiters) w.reject(err);
          break;
        }
        await this.failed(job, err);
      } finally {
        this.current = undefined;
      }
    }
    if (this.closed) {
      const job = this.pending;
      this.pending = undefined;
      for (const w of job?.waiters ?? []) w.reject(closedError());
    }
  }

  /**
   * Every failure raises the alert and keeps it until an apply succeeds, and is retried after
   * backoff. A permanent one (the request itself is refused) also rejects its waiters and is
   * remembered, so that an unchanged desired state is not re-sent on every decision tick while a
   * changed one is tried at once (see submit()).
   */
  private async failed(job: Job, err: unknown): Promise<void> {
    this.stale = true; // after any failure the cache may be wrong: re-read before the next plan
    this.lastError = { code: errorCode(err), message: (err as Error).message, at: this.clock.wall() };
    this.failures++;
    this.metrics.apiFailing.set(1);
    const delay = backoffDelay(this.failures, this.retry, this.random);
    const permanent = isPermanent(err);
    this.refused = permanent ? signature(job.desired) : undefined;
    if (permanent) {
      this.log.error(
        {
          err,
          attempt: this.failures,
          retryInMs: delay,
          reason: 'DNS refused the request; retried after backoff or when the desired state changes',
        },
        'dns reconcile refused',
      );
      for (const w of job.waiters) w.reject(err);
      job.waiters = [];
      // A refused read with no desired state to apply (start(), a full reconcile before the first
      // decision) has nobody waiting for it any more: the caller decides (the daemon refuses to
      // start). The next submit() reads again at once, and is retried with backoff from then on.
      if (job.desired === undefined && !this.pending) return;
    } else {
      this.log.warn(
        { err, attempt: this.failures, retryInMs: delay, reason: 'DNS API failing; desired state kept' },
        'dns reconcile failed; will retry',
      );
    }
    this.requeue(job);
    // A different desired state submitted while the refused one was in flight is tried at once.
    if (permanent && signature(this.pending?.desired) !== this.refused) return;
    await this.sleeper.sleep(delay);
  }

  /** Raises the alert if the call in flight goes unanswered for stallAfterMs. */
  private armStallWatch(): void {
    this.clearStallWatch();
    this.stallTimer = this.clock.setTimeout(() => {
      this.stallTimer = undefined;
      if (this.closed) return;
      this.stalled = true;
      this.metrics.apiFailing.set(1);
      const message = `no answer from the ${this.provider.kind} provider for ${formatDuration(this.stallAfterMs)}; still trying`;
      this.lastError = { code: 'DNS_UNAVAILABLE', message, at: this.clock.wall() };
      this.log.warn({ stallAfterMs: this.stallAfterMs, reason: message }, 'dns provider not answering');
    }, this.stallAfterMs);
  }

  private clearStallWatch(): void {
    if (this.stallTimer) this.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** A failed job goes back, unless a newer desired state arrived meanwhile (then it joins that). */
  private requeue(job: Job): void {
    if (this.pending) this.pending.waiters.unshift(...job.waiters);
    else this.pending = job;
  }

  /** Folds a newer pending desired state (and its waiters) into the job being processed. */
  private adoptNewer(job: Job): void {
    const newer = this.pending;
    if (!newer?.desired) return;
    this.pending = undefined;
    job.desired = newer.desired;
    job.waiters.push(...newer.waiters);
  }

  private recovered(): void {
    if (this.failures > 0 || this.stalled)
      this.log.info({ failures: this.failures, reason: 'an apply succeeded' }, 'dns API recovered');
    this.failures = 0;
    this.stalled = false;
    this.refused = undefined;
    this.metrics.apiFailing.set(0);
  }

  private async process(job: Job): Promise<ReconcileOutcome> {
    if (this.stale || !this.live) {
      this.stale = true;
      const live = await this.provider.read(this.records);
      this.live = live;
      this.stale = false;
      this.lastReadAt = this.clock.wall();
      this.setWeightGauges(live);
      // A read can take long (the provider retries while the API is failing): plan the newest
      // desired state, never one that a submission made meanwhile has superseded.
      this.adoptNewer(job);
    }
    if (!job.desired) {
      this.lastApplyAt = this.clock.wall();
      return { changes: [], problems: [], dryRun: this.options.dryRun, writeCalls: 0, at: this.clock.wall() };
    }
    const plan = planChanges(this.records, this.live, job.desired, {
      createMissing: this.options.createMissing,
    });
    this.lastProblems = plan.problems;
    this.logPlan(plan.changes, plan.problems);
    const base = { changes: plan.changes, problems: plan.problems, dryRun: this.options.dryRun };

    if (plan.changes.length === 0 || this.options.dryRun) {
      this.lastApplyAt = this.clock.wall();
      return { ...base, writeCalls: 0, at: this.clock.wall() };
    }

    if (this.options.mayWrite && !this.options.mayWrite()) {
      this.log.warn(
        {
          changes: plan.changes.map(describeSet),
          reason: 'this instance may not write now (not the leader, or its lease is about to end)',
        },
        'dns write skipped',
      );
      // The cache may not match what the next leader leaves: read again before the next plan.
      this.stale = true;
      return { ...base, writeCalls: 0, at: this.clock.wall() };
    }
    const origin = this.options.origin?.();
    const result = await this.provider.apply(plan.changes, origin ? { origin } : undefined);
    this.remember(plan.changes);
    this.lastApplyAt = this.clock.wall();
    this.lastChangeAt = this.lastApplyAt;
    this.metrics.lastApplyTimestamp.set(this.clock.wall() / 1000);
    for (const c of plan.changes) this.metrics.changesApplied.inc({ record: c.recordKey });
    this.log.info(
      {
        changeId: result.changeId,
        writeCalls: result.writeCalls,
        changes: plan.changes.map(describeSet),
        reason: 'desired weights differ from live',
      },
      'dns weights applied',
    );
    result.insync?.then((r) =>
      this.log[r.status === 'INSYNC' ? 'info' : 'warn'](
        { changeIds: r.changeIds, status: r.status, propagationMs: r.propagationMs },
        'dns change propagation',
      ),
    );
    return {
      ...base,
      writeCalls: result.writeCalls,
      ...(result.changeId !== undefined ? { changeId: result.changeId } : {}),
      ...(result.insync ? { insync: result.insync } : {}),
      at: this.clock.wall(),
    };
  }

  /** Updates the cache with what was just written: the next plan needs no read. */
  private remember(written: readonly WeightedSet[]): void {
    const byId = new Map((this.live ?? []).map((s) => [`${s.recordKey}|${s.setIdentifier}`, s]));
    for (const s of written) byId.set(`${s.recordKey}|${s.setIdentifier}`, s);
    this.live = [...byId.values()];
    this.setWeightGauges(written);
  }

  private setWeightGauges(sets: readonly WeightedSet[]): void {
    for (const s of sets) this.metrics.weight.set({ record: s.recordKey, set: s.setIdentifier }, s.weight);
  }

  /** Logs a plan's problems and dry-run changes once per distinct plan, not on every loop tick. */
  private logPlan(changes: readonly WeightedSet[], problems: readonly PlanProblem[]): void {
    for (const p of problems)
      if (p.code === 'DNS_ALL_ZERO') this.metrics.guardBlocked.inc({ record: p.record });
    const signature = JSON.stringify([changes.map(describeSet), problems.map((p) => p.message)]);
    if (signature === this.lastLoggedPlan) return;
    this.lastLoggedPlan = signature;
    for (const p of problems) {
      const level = p.code === 'DNS_ALL_ZERO' ? 'error' : 'warn';
      this.log[level](
        { code: p.code, record: p.record, region: p.region, reason: p.message },
        'dns plan problem',
      );
    }
    if (this.options.dryRun && changes.length > 0)
      this.log.info(
        { changes: changes.map(describeSet), reason: 'dry-run: nothing is written' },
        'dns changes (dry-run)',
      );
  }
}

function describeSet(s: WeightedSet): string {
  return `${s.recordKey} ${s.setIdentifier}=${s.weight}`;
}

/** Permanent: the catalogue says a retry of the same request cannot succeed. Anything else backs off. */
function isPermanent(err: unknown): boolean {
  return isSwitchyardError(err) && !err.retryable;
}

/** A stable text form of a desired state (key order does not matter); '' for a read-only job. */
function signature(desired: DesiredWeights | undefined): string {
  if (!desired) return '';
  return JSON.stringify(
    Object.keys(desired)
      .sort()
      .map((k) => [k, Object.entries(desired[k] ?? {}).sort(([a], [b]) => a.localeCompare(b))]),
  );
}

function errorCode(err: unknown): string {
  if (isSwitchyardError(err)) return err.code;
  return (err as { code?: string; name?: string }).code ?? (err as Error).name ?? 'Error';
}

function closedError(): SwitchyardError {
  return new SwitchyardError(
    'DNS_UNAVAILABLE',
    'the DNS reconciler was closed before the desired state was applied',
  );
}
