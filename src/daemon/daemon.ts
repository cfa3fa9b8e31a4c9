import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DatabaseConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { createDatabaseMetrics, type DatabaseMetrics } from '../database/metrics.js';
import type { Promoter } from '../database/types.js';
import type { Alert, DecideInput, Plan } from '../decide/types.js';
import { initialState } from '../decide/types.js';
import { createDnsMetrics, createMissingFor, DnsReconciler } from '../dns/index.js';
import { buildHealthTargets, type HealthTarget } from '../health/targets.js';
import { HealthTracker } from '../health/tracker.js';
import { moduleLogger } from '../log.js';
import { type CoreMetrics, createCoreMetrics, registerCoordinationMetrics } from '../metrics.js';
import { ProbeScheduler } from '../probe/scheduler.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../probe/types.js';
import { type CronJob, cronJob } from '../schedule/job.js';
import { type MaintenanceSchedule, scheduleMaintenance } from '../schedule/maintenance.js';
import { AdminRequestError } from '../server/admin.js';
import { adminSettings } from '../server/admin-config.js';
import type { SwitchyardServer } from '../server/index.js';
import type { StatusDocument } from '../server/status.js';
import { freshState } from '../state/create.js';
import { unfinishedIntents } from '../state/journal.js';
import type { PersistedState } from '../state/types.js';
import { checkState } from '../state/validate.js';
import { buildTopology } from '../topology/build.js';
import type { RegionId, Topology } from '../topology/types.js';
import { type Clock, sleep, withDeadline } from '../util/clock.js';
import { isSwitchyardError, SwitchyardError } from '../util/errors.js';
import { adminHandlers } from './admin-handlers.js';
import { adoptLiveWeights } from './adopt-live.js';
import { composePorts } from './compose.js';
import { DatabaseActuator, type RegionPromoters } from './database-actuator.js';
import { DecisionLog } from './decision-log.js';
import { DirectorLoop } from './loop.js';
import { PlanExecutor } from './plan-execution.js';
import type { DaemonPorts, DaemonSettings } from './ports.js';
import { realProbeFactory } from './probes.js';
import { StateKeeper } from './state-keeper.js';
import { buildStatusDocument } from './status-document.js';
import { runSwitchover, type SwitchoverDeps } from './switchover.js';

export type { ProbeFactory, PromoterFactory } from './ports.js';

/**
 * Settings, a logger, and any ports to use instead of the ones the configuration names.
 * `databaseProbe` is a shorthand: SQL probes replaced, HTTP and TCP probes real (the demo).
 */
export type DaemonOptions = DaemonSettings & { logger: Logger } & Partial<Omit<DaemonPorts, 'logger'>> & {
    databaseProbe?: (target: HealthTarget, db: DatabaseConfig, clock: Clock) => Probe<DatabaseProbeResult>;
  };

/** Where the daemon listens: the read-only surface, and the admin API when it is enabled. */
export interface DaemonAddress {
  address: string;
  port: number;
  admin?: { address: string; port: number };
}

type Lifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The lifecycle of one switchyard instance: it composes the ports, starts them in an order that
 * fails cleanly (state checked, then the HTTP endpoint bound, then probing, DNS and the loop), and
 * stops them within a bound. The work itself lives in the loop (loop.ts), plan execution
 * (plan-execution.ts), the database actuator and the DNS reconciler.
 */
export class Daemon {
  readonly topology: Topology;
  readonly registry = new Registry();
  private readonly ports: DaemonPorts;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: CoreMetrics;
  private readonly dbMetrics: DatabaseMetrics;
  private readonly tracker: HealthTracker;
  private readonly targets: Map<string, HealthTarget>;
  private readonly scheduler: ProbeScheduler<ProbeResult | DatabaseProbeResult>;
  private readonly promoters: RegionPromoters = new Map();
  private readonly dns: DnsReconciler;
  private readonly decisions: DecisionLog;
  private keeper: StateKeeper | undefined;
  private loop: DirectorLoop | undefined;
  private server: SwitchyardServer | undefined;
  private maintenance: MaintenanceSchedule | undefined;
  private reconcileJob: CronJob | undefined;
  private state: Lifecycle = 'created';
  private startedAt = 0;
  private dnsRead = false;
  private stateUnwritable: { since: string; message: string } | undefined;
  private failWith: (err: SwitchyardError) => void = () => undefined;
  /**
   * Settles when the daemon meets a condition it cannot run under (a DNS zone it may not own): the
   * embedding process stops it and exits non-zero. Never settles otherwise.
   */
  readonly fatal: Promise<SwitchyardError> = new Promise((resolve) => {
    this.failWith = resolve;
  });
  address: DaemonAddress | undefined;

