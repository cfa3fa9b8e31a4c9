import { SwitchyardError } from '../util/errors.js';
import type { SimLayout } from './config.js';
import { type FaultSpec, randomSchedule } from './faults.js';
import type { Bounds } from './invariants/bounds.js';
import type { SimRandom } from './random.js';
import type { World } from './world/world.js';

const MIN = 60_000;

export interface ScenarioContext {
  world: World;
  instances: string[];
  random: SimRandom;
  durationMs: number;
  bounds: Bounds;
  /** Random schedules only: how many faults per kind's mean gap. */
  intensity: number;
  seed?: number;
}

/** What a scenario can look at when the run is over (beyond the invariants). */
export interface ScenarioOutcome {
  world: World;
  /** DNS changes written by the directors. */
  dnsChanges: number;
  /** Promotions the plan asked for, and those done (verified). */
  wouldPromote: number;
  promotions: number;
  instances: number;
}

/**
 * A named workload: a layout, a fault schedule, and what must be true at the end on top of the
 * invariants. Round-2 scenarios need several instances on the etcd twin (3 by default).
 */
export interface Scenario {
  name: string;
  description: string;
  round: 1 | 2;
  /** Needs several instances (the etcd twin); the default count is then layout.instances (3). */
  minInstances?: number;
  /** Default run length. */
  durationMs: number;
  layout?: Partial<SimLayout>;
  faults(ctx: ScenarioContext): FaultSpec[];
  /** A scenario-specific expectation; undefined when it held. */
  expect?(o: ScenarioOutcome): string | undefined;
}

const observer = (ctx: ScenarioContext) => ctx.instances[0] as string;

/** The steps of the failover sequence at which leader-crash-every-step kills the leader (round 2). */
export const FAILOVER_CRASH_POINTS = [
  'intent-saved',
  'fence-sent',
  'fence-done',
  'promote-sent',
  'promote-done',
  'management-written',
] as const;
const FAILOVER_STEPS: readonly string[] = FAILOVER_CRASH_POINTS;

const promoted = (o: ScenarioOutcome): string | undefined =>
  o.promotions > 0 ? undefined : 'the main was lost for 30 minutes or more and r2 was never promoted';

/** A failover of the main with three instances on the etcd twin, and the faults that make it hard. */
function multiInstanceFailover(name: string, description: string, faults: Scenario['faults']): Scenario {
  return {
    name,
    description,
    round: 2,
    minInstances: 2,
    durationMs: 90 * MIN,
    layout: { instances: 3 },
    faults,
    expect: promoted,
  };
}

