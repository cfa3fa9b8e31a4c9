import type { CoordPort } from '../coord/types.js';
import type { Coordination } from '../daemon/ports.js';
import type { Promoter } from '../database/types.js';
import type { decide } from '../decide/decide.js';
import type { Clock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';

type Decide = typeof decide;

/**
 * Mutants: the director with one safety mechanism taken out, each an old bug the simulator found
 * and that was fixed. A mutant run must break the named invariant on its seed — the proof that the
 * invariants (and the scenario) would catch the bug if it came back. `switchyard sim --mutant`.
 */
export interface Mutant {
  name: string;
  description: string;
  /** The invariant that must catch it, on `scenario` with `seed`. */
  catches: string;
  scenario: string;
  seed: number;
  /** Run options of the catching run when not the scenario's defaults. */
  instances?: number;
  intensity?: number;
  durationMs?: number;
  /** Wraps the engine (the daemon's decide). */
  decide?(d: Decide): Decide;
  /** Wraps each promoter the instance creates. */
  promoter?(p: Promoter): Promoter;
  /** Wraps the instance's coordination (several instances). */
  coordination?(c: Coordination, clock: Clock): Coordination;
  /** Wraps the instance's connection to the etcd twin (several instances). */
  coordPort?(c: CoordPort): CoordPort;
}

/**
 * The connection with every leader-key watch event stamped as new (the revision the elector's
 * fix compares is gone): a late delete of the previous leader's key reads as the loss of one's own.
 */
function staleEventsLookNew(c: CoordPort): CoordPort {
  return new Proxy(c, {
    get(target, prop, receiver) {
      if (prop === 'watchPrefix')
        return (prefix: string, from: number, onEvent: Parameters<CoordPort['watchPrefix']>[2]) =>
          target.watchPrefix(prefix, from, (e) =>
            onEvent(
              e.type === 'broken' || !e.key.endsWith('/leader')
                ? e
                : { ...e, modRevision: Number.MAX_SAFE_INTEGER },
            ),
          );
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/**
 * The coordination with `canAct()` held true for `graceMs` after leadership really ended (a
 * leader that learns of its lost lease late — from the library's "lost" event, a failed
 * keep-alive — instead of from its own clock): everything gated on it goes on meanwhile.
 */
function lateToStepDown(c: Coordination, clock: Clock, graceMs: number): Coordination {
  let leadingAt = Number.NEGATIVE_INFINITY;
  const canAct = () => {
    if (c.canAct()) {
      leadingAt = clock.monotonic();
      return true;
    }
    return clock.monotonic() - leadingAt < graceMs;
  };
  return new Proxy(c, {
    get(target, prop, receiver) {
      if (prop === 'canAct') return canAct;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'forget-panic',
    description:
      'the engine forgets the panic guard between decisions: down-time counted during a panic counts once it lifts',
    catches: 'no-decision-on-panic-time',
    scenario: 'observer-isolated',
    seed: 1,
    decide:
      (d) =>
      ({ panic: _forgotten, ...input }) =>
        d(input),
  },
  {
    name: 'forget-demotion',
    description:
      'no persisted demotion: an old main whose databases the hard fence stopped reads as down, not demoted, and auth returns to it',
    catches: 'auth-away-from-old-main',
    scenario: 'main-lost',
    seed: 1,
    decide: (d) => (input) => {
      const { demoted: _forgotten, ...state } = input.state;
      const plan = d({ ...input, state });
      const { demoted: _dropped, ...next } = plan.next;
      return { ...plan, next };
    },
  },
  {
    name: 'promote-beyond-rpo',
    description:
      'the promoters promote whatever the lag read right before promoting (the RPO bound judged on the last probe only)',
    catches: 'promotion-within-lag-bound',
    scenario: 'lagging-replica-failover',
    seed: 1,
    // Both checks gone: the region-wide one before promoting (fed a lag of 0) and each promoter's.
    promoter: (p) => ({
      engine: p.engine,
      label: p.label,
      status: async () => ({ ...(await p.status()), lagSeconds: 0, lagBytes: 0 }),
      fence: (o) => p.fence(o),
      promote: ({ maxLag: _ignored, ...o }) => p.promote(o),
      catchUp: (t, ms) => p.catchUp(t, ms),
      unfence: () => p.unfence(),
    }),
  },
  {
    name: 'fence-says-done',
    description:
      'fence() reports success without fencing: a returning old main stays writable beside the new one',
    catches: 'split-brain-fenced',
    scenario: 'main-lost-soft-fence',
    seed: 3,
    promoter: (p) => ({
      engine: p.engine,
      label: p.label,
      status: () => p.status(),
      fence: async () => ({ ok: true, sqlFenced: true, sessionsTerminated: 0, durationMs: 0 }),
      promote: (o) => p.promote(o),
      catchUp: (t, ms) => p.catchUp(t, ms),
      unfence: () => p.unfence(),
    }),
  },
  {
    name: 'act-past-lease',
    description:
      'a leader goes on acting for 60 s after its lease ended (it steps down on a late notice, not on its own clock): paused past the TTL mid-failover, it resumes its step and its unfenced journal writes land on the new leader’s state',
    catches: 'single-actor-per-epoch',
    scenario: 'leader-paused-mid-failover',
    seed: 1,
    coordination: (c, clock) => lateToStepDown(c, clock, 60_000),
  },
  {
    name: 'stale-leader-events',
    description:
      'the leader takes a late watch event from before its own claim (the previous leader’s key expiring) for the loss of its own key: with slow watches it steps down and re-claims without end, until the process spins in place',
    catches: 'virtual-time-advances',
    scenario: 'random',
    seed: 4001,
    instances: 3,
    intensity: 10,
    durationMs: 45 * 60_000,
    coordPort: staleEventsLookNew,
  },
];

export function mutantsNamed(names: readonly string[]): Mutant[] {
  return names.map((n) => {
    const m = MUTANTS.find((x) => x.name === n);
    if (!m)
      throw new SwitchyardError(
        'SIM_INVALID',
        `unknown mutant "${n}" (known: ${MUTANTS.map((x) => x.name).join(', ')})`,
      );
    return m;
  });
}
