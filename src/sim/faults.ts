import type { MemoryCoordClient, MemoryCoordCluster } from '../coord/memory.js';
import { SwitchyardError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { Kernel } from './kernel.js';
import { draw, type SimRandom } from './random.js';
import type { Trace } from './trace.js';
import type { ServiceDown } from './world/services.js';
import type { World } from './world/world.js';

/**
 * Faults: what can go wrong, as named kinds. A kind knows how to draw its own parameters (from
 * its own random stream, so adding a kind leaves every other kind's schedule as it was), how to
 * apply itself to the world, and how to heal. Effects compose (see world/effects.ts), so faults
 * may overlap freely.
 */

export type FaultParams = Record<string, string | number | boolean>;

export interface FaultSpec {
  kind: string;
  /** Virtual time the fault starts (ms since the start of the run). */
  at: number;
  /** 0 for instantaneous faults (a wall-clock step, a drift). */
  durationMs: number;
  params: FaultParams;
}

/** What faults may do to instances (the harness implements it). */
export interface InstanceControl {
  names(): string[];
  pause(name: string, ms: number): void;
  stepWall(name: string, ms: number): void;
  /** Round 2: a process crash, and its restart. */
  crash?(name: string): void;
  restart?(name: string): void;
  /** The instance that leads now (believes it may act), if any. */
  leader?(): string | undefined;
  /** The coordination twin (several instances), and one instance's connection to it. */
  etcd?(): MemoryCoordCluster | undefined;
  etcdClient?(name: string): MemoryCoordClient | undefined;
  /** The instance's view may not reach the others until `until` (for the quorum oracle). */
  disturb?(name: string, until?: number): void;
  /**
   * When the leader next passes `point` of the failover sequence it dies there (restarting `ms`
   * later) or stops for `ms` (a pause past the lease TTL).
   */
  armAt?(point: string, what: 'crash' | 'pause', ms: number): void;
}

export interface FaultContext {
  world: World;
  instances: InstanceControl;
  kernel: Kernel;
  /** A unique id for the effects this fault adds. */
  id: number;
}

export interface FaultKind {
  name: string;
  description: string;
  /** 1: since round 1; 2: since round 2 (several instances, crashes, the coordination twin). */
  round: 1 | 2;
  /** Needs several instances on the etcd twin. */
  etcd?: boolean;
  /** Is it a real outage (traffic may have to move)? Benign kinds must never move traffic. */
  outage: boolean;
  /** Mean time between two faults of this kind in a random schedule at intensity 1 (ms). */
  meanGapMs: number;
  /** Parameters and duration for a random schedule; undefined when it does not apply here. */
  draw(
    r: Random,
    ctx: { world: World; instances: string[] },
  ): { durationMs: number; params: FaultParams } | undefined;
  /** Applies the fault; returns its healing. */
  apply(ctx: FaultContext, params: FaultParams): (() => void) | undefined;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A duration drawn log-uniformly between lo and hi: many short faults, a few long ones. */
function span(r: Random, lo: number, hi: number): number {
  return Math.round(Math.exp(draw.between(r, Math.log(lo), Math.log(hi))));
}

const str = (p: FaultParams, k: string): string => String(p[k]);
const num = (p: FaultParams, k: string): number => Number(p[k]);

function regionsWith(world: World, component: 'gateway' | 'keyManager'): string[] {
  return world.topology.regions
    .filter((r) => (component === 'gateway' ? r.hasGateway : r.hasKeyManager))
    .map((r) => r.id);
}

function serviceDown(ids: string[], mode: ServiceDown) {
  return (ctx: FaultContext) => {
    for (const id of ids) ctx.world.services.effectsOf(id).add(ctx.id, { down: mode });
    return () => {
      for (const id of ids) ctx.world.services.effectsOf(id).remove(ctx.id);
    };
  };
}

const MODES: ServiceDown[] = ['refused', 'status', 'hang'];

/** Every check of one component kind in a region fails, in one of the ways a service goes down. */
function componentDown(
  name: string,
  description: string,
  component: 'gateway' | 'keyManager',
  meanGapMs: number,
): FaultKind {
  return {
    name,
    description,
    round: 1,
    outage: true,
    meanGapMs,
    draw: (r, { world }) => ({
      durationMs: span(r, 10_000, 2 * HOUR),
      params: { region: draw.pick(r, regionsWith(world, component)), mode: draw.pick(r, MODES) },
    }),
    apply: (ctx, p) =>
      serviceDown(ctx.world.services.targetsOf(str(p, 'region'), component), p.mode as ServiceDown)(ctx),
  };
}

export const FAULT_KINDS: readonly FaultKind[] = [
  componentDown(
    'gateway-down',
    'every gateway check of a region fails (refused, 503 or no answer)',
    'gateway',
    4 * HOUR,
  ),
  {
    name: 'check-down',
    description: 'one gateway check fails (a component with minHealthy below its checks rides it out)',
    round: 1,
    outage: true,
    meanGapMs: 6 * HOUR,
    draw: (r, { world }) => {
      const ids = [...world.services.targets.values()]
        .filter((t) => t.component === 'gateway')
        .map((t) => t.id);
      return {
        durationMs: span(r, 10_000, HOUR),
        params: { target: draw.pick(r, ids), mode: draw.pick(r, MODES) },
      };
    },
    apply: (ctx, p) => serviceDown([str(p, 'target')], p.mode as ServiceDown)(ctx),
  },
  componentDown('key-manager-down', 'the key manager of a region fails', 'keyManager', 8 * HOUR),
  {
    name: 'service-slow',
    description: 'a gateway or key manager answers slowly (sometimes past the probe timeout)',
    round: 1,
    outage: true,
    meanGapMs: 6 * HOUR,
    draw: (r, { world }) => ({
      durationMs: span(r, 30_000, HOUR),
      params: {
        target: draw.pick(r, [...world.services.targets.keys()]),
        slowMs: Math.round(draw.between(r, 100, 4_000)),
      },
    }),
    apply: (ctx, p) => {
      const fx = ctx.world.services.effectsOf(str(p, 'target'));
      fx.add(ctx.id, { slowMs: num(p, 'slowMs') });
      return () => fx.remove(ctx.id);
    },
  },
  {
    name: 'service-flap',
    description: 'a region’s gateway goes down and up again every period',
    round: 1,
    outage: true,
    meanGapMs: 8 * HOUR,
    draw: (r, { world }) => ({
      durationMs: span(r, 5 * MIN, 45 * MIN),
      params: {
        region: draw.pick(r, regionsWith(world, 'gateway')),
        downMs: Math.round(draw.between(r, 3_000, 60_000)),
        upMs: Math.round(draw.between(r, 3_000, 90_000)),
      },
    }),
    apply: (ctx, p) =>
      flap(ctx, p, (on) => {
        for (const id of ctx.world.services.targetsOf(str(p, 'region'), 'gateway'))
          if (on) ctx.world.services.effectsOf(id).add(ctx.id, { down: 'refused' });
          else ctx.world.services.effectsOf(id).remove(ctx.id);
      }),
  },
  {
    name: 'region-outage',
    description: 'a whole region is lost: services and database hosts stop answering, its control plane too',
    round: 1,
    outage: true,
    meanGapMs: 12 * HOUR,
    draw: (r, { world }) => ({
      durationMs: span(r, MIN, HOUR),
      params: {
        region: draw.pick(
          r,
          world.topology.regions.map((x) => x.id),
        ),
      },
    }),
    apply: (ctx, p) => {
      const region = str(p, 'region');
      const { world } = ctx;
      const ids = [...world.services.targets.values()].filter((t) => t.region === region).map((t) => t.id);
      const heal = serviceDown(ids, 'hang')(ctx);
      const nodes = [...world.databases.nodes.values()].filter((n) => n.region === region);
      for (const n of nodes) {
        n.effects.add(ctx.id, { down: 'host' });
        world.databases.reconcile(n, world.now, 'region outage');
      }
      return () => {
        heal();
        for (const n of nodes) {
          n.effects.remove(ctx.id);
          world.databases.reconcile(n, world.now, 'region back');
        }
      };
    },
  },
  {
    name: 'database-crash',
    description:
      'a database server process crashes, then restarts (a primary restarts writable unless its fence persisted)',
    round: 1,
    outage: true,
    meanGapMs: 8 * HOUR,
    draw: (r, { world }) => ({
      durationMs: span(r, 10_000, 20 * MIN),
      params: { node: draw.pick(r, [...world.databases.nodes.keys()]) },
    }),
    apply: (ctx, p) => {
      const n = ctx.world.databases.nodes.get(str(p, 'node'));
      if (!n) return undefined;
      n.effects.add(ctx.id, { down: 'crash' });
      ctx.world.databases.reconcile(n, ctx.world.now, 'crash');
      return () => {
        n.effects.remove(ctx.id);
        ctx.world.databases.reconcile(n, ctx.world.now, 'process restarted');
      };
    },
  },
  {
    name: 'replica-lag',
    description: 'a replica replays slowly and falls behind',
    round: 1,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r, { world }) => {
      const replicas = [...world.databases.nodes.values()]
        .filter((n) => n.role === 'replica')
        .map((n) => n.id);
      if (replicas.length === 0) return undefined;
      return {
        durationMs: span(r, 5 * MIN, HOUR),
        params: { node: draw.pick(r, replicas), applyLagMs: Math.round(span(r, 1_000, 90_000)) },
      };
    },
    apply: (ctx, p) => {
      const n = ctx.world.databases.nodes.get(str(p, 'node'));
      if (!n) return undefined;
      n.effects.add(ctx.id, { applyLagMs: num(p, 'applyLagMs') });
      return () => n.effects.remove(ctx.id);
    },
  },
  {
    name: 'replication-cut',
    description: 'the replication stream from the main to another region is cut',
    round: 1,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r, { world }) => {
      const main = world.topology.configuredMain;
      const others = world.topology.regions
        .filter((x) => x.id !== main && x.databases.length > 0)
        .map((x) => x.id);
      if (others.length === 0) return undefined;
      return { durationMs: span(r, MIN, 30 * MIN), params: { from: main, to: draw.pick(r, others) } };
    },
    apply: (ctx, p) => {
      const fx = ctx.world.network.replicationEffects(str(p, 'from'), str(p, 'to'));
      fx.add(ctx.id, { cut: true });
      return () => fx.remove(ctx.id);
    },
  },
  {
    name: 'link-loss',
    description: 'an observer loses a share of its probes to a region (mostly benign rates)',
    round: 1,
    outage: false,
    meanGapMs: 3 * HOUR,
    draw: (r, ctx) => ({
      durationMs: span(r, 10 * MIN, 3 * HOUR),
      params: {
        ...linkParams(r, ctx),
        loss: draw.chance(r, 0.75)
          ? +draw.between(r, 0.01, 0.2).toFixed(3)
          : +draw.between(r, 0.3, 0.95).toFixed(3),
      },
    }),
    apply: (ctx, p) => linkEffect(ctx, p, { loss: num(p, 'loss') }),
  },
  {
    name: 'link-latency',
    description: 'an observer’s path to a region gets slower (sometimes past the probe timeout)',
    round: 1,
    outage: false,
    meanGapMs: 6 * HOUR,
    draw: (r, ctx) => ({
      durationMs: span(r, 5 * MIN, 2 * HOUR),
      params: { ...linkParams(r, ctx), latencyMs: Math.round(span(r, 20, 1_500)) },
    }),
    apply: (ctx, p) => linkEffect(ctx, p, { latencyMs: num(p, 'latencyMs') }),
  },
  {
    name: 'link-partition',
    description: 'an observer cannot reach a region at all',
    round: 1,
    outage: true,
    meanGapMs: 6 * HOUR,
    draw: (r, ctx) => ({ durationMs: span(r, 10_000, 30 * MIN), params: linkParams(r, ctx) }),
    apply: (ctx, p) => linkEffect(ctx, p, { cutOut: true, cutBack: true }),
  },
  {
    name: 'link-asymmetric',
    description: 'requests reach a region but replies do not come back (or the other way round)',
    round: 1,
    outage: true,
    meanGapMs: 8 * HOUR,
    draw: (r, ctx) => ({
      durationMs: span(r, 10_000, 30 * MIN),
      params: { ...linkParams(r, ctx), direction: draw.pick(r, ['out', 'back']) },
    }),
    apply: (ctx, p) => linkEffect(ctx, p, p.direction === 'out' ? { cutOut: true } : { cutBack: true }),
  },
  {
    name: 'dns-outage',
    description: 'the Route 53 API answers 503 to every call',
    round: 1,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r) => ({ durationMs: span(r, 10_000, 30 * MIN), params: {} }),
    apply: (ctx) => dnsEffect(ctx, { outage: true }),
  },
  {
    name: 'dns-hang',
    description: 'Route 53 calls get no bytes back (the SDK request timeout ends them)',
    round: 1,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r) => ({ durationMs: span(r, 10_000, 20 * MIN), params: { mode: 'timeout' } }),
    apply: (ctx, p) => dnsEffect(ctx, { hang: p.mode === 'stuck' ? 'stuck' : 'timeout' }),
  },
  {
    name: 'dns-errors',
    description: 'a share of Route 53 calls fail with 500 (half of the failed writes were applied anyway)',
    round: 1,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r) => ({
      durationMs: span(r, 5 * MIN, HOUR),
      params: { rate: +draw.between(r, 0.1, 0.8).toFixed(2) },
    }),
    apply: (ctx, p) => dnsEffect(ctx, { errorRate: num(p, 'rate') }),
  },
  {
    name: 'dns-throttle',
    description: 'other tools in the account use most of the 5 requests/s',
    round: 1,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r) => ({
      durationMs: span(r, 5 * MIN, 2 * HOUR),
      params: { share: +draw.between(r, 0.5, 0.95).toFixed(2) },
    }),
    apply: (ctx, p) => dnsEffect(ctx, { noisyNeighbour: num(p, 'share') }),
  },
  {
    name: 'dns-drift',
    description: 'an operator changes a weight in the console behind switchyard’s back',
    round: 1,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r, { world }) => {
      const rec = draw.pick(
        r,
        world.topology.records.filter((x) => x.class !== 'management'),
      );
      return {
        durationMs: 0,
        params: {
          record: rec.key,
          region: draw.pick(r, Object.keys(rec.targets)),
          weight: draw.int(r, 1, 255),
        },
      };
    },
    apply: (ctx, p) => {
      ctx.world.dns.drift(str(p, 'record'), str(p, 'region'), num(p, 'weight'));
      return undefined;
    },
  },
  {
    name: 'disk-full',
    description: 'an instance’s state disk is full: every save fails',
    round: 1,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: span(r, MIN, 30 * MIN),
      params: { instance: draw.pick(r, instances) },
    }),
    apply: (ctx, p) => {
      const disk = ctx.world.disks.get(str(p, 'instance'));
      if (!disk) return undefined;
      disk.effects.add(ctx.id, { full: true });
      return () => disk.effects.remove(ctx.id);
    },
  },
  {
    name: 'wall-step',
    description: 'an instance’s wall clock steps (NTP, an operator), by up to two hours either way',
    round: 1,
    outage: false,
    meanGapMs: 6 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: 0,
      params: {
        instance: draw.pick(r, instances),
        stepMs: Math.round(span(r, 1_000, 2 * HOUR)) * (draw.chance(r, 0.5) ? 1 : -1),
      },
    }),
    apply: (ctx, p) => {
      ctx.instances.stepWall(str(p, 'instance'), num(p, 'stepMs'));
      return undefined;
    },
  },
  {
    name: 'pause',
    description: 'an instance stops (GC pause, a stopped VM): its timers fire only when it resumes',
    round: 1,
    outage: false,
    meanGapMs: 6 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: 0,
      params: { instance: draw.pick(r, instances), pauseMs: Math.round(span(r, 100, 60_000)) },
    }),
    apply: (ctx, p) => {
      ctx.instances.pause(str(p, 'instance'), num(p, 'pauseMs'));
      return undefined;
    },
  },
  {
    name: 'rogue-unfence',
    description:
      'a session with admin rights turns read-only off again on a fenced database (the soft fence’s weakness)',
    round: 1,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: () => ({ durationMs: 0, params: {} }),
    apply: (ctx) => {
      const { world } = ctx;
      const fenced = [...world.databases.nodes.values()].filter(
        (n) => n.isRunning && n.readOnly && n.role === 'primary',
      );
      const n = fenced[0];
      if (!n) return undefined;
      world.databases.advance(world.now);
      n.readOnly = false;
      n.readOnlyPersistent = false;
      n.fencedAt = undefined;
      n.writableCause = 'fence-undone';
      world.databases.log({
        at: world.now,
        kind: 'fence-undone',
        node: n.id,
        detail: 'a session turned read-only off',
      });
      return undefined;
    },
  },
  {
    name: 'operator-rebuild',
    description:
      'an operator rebuilds a detached old main (or a hard-fenced server) as a replica of the current primary',
    round: 1,
    outage: false,
    meanGapMs: 6 * HOUR,
    draw: () => ({ durationMs: 0, params: {} }),
    apply: (ctx) => {
      const { world } = ctx;
      for (const n of world.databases.detached())
        if (n.hostUp && !n.effects.size) world.databases.rebuild(n, world.now);
      return undefined;
    },
  },
  {
    name: 'instance-crash',
    description: 'an instance’s process dies (kill -9) and restarts after a while',
    round: 2,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: span(r, 1_000, 10 * MIN),
      params: { instance: draw.pick(r, instances) },
    }),
    apply: (ctx, p) => {
      const name = target(ctx, p);
      if (!name) return undefined;
      need(ctx.instances.crash, 'instance-crash')(name);
      return () => ctx.instances.restart?.(name);
    },
  },
  {
    name: 'leader-crash',
    description: 'the instance leading right now dies (kill -9) and restarts after a while',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r) => ({ durationMs: span(r, 1_000, 5 * MIN), params: { instance: 'leader' } }),
    apply: (ctx, p) => {
      const name = target(ctx, p);
      if (!name) return undefined;
      need(ctx.instances.crash, 'leader-crash')(name);
      return () => ctx.instances.restart?.(name);
    },
  },
  {
    name: 'leader-crash-at',
    description:
      'the leader dies at a given step of the failover sequence (intent saved, fence sent, fence outcome recorded, promote sent, promote done, management written) and restarts after restartMs',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r) => ({
      durationMs: 0,
      params: {
        point: draw.pick(r, [
          'intent-saved',
          'fence-sent',
          'fence-done',
          'promote-sent',
          'promote-done',
          'management-written',
        ]),
        restartMs: Math.round(span(r, 1_000, 5 * MIN)),
      },
    }),
    apply: (ctx, p) => {
      need(ctx.instances.armAt, 'leader-crash-at')(str(p, 'point'), 'crash', num(p, 'restartMs'));
      return undefined;
    },
  },
  {
    name: 'leader-pause-at',
    description:
      'the leader stops for pauseMs (past the lease TTL) at a given step of the failover sequence, then resumes mid-step',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r) => ({
      durationMs: 0,
      params: {
        point: draw.pick(r, ['intent-saved', 'fence-sent', 'fence-done', 'promote-sent', 'promote-done']),
        pauseMs: Math.round(draw.between(r, 11_000, 60_000)),
      },
    }),
    apply: (ctx, p) => {
      need(ctx.instances.armAt, 'leader-pause-at')(str(p, 'point'), 'pause', num(p, 'pauseMs'));
      return undefined;
    },
  },
  {
    name: 'leader-pause',
    description:
      'the leader stops (a long GC pause, a stopped VM) for longer than the lease TTL, then resumes where it was',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r) => ({
      durationMs: 0,
      params: { instance: 'leader', pauseMs: Math.round(draw.between(r, 11_000, 60_000)) },
    }),
    apply: (ctx, p) => {
      const name = target(ctx, p);
      if (name) ctx.instances.pause(name, num(p, 'pauseMs'));
      return undefined;
    },
  },
  {
    name: 'etcd-outage',
    description: 'the coordination store (etcd) is unreachable: nobody may act; probing goes on',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 12 * HOUR,
    draw: (r) => ({ durationMs: span(r, 10_000, 10 * MIN), params: {} }),
    apply: (ctx) => {
      const etcd = need(ctx.instances.etcd, 'etcd-outage')();
      if (!etcd)
        throw new SwitchyardError('SIM_INVALID', 'etcd-outage needs several instances (the etcd twin)');
      etcd.setUnavailable('timeout');
      return () => {
        etcd.setUnavailable(null);
        for (const n of ctx.instances.names()) ctx.instances.disturb?.(n);
      };
    },
  },
  {
    name: 'etcd-cut',
    description:
      'one instance (or the leader) loses its connection to etcd: its calls time out, its watches stall; the others carry on',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: span(r, 5_000, 10 * MIN),
      params: { instance: draw.chance(r, 0.5) ? 'leader' : draw.pick(r, instances) },
    }),
    apply: (ctx, p) => {
      const name = target(ctx, p);
      const client = name ? ctx.instances.etcdClient?.(name) : undefined;
      if (!name || !client) return undefined;
      client.setUnavailable('timeout');
      ctx.instances.disturb?.(name);
      return () => {
        client.setUnavailable(null);
        ctx.instances.disturb?.(name);
      };
    },
  },
  {
    name: 'etcd-watch-delay',
    description: 'watch events reach one instance (or every instance) late, still in order',
    round: 2,
    etcd: true,
    outage: false,
    meanGapMs: 8 * HOUR,
    draw: (r, { instances }) => ({
      durationMs: span(r, 10_000, 10 * MIN),
      params: {
        instance: draw.chance(r, 0.3) ? '*' : draw.pick(r, instances),
        delayMs: Math.round(span(r, 200, 20_000)),
      },
    }),
    apply: (ctx, p) => {
      const names = p.instance === '*' ? ctx.instances.names() : [str(p, 'instance')];
      const clients = names.flatMap((n) => {
        const c = ctx.instances.etcdClient?.(n);
        return c ? [[n, c] as const] : [];
      });
      for (const [n, c] of clients) {
        c.setWatchDelay(num(p, 'delayMs'));
        ctx.instances.disturb?.(n);
      }
      return () => {
        for (const [n, c] of clients) {
          c.setWatchDelay(0);
          ctx.instances.disturb?.(n, ctx.kernel.now + num(p, 'delayMs'));
        }
      };
    },
  },
];