function crashAt(point: string): FaultSpec[] {
  return [
    { kind: 'leader-crash-at', at: 5 * MIN, durationMs: 0, params: { point, restartMs: 2 * MIN } },
    { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
  ];
}

export const SCENARIOS: readonly Scenario[] = (
  [
    {
      name: 'random',
      description: 'faults of every round-1 kind drawn from the seed, with a quiet tail to check convergence',
      round: 1,
      durationMs: 24 * 60 * MIN,
      faults: (ctx) =>
        randomSchedule(ctx.random, ctx.world, ctx.instances, {
          durationMs: ctx.durationMs,
          intensity: ctx.intensity,
          quietAfterMs: Math.max(0, ctx.durationMs - ctx.bounds.convergeMs - 5 * MIN),
        }),
    },
    {
      name: 'swarm',
      description:
        'swarm testing: each seed turns on a random half of the fault kinds, each at its own rate (0.3–4×), with the quiet tail',
      round: 1,
      durationMs: 24 * 60 * MIN,
      faults: (ctx) =>
        randomSchedule(ctx.random, ctx.world, ctx.instances, {
          durationMs: ctx.durationMs,
          intensity: ctx.intensity,
          swarm: true,
          quietAfterMs: Math.max(0, ctx.durationMs - ctx.bounds.convergeMs - 5 * MIN),
        }),
    },
    {
      name: 'observer-partition',
      description:
        'one observer loses every path to the failover region for 15 minutes: with several observers (default 3) the quorum holds traffic still; alone, its view is all there is and traffic may move',
      round: 1,
      durationMs: 60 * MIN,
      layout: { instances: 3 },
      expect: (o) =>
        o.instances < 3 || o.dnsChanges === 0
          ? undefined
          : `${o.dnsChanges} DNS change(s) on one observer's view (of ${o.instances})`,
      faults: (ctx) => [
        {
          kind: 'link-partition',
          at: 10 * MIN,
          durationMs: 15 * MIN,
          params: { observer: observer(ctx), region: 'r2' },
        },
      ],
    },
    {
      name: 'main-lost',
      description:
        'the main region is lost for 30 minutes: api and auth leave it, r2 is promoted and management follows; the old main returns and is fenced (hard fence configured)',
      round: 1,
      durationMs: 90 * MIN,
      faults: (): FaultSpec[] => [
        { kind: 'region-outage', at: 10 * MIN, durationMs: 30 * MIN, params: { region: 'r1' } },
      ],
      expect: (o) =>
        o.promotions > 0 ? undefined : 'the main was lost for 30 minutes and r2 was never promoted',
    },
    {
      name: 'main-lost-soft-fence',
      description:
        'main-lost with only the SQL fence configured: the returning old main stays read-only and auth stays away',
      round: 1,
      durationMs: 90 * MIN,
      layout: { hardFence: false },
      faults: (): FaultSpec[] => [
        { kind: 'region-outage', at: 10 * MIN, durationMs: 30 * MIN, params: { region: 'r1' } },
      ],
      expect: (o) =>
        o.promotions > 0 ? undefined : 'the main was lost for 30 minutes and r2 was never promoted',
    },
    {
      name: 'observer-isolated',
      description:
        'the observer loses every region for 10 minutes (the panic guard holds everything); the main answers 30 s after the others: it must not be promoted away on down-time counted during the panic',
      round: 1,
      durationMs: 60 * MIN,
      layout: { hardFence: false },
      faults: (ctx): FaultSpec[] => [
        ...['r2', 'r3', 'r4'].map((region) => ({
          kind: 'link-partition',
          at: 10 * MIN,
          durationMs: 10 * MIN,
          params: { observer: observer(ctx), region },
        })),
        {
          kind: 'link-partition',
          at: 10 * MIN,
          durationMs: 10 * MIN + 30_000,
          params: { observer: observer(ctx), region: 'r1' },
        },
      ],
      expect: (o) =>
        o.promotions === 0 ? undefined : `${o.promotions} promotion(s) after the observer’s own isolation`,
    },
    {
      name: 'lagging-replica-failover',
      description:
        'the replica of r2.shared replays 12 s behind while the observer loses r1 (which keeps replicating): the RPO bound (maxLagSeconds 10) must hold at the moment of promotion, not only in the last probe',
      round: 1,
      durationMs: 60 * MIN,
      faults: (ctx): FaultSpec[] => [
        {
          kind: 'replica-lag',
          at: 5 * MIN,
          durationMs: 50 * MIN,
          params: { node: 'r2.shared', applyLagMs: 12_000 },
        },
        {
          kind: 'link-partition',
          at: 10 * MIN,
          durationMs: 20 * MIN,
          params: { observer: observer(ctx), region: 'r1' },
        },
      ],
    },
    {
      name: 'flapping-link',
      description:
        'the path to an edge region drops for 20 s every minute for 40 minutes: shorter than failAfter, so nothing may move',
      round: 1,
      durationMs: 60 * MIN,
      faults: (ctx) =>
        Array.from({ length: 40 }, (_, i) => ({
          kind: 'link-partition',
          at: 10 * MIN + i * MIN,
          durationMs: 20_000,
          params: { observer: observer(ctx), region: 'r3' },
        })),
      expect: (o) =>
        o.dnsChanges === 0 ? undefined : `${o.dnsChanges} DNS change(s) for outages shorter than failAfter`,
    },
    {
      name: 'probe-loss',
      description: '10 % probe loss on every path for the whole run, no real outage: no failover',
      round: 1,
      durationMs: 24 * 60 * MIN,
      faults: (ctx) =>
        ctx.instances.flatMap((o) =>
          ctx.world.topology.regions.map((r) => ({
            kind: 'link-loss',
            at: 0,
            durationMs: ctx.durationMs,
            params: { observer: o, region: r.id, loss: 0.1 },
          })),
        ),
    },
    {
      name: 'clock-chaos',
      description:
        'wall-clock steps of up to two hours either way and pauses of up to 45 s, no outage: nothing may move',
      round: 1,
      durationMs: 6 * 60 * MIN,
      faults: (ctx) => {
        const out: FaultSpec[] = [];
        for (let i = 0; i < 30; i++) {
          const at = 5 * MIN + i * 10 * MIN;
          out.push({
            kind: 'wall-step',
            at,
            durationMs: 0,
            params: { instance: observer(ctx), stepMs: (i % 2 ? -1 : 1) * (1_000 + i * 240_000) },
          });
          out.push({
            kind: 'pause',
            at: at + 3 * MIN,
            durationMs: 0,
            params: { instance: observer(ctx), pauseMs: 1_000 + (i % 5) * 11_000 },
          });
        }
        return out;
      },
      expect: (o) => (o.dnsChanges === 0 ? undefined : `${o.dnsChanges} DNS change(s) with no outage`),
    },
    {
      name: 'dns-trouble',
      description:
        'the main is lost while Route 53 first answers 503, then throttles and fails half its calls',
      round: 1,
      durationMs: 2 * 60 * MIN,
      faults: (): FaultSpec[] => [
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
        { kind: 'dns-outage', at: 10 * MIN, durationMs: 5 * MIN, params: {} },
        { kind: 'dns-throttle', at: 15 * MIN, durationMs: 20 * MIN, params: { share: 0.9 } },
        { kind: 'dns-errors', at: 15 * MIN, durationMs: 20 * MIN, params: { rate: 0.5 } },
      ],
    },
    {
      name: 'dns-stuck',
      description:
        'a gateway fails while Route 53 calls hang without end for two minutes (no bytes, no socket timeout): the move must still land once the API answers again',
      round: 1,
      durationMs: 60 * MIN,
      faults: (): FaultSpec[] => [
        { kind: 'dns-hang', at: 10 * MIN, durationMs: 2 * MIN, params: { mode: 'stuck' } },
        {
          kind: 'gateway-down',
          at: 10 * MIN + 5_000,
          durationMs: 30 * MIN,
          params: { region: 'r3', mode: 'refused' },
        },
      ],
    },
    multiInstanceFailover(
      'etcd-outage-during-failover',
      'the main is lost; the coordination store goes away in the middle of the failover sequence for 3 minutes, then returns: nobody acts meanwhile, and the failover completes after',
      (): FaultSpec[] => [
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
        { kind: 'etcd-outage', at: 10 * MIN + 75_000, durationMs: 3 * MIN, params: {} },
      ],
    ),
    multiInstanceFailover(
      'etcd-watch-delay-failover',
      'the main is lost while every instance receives etcd watch events 8 s late (observations, the state key): the failover completes and nothing acts on a stale view',
      (): FaultSpec[] => [
        {
          kind: 'etcd-watch-delay',
          at: 9 * MIN,
          durationMs: 20 * MIN,
          params: { instance: '*', delayMs: 8_000 },
        },
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
      ],
    ),
    multiInstanceFailover(
      'leader-cut-from-etcd',
      'the main is lost and, as the failover begins, the leader loses its etcd connection for 5 minutes: it must stop acting before its lease can expire; another instance takes over',
      (): FaultSpec[] => [
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
        { kind: 'etcd-cut', at: 10 * MIN + 70_000, durationMs: 5 * MIN, params: { instance: 'leader' } },
      ],
    ),
    multiInstanceFailover(
      'leader-paused-mid-failover',
      'the main is lost and the leader stops for 25 s (past the 10 s lease) right after sending the fence of the old main, then resumes mid-step: it must not act on',
      (): FaultSpec[] => [
        {
          kind: 'leader-pause-at',
          at: 5 * MIN,
          durationMs: 0,
          params: { point: 'fence-sent', pauseMs: 25_000 },
        },
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
      ],
    ),
    multiInstanceFailover(
      'leader-paused-promoting',
      'the main is lost and the leader stops for 30 s right after sending the promotion, then resumes mid-step',
      (): FaultSpec[] => [
        {
          kind: 'leader-pause-at',
          at: 5 * MIN,
          durationMs: 0,
          params: { point: 'promote-sent', pauseMs: 30_000 },
        },
        { kind: 'region-outage', at: 10 * MIN, durationMs: 40 * MIN, params: { region: 'r1' } },
      ],
    ),
    {
      name: 'wall-steps-per-instance',
      description:
        'three instances whose wall clocks step by up to two hours either way, each on its own schedule, and pause up to 9 s; no outage: nothing may move',
      round: 2,
      minInstances: 2,
      durationMs: 4 * 60 * MIN,
      layout: { instances: 3 },
      faults: (ctx) =>
        ctx.instances.flatMap((instance, k) =>
          Array.from({ length: 12 }, (_, i) => [
            {
              kind: 'wall-step',
              at: 5 * MIN + k * 97_000 + i * 19 * MIN,
              durationMs: 0,
              params: { instance, stepMs: ((i + k) % 2 ? -1 : 1) * (1_000 + i * 600_000) },
            },
            {
              kind: 'pause',
              at: 8 * MIN + k * 61_000 + i * 19 * MIN,
              durationMs: 0,
              params: { instance, pauseMs: 1_000 + (i % 3) * 4_000 },
            },
          ]).flat(),
        ),
      expect: (o) => (o.dnsChanges === 0 ? undefined : `${o.dnsChanges} DNS change(s) with no outage`),
    },
    multiInstanceFailover(
      'leader-crash-every-step',
      'the main is lost and the leader is killed at one step of the failover sequence (the seed picks it: seed mod 6 over intent saved, fence sent, fence done, promote sent, promote done, management written); it restarts 2 min later; another instance must finish or abandon the sequence safely. leader-crash-at-<step> names each step',
      (ctx) => crashAt(FAILOVER_CRASH_POINTS[(ctx.seed ?? 0) % FAILOVER_CRASH_POINTS.length] as string),
    ),
  ] as Scenario[]
).concat(
  FAILOVER_STEPS.map((point) =>
    multiInstanceFailover(
      `leader-crash-at-${point}`,
      `the main is lost and the leader is killed when it reaches "${point}" in the failover sequence; it restarts 2 min later`,
      () => crashAt(point),
    ),
  ),
);

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s)
    throw new SwitchyardError(
      'SIM_INVALID',
      `unknown scenario "${name}" (known: ${SCENARIOS.map((x) => x.name).join(', ')})`,
    );
  return s;
}
