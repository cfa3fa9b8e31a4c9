import type { Config } from '../config/schema.js';
import type { ComponentHealth, DatabaseHealth, HealthView, Status } from '../decide/types.js';
import type { DatabaseProbeResult, ProbeResult } from '../probe/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import { statusFromCounts } from './aggregate.js';
import { advance, initialTargetState, type TargetState } from './rise-fall.js';
import { buildHealthTargets, type ComponentName, type HealthTarget } from './targets.js';

/** One event per state change of a target or a component; the daemon logs it with `reason`. */
export interface HealthChange {
  kind: 'target' | 'component';
  /** Target id, or component key (`r1.gateway`, `r1.database.apim`). */
  id: string;
  region: string;
  component: ComponentName;
  from: Status;
  to: Status;
  at: number;
  reason: string;
}

/** A target as /v1/status shows it. */
export interface TargetStatus {
  id: string;
  region: string;
  component: ComponentName;
  name: string;
  status: Status;
  since: number;
  checkedAt?: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  rise: number;
  fall: number;
  last?: ProbeResult;
}

interface TargetEntry {
  spec: HealthTarget;
  state: TargetState;
  checkedAt?: number;
  last?: ProbeResult;
  /** Databases: the last successful result (role, writability, lag) and when it was taken. */
  sample?: DatabaseProbeResult;
}

interface ComponentEntry {
  key: string;
  region: string;
  component: ComponentName;
  minHealthy: number;
  targets: TargetEntry[];
  /** Targets up and down now, kept per result so that the component's status costs O(1). */
  up: number;
  down: number;
  status: Status;
  since: number;
}

/** A database's sample changed role or writability (a decision should run now, not on the next tick). */
export interface SampleChange {
  id: string;
  region: string;
  name: string;
  role?: 'primary' | 'replica';
  writable?: boolean;
}

type Listener = (change: HealthChange) => void;

function consecutive(n: number, ok: boolean): string {
  const word = ok ? (n === 1 ? 'success' : 'successes') : n === 1 ? 'failure' : 'failures';
  return `${n} consecutive ${word}`;
}

export interface TrackerOptions {
  clock?: Clock;
  onChange?: Listener;
  /** A database's sampled role or writability changed. */
  onSample?: (change: SampleChange) => void;
  /**
   * A listener threw: report it (log and count). Bookkeeping goes on either way; without a handler
   * the error is rethrown outside the tracker (an uncaught exception), never dropped.
   */
  onListenerError?: (err: unknown, change: HealthChange | SampleChange) => void;
}

/**
 * Turns probe results into target states (rise/fall) and component health (minHealthy), and
 * produces the engine's HealthView. Pure bookkeeping: no I/O, time only from results and the
 * injected clock. Staleness is the engine's call (it compares `checkedAt` with staleAfter).
 */
export class HealthTracker {
  private readonly byId = new Map<string, TargetEntry>();
  private readonly components: ComponentEntry[] = [];
  private readonly componentOf = new Map<string, ComponentEntry>();
  private readonly listeners = new Set<Listener>();

  private readonly onSample: ((change: SampleChange) => void) | undefined;
  private generation = 0;

  /**
   * Bumped whenever the engine's view can have changed other than by time passing: a status, a
   * database sample (role, writability, lag), a forgotten sample. A new probe result that changes
   * none of them leaves it alone (its only effect, staleness, is a deadline the engine reports).
   */
  get version(): number {
    return this.generation;
  }
  private readonly onListenerError: (err: unknown, change: HealthChange | SampleChange) => void;

  constructor(targets: readonly HealthTarget[], opts: TrackerOptions = {}) {
    const now = (opts.clock ?? systemClock).monotonic();
    if (opts.onChange) this.listeners.add(opts.onChange);
    this.onSample = opts.onSample;
    // Never silent: without a handler the error surfaces as an uncaught exception.
    this.onListenerError =
      opts.onListenerError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
    const byKey = new Map<string, ComponentEntry>();
    for (const spec of targets) {
      if (this.byId.has(spec.id))
        throw new SwitchyardError('CONFIG_INVALID', `health target ${spec.id} is configured twice`);
      const entry: TargetEntry = { spec, state: initialTargetState(now) };
      this.byId.set(spec.id, entry);
      let comp = byKey.get(spec.componentId);
      if (!comp) {
        comp = {
          key: spec.componentId,
          region: spec.region,
          component: spec.component,
          minHealthy: spec.minHealthy,
          targets: [],
          up: 0,
          down: 0,
          status: 'unknown',
          since: now,
        };
        byKey.set(spec.componentId, comp);
        this.components.push(comp);
      }
      comp.targets.push(entry);
      this.componentOf.set(spec.id, comp);
    }
  }