/** The instance a fault names: "leader" is whoever leads when it starts (none: the fault does nothing). */
function target(ctx: FaultContext, p: FaultParams): string | undefined {
  const name = str(p, 'instance');
  return name === 'leader' ? ctx.instances.leader?.() : name;
}

function need<T>(fn: T | undefined, kind: string): T {
  if (!fn) throw new SwitchyardError('SIM_INVALID', `${kind} needs the round-2 harness`);
  return fn;
}

export function faultKind(name: string): FaultKind {
  const k = FAULT_KINDS.find((x) => x.name === name);
  if (!k)
    throw new SwitchyardError(
      'SIM_INVALID',
      `unknown fault kind "${name}" (known: ${FAULT_KINDS.map((x) => x.name).join(', ')})`,
    );
  return k;
}

function linkParams(r: Random, ctx: { world: World; instances: string[] }): FaultParams {
  const regions = ctx.world.topology.regions.map((x) => x.id);
  return {
    observer: draw.pick(r, ctx.instances),
    region: draw.chance(r, 0.15) ? '*' : draw.pick(r, regions),
  };
}

function linkEffect(
  ctx: FaultContext,
  p: FaultParams,
  effect: Parameters<ReturnType<World['network']['effects']>['add']>[1],
) {
  const observer = str(p, 'observer');
  const regions = p.region === '*' ? ctx.world.topology.regions.map((x) => x.id) : [str(p, 'region')];
  for (const region of regions) ctx.world.network.effects(observer, region).add(ctx.id, effect);
  return () => {
    for (const region of regions) ctx.world.network.effects(observer, region).remove(ctx.id);
  };
}

