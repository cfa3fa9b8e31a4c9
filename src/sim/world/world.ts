import type { Config } from '../../config/schema.js';
import type { DnsProvider } from '../../dns/types.js';
import { buildHealthTargets, type HealthTarget } from '../../health/targets.js';
import { buildTopology } from '../../topology/build.js';
import type { Topology } from '../../topology/types.js';
import { SwitchyardError } from '../../util/errors.js';
import type { Random } from '../../util/random.js';
import type { SimClock } from '../clock.js';
import type { Kernel } from '../kernel.js';
import { draw, type SimRandom } from '../random.js';
import type { Trace } from '../trace.js';
import { Databases } from './databases.js';
import { Network } from './network.js';
import { type ProbeFactory, simProbeFactory } from './probes.js';
import { type PromoterFactory, simPromoterFactory } from './promoter.js';
import { SimRoute53 } from './route53.js';
import { Services } from './services.js';
import { SimDisk, SimStateStore } from './state-store.js';

/** Every port one instance is given (round 2 adds the coordination store). */
export interface InstancePorts {
  probeFactory: ProbeFactory;
  promoterFactory: PromoterFactory;
  dnsProvider: DnsProvider;
  stateStore: SimStateStore;
}

/** Probe loss at or below this share is "no real outage": the config must ride it out. */
export const BENIGN_LOSS = 0.2;
/** Probe loss at or below this share practically never fails `fall` probes in a row. */
export const LOSS_CLEAN = 0.05;

/**
 * The simulated world: regions (services, databases), the network, Route 53, the instances'
 * disks, and an application writing to the databases. It owns the ground truth the invariants
 * judge the directors against.
 */
export class World {
  readonly topology: Topology;
  readonly targets: HealthTarget[];
  readonly network: Network;
  readonly services: Services;
  readonly databases: Databases;
  readonly dns: SimRoute53;
  readonly disks = new Map<string, SimDisk>();
  /** Bumped by the fault engine whenever a fault starts or heals (ground truth caches key on it). */
  faultVersion = 0;
  private readonly homes = new Map<string, string>();
  private readonly paths = new Map<string, Random>();

  constructor(
    readonly kernel: Kernel,
    readonly random: SimRandom,
    readonly config: Config,
    readonly trace: Trace,
  ) {
    this.topology = buildTopology(config);
    this.targets = buildHealthTargets(config);
    this.network = new Network((n) => random.stream(n), this.homes);
    this.services = new Services(this.targets);
    this.databases = new Databases(
      this.topology.regions.map((r) => ({
        region: r.id,
        role: r.role,
        databases: config.regions[r.id]?.databases ?? {},
      })),
      (from, to) => this.network.replicationState(from, to),
    );
    this.dns = new SimRoute53(kernel, this.topology, random.stream('route53'));
  }

  get now(): number {
    return this.kernel.now;
  }

  /** Registers a director instance running in `home` (its links there are short). */
  addObserver(name: string, home: string): void {
    this.homes.set(name, home);
    if (!this.disks.has(name)) this.disks.set(name, new SimDisk(name));
  }

  observers(): string[] {
    return [...this.homes.keys()];
  }

  homeOf(observer: string): string | undefined {
    return this.homes.get(observer);
  }

  /** The random stream of one observer's path to one region (probes and database calls share it). */
  pathRandom(observer: string, region: string): Random {
    const key = `path.${observer}.${region}`;
    let r = this.paths.get(key);
    if (!r) {
      r = this.random.stream(key);
      this.paths.set(key, r);
    }
    return r;
  }

  stream(name: string): Random {
    return this.random.stream(name);
  }

  /** The ports of one life of an instance (a restart builds new ones over the same disk). */
  ports(observer: string, clock: SimClock, random: Random): InstancePorts {
    const disk = this.disks.get(observer);
    if (!disk) throw new SwitchyardError('INTERNAL', `unknown observer ${observer}`);
    return {
      probeFactory: simProbeFactory(this, observer),
      promoterFactory: simPromoterFactory(this, observer, clock),
      dnsProvider: this.dns.provider(observer, clock, random, this.config),
      stateStore: new SimStateStore(disk, clock, () => this.kernel.now),
    };
  }

