import { pino } from 'pino';
import type { Config } from '../config/schema.js';
import { EtcdCoordination, StandaloneCoordination } from '../coord/coordination.js';
import type { MemoryCoordClient, MemoryCoordCluster } from '../coord/memory.js';
import type { CoordPort } from '../coord/types.js';
import { Daemon, type DaemonOptions } from '../daemon/daemon.js';
import type { Coordination } from '../daemon/ports.js';
import type { Promoter } from '../database/types.js';
import { decide } from '../decide/decide.js';
import { nominalWeights, sameWeights } from '../decide/records.js';
import type { DecideInput, HealthView, Plan } from '../decide/types.js';
import { type CronFactory, cronMatcher, hasSeconds } from '../schedule/cron.js';
import type { SwitchyardServer } from '../server/http-server.js';
import { EtcdStateStore } from '../state/etcd-store.js';
import type { JournalEntry, PersistedState, SaveOptions, StateStore } from '../state/types.js';
import type { RegionId } from '../topology/types.js';
import { SimClock } from './clock.js';
import { SIM_ETCD_CALL_TIMEOUT_MS, SIM_ETCD_PREFIX, type SimLayout, simConfig } from './config.js';
import type {
  Evidence,
  HoldRecord,
  InstanceObservation,
  MoveRecord,
  PromotionRecord,
} from './invariants/types.js';
import type { Kernel } from './kernel.js';
import type { Mutant } from './mutants.js';
import { draw } from './random.js';
import type { Trace } from './trace.js';
import type { World } from './world/world.js';

/**
 * The round-2 harness: one simulated machine running the REAL `Daemon` (src/daemon/daemon.ts),
 * given every port through `DaemonOptions` — its own `SimClock` (skewable wall clock), probes and
 * promoters over its own links, the shared Route 53 under the real `Route53DnsProvider`, a cron
 * driven by its clock, a server that serves nothing (the simulator reads state directly) and,
 * with several instances, the real `EtcdCoordination` and `EtcdStateStore` over its own
 * connection to the in-memory etcd twin (`MemoryCoordClient`), as src/daemon/compose.ts wires an
 * etcd port. One instance alone runs as the embedded deployment does: standalone, file store.
 *
 * What the invariants see is observed at the ports, never read from the daemon's internals: the
 * state it holds (every load and save through its store), the moves and hold-downs its saves
 * make (with the evidence of the decision just taken: the observers' views it counted), the
 * promotions its journal intends, its term (the coordination's). A crash kills the process's
 * owner in the kernel (every timer dropped) and cuts its etcd connection; a restart builds a new
 * daemon over the same disk (and the same etcd).
 */
export interface SimInstanceOptions {
  name: string;
  home: RegionId;
  layout: SimLayout;
  /** The coordination twin (several instances); absent: standalone with a file store. */
  etcd?: MemoryCoordCluster;
  mutants?: readonly Mutant[];
}

/** A point in the life of an instance where the fault engine may crash it (leader-crash-every-step). */
export type CrashPoint =
  | 'intent-saved'
  | 'fence-sent'
  | 'fence-done'
  | 'promote-sent'
  | 'promote-done'
  | 'management-written';

interface Life {
  owner: number;
  clock: SimClock;
  daemon: Daemon;
  coordination: Coordination;
  /** The coordination before any mutant wrapped it. */
  real: Coordination;
  client?: MemoryCoordClient;
  dead: boolean;
  /** The last decision taken and what it rested on. */
  last?: { input: DecideInput; plan: Plan; evidence: Evidence };
}