  constructor(private readonly opts: DaemonOptions) {
    const { config } = opts;
    this.topology = buildTopology(config);
    const dnsMetrics = createDnsMetrics(this.registry);
    const dbProbe = opts.databaseProbe;
    const given: Partial<DaemonPorts> = dbProbe
      ? {
          ...opts,
          probe: (t, clock) => (t.database ? dbProbe(t, t.database, clock) : realProbeFactory(t, clock)),
        }
      : opts;
    this.ports = composePorts(config, { logger: opts.logger, registry: this.registry, dnsMetrics }, given);
    this.clock = this.ports.clock;
    this.log = this.ports.logger;
    const list = buildHealthTargets(config);
    this.targets = new Map(list.map((t) => [t.id, t]));
    this.metrics = createCoreMetrics(
      this.registry,
      { topology: this.topology, targets: list },
      {
        clock: this.clock,
        probeHistograms: config.metrics.probeHistograms,
        ...(opts.processMetrics === false ? { defaultMetrics: false } : {}),
      },
    );
    this.dbMetrics = createDatabaseMetrics(this.registry);
    registerCoordinationMetrics(this.registry, () => this.ports.coordination.status());
    this.decisions = new DecisionLog(moduleLogger(this.log, 'decide'), this.clock);
    const healthLog = moduleLogger(this.log, 'health');
    this.tracker = new HealthTracker(list, {
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
        if (c.kind === 'component') {
          this.ports.coordination.observed();
          this.loop?.schedule();
        }
      },
      // A database seen writable where it must not be is fenced on this probe, not the next tick.
      onSample: () => this.loop?.schedule(),
      onListenerError: (err) => this.countError(err, 'health listener failed'),
    });
    this.scheduler = new ProbeScheduler({
      clock: this.clock,
      random: this.ports.random,
      onResult: (id, result) => this.onResult(id, result),
      onLateness: (ms) => this.metrics.observeLateness(ms),
      onError: (id, err) => this.countError(err, `recording the result of ${id} failed`),
    });
    this.metrics.trackScheduler(this.scheduler);
    for (const t of list)
      this.scheduler.add({
        id: t.id,
        probe: this.ports.probe(t, this.clock),
        intervalMs: t.intervalMs,
        timeoutMs: t.timeoutMs,
        jitter: t.jitter,
      });
    for (const [region, r] of Object.entries(config.regions)) {
      const m = new Map<string, Promoter>();
      for (const [key, db] of Object.entries(r.databases ?? {})) {
        m.set(key, this.ports.promoter(region, key, db));
        this.dbMetrics.init(region, key);
      }
      if (m.size) this.promoters.set(region, m);
    }
    this.dns = new DnsReconciler({
      provider: this.ports.dnsProvider,
      records: this.topology.records,
      logger: this.log,
      metrics: dnsMetrics,
      clock: this.clock,
      options: {
        dryRun: config.dns.dryRun || opts.dryRun === true,
        createMissing: createMissingFor(config.dns),
        random: this.ports.random,
        // Only the leader writes, and only while its lease outlasts the time a write needs to
        // reach the provider (Route 53 applies a change when it receives it; 1 s covers sending
        // it on a live connection). A write still in flight when the lease ends is the residual
        // risk, bounded by that second and by Route 53 serialising changes to one zone.
        origin: () => `${config.director.id} epoch ${this.keeper?.current.engine.epoch ?? 0}`,
        mayWrite: () =>
          this.ports.coordination.canAct() &&
          this.ports.coordination.actTimeLeftMs() > (config.dns.provider === 'route53' ? 1_000 : 0),
      },
    });
  }

  private onResult(id: string, result: ProbeResult | DatabaseProbeResult): void {
    try {
      this.tracker.record(id, result);
      this.metrics.observeProbe(id, result);
      const t = this.targets.get(id);
      if (t?.database && 'role' in result) this.dbMetrics.recordLag(t.region, t.name, result);
    } catch (e) {
      this.countError(e, `recording the result of ${id} failed`);
    }
  }

  /**
   * Start, in an order that fails cleanly: the state is loaded and checked against the
   * configuration (a contradiction refuses to start), then the HTTP endpoint is bound (a taken
   * port refuses to start), and only then do probing, DNS and the loop begin. Any failure stops
   * whatever had started and rejects.
   */
  async start(): Promise<DaemonAddress> {
    if (this.state !== 'created')
      throw new SwitchyardError('DAEMON_LIFECYCLE', `cannot start a daemon that is ${this.state}`);
    this.state = 'starting';
    this.startedAt = this.clock.wall();
    try {
      await this.startParts();
    } catch (e) {
      this.log.error({ event: 'start-failed', err: e }, 'start failed; stopping what had started');
      await this.stop('start failed');
      throw e;
    }
    return this.address as DaemonAddress;
  }

  private async startParts(): Promise<void> {
    const { config } = this.opts;
    const loaded = await this.ports.stateStore.load(); // corrupt or unreadable state throws
    const check = checkState(loaded ?? freshState(initialState(this.topology)), this.topology);
    if (check.errors.length > 0)
      throw new SwitchyardError(
        'STATE_CORRUPT',
        `the state contradicts the configuration: ${check.errors[0]}${check.errors.length > 1 ? ` (and ${check.errors.length - 1} more)` : ''}; refusing to act on it`,
        check.errors,
      );
    for (const w of check.warnings) this.log.warn({ event: 'state-pruned', reason: w }, w);
    const keeper = new StateKeeper(this.ports.stateStore, check.state, this.clock, {
      random: this.ports.random,
      persisted: loaded !== null && check.warnings.length === 0,
      fence: () => this.ports.coordination.fencingToken(),
      mayAct: () => this.ports.coordination.canAct(),
      ...(config.state.store === 'etcd' ? { actor: `director:${config.director.id}` } : {}),
      check: (s) => {
        const c = checkState(s, this.topology);
        if (c.errors.length > 0)
          throw new SwitchyardError(
            'STATE_CORRUPT',
            `the stored state contradicts the configuration: ${c.errors[0]}; refusing to act on it`,
            c.errors,
          );
        return c.state;
      },
    });
    this.keeper = keeper;
    // DNS is told only what was saved: the reconciler is fed from commits, never from a plan.
    keeper.onCommit((s) => {
      if (this.ports.coordination.canAct()) this.dns.offer(s.engine.weights);
      this.serveRequests(s);
    });

    const actuator = new DatabaseActuator({
      promoters: this.promoters,
      keeper,
      logger: moduleLogger(this.log, 'act'),
      metrics: this.metrics,
      dbMetrics: this.dbMetrics,
      clock: this.clock,
      promoteTimeoutMs: 60_000,
      retryAfterMs: 5_000,
      changed: (region, since) => this.tracker.forgetSamples(region, since),
      maxLag: {
        seconds: this.topology.policy.promotion.maxLagSeconds,
        bytes: this.topology.policy.promotion.maxLagBytes,
      },
    });
    const executor = new PlanExecutor({
      keeper,
      actuator,
      logger: moduleLogger(this.log, 'act'),
      canAct: () => this.ports.coordination.canAct(),
    });
    this.loop = new DirectorLoop({
      topology: this.topology,
      clock: this.clock,
      logger: this.log,
      metrics: this.metrics,
      keeper,
      executor,
      decisions: this.decisions,
      coordination: this.ports.coordination,
      ownView: () => this.tracker.view(),
      ownVersion: () => this.tracker.version,
      maintenance: () => this.maintenance?.active() ?? [],
      tickMs: this.opts.evaluateIntervalMs ?? 1_000,
      beforeFirstRun: () => this.recoverJournal(),
      reloadOnNewTerm: this.opts.config.state.store === 'etcd',
      ...(this.opts.config.state.store === 'etcd' ? { beginTerm: () => this.beginTerm(keeper) } : {}),
      ...(this.opts.engine ? { decide: this.opts.engine } : {}),
      onError: (e, m) => this.countError(e, m),
      onStateSaved: (ok, err) => this.stateSaved(ok, err),
      extraAlerts: () => this.daemonAlerts(),
      extraAlertsKey: () =>
        `${this.stateUnwritable ? 1 : 0}${this.dns.failing ? 1 : 0}${this.ports.coordination.version()}`,
    });

    // Bind before anything runs: a taken port must not leave probes and cron jobs behind.
    this.server = this.createServer();
    this.address = await this.server.listen();

    const coordination = this.ports.coordination;
    await coordination.start({ ownView: () => this.tracker.view() });
    coordination.onChange((what) => {
      // Every instance's copy of the state follows the writes of the others: a follower's (status,
      // admin previews) the leader's; the leader's an operator's override or request written
      // through a follower. Its own writes reload to the same state (no commit).
      if (what === 'state')
        void keeper.reload().catch((e: unknown) => this.countError(e, 'could not reload the state'));
      if (what === 'leadership' && coordination.canAct()) {
        void this.dns
          .fullReconcile()
          .catch((e: unknown) => this.countError(e, 'full DNS reconcile on taking the lead failed'));
        this.serveRequests(keeper.current);
      }
      this.loop?.schedule();
    });
    this.metrics.setState(keeper.current.engine);
    this.metrics.setOverrides(keeper.current.overrides);
    this.startDns();
    this.maintenance = scheduleMaintenance(
      config.maintenance,
      this.clock,
      (c) => {
        this.log.info(
          { event: 'maintenance', region: c.region, active: c.active, reason: c.reason },
          c.reason,
        );
        this.loop?.schedule();
      },
      { cron: this.ports.cron },
    );
    this.reconcileJob = cronJob(config.dns.reconcile, () => this.dns.fullReconcile().then(() => undefined), {
      name: 'dns-full-reconcile',
      cron: this.ports.cron,
      onError: (e) => this.countError(e, 'full DNS reconcile failed'),
    });
    this.scheduler.start();
    this.state = 'running';
    this.loop.start();
    this.log.info(
      {
        event: 'started',
        listen: `${this.address.address}:${this.address.port}`,
        adminListen: this.address.admin ? `${this.address.admin.address}:${this.address.admin.port}` : null,
        main: keeper.current.engine.main,
        epoch: keeper.current.engine.epoch,
        targets: this.targets.size,
        dryRun: this.opts.dryRun === true,
      },
      'switchyard is running',
    );
  }

  /** Two listeners: the read-only surface, and the token-protected admin API (loopback by default). */
  private createServer(): SwitchyardServer {
    const { config } = this.opts;
    const admin = adminSettings(config);
    const loop = this.loop as DirectorLoop;
    const keeper = this.keeper as StateKeeper;
    return this.ports.server({
      clock: this.clock,
      listen: this.opts.listen ?? config.director.listen,
      adminListen: this.opts.adminListen ?? admin.listen,
      adminAllowNonLoopback: admin.allowNonLoopback,
      registry: this.registry,
      adminTokens: () => admin.tokens.map((t) => ({ name: t.name, token: resolveSecret(t.ref) ?? '' })),
      getStatus: () => this.status(),
      getReadiness: () => this.readiness(),
      admin: adminHandlers({
        topology: this.topology,
        keeper,
        wall: () => this.clock.wall(),
        input: () => this.input(),
        evaluate: (until, timeoutMs) =>
          this.ports.coordination.canAct()
            ? loop.runNow()
            : this.awaitLeader(keeper, until, timeoutMs).then(() => undefined),
        switchoverWaitMs: config.policy.promotion.catchUpTimeout + 2 * 60_000,
        leading: () => {
          const c = this.ports.coordination.status();
          return {
            self: this.ports.coordination.canAct(),
            ...(c.leader
              ? { leader: `${c.leader.id}${c.leader.region ? ` in ${c.leader.region}` : ''}` }
              : {}),
          };
        },
        log: (e, m) => this.log.info(e, m),
        switchover: (req, actor) => runSwitchover(this.switchoverDeps(keeper, loop), req, actor),
      }),
      logger: moduleLogger(this.log, 'server'),
    });
  }

  /**
   * Reads live DNS in the background (the provider may be impaired by the very outage being
   * handled): /healthz answers at once and /readyz says DNS is not read yet. Once read, records
   * that the state has never written adopt their live weights — the answer to hold while evidence
   * is unknown — less any region the saved state keeps away (adopt-live.ts); the persisted
   * weights are offered, so DNS converges to the saved intent
   * (e.g. after a crash between a save and the DNS write).
   */
  private startDns(): void {
    const log = moduleLogger(this.log, 'dns');
    this.dns
      .start()
      .then(async () => {
        this.dnsRead = true;
        const live = this.dns.status().live ?? {};
        const keeper = this.keeper as StateKeeper;
        const { adopt, corrected, skipped } = adoptLiveWeights(
          this.topology,
          keeper.current.engine,
          keeper.current.overrides,
          live,
        );
        if (corrected.length + skipped.length > 0)
          log.warn(
            {
              event: 'dns-adopt',
              corrected,
              skipped,
              reason: 'live DNS serves regions the saved state keeps away; the saved state wins',
            },
            `live DNS contradicts the saved state for ${[...corrected, ...skipped].join(', ')}; keeping the saved exclusions`,
          );
        const missing = Object.entries(adopt);
        if (missing.length > 0 && this.ports.coordination.canAct())
          await keeper
            .update((d) => {
              for (const [key, w] of missing) d.engine.weights[key] = { ...w };
            })
            .catch((e: unknown) =>
              this.countError(e, 'could not save the live DNS weights adopted at start'),
            );
        if (this.ports.coordination.canAct() && Object.keys(keeper.current.engine.weights).length > 0)
          this.dns.offer(keeper.current.engine.weights);
        log.info({ event: 'dns-start', adopted: missing.map(([k]) => k) }, 'live DNS read');
        this.loop?.schedule();
      })
      .catch((e: unknown) => {
        this.countError(e, 'DNS reconcile refused');
        // Records switchyard may not own: it must not run against this zone at all.
        if (isSwitchyardError(e, 'DNS_OWNERSHIP')) this.failWith(e);
      });
  }

  /**
   * On a follower: waits (bounded) until the leader's writes, as this instance sees them, make
   * `until` true — or, without `until`, until the leader next writes the state.
   */
  private awaitLeader(
    keeper: StateKeeper,
    until?: (s: Readonly<PersistedState>) => boolean,
    timeoutMs = 30_000,
  ): Promise<boolean> {
    if (until?.(keeper.current)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let off: () => unknown = () => false;
      const timer = this.clock.setTimeout(() => {
        off();
        resolve(false);
      }, timeoutMs);
      off = keeper.onCommit((s) => {
        if (until && !until(s)) return;
        this.clock.clearTimeout(timer);
        off();
        resolve(true);
      });
      void keeper
        .reload()
        .catch((e: unknown) => this.countError(e, 'could not reload the state while waiting for the leader'));
    });
  }

  /**
   * A new leader's first write: a new epoch, journalled with who leads. Everything it does from
   * here on carries that epoch (DNS changes, the journal, promotions), and a leader before it can
   * no longer write the state (fenced): no two instances ever act in the same epoch.
   */
  private async beginTerm(keeper: StateKeeper): Promise<void> {
    const { id, region } = this.opts.config.director;
    const epoch = keeper.current.engine.epoch + 1;
    await keeper.journal(
      'lead',
      id,
      'done',
      epoch,
      `${id}${region ? ` (${region})` : ''} leads from epoch ${epoch}`,
      undefined,
      (d) => {
        d.engine.epoch = Math.max(d.engine.epoch + 1, epoch);
      },
    );
    this.log.warn(
      { event: 'lead', epoch, reason: 'took the leader key; a new epoch begins' },
      `leading from epoch ${epoch}`,
    );
  }

  private switchoverDeps(keeper: StateKeeper, loop: DirectorLoop): SwitchoverDeps {
    return {
      topology: this.topology,
      keeper,
      promoters: this.promoters,
      logger: moduleLogger(this.log, 'act'),
      metrics: this.metrics,
      dbMetrics: this.dbMetrics,
      clock: this.clock,
      catchUpTimeoutMs: this.opts.config.policy.promotion.catchUpTimeout,
      promoteTimeoutMs: 60_000,
      exclusive: (fn) => loop.exclusive(fn),
      waitFresh: (regions, since) => this.waitFresh(regions, since),
      evaluate: () => loop.runNow(),
    };
  }

  private serving: string | undefined;

  /**
   * On the leader: a planned switchover an operator asked of another instance (a request in the
   * state) is run here, where the promoters act, and answered under the request's id.
   */
  private serveRequests(s: Readonly<PersistedState>): void {
    const req = s.requests?.switchover;
    const keeper = this.keeper;
    const loop = this.loop;
    if (!req || !keeper || !loop || this.serving === req.id || !this.ports.coordination.canAct()) return;
    if (s.answers?.switchover?.id === req.id) return;
    this.serving = req.id;
    const actor = { by: req.by, ...(req.reason ? { reason: req.reason } : {}) };
    this.log.warn(
      { event: 'request', kind: 'switchover', to: req.to, by: req.by, id: req.id },
      'running a switchover asked of another instance',
    );
    void runSwitchover(this.switchoverDeps(keeper, loop), { to: req.to, dryRun: false }, actor)
      .then(
        (result) => ({ id: req.id, result: result as unknown as Record<string, unknown> }),
        (e: unknown) => ({
          id: req.id,
          refused: {
            status: e instanceof AdminRequestError ? e.status : 409,
            message: e instanceof Error ? e.message : String(e),
          },
        }),
      )
      .then((answer) =>
        keeper.update((d) => {
          if (d.requests?.switchover?.id === req.id) delete d.requests.switchover;
          d.answers = { ...d.answers, switchover: answer };
        }),
      )
      .catch((e: unknown) => this.countError(e, 'could not record the answer to a switchover request'))
      .finally(() => {
        this.serving = undefined;
      });
  }

  /** Intents a crash left without an outcome: a pending promotion resumes; anything else is abandoned. */
  private async recoverJournal(): Promise<void> {
    const keeper = this.keeper as StateKeeper;
    const pending = keeper.current.engine.promotion;
    for (const e of unfinishedIntents(keeper.current.journal)) {
      const resumes = e.action === 'promote' && pending?.to === e.target && pending.epoch === e.epoch;
      const detail = resumes
        ? 'interrupted by a restart; the promotion resumes (promoting twice is harmless)'
        : 'interrupted by a restart; abandoned (the next decision re-evaluates from fresh evidence)';
      await keeper.journal(e.action, e.target, 'abandoned', e.epoch, detail, e.id);
      this.log.warn(
        { event: 'recovery', action: e.action, target: e.target, epoch: e.epoch },
        `${e.action} ${e.target}: ${detail}`,
      );
    }
  }

  private stateSaved(ok: boolean, err?: unknown): void {
    if (ok) {
      if (this.stateUnwritable)
        this.log.info(
          { event: 'state-saved', reason: 'the state could be saved again' },
          'state saved again',
        );
      this.stateUnwritable = undefined;
      this.metrics.setStateUnwritable(false);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (!this.stateUnwritable)
      this.log.error(
        { event: 'state-unwritable', err, reason: 'nothing is applied until the state can be saved' },
        `state cannot be saved: ${message}; nothing is applied, retrying every tick`,
      );
    this.stateUnwritable = {
      since: this.stateUnwritable?.since ?? new Date(this.clock.wall()).toISOString(),
      message,
    };
    this.metrics.setStateUnwritable(true);
  }

  private readiness(): { ready: boolean; reason?: string; note?: string } {
    const r = this.readinessNow();
    this.metrics.setReady(r.ready);
    return r;
  }

  private readinessNow(): { ready: boolean; reason?: string; note?: string } {
    const r = this.readinessCore();
    if (!r.ready) return r;
    // Rule 6: ready to observe and stand by, but automatic promotion waits for three regions.
    const c = this.ports.coordination.status();
    if (
      c.role !== 'standalone' &&
      this.opts.config.policy.promotion.mode === 'automatic' &&
      c.observerRegions < 3
    )
      return {
        ready: true,
        note: `observers in ${c.observerRegions} region(s): automatic promotion needs three and waits for an operator meanwhile`,
      };
    return r;
  }

  private readinessCore(): { ready: boolean; reason?: string } {
    if (this.state !== 'running') return { ready: false, reason: `daemon is ${this.state}` };
    if (!this.tracker.allProbed()) return { ready: false, reason: 'first probe round not done' };
    if (!this.dnsRead)
      return { ready: false, reason: 'live DNS not read yet (the provider is not answering)' };
    if (this.stateUnwritable)
      return { ready: false, reason: `state cannot be saved: ${this.stateUnwritable.message}` };
    return { ready: true };
  }

  /** The engine input as the next cycle would see it. */
  input(): DecideInput {
    if (!this.loop) throw new SwitchyardError('DAEMON_LIFECYCLE', 'the daemon has not started');
    return this.loop.input();
  }

  /** Runs a decision-and-act cycle now (tests, admin handlers). */
  evaluateNow(): Promise<Plan | undefined> {
    return this.loop?.runNow() ?? Promise.resolve(undefined);
  }

  /**
   * After a switchover: probe samples of `regions` from before `since` are no longer evidence, and
   * the next decision waits (bounded) for fresh ones so that it decides on the new roles.
   */
  private async waitFresh(regions: RegionId[], since: number): Promise<void> {
    for (const r of regions) this.tracker.forgetSamples(r, since);
    const ids = [...this.targets.values()].filter((t) => t.database && regions.includes(t.region));
    const bound = Math.max(0, ...ids.map((t) => t.intervalMs + t.timeoutMs));
    const until = this.clock.monotonic() + 2 * bound + 1_000;
    const want = new Set(ids.map((t) => t.id));
    const fresh = () =>
      this.tracker.targets().every((t) => !want.has(t.id) || (t.last !== undefined && t.last.at >= since));
    while (!fresh() && this.clock.monotonic() < until && this.state === 'running')
      await sleep(this.clock, 100);
  }

  private countError(e: unknown, message: string): void {
    const code = isSwitchyardError(e) ? e.code : 'internal';
    this.metrics.countError(code);
    this.log.error({ event: 'error', err: e, code }, message);
  }

  /** Alerts the daemon raises itself, beside the engine's: lasting until the condition ends. */
  private daemonAlerts(): Alert[] {
    const alerts: Alert[] = [];
    if (this.stateUnwritable)
      alerts.push({
        kind: 'state-unwritable',
        subject: 'state',
        message: `the state cannot be saved since ${this.stateUnwritable.since} (${this.stateUnwritable.message}); no DNS change and no database action is applied until it can (docs/runbook.md#state-unwritable)`,
      });
    const coord = this.ports.coordination.status();
    if (coord.role === 'unavailable')
      alerts.push({
        kind: 'coordination-unavailable',
        subject: coord.self.id,
        message: `${coord.self.id}: ${coord.reason ?? 'etcd is not reachable'} (docs/runbook.md#coordination-unavailable)`,
      });
    else if (coord.role !== 'standalone' && !coord.leader)
      alerts.push({
        kind: 'no-leader',
        subject: coord.self.id,
        message:
          'no instance leads: nothing is acted on until one takes the leader key (docs/runbook.md#no-leader)',
      });
    for (const o of coord.observers.filter((x) => x.discounted))
      alerts.push({
        kind: 'observer-discounted',
        subject: o.id,
        message: `observer ${o.id}${o.region ? ` (${o.region})` : ''} is discounted: ${o.reason ?? 'it sees most regions down'} (docs/runbook.md#observer-discounted)`,
      });
    const dns = this.dns.status();
    if (dns.failing)
      alerts.push({
        kind: 'dns-failing',
        subject: dns.provider,
        message: `DNS provider ${dns.provider} is failing (${dns.consecutiveFailures} consecutive failures${dns.lastError ? `, last: ${dns.lastError.code}: ${dns.lastError.message}` : ''}); the desired state is kept and retried with backoff (docs/runbook.md#dns-failing)`,
      });
    return alerts;
  }

  status(): StatusDocument {
    const ready = this.readiness();
    const keeper = this.keeper;
    if (!keeper) throw new SwitchyardError('DAEMON_LIFECYCLE', 'the daemon has not started');
    const lastPlan = this.loop?.lastPlan();
    const doc = buildStatusDocument({
      config: this.opts.config,
      topology: this.topology,
      startedAt: this.startedAt,
      clock: this.clock,
      ready: ready.ready,
      ...(ready.reason ? { readyReason: ready.reason } : {}),
      state: keeper.current,
      tracker: this.tracker,
      lastPlan,
      maintenance: this.maintenance?.active() ?? [],
      decisions: this.decisions.list(),
      dns: this.dns.status(),
      view: this.ports.coordination.combine(this.tracker.view(), this.clock.monotonic()),
      coordination: this.ports.coordination.status(),
    });
    doc.alerts = [...doc.alerts, ...this.daemonAlerts()];
    return doc;
  }

  /**
   * Graceful stop, bounded whatever the ports do: no new cycles; the one in flight finishes within
   * the grace period or is recorded as abandoned (its intent stays and is resumed on the next
   * start); then the probes, cron jobs, DNS and the server close, each within its own bound.
   */
  async stop(signal = 'stop'): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.log.info({ event: 'stopping', signal }, 'shutting down');
    this.loop?.stop();
    const grace = this.opts.shutdownGraceMs ?? 30_000;
    const inFlight = this.loop?.current();
    if (wasRunning && inFlight) {
      const done = await withDeadline(
        this.clock,
        inFlight.then(() => true),
        grace,
        () => false,
      );
      const p = this.keeper?.current.engine.promotion;
      if (!done) {
        this.log.warn(
          { event: 'shutdown', promotion: p },
          'action still in flight at the end of the grace period; abandoning it (its intent stays recorded)',
        );
        if (p)
          await withDeadline(
            this.clock,
            (this.keeper as StateKeeper)
              .journal(
                'promote',
                p.to,
                'abandoned',
                p.epoch,
                `abandoned at shutdown (${signal}); resumes on the next start`,
              )
              .then(() => undefined)
              .catch((e: unknown) =>
                this.countError(e, 'could not journal the promotion abandoned at shutdown'),
              ),
            5_000,
            () => undefined,
          );
      }
    }
    const bounded = (p: Promise<unknown> | undefined, ms: number) =>
      withDeadline(
        this.clock,
        Promise.resolve(p).catch((e: unknown) => this.countError(e, 'shutdown: a part failed to close')),
        ms,
        () => undefined,
      );
    await Promise.all([
      bounded(this.scheduler.close(), 6_000),
      bounded(this.maintenance?.stop(), 2_000),
      bounded(this.reconcileJob?.stop(), 2_000),
      bounded(this.server?.close(5_000), 6_000),
      bounded(this.ports.coordination.stop(), 5_000),
    ]);
    await bounded(this.dns.close(), 5_000);
    this.state = 'stopped';
    this.log.info({ event: 'stopped' }, 'stopped');
  }
}