function dnsEffect(ctx: FaultContext, effect: Parameters<World['dns']['effects']['add']>[1]) {
  ctx.world.dns.effects.add(ctx.id, effect);
  return () => ctx.world.dns.effects.remove(ctx.id);
}

/** Alternates a fault on (for downMs) and off (for upMs) until healed. */
function flap(ctx: FaultContext, p: FaultParams, set: (on: boolean) => void): () => void {
  let on = false;
  let stopped = false;
  const step = () => {
    if (stopped) return;
    ctx.world.touch();
    on = !on;
    set(on);
    ctx.world.faultVersion++;
    ctx.kernel.after(on ? num(p, 'downMs') : num(p, 'upMs'), step, { settle: false });
  };
  step();
  return () => {
    stopped = true;
    if (on) set(false);
  };
}

/** One fault in progress or done. */
export interface FaultRecord extends FaultSpec {
  id: number;
  healedAt?: number;
}

/**
 * Starts and heals faults at their virtual times and writes them to the trace. The world's
 * replication is brought up to date before every change (it is computed lazily).
 */
export class FaultEngine {
  readonly records: FaultRecord[] = [];
  private nextId = 1;

  constructor(
    private readonly kernel: Kernel,
    private readonly world: World,
    private readonly instances: InstanceControl,
    private readonly trace: Trace,
  ) {}

