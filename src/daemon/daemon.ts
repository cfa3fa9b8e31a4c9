import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { createPromoter } from '../database/index.js';
import { createDatabaseMetrics, type DatabaseMetrics } from '../database/metrics.js';
import type { Promoter } from '../database/types.js';
import { decide } from '../decide/decide.js';
import { type DecideInput, initialState, type Plan } from '../decide/types.js';
import { createDnsMetrics, createDnsProvider, createMissingFor, DnsReconciler } from '../dns/index.js';
import type { DesiredWeights, DnsProvider } from '../dns/types.js';
import { buildHealthTargets, type HealthTarget } from '../health/targets.js';
import { HealthTracker } from '../health/tracker.js';
import { moduleLogger } from '../log.js';
import { type CoreMetrics, createCoreMetrics } from '../metrics.js';
import { ProbeScheduler } from '../probe/scheduler.js';
import type { DatabaseProbeResult, ProbeResult } from '../probe/types.js';
import { type CronJob, cronJob } from '../schedule/job.js';
import { type MaintenanceSchedule, scheduleMaintenance } from '../schedule/maintenance.js';
import { createServer, type SwitchyardServer } from '../server/index.js';
import type { DecisionSummary } from '../server/status.js';
import { createStateStore, freshState } from '../state/create.js';
import { unfinishedIntents } from '../state/journal.js';
import type { StateStore } from '../state/types.js';
import { buildTopology, regionById } from '../topology/build.js';
import type { RegionId, Topology } from '../topology/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import { adminHandlers } from './admin-handlers.js';
import { DatabaseActuator, type RegionPromoters } from './database-actuator.js';
import { type DatabaseProbeFactory, probeFor, sqlProbeFactory } from './probes.js';
import { StateKeeper } from './state-keeper.js';
import { buildStatusDocument } from './status-document.js';
import { runSwitchover } from './switchover.js';

export type PromoterFactory = (
  region: string,
  key: string,
  db: NonNullable<Config['regions'][string]['databases']>[string],
) => Promoter;

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** `run --dry-run`: decide and log, write no DNS. */
  dryRun?: boolean;
  /** How often a decision runs even without a health change (ms). */
  evaluateIntervalMs?: number;
  /** Grace for the action in flight at shutdown (ms). */
  shutdownGraceMs?: number;
  /** Injection points for tests and the demo; the real implementations by default. */
  stateStore?: StateStore;
  dnsProvider?: DnsProvider;
  databaseProbe?: DatabaseProbeFactory;
  promoter?: PromoterFactory;
  /** How long start waits for the first read of live DNS before going on without it (ms). */
  dnsStartTimeoutMs?: number;
  /** Overrides director.listen (tests use port 0). */
  listen?: string;
}

type Lifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The always-on loop: probes → health → decide → act. Decisions run on every health change and
 * on a steady tick, one at a time. Actions record intent before they start and their outcome
 * after, so a restart resumes or abandons them; DNS is reconciled in the background and only the
 * newest desired state is ever applied.
 */