  static fromConfig(config: Config, opts: TrackerOptions = {}): HealthTracker {
    return new HealthTracker(buildHealthTargets(config), opts);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one probe result; false when the target is unknown (e.g. removed by a reload). */
  record(targetId: string, result: ProbeResult | DatabaseProbeResult): boolean {
    const t = this.byId.get(targetId);
    const comp = this.componentOf.get(targetId);
    if (!t || !comp) return false;
    const at = result.at + result.latencyMs;
    const from = t.state.status;
    const moved = advance(t.state, result.ok, at, t.spec.rise, t.spec.fall);
    t.checkedAt = at;
    t.last = result;
    // A sample is what the latest probe saw; a failed probe saw nothing, so none is kept.
    if (t.spec.database && !result.ok && t.sample) {
      t.sample = undefined;
      this.generation++;
    }
    if (t.spec.database && result.ok) {
      const r = result as DatabaseProbeResult;
      const prev = t.sample;
      t.sample = r;
      if (
        prev?.role !== r.role ||
        prev?.writable !== r.writable ||
        prev?.streaming !== r.streaming ||
        prev?.lagSeconds !== r.lagSeconds ||
        prev?.lagBytes !== r.lagBytes
      )
        this.generation++;
      if (prev?.role !== r.role || prev?.writable !== r.writable)
        this.notifySample({
          id: targetId,
          region: t.spec.region,
          name: t.spec.name,
          ...(r.role ? { role: r.role } : {}),
          ...(r.writable !== undefined ? { writable: r.writable } : {}),
        });
    }
    if (moved) {
      this.generation++;
      const to = t.state.status;
      if (from === 'up') comp.up--;
      else if (from === 'down') comp.down--;
      if (to === 'up') comp.up++;
      else if (to === 'down') comp.down++;
      const n = result.ok ? t.state.successes : t.state.failures;
      this.emit({
        kind: 'target',
        id: targetId,
        region: t.spec.region,
        component: t.spec.component,
        from,
        to,
        at,
        reason: `${consecutive(n, result.ok)}: ${result.detail}`,
      });
    }
    const status = statusFromCounts(comp.up, comp.down, comp.targets.length, comp.minHealthy);
    if (status !== comp.status) {
      const was = comp.status;
      comp.status = status;
      comp.since = at;
      this.emit({
        kind: 'component',
        id: comp.key,
        region: comp.region,
        component: comp.component,
        from: was,
        to: status,
        at,
        reason: this.summary(comp),
      });
    }
    return true;
  }

  /** The engine's input. Regions without any target are absent (the engine reads that as unknown). */
  view(): HealthView {
    const view: HealthView = {};
    for (const comp of this.components) {
      const region = view[comp.region] ?? {};
      view[comp.region] = region;
      const base: ComponentHealth = {
        status: comp.status,
        since: comp.since,
        checkedAt: this.checkedAt(comp),
        detail: this.summary(comp),
      };
      if (comp.component === 'database') {
        const t = comp.targets[0] as TargetEntry;
        const last = t.last as DatabaseProbeResult | undefined;
        const sample = t.sample;
        const db: DatabaseHealth = {
          ...base,
          // A successful last result without a sample was forgotten (forgetSamples, after a fence
          // or promotion): it no longer describes the database.
          detail: !last
            ? 'not probed yet'
            : last.ok && !sample
              ? `awaiting a fresh probe (before the change it said: ${last.detail})`
              : last.detail,
          ...(sample
            ? {
                sampledAt: sample.at + sample.latencyMs,
                role: sample.role,
                writable: sample.writable,
                lagSeconds: sample.lagSeconds,
                lagBytes: sample.lagBytes,
                ...(sample.streaming !== undefined ? { streaming: sample.streaming } : {}),
              }
            : {}),
        };
        region.databases ??= {};
        region.databases[t.spec.name] = db;
      } else {
        region[comp.component] = base;
      }
    }
    return view;
  }

  targets(): TargetStatus[] {
    return [...this.byId.values()].map((t) => ({
      id: t.spec.id,
      region: t.spec.region,
      component: t.spec.component,
      name: t.spec.name,
      status: t.state.status,
      since: t.state.since,
      checkedAt: t.checkedAt,
      consecutiveSuccesses: t.state.successes,
      consecutiveFailures: t.state.failures,
      rise: t.spec.rise,
      fall: t.spec.fall,
      last: t.last,
    }));
  }

  /**
   * Forgets the database samples of `region` taken before `before` (monotonic): after a fence or a
   * promotion the region's role and writability are what the next probe says, not what a probe
   * said before the change (which would look like a split-brain and be fenced again).
   */
  forgetSamples(region: string, before: number): void {
    for (const t of this.byId.values())
      if (t.spec.region === region && t.spec.database && t.sample && t.sample.at < before) {
        t.sample = undefined;
        this.generation++;
      }
  }

  /** True once every target has at least one result (the daemon's readiness signal). */
  allProbed(): boolean {
    for (const t of this.byId.values()) if (t.checkedAt === undefined) return false;
    return true;
  }

  /** The oldest last-check among the component's targets: the age of the evidence it rests on. */
  private checkedAt(comp: ComponentEntry): number | undefined {
    let min: number | undefined;
    for (const t of comp.targets)
      if (t.checkedAt !== undefined && (min === undefined || t.checkedAt < min)) min = t.checkedAt;
    return min;
  }

  private summary(comp: ComponentEntry): string {
    const n = comp.targets.length;
    const up = comp.targets.filter((t) => t.state.status === 'up').length;
    const failing = comp.targets
      .filter((t) => t.state.status !== 'up' && t.last && !t.last.ok)
      .map((t) => `${t.spec.name}: ${t.last?.detail}`);
    const head = `${up}/${n} up (minHealthy ${comp.minHealthy})`;
    return failing.length > 0 ? `${head}; ${failing.join('; ')}` : head;
  }

  /** A failing listener must not break health bookkeeping; its error goes to onListenerError. */
  private emit(change: HealthChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.onListenerError(err, change);
      }
    }
  }

  private notifySample(change: SampleChange): void {
    if (!this.onSample) return;
    try {
      this.onSample(change);
    } catch (err) {
      this.onListenerError(err, change);
    }
  }
}