/** The pseudo-disk under which the etcd state key's saves (by any instance) are logged. */
export const ETCD_STATE = 'etcd:state';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** A cron on the instance's clock: checks the expression once per second or minute of its wall clock. */
function simCron(clock: SimClock): CronFactory {
  return (expr, fn, opts) => {
    const match = cronMatcher(expr, opts.timezone);
    const step = hasSeconds(expr) ? 1_000 : 60_000;
    let stopped = false;
    const arm = () => {
      const wall = clock.wall();
      const next = (Math.floor(wall / step) + 1) * step;
      clock.setTimeout(() => {
        if (stopped) return;
        if (match(new Date(next))) void Promise.resolve(fn(next)).catch(() => undefined);
        arm();
      }, next - wall);
    };
    arm();
    return {
      stop: () => {
        stopped = true;
      },
    };
  };
}

const noServer = (): SwitchyardServer => ({
  listen: async () => ({ address: 'sim', port: 0 }),
  close: async () => undefined,
});

export class SimInstance implements InstanceObservation {
  readonly name: string;
  readonly home: RegionId;
  readonly moves: MoveRecord[] = [];
  readonly holds: HoldRecord[] = [];
  readonly panics: { from: number; to?: number }[] = [];
  readonly promotions: PromotionRecord[] = [];
  readonly leads: { at: number; epoch: number }[] = [];
  readonly stats = {
    decisions: 0,
    saveFailures: 0,
    wouldPromote: 0,
    wouldFence: 0,
    promotions: 0,
    fences: 0,
    crashes: 0,
  };
  /** Called at each crash point this instance passes (the fault engine arms crashes there). */
  onPoint?: (point: CrashPoint) => void;
  /** The state this instance holds: the last it loaded or saved. */
  private held: PersistedState | null = null;
  private life: Life | undefined;
  private lives = 0;
  private readonly origin: number;
  private wallSkew = 0;
  private readonly config: Config;
  private readonly decide: typeof decide;
  private lastActions = '';
  private readonly promotedEpochs = new Set<string>();
  private everStarted = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly world: World,
    private readonly trace: Trace,
    private readonly opts: SimInstanceOptions,
  ) {
    this.name = opts.name;
    this.home = opts.home;
    this.decide = (opts.mutants ?? []).reduce((d, m) => m.decide?.(d) ?? d, decide);
    world.addObserver(opts.name, opts.home);
    this.origin = Math.round(draw.between(world.stream(`instance.${opts.name}.origin`), 1e6, 1e11));
    this.config = simConfig(opts.layout, {
      id: opts.name,
      region: opts.home,
      store: opts.etcd ? 'etcd' : 'file',
    });
  }

  get clock(): SimClock | undefined {
    return this.life?.clock;
  }

  /** Starts a life of the process: a fresh owner, clock, ports and daemon over the same disk and etcd. */
  start(): void {
    this.lives++;
    const owner = this.kernel.addOwner(this.lives === 1 ? this.name : `${this.name}#${this.lives}`);
    const clock = new SimClock(this.kernel, owner, {
      monotonicOrigin: this.origin,
      wallOffsetMs: this.wallSkew,
    });
    const tag = `instance.${this.name}.life${this.lives}`;
    const ports = this.world.ports(this.name, clock, this.world.stream(`${tag}.route53`));
    const client = this.opts.etcd?.connect({
      clock,
      callTimeoutMs: SIM_ETCD_CALL_TIMEOUT_MS,
      name: this.name,
    });
    const etcd = this.config.state.etcd;
    const port = client
      ? (this.opts.mutants ?? []).reduce((c, m) => m.coordPort?.(c) ?? c, client as CoordPort)
      : undefined;
    const real: Coordination =
      client && etcd
        ? new EtcdCoordination({
            coord: port ?? client,
            clock,
            id: this.name,
            region: this.home,
            prefix: etcd.prefix,
            leaseTtlMs: etcd.leaseTtl,
            staleAfterMs: this.config.policy.staleAfter,
            panicThreshold: this.config.policy.panicThreshold,
            regions: Object.keys(this.config.regions),
          })
        : new StandaloneCoordination({ id: this.name, region: this.home });
    const coordination = (this.opts.mutants ?? []).reduce((c, m) => m.coordination?.(c, clock) ?? c, real);
    const inner: StateStore = client
      ? new EtcdStateStore({ coord: client, prefix: SIM_ETCD_PREFIX })
      : ports.stateStore;
    const life: Partial<Life> = {
      owner,
      clock,
      coordination,
      real,
      dead: false,
      ...(client ? { client } : {}),
    };
    const options: DaemonOptions = {
      config: this.config,
      logger: pino({ level: 'silent' }),
      clock,
      random: this.world.stream(`${tag}.daemon`),
      stateStore: this.observedStore(inner, life as Life),
      dnsProvider: ports.dnsProvider,
      probe: ports.probeFactory,
      promoter: (region, key, db) =>
        this.observedPromoter(
          (this.opts.mutants ?? []).reduce(
            (p, m) => m.promoter?.(p) ?? p,
            ports.promoterFactory(region, key, db),
          ),
          life as Life,
        ),
      cron: simCron(clock),
      coordination,
      server: noServer,
      engine: (input) => this.engine(input, life as Life),
      processMetrics: false,
      evaluateIntervalMs: 1_000,
    };
    life.daemon = new Daemon(options);
    this.life = life as Life;
    const restart = this.everStarted;
    this.everStarted = true;
    // The daemon starts in the instance's own first event, so a pause or crash applies to it too.
    clock.setTimeout(() => {
      (life.daemon as Daemon).start().then(
        () =>
          this.trace.add(
            this.kernel.now,
            'start',
            `${this.name} ${restart ? 'restarted' : 'running'} in ${this.home} (epoch ${this.epoch()}, main ${this.main()})`,
          ),
        (e: unknown) => {
          if (!life.dead)
            this.trace.add(this.kernel.now, 'start', `${this.name} failed to start: ${(e as Error).message}`);
        },
      );
    }, 0);
  }

  /** kill -9: every timer dropped, the etcd connection cut, nothing of this life runs again. */
  crash(): void {
    const life = this.life;
    if (!life || life.dead) return;
    life.dead = true;
    this.stats.crashes++;
    this.kernel.kill(life.owner);
    void life.client?.close();
    this.trace.add(
      this.kernel.now,
      'crash',
      `${this.name} killed (epoch ${this.epoch()}, term ${this.term()})`,
    );
  }

  restart(): void {
    if (this.life && !this.life.dead) return;
    this.start();
  }

  alive(): boolean {
    return this.life !== undefined && !this.life.dead;
  }

  paused(): boolean {
    return this.life !== undefined && this.kernel.isPaused(this.life.owner);
  }

  pause(ms: number): void {
    if (this.life && !this.life.dead) this.kernel.pause(this.life.owner, ms);
  }

  stepWall(ms: number): void {
    this.wallSkew += ms;
    this.life?.clock.stepWall(ms);
  }

  /** The coordination twin's connection of this life (faults cut it, delay its watches). */
  etcdClient(): MemoryCoordClient | undefined {
    return this.life?.dead ? undefined : this.life?.client;
  }

  /** True while this instance believes it may act (leads, lease valid on its own clock). */
  leading(): boolean {
    return this.alive() && (this.life?.coordination.canAct() ?? false);
  }

  epoch(): number {
    return this.held?.engine.epoch ?? 0;
  }

  term(): number {
    return this.life?.coordination.term() ?? 0;
  }

  main(): RegionId {
    return this.held?.engine.main ?? this.world.topology.configuredMain;
  }

  // ——— observation at the ports ———

  /** The engine, wrapped: mutants applied; the decision and its evidence kept for the saves that follow. */
  private engine(input: DecideInput, life: Life): Plan {
    this.stats.decisions++;
    const plan = this.decide(input);
    const c = life.coordination;
    let views: HealthView[] = [input.health];
    const etcdCoordination = life.coordination instanceof EtcdCoordination ? life.coordination : life.real;
    if (etcdCoordination instanceof EtcdCoordination) {
      const last = etcdCoordination.lastCombine();
      if (last) {
        const counted = new Set(last.result.counted);
        views = last.views.filter((v) => counted.has(v.observer.id)).map((v) => v.view);
      }
    }
    life.last = {
      input,
      plan,
      evidence: {
        views,
        now: input.now,
        overrides: input.overrides,
        out: input.state.out,
        ...(input.state.demoted ? { demoted: Object.keys(input.state.demoted) } : {}),
      },
    };
    if (c.canAct()) {
      this.noteActions(plan);
      this.notePanic(plan, input.now);
    }
    return plan;
  }

  private observedStore(inner: StateStore, life: Life): StateStore {
    const disk = this.world.disks.get(this.name);
    return {
      load: async () => {
        if (life.dead) return never();
        const s = await inner.load();
        if (life.dead) return never();
        this.held = s ? structuredClone(s) : null;
        return s;
      },
      save: async (state: PersistedState, o?: SaveOptions) => {
        if (life.dead) return never();
        const before = this.held;
        const copy = structuredClone(state);
        try {
          await inner.save(state, o);
        } catch (e) {
          this.stats.saveFailures++;
          if (life.dead) return never();
          throw e;
        }
        // A file store logs its saves on the disk itself; etcd saves are logged here for epoch-monotonic.
        if (this.opts.etcd && disk)
          disk.saves.push({
            at: this.kernel.now,
            epoch: copy.engine.epoch,
            main: copy.engine.main,
            ok: true,
          });
        if (life.dead) return never();
        this.held = copy;
        this.observeSave(before, copy, life);
        return undefined;
      },
    };
  }

  private observeSave(before: PersistedState | null, after: PersistedState, life: Life): void {
    const last = life.last;
    const known = new Set((before?.journal ?? []).map((j) => `${j.id}/${j.phase}`));
    const fresh = after.journal.filter((j) => !known.has(`${j.id}/${j.phase}`));
    for (const j of fresh) this.noteJournal(j, life);
    if (!last || !before) return;
    const state = before.engine;
    for (const record of this.world.topology.records) {
      const was = state.weights[record.key] ?? nominalWeights(record, state.main, this.world.topology);
      const is =
        after.engine.weights[record.key] ?? nominalWeights(record, after.engine.main, this.world.topology);
      if (sameWeights(was, is)) continue;
      this.moves.push({
        at: this.kernel.now,
        instance: this.name,
        epoch: after.engine.epoch,
        recordKey: record.key,
        before: { ...was },
        after: { ...is },
        main: state.main,
        evidence: last.evidence,
      });
      const reason = last.plan.records.find((r) => r.key === record.key)?.reason ?? '';
      this.trace.add(
        this.kernel.now,
        'decide',
        `${this.name} ${record.key} ${weightsText(was)} → ${weightsText(is)}: ${reason}`,
      );
    }
    for (const region of new Set([...Object.keys(state.out), ...Object.keys(after.engine.out)])) {
      const was = state.out[region] ?? [];
      const is = after.engine.out[region] ?? [];
      for (const cls of is)
        if (!was.includes(cls))
          this.holds.push({
            at: this.kernel.now,
            instance: this.name,
            region,
            cls,
            change: 'out',
            evidence: last.evidence,
          });
      for (const cls of was)
        if (!is.includes(cls))
          this.holds.push({
            at: this.kernel.now,
            instance: this.name,
            region,
            cls,
            change: 'in',
            evidence: last.evidence,
          });
    }
  }

  private noteJournal(j: JournalEntry, life: Life): void {
    if (j.action === 'lead') {
      this.leads.push({ at: this.kernel.now, epoch: j.epoch });
      this.trace.add(this.kernel.now, 'lead', `${this.name} ${j.detail}`);
    }
    if (j.action === 'fence' && j.phase !== 'intent') {
      if (j.phase === 'done') this.stats.fences++;
      this.trace.add(
        this.kernel.now,
        'act',
        `${this.name} ${j.phase === 'done' ? 'fenced' : `could not fence (${j.phase})`} ${j.target}: ${j.detail}`,
      );
      // The fence's outcome is recorded (done, or failed: an old main lost in an outage never answers).
      this.point('fence-done');
    }
    if (j.action !== 'promote') return;
    if (j.phase === 'intent') {
      const p = this.held?.engine.promotion;
      const key = `${j.epoch}/${j.target}`;
      const plan = life.last?.plan.actions.find((a) => a.type === 'promote');
      if (!this.promotedEpochs.has(key) && !j.detail.startsWith('resume: ') && life.last) {
        this.promotedEpochs.add(key);
        this.promotions.push({
          at: this.kernel.now,
          instance: this.name,
          epoch: j.epoch,
          region: j.target,
          from: p?.from ?? (plan?.type === 'promote' ? plan.from : this.main()),
          force: plan?.type === 'promote' ? plan.force : false,
          evidence: life.last.evidence,
        });
      }
      this.trace.add(
        this.kernel.now,
        'act',
        `${this.name} intends to promote ${j.target} (epoch ${j.epoch}): ${j.detail}`,
      );
      this.point('intent-saved');
    } else {
      if (j.phase === 'done') this.stats.promotions++;
      this.trace.add(
        this.kernel.now,
        'act',
        `${this.name} ${j.phase === 'done' ? 'promoted' : `promotion ${j.phase}:`} ${j.target} (epoch ${j.epoch})${j.phase === 'done' ? '' : `: ${j.detail}`}`,
      );
      if (j.phase === 'done') this.point('promote-done');
    }
  }

  /** A promoter whose calls stop for good once this life is dead, and that reports the crash points. */
  private observedPromoter(p: Promoter, life: Life): Promoter {
    const guard =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>, point?: CrashPoint) =>
      async (...a: A): Promise<R> => {
        if (life.dead) return never();
        const pending = fn(...a);
        if (point) this.point(point);
        const r = await pending;
        if (life.dead) return never();
        return r;
      };
    return {
      engine: p.engine,
      label: p.label,
      status: guard(() => p.status()),
      fence: guard((o) => p.fence(o), 'fence-sent'),
      promote: guard((o) => p.promote(o), 'promote-sent'),
      catchUp: guard((t, ms) => p.catchUp(t, ms)),
      unfence: guard(() => p.unfence()),
    };
  }

  /** The Route 53 log calls this when a management change by this instance lands. */
  managementWritten(): void {
    this.point('management-written');
  }

  private point(p: CrashPoint): void {
    if (this.alive()) this.onPoint?.(p);
  }

  private notePanic(plan: Plan, now: number): void {
    const panic = plan.alerts.some((a) => a.kind === 'panic');
    const open = this.panics[this.panics.length - 1];
    if (panic && (!open || open.to !== undefined)) {
      this.panics.push({ from: now });
      this.trace.add(
        this.kernel.now,
        'panic',
        `${this.name} panic guard: ${plan.alerts.find((a) => a.kind === 'panic')?.message}`,
      );
    } else if (!panic && open && open.to === undefined) {
      open.to = now;
      this.trace.add(this.kernel.now, 'panic', `${this.name} panic guard lifted`);
    }
  }

  private noteActions(plan: Plan): void {
    const signature = plan.actions
      .map((a) => `${a.type} ${a.region}${a.type === 'promote' ? ` epoch ${a.epoch}` : ''}`)
      .join('; ');
    if (signature === this.lastActions) return;
    this.lastActions = signature;
    for (const a of plan.actions) {
      if (a.type === 'promote') this.stats.wouldPromote++;
      else this.stats.wouldFence++;
    }
    if (signature) this.trace.add(this.kernel.now, 'plan', `${this.name} wants ${signature}`);
  }
}

function weightsText(w: Record<RegionId, number>): string {
  return (
    Object.entries(w)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '(none)'
  );
}