  schedule(spec: FaultSpec): void {
    this.kernel.schedule(spec.at, () => this.start(spec), { settle: false });
  }

  /** Faults in progress right now. */
  active(): FaultRecord[] {
    return this.records.filter((f) => f.healedAt === undefined && f.durationMs > 0);
  }

  /** How many faults are in progress (cheap: the invariants ask after every event). */
  activeCount = 0;

  private start(spec: FaultSpec): void {
    const kind = faultKind(spec.kind);
    const rec: FaultRecord = { ...spec, id: this.nextId++ };
    this.world.touch();
    const heal = kind.apply(
      { world: this.world, instances: this.instances, kernel: this.kernel, id: rec.id },
      spec.params,
    );
    this.world.faultVersion++;
    this.records.push(rec);
    if (spec.durationMs === 0 || !heal) rec.healedAt = this.kernel.now;
    else this.activeCount++;
    this.trace.add(
      this.kernel.now,
      'fault+',
      `${spec.kind} ${describe(spec.params)}${spec.durationMs ? ` for ${Math.round(spec.durationMs / 1000)}s` : ''}`,
    );
    if (spec.durationMs > 0 && heal)
      this.kernel.after(
        spec.durationMs,
        () => {
          this.world.touch();
          heal();
          this.world.faultVersion++;
          rec.healedAt = this.kernel.now;
          this.activeCount--;
          this.trace.add(this.kernel.now, 'fault-', `${spec.kind} ${describe(spec.params)} healed`);
        },
        { settle: false },
      );
  }
}

