import type { HealthTarget } from '../../health/targets.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../../probe/types.js';
import type { Clock } from '../../util/clock.js';
import { SwitchyardError } from '../../util/errors.js';
import type { Random } from '../../util/random.js';
import { SimClock } from '../clock.js';
import type { Kernel } from '../kernel.js';
import type { Databases } from './databases.js';
import type { Network } from './network.js';
import { type RpcOutcome, rpc } from './rpc.js';
import type { Services } from './services.js';

export interface ProbeWorld {
  kernel: Kernel;
  network: Network;
  services: Services;
  databases: Databases;
  /** The random stream of one observer's path to one region. */
  pathRandom(observer: string, region: string): Random;
}

/** The daemon's probe factory port, for one observer. */
export type ProbeFactory = (target: HealthTarget, clock: Clock) => Probe<ProbeResult | DatabaseProbeResult>;

/**
 * Simulated probes for one observer: a run goes over the observer's link to the target's
 * region, asks the simulated service or database, and answers as the real probe would — a
 * status, "connection refused", or nothing until its timeout — and stops at once when the
 * scheduler aborts it.
 */
export function simProbeFactory(world: ProbeWorld, observer: string): ProbeFactory {
  return (target, clock) => {
    if (!(clock instanceof SimClock))
      throw new SwitchyardError('INTERNAL', 'simulated probes need the instance’s SimClock');
    const random = world.pathRandom(observer, target.region);
    const path = { observer, region: target.region, clock, random };
    const base = (at: number, o: RpcOutcome<unknown>): ProbeResult | undefined => {
      const latencyMs = Math.round(o.latencyMs);
      if (o.kind === 'timeout')
        return { ok: false, at, latencyMs, error: 'timeout', detail: `timeout after ${target.timeoutMs}ms` };
      if (o.kind === 'aborted') return { ok: false, at, latencyMs, error: 'aborted', detail: 'aborted' };
      if (o.kind === 'refused')
        return { ok: false, at, latencyMs, error: 'refused', detail: 'connect ECONNREFUSED' };
      return undefined;
    };
    if (target.database) {
      const node = world.databases.node(target.region, target.name);
      const probe: Probe<DatabaseProbeResult> = {
        async run(signal) {
          const at = clock.monotonic();
          const o = await rpc(world, path, { timeoutMs: target.timeoutMs, signal }, () => {
            if (!node.hostUp) return { hang: true };
            if (!node.isRunning) return { refused: true };
            return { ms: 3, apply: () => world.databases.status(node, world.kernel.now) };
          });
          const failed = base(at, o);
          if (failed) return { ...failed, engine: node.engine };
          if (o.kind !== 'ok') throw new SwitchyardError('INTERNAL', 'unreachable');
          const { reachable: _r, error: _e, ...s } = o.value;
          return { ...s, ok: true, at, latencyMs: Math.round(o.latencyMs) };
        },
        close: async () => undefined,
      };
      return probe;
    }
    const probe: Probe<ProbeResult> = {
      async run(signal) {
        const at = clock.monotonic();
        const o = await rpc(world, path, { timeoutMs: target.timeoutMs, signal }, () => {
          const s = world.services.state(target.id);
          if (s.down === 'hang') return { hang: true };
          if (s.down === 'refused') return { refused: true };
          return { ms: 2 + s.slowMs, apply: () => (s.down === 'status' ? 503 : 200) };
        });
        const failed = base(at, o);
        if (failed) return failed;
        if (o.kind !== 'ok') throw new SwitchyardError('INTERNAL', 'unreachable');
        const latencyMs = Math.round(o.latencyMs);
        if (o.value !== 200)
          return {
            ok: false,
            at,
            latencyMs,
            status: o.value,
            error: 'status',
            detail: `status ${o.value}, expected 200`,
          };
        return { ok: true, at, latencyMs, status: 200, detail: `200 in ${latencyMs}ms` };
      },
      close: async () => undefined,
    };
    return probe;
  };
}