export class Daemon {
  readonly topology: Topology;
  readonly registry = new Registry();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: CoreMetrics;
  private readonly dbMetrics: DatabaseMetrics;
  private readonly tracker: HealthTracker;
  private readonly targets: HealthTarget[];
  private readonly scheduler: ProbeScheduler<ProbeResult | DatabaseProbeResult>;
  private readonly promoters: RegionPromoters = new Map();
  private dns!: DnsReconciler;
  private keeper!: StateKeeper;
  private actuator!: DatabaseActuator;
  private server!: SwitchyardServer;
  private maintenance: MaintenanceSchedule | undefined;
  private reconcileJob: CronJob | undefined;
  private tick: ReturnType<Clock['setTimeout']> | undefined;
  private inFlight: Promise<Plan | undefined> | undefined;
  /** Set while a switchover runs: decisions are skipped (see `exclusive`). */
  private paused: Promise<void> | undefined;
  private again = false;
  private lastPlan: Plan | undefined;
  private decisions: DecisionSummary[] = [];
  private lastSignature = '';
  private state: Lifecycle = 'created';
  private readonly startedAt: number;
  address: { address: string; port: number } | undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.startedAt = this.clock.wall();
    this.topology = buildTopology(opts.config);
    this.targets = buildHealthTargets(opts.config);
    this.metrics = createCoreMetrics(
      this.registry,
      { topology: this.topology, targets: this.targets.map((t) => t.id) },
      { clock: this.clock },
    );
    this.dbMetrics = createDatabaseMetrics(this.registry);
    const healthLog = moduleLogger(this.log, 'health');
    this.tracker = HealthTracker.fromConfig(opts.config, {
      clock: this.clock,
      onChange: (c) => {
        healthLog[c.to === 'down' ? 'warn' : 'info'](
          {
            event: 'health',
            kind: c.kind,
            id: c.id,
            region: c.region,
            component: c.component,
            from: c.from,
            to: c.to,
            reason: c.reason,
          },
          `${c.id}: ${c.from} → ${c.to}`,
        );
        if (c.kind === 'component') this.schedule();
      },
    });
    this.scheduler = new ProbeScheduler({
      clock: this.clock,
      onResult: (id, result) => {
        this.tracker.record(id, result);
        this.metrics.observeProbe(id, result);
        const t = this.targets.find((x) => x.id === id);
        if (t?.database && 'role' in result) this.dbMetrics.recordLag(t.region, t.name, result);
      },
    });
    const databaseProbe = opts.databaseProbe ?? sqlProbeFactory;
    for (const t of this.targets)
      this.scheduler.add({
        id: t.id,
        probe: probeFor(t, { clock: this.clock, databaseProbe }),
        intervalMs: t.intervalMs,
        timeoutMs: t.timeoutMs,
        jitter: t.jitter,
      });
    const promoterLog = moduleLogger(this.log, 'database');
    for (const [region, r] of Object.entries(opts.config.regions)) {
      const m = new Map<string, Promoter>();
      for (const [key, db] of Object.entries(r.databases ?? {})) {
        m.set(
          key,
          opts.promoter
            ? opts.promoter(region, key, db)
            : createPromoter(db, { logger: promoterLog, clock: this.clock }),
        );
        this.dbMetrics.init(region, key);
      }
      if (m.size) this.promoters.set(region, m);
    }
  }

  /** Loads state, starts probing, DNS, the HTTP server and the decision loop. */
  async start(): Promise<{ address: string; port: number }> {
    if (this.state !== 'created') throw new Error(`cannot start a daemon that is ${this.state}`);
    this.state = 'starting';
    const { config } = this.opts;
    const store = this.opts.stateStore ?? createStateStore(config.state);
    const loaded = await store.load(); // corrupt or unreadable state throws: never start from scratch
    const persisted = loaded ?? freshState(initialState(this.topology));
    if (!regionById(this.topology, persisted.engine.main))
      throw new SwitchyardError(
        'STATE_CORRUPT',
        `state names "${persisted.engine.main}" as main, but the configuration has no such region`,
      );
    this.keeper = new StateKeeper(store, persisted, this.clock);
    if (!loaded) await this.keeper.update((d) => Object.assign(d, persisted));
    await this.recoverJournal();

    this.actuator = new DatabaseActuator({
      promoters: this.promoters,
      keeper: this.keeper,
      logger: moduleLogger(this.log, 'act'),
      metrics: this.metrics,
      dbMetrics: this.dbMetrics,
      clock: this.clock,
      promoteTimeoutMs: 60_000,
      retryAfterMs: 5_000,
    });

    const dnsLog = moduleLogger(this.log, 'dns');
    const dnsMetrics = createDnsMetrics(this.registry);
    const provider =
      this.opts.dnsProvider ??
      // The reconciler and the providers name their own module in their log lines.
      createDnsProvider(config.dns, { clock: this.clock, logger: this.log, metrics: dnsMetrics });
    this.dns = new DnsReconciler({
      provider,
      records: this.topology.records,
      logger: this.log,
      metrics: dnsMetrics,
      clock: this.clock,
      options: {
        dryRun: config.dns.dryRun || this.opts.dryRun === true,
        createMissing: createMissingFor(config.dns),
      },
    });
    await this.startDns(dnsLog);

    this.maintenance = scheduleMaintenance(config.maintenance, this.clock, (c) => {
      this.log.info({ event: 'maintenance', region: c.region, active: c.active, reason: c.reason }, c.reason);
      this.schedule();
    });
    this.reconcileJob = cronJob(config.dns.reconcile, () => this.dns.fullReconcile().then(() => undefined), {
      name: 'dns-full-reconcile',
      onError: (e) => this.countError(e, 'full DNS reconcile failed'),
    });

    const token = config.director.adminToken;
    this.server = createServer({
      clock: this.clock,
      listen: this.opts.listen ?? config.director.listen,
      registry: this.registry,
      adminToken: token ? () => resolveSecret(token) : undefined,
      getStatus: () => this.status(),
      getReadiness: () => this.readiness(),
      admin: adminHandlers({
        topology: this.topology,
        keeper: this.keeper,
        input: () => this.input(),
        evaluate: () => this.evaluateNow(),
        log: (e, m) => this.log.info(e, m),
        switchover: (req) =>
          runSwitchover(
            {
              topology: this.topology,
              keeper: this.keeper,
              promoters: this.promoters,
              logger: moduleLogger(this.log, 'act'),
              metrics: this.metrics,
              dbMetrics: this.dbMetrics,
              clock: this.clock,
              catchUpTimeoutMs: config.policy.promotion.catchUpTimeout,
              promoteTimeoutMs: 60_000,
              exclusive: (fn) => this.exclusive(fn),
              waitFresh: (regions, since) => this.waitFresh(regions, since),
              evaluate: () => this.evaluateNow(),
            },
            req,
          ),
      }),
      logger: moduleLogger(this.log, 'server'),
    });
    this.address = await this.server.listen();
    this.metrics.setState(this.keeper.current.engine);
    this.metrics.setOverrides(this.keeper.current.overrides);
    this.scheduler.start();
    this.state = 'running';
    this.log.info(
      {
        event: 'started',
        listen: `${this.address.address}:${this.address.port}`,
        main: this.keeper.current.engine.main,
        epoch: this.keeper.current.engine.epoch,
        targets: this.targets.length,
        dryRun: this.opts.dryRun === true,
      },
      'switchyard is running',
    );
    this.schedule();
    return this.address;
  }

  /**
   * Reads live DNS before the first decision. A refusal (a record switchyard may not own) stops
   * the start; a provider that does not answer does not: the reconciler keeps retrying in the
   * background while the daemon probes and decides (the DNS API may be impaired by the very
   * outage switchyard is handling).
   */
  private async startDns(log: Logger): Promise<void> {
    const first = this.dns.start();
    let slow: ReturnType<Clock['setTimeout']> | undefined;
    // Cleared once DNS answers: an armed timer would keep a stopped daemon's process alive.
    const waited = await Promise.race([
      first.then(() => 'read' as const),
      new Promise<'slow'>((r) => {
        slow = this.clock.setTimeout(() => r('slow'), this.opts.dnsStartTimeoutMs ?? 15_000);
      }),
    ]).finally(() => {
      if (slow !== undefined) this.clock.clearTimeout(slow);
    });
    if (waited === 'slow') {
      log.warn(
        { event: 'dns-start', reason: 'live DNS not read yet' },
        'DNS provider not answering yet; starting anyway and retrying in the background',
      );
      first.catch((e: unknown) => this.countError(e, 'DNS reconcile refused'));
    }
  }

  /** Intents a crash left without an outcome: a pending promotion resumes; anything else is abandoned. */
  private async recoverJournal(): Promise<void> {
    const pending = this.keeper.current.engine.promotion;
    for (const e of unfinishedIntents(this.keeper.current.journal)) {
      const resumes = e.action === 'promote' && pending?.to === e.target && pending.epoch === e.epoch;
      const detail = resumes
        ? 'interrupted by a restart; the promotion resumes (promoting twice is harmless)'
        : 'interrupted by a restart; abandoned (the next decision re-evaluates from fresh evidence)';
      await this.keeper.journal(e.action, e.target, 'abandoned', e.epoch, detail, e.id);
      this.log.warn(
        { event: 'recovery', action: e.action, target: e.target, epoch: e.epoch },
        `${e.action} ${e.target}: ${detail}`,
      );
    }
  }

  private readiness(): { ready: boolean; reason?: string } {
    if (this.state !== 'running') return { ready: false, reason: `daemon is ${this.state}` };
    if (!this.tracker.allProbed()) return { ready: false, reason: 'first probe round not done' };
    return { ready: true };
  }

  /** The engine input as of now. */
  input(): DecideInput {
    const s = this.keeper.current;
    return {
      topology: this.topology,
      health: this.tracker.view(),
      state: structuredClone(s.engine),
      overrides: { ...structuredClone(s.overrides), maintenance: this.maintenance?.active() ?? [] },
      now: this.clock.monotonic(),
    };
  }

  /** Asks for a decision soon; coalesces requests while one runs. */
  private schedule(delayMs = 0): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    if (this.tick) this.clock.clearTimeout(this.tick);
    this.tick = this.clock.setTimeout(() => {
      this.tick = undefined;
      void this.evaluateNow().finally(() => this.schedule(this.opts.evaluateIntervalMs ?? 1_000));
    }, delayMs);
  }

  /** Runs one decision-and-act cycle (or joins the one running, then runs again). */
  evaluateNow(): Promise<Plan | undefined> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const run = (async () => {
      let plan: Plan | undefined;
      do {
        this.again = false;
        plan = await this.evaluateOnce();
      } while (this.again && this.state === 'running');
      return plan;
    })().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  /**
   * Runs `fn` with no decision in between: waits for the one in flight, skips new ones until `fn`
   * is done. A planned switchover needs this: its pending promotion must not be "resumed" (the
   * target promoted before it caught up) by a decision running meanwhile.
   */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.paused) await this.paused;
    let release = () => {};
    this.paused = new Promise<void>((r) => {
      release = r;
    });
    try {
      await this.inFlight?.catch(() => undefined);
      return await fn();
    } finally {
      this.paused = undefined;
      release();
    }
  }

  /**
   * Waits (bounded) until every database of `regions` has a probe result started after `since`.
   * Called before the first decision after a switchover or a promotion: deciding on evidence
   * from before the fence would see the old main still writable and fence it again as a
   * split-brain (running its hard fence).
   */
  private async waitFresh(regions: RegionId[], since: number): Promise<void> {
    const ids = this.targets.filter((t) => t.database && regions.includes(t.region)).map((t) => t.id);
    const bound = Math.max(
      ...this.targets.filter((t) => ids.includes(t.id)).map((t) => t.intervalMs + t.timeoutMs),
      0,
    );
    const until = this.clock.monotonic() + 2 * bound + 1_000;
    const fresh = () =>
      this.tracker
        .targets()
        .every((t) => !ids.includes(t.id) || (t.last !== undefined && t.last.at >= since));
    while (!fresh() && this.clock.monotonic() < until && this.state === 'running')
      await new Promise<void>((r) => this.clock.setTimeout(r, 100));
  }

  private async evaluateOnce(): Promise<Plan | undefined> {
    if (this.state !== 'running' || this.paused) return undefined;
    try {
      const input = this.input();
      const plan = decide(input);
      this.lastPlan = plan;
      this.metrics.setHealth(input.health);
      this.metrics.setPlan(
        plan,
        input.overrides.frozen
          ? 'frozen'
          : plan.records.some((r) => r.changed) || plan.actions.length
            ? 'changed'
            : 'unchanged',
      );
      this.record(plan);
      await this.act(plan, input);
      this.metrics.setState(this.keeper.current.engine);
      this.metrics.setOverrides(this.keeper.current.overrides);
      return plan;
    } catch (e) {
      // A decision that fails is logged, counted and retried on the next tick: never a crash.
      this.countError(e, 'decision cycle failed');
      return undefined;
    }
  }

  /** Logs a decision when it differs from the last one (not every tick). */
  private record(plan: Plan): void {
    const changed = plan.records.filter((r) => r.changed);
    const signature = JSON.stringify([
      changed.map((r) => [r.key, r.weights]),
      plan.actions.map((a) => [a.type, a.region, a.epoch]),
      plan.alerts.map((a) => a.message),
    ]);
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    if (changed.length === 0 && plan.actions.length === 0 && plan.alerts.length === 0) return;
    const summary: DecisionSummary = {
      at: new Date(this.clock.wall()).toISOString(),
      changed: changed.length > 0 || plan.actions.length > 0,
      reasons: plan.reasons,
      actions: [
        ...plan.actions.map((a) =>
          a.type === 'promote' ? `promote ${a.region} (epoch ${a.epoch})` : `fence ${a.region}`,
        ),
        ...changed.map(
          (r) =>
            `dns ${r.key} ${Object.entries(r.weights)
              .map(([id, w]) => `${id}=${w}`)
              .join(' ')}`,
        ),
      ],
    };
    this.decisions = [summary, ...this.decisions].slice(0, 20);
    this.log.info(
      {
        event: 'decision',
        main: plan.main,
        epoch: plan.epoch,
        actions: summary.actions,
        alerts: plan.alerts.map((a) => a.kind),
        reasons: plan.reasons,
      },
      'decision',
    );
  }

  /**
   * Executes a plan. Records that wait for nothing go to DNS first (the old main's DNS leaves
   * before anything is promoted); then fences and the promotion; then the records that waited
   * for the promotion, only if it succeeded.
   */
  private async act(plan: Plan, input: DecideInput): Promise<void> {
    const previous = input.state.weights;
    const desired: DesiredWeights = {};
    for (const r of plan.records)
      desired[r.key] = r.dependsOn.length ? (previous[r.key] ?? r.weights) : r.weights;
    this.dns.offer(desired);
    await this.keeper.update((d) => {
      d.engine.out = plan.next.out;
      d.engine.weights = { ...d.engine.weights, ...desired };
    });

    for (const a of plan.actions) {
      if (a.type !== 'fence') continue;
      const fencedAt = this.clock.monotonic();
      // Like after a promotion: the next decision must not fence again on pre-fence evidence.
      if (await this.actuator.fence(a)) await this.waitFresh([a.region], fencedAt);
    }
    const promote = plan.actions.find((a) => a.type === 'promote');
    if (promote?.type !== 'promote') return;
    const startedAt = this.clock.monotonic();
    const ok = await this.actuator.promote(promote);
    if (!ok) return;
    const after: DesiredWeights = { ...desired };
    for (const r of plan.records)
      if (r.dependsOn.includes(`promote:${promote.region}`)) after[r.key] = r.weights;
    this.dns.offer(after);
    await this.keeper.update((d) => {
      d.engine.weights = { ...d.engine.weights, ...after };
    });
    this.metrics.setState(this.keeper.current.engine);
    // The old main was fenced in the sequence: judge it next on probes taken after that, or its
    // pre-fence "writable" would look like a split-brain (and run its hard fence again).
    await this.waitFresh([promote.from], startedAt);
  }

  private countError(e: unknown, message: string): void {
    const code = isSwitchyardError(e) ? e.code : 'internal';
    this.metrics.countError(code);
    this.log.error({ event: 'error', err: e, code }, message);
  }

  status() {
    const ready = this.readiness();
    return buildStatusDocument({
      config: this.opts.config,
      topology: this.topology,
      startedAt: this.startedAt,
      clock: this.clock,
      ready: ready.ready,
      ...(ready.reason ? { readyReason: ready.reason } : {}),
      state: this.keeper.current,
      tracker: this.tracker,
      lastPlan: this.lastPlan,
      maintenance: this.maintenance?.active() ?? [],
      decisions: this.decisions,
      dns: this.dns.status(),
    });
  }

  /**
   * Graceful stop: no new decisions; the one in flight finishes within the grace period, or is
   * recorded as abandoned (its intent stays pending and is resumed on the next start).
   */
  async stop(signal = 'stop'): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.log.info({ event: 'stopping', signal }, 'shutting down');
    if (this.tick) this.clock.clearTimeout(this.tick);
    if (wasRunning && this.inFlight) {
      const grace = this.opts.shutdownGraceMs ?? 30_000;
      const done = await Promise.race([
        this.inFlight.then(() => true),
        new Promise<boolean>((r) => this.clock.setTimeout(() => r(false), grace)),
      ]);
      if (!done) {
        const p = this.keeper.current.engine.promotion;
        this.log.warn(
          { event: 'shutdown', promotion: p },
          'action still in flight at the end of the grace period; abandoning it (its intent stays recorded)',
        );
        if (p)
          await this.keeper
            .journal(
              'promote',
              p.to,
              'abandoned',
              p.epoch,
              `abandoned at shutdown (${signal}); resumes on the next start`,
            )
            .catch(() => undefined);
      }
    }
    await Promise.allSettled([
      this.scheduler.close(),
      this.maintenance?.stop(),
      this.reconcileJob?.stop(),
      this.server?.close(5_000),
    ]);
    await this.dns?.close().catch(() => undefined);
    this.state = 'stopped';
    this.log.info({ event: 'stopped' }, 'stopped');
  }
}
