import type { HealthTarget } from '../../health/targets.js';
import { SwitchyardError } from '../../util/errors.js';
import { EffectMap } from './effects.js';

/**
 * How an HTTP service fails: `refused` (the process is gone: connection refused at once),
 * `status` (it answers 503), `hang` (the host is gone or wedged: nothing comes back).
 */
export type ServiceDown = 'refused' | 'status' | 'hang';

export interface ServiceEffect {
  down?: ServiceDown;
  /** Added server time (ms): a slow service; past the probe timeout it is as good as down. */
  slowMs?: number;
}

export interface ServiceState {
  down?: ServiceDown;
  slowMs: number;
}

const SEVERITY: Record<ServiceDown, number> = { status: 1, refused: 2, hang: 3 };

/** The gateways and key managers of every region, one service per probe target. */
export class Services {
  private readonly effects = new EffectMap<ServiceEffect>();
  readonly targets: ReadonlyMap<string, HealthTarget>;

  constructor(targets: readonly HealthTarget[]) {
    this.targets = new Map(targets.filter((t) => t.component !== 'database').map((t) => [t.id, t]));
  }

  effectsOf(targetId: string) {
    if (!this.targets.has(targetId))
      throw new SwitchyardError('INTERNAL', `no simulated service ${targetId}`);
    return this.effects.of(targetId);
  }

  /** Target ids of one component of one region (every check of it). */
  targetsOf(region: string, component: 'gateway' | 'keyManager'): string[] {
    return [...this.targets.values()]
      .filter((t) => t.region === region && t.component === component)
      .map((t) => t.id);
  }

  state(targetId: string): ServiceState {
    let down: ServiceDown | undefined;
    let slowMs = 0;
    for (const e of this.effects.of(targetId).values()) {
      if (e.down && (!down || SEVERITY[e.down] > SEVERITY[down])) down = e.down;
      slowMs = Math.max(slowMs, e.slowMs ?? 0);
    }
    return down ? { down, slowMs } : { slowMs };
  }

  /** Ground truth: every probe of it fails, whatever the network (down, or slower than the timeout). */
  failing(targetId: string): boolean {
    const t = this.targets.get(targetId);
    const s = this.state(targetId);
    return s.down !== undefined || (t !== undefined && s.slowMs >= t.timeoutMs);
  }

  /** Ground truth for a component: fewer than minHealthy of its checks would pass. */
  componentFailing(region: string, component: 'gateway' | 'keyManager'): boolean {
    const ids = this.targetsOf(region, component);
    if (ids.length === 0) return false;
    const min = this.targets.get(ids[0] as string)?.minHealthy ?? 1;
    const healthy = ids.filter((id) => !this.failing(id)).length;
    return healthy < min;
  }

  impaired(): string[] {
    return this.effects.activeKeys();
  }
}