export function describe(p: FaultParams): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export interface ScheduleOptions {
  durationMs: number;
  /** Scales every kind's rate (1 = the kinds' own mean gaps). */
  intensity: number;
  /**
   * Which kinds may occur (default: every round-1 kind; with several instances, every kind but
   * the full disk, which the etcd store does not use).
   */
  kinds?: readonly string[];
  /** No fault may last past this time (leaves a quiet tail to check convergence). */
  quietAfterMs?: number;
  /** No fault starts before this time (the directors' first probe rounds). */
  startAfterMs?: number;
  /**
   * Swarm testing (Groce et al., 2012): each seed turns on a random subset of the kinds, each at
   * its own random rate, so runs reach states a fixed mix of everything never reaches.
   */
  swarm?: boolean;
}

/**
 * A random fault schedule: for each kind, a Poisson process on its own stream. The schedule is
 * a pure function of the seed and the options.
 */
export function randomSchedule(
  random: SimRandom,
  world: World,
  instances: string[],
  opts: ScheduleOptions,
): FaultSpec[] {
  const out: FaultSpec[] = [];
  const end = opts.quietAfterMs ?? opts.durationMs;
  const several = instances.length > 1;
  const kinds = opts.kinds
    ? opts.kinds.map(faultKind)
    : FAULT_KINDS.filter((k) => (several ? k.name !== 'disk-full' : k.round === 1));
  for (const kind of kinds) {
    const r = random.stream(`faults.${kind.name}`);
    let rate = opts.intensity;
    if (opts.swarm) {
      const s = random.stream(`swarm.${kind.name}`);
      if (!draw.chance(s, 0.5)) continue;
      rate *= Math.exp(draw.between(s, Math.log(0.3), Math.log(4)));
    }
    let t = opts.startAfterMs ?? 2 * MIN;
    for (;;) {
      t += draw.exponential(r, kind.meanGapMs / Math.max(1e-6, rate));
      if (t >= end) break;
      const d = kind.draw(r, { world, instances });
      if (!d) continue;
      const at = Math.round(t);
      const durationMs = Math.min(d.durationMs, Math.max(0, end - at));
      out.push({ kind: kind.name, at, durationMs, params: d.params });
    }
  }
  return out.sort((a, b) => a.at - b.at || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}