  /** Replication is computed lazily: bring it to now before any fault changes its conditions. */
  touch(): void {
    this.databases.advance(this.kernel.now);
  }

  // ——— ground truth ———

  /** Would a perfect observer see this component of this region failing? */
  componentFailing(region: string, component: 'gateway' | 'keyManager'): boolean {
    return this.services.componentFailing(region, component);
  }

  /**
   * Does every probe `observer` makes of the component fail, certainly (the component, or a
   * cut or too slow path)? Heavy loss is not certain: it is neither an outage nor nominal.
   */
  failingFrom(observer: string, region: string, component: 'gateway' | 'keyManager'): boolean {
    if (this.componentFailing(region, component)) return true;
    return this.pathBroken(observer, region);
  }

  /** Every request from `observer` to `region` goes unanswered (a cut, or a round trip past any timeout). */
  pathBroken(observer: string, region: string): boolean {
    const link = this.network.state(observer, region);
    const timeout = Math.max(...this.targets.filter((t) => t.region === region).map((t) => t.timeoutMs), 0);
    return link.cutOut || link.cutBack || 2 * 0.8 * link.latencyMs >= timeout;
  }

  /** A path good enough that probes over it practically never fail: no cut, little loss, short latency. */
  pathClean(observer: string, region: string): boolean {
    const link = this.network.state(observer, region);
    return !link.cutOut && !link.cutBack && link.loss <= LOSS_CLEAN && link.latencyMs <= 200;
  }

  /** Whether the database node answers probes with a status at all. */
  databaseReachable(region: string, key: string): boolean {
    const n = this.databases.node(region, key);
    return n.hostUp && n.isRunning;
  }

  /**
   * "No real outage": no service or database fault and no link worse than benign loss. Route 53
   * trouble, clock steps, pauses, replication lag and full disks are not outages: none of them
   * may move traffic.
   */
  nominal(): boolean {
    if (this.services.impaired().length > 0) return false;
    for (const n of this.databases.nodes.values()) if (!n.hostUp || !n.isRunning) return false;
    for (const key of this.network.impairedLinks()) {
      const [observer, region] = key.split('>') as [string, string];
      const s = this.network.state(observer, region);
      if (s.cutOut || s.cutBack || s.loss > BENIGN_LOSS || s.latencyMs > 200) return false;
    }
    return true;
  }

  /**
   * The application: in each core region a local job writes to its own database, and clients
   * write wherever management DNS sends them. Their accepted writes are the evidence for "at
   * most one writable primary".
   */
  startWorkload(opts: { localEveryMs?: number; dnsEveryMs?: number } = {}): void {
    const local = opts.localEveryMs ?? 30_000;
    const viaDns = opts.dnsEveryMs ?? 10_000;
    const management = this.topology.records.find((r) => r.class === 'management');
    for (const key of this.databases.keys()) {
      for (const node of this.databases.ofKey(key)) {
        const r = this.random.stream(`workload.local.${node.id}`);
        const tick = () => {
          this.databases.write(node, 512, this.kernel.now);
          this.kernel.after(draw.exponential(r, local), tick, { settle: false });
        };
        this.kernel.after(draw.exponential(r, local), tick, { settle: false });
      }
      if (!management) continue;
      const r = this.random.stream(`workload.dns.${key}`);
      const tick = () => {
        const regions = this.dns
          .answer(management.key)
          .filter((id) => this.databases.nodes.has(`${id}.${key}`));
        if (regions.length > 0)
          this.databases.write(this.databases.node(draw.pick(r, regions), key), 2_048, this.kernel.now);
        this.kernel.after(draw.exponential(r, viaDns), tick, { settle: false });
      };
      this.kernel.after(draw.exponential(r, viaDns), tick, { settle: false });
    }
  }
}
