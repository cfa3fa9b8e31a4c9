import { SwitchyardError } from '../util/errors.js';
import { SimClock, settle, type TimeSource } from './clock.js';
import { EventQueue, type QueuedEvent } from './queue.js';

/** The world owns events that no instance runs (faults, replication, the DNS service's own work). */
export const WORLD = 0;

interface Owner {
  name: string;
  alive: boolean;
  /** Kernel time until which this owner's events are held (a GC pause, a stopped VM). */
  pausedUntil: number;
}

export interface ScheduleOptions {
  owner?: number;
  /** Let promise chains settle after the event (default true; false for pure state changes). */
  settle?: boolean;
}

export interface RunOptions {
  /** Called after every event once promise chains settled; returning true stops the run. */
  afterEvent?: () => boolean | undefined;
}

export interface RunResult {
  /** Why the run ended: reached its end time, stopped by afterEvent, or an event threw. */
  reason: 'until' | 'stopped' | 'error';
  error?: { owner: string; message: string };
}

/**
 * The simulation kernel: one event queue in virtual time, owners (the world and the instances)
 * that can be paused and killed, and a run loop that after each event lets every promise chain
 * settle before the next, so asynchronous code runs exactly as the seed says. The fingerprint
 * hashes every event executed (time, order, owner): two runs of one seed must agree on it.
 */
export class Kernel implements TimeSource {
  now = 0;
  readonly startWall: number;
  /** Events executed so far. */
  executed = 0;
  private seq = 0;
  private readonly queue = new EventQueue();
  private readonly owners = new Map<number, Owner>([[WORLD, { name: 'world', alive: true, pausedUntil: 0 }]]);
  private nextOwner = 1;
  private hash = 0x811c9dc5;
  private readonly bits = new Float64Array(1);
  private readonly words = new Uint32Array(this.bits.buffer);

  constructor(opts: { startWall?: number } = {}) {
    this.startWall = opts.startWall ?? Date.UTC(2026, 0, 1);
  }

  /** The world's clock: true virtual time, no skew. */
  readonly worldClock = new SimClock(this, WORLD);

  addOwner(name: string): number {
    const id = this.nextOwner++;
    this.owners.set(id, { name, alive: true, pausedUntil: 0 });
    return id;
  }

  ownerName(id: number): string {
    return this.owners.get(id)?.name ?? `#${id}`;
  }

  schedule(at: number, fn: () => void, opts: ScheduleOptions = {}): QueuedEvent {
    const e: QueuedEvent = {
      at: Math.max(at, this.now),
      seq: ++this.seq,
      owner: opts.owner ?? WORLD,
      fn,
      cancelled: false,
      settle: opts.settle ?? true,
    };
    const o = this.owners.get(e.owner);
    if (o && !o.alive) e.cancelled = true; // a dead process arms no timers
    this.queue.push(e);
    return e;
  }

  after(ms: number, fn: () => void, opts: ScheduleOptions = {}): QueuedEvent {
    return this.schedule(this.now + Math.max(0, ms), fn, opts);
  }

  cancel(e: QueuedEvent): void {
    this.queue.cancel(e);
  }

  /** Holds the owner's events from now for `ms` (extending a pause in progress). */
  pause(owner: number, ms: number): void {
    const o = this.owners.get(owner);
    if (!o) throw new SwitchyardError('INTERNAL', `no owner ${owner}`);
    o.pausedUntil = Math.max(o.pausedUntil, this.now + ms);
  }

  isPaused(owner: number): boolean {
    return (this.owners.get(owner)?.pausedUntil ?? 0) > this.now;
  }

  /** A process crash: every timer the owner armed is dropped and it arms no more. */
  kill(owner: number): void {
    const o = this.owners.get(owner);
    if (!o || owner === WORLD) throw new SwitchyardError('INTERNAL', `cannot kill owner ${owner}`);
    o.alive = false;
    for (const e of [...this.queue.events()]) if (e.owner === owner) this.queue.cancel(e);
  }

  /** A restarted process gets a fresh owner id, so nothing of its previous life can run. */
  isAlive(owner: number): boolean {
    return this.owners.get(owner)?.alive ?? false;
  }

  pending(): number {
    return this.queue.size;
  }

  /** Time of the next live event, if any. */
  nextAt(): number | undefined {
    return this.queue.peek()?.at;
  }

  get fingerprint(): number {
    return this.hash >>> 0;
  }

  /** Runs events in order until virtual time `until` (inclusive), then sets the time to `until`. */
  async run(until: number, opts: RunOptions = {}): Promise<RunResult> {
    // Work started before the run (a call made by a test, a boot) may not have armed its
    // first timer yet: let it settle before deciding that nothing is due.
    await settle();
    for (;;) {
      const e = this.queue.peek();
      if (!e || e.at > until) break;
      this.queue.pop();
      const o = this.owners.get(e.owner);
      if (o && o.pausedUntil > e.at) {
        // Paused: the event comes due when the pause ends, in its original order.
        e.at = o.pausedUntil;
        e.cancelled = false;
        this.queue.push(e);
        continue;
      }
      this.now = e.at;
      this.executed++;
      this.mix(e.at);
      this.mixInt(e.seq);
      this.mixInt(e.owner);
      try {
        e.fn();
      } catch (err) {
        // In a real process an exception thrown from a timer callback kills it: report it.
        return {
          reason: 'error',
          error: {
            owner: this.ownerName(e.owner),
            message: err instanceof Error ? (err.stack ?? err.message) : String(err),
          },
        };
      }
      if (e.settle) await settle();
      if (opts.afterEvent?.()) return { reason: 'stopped' };
    }
    this.now = Math.max(this.now, until);
    return { reason: 'until' };
  }

  private mixInt(x: number): void {
    this.hash = Math.imul(this.hash ^ (x >>> 0), 0x01000193);
  }

  private mix(x: number): void {
    this.bits[0] = x;
    this.mixInt(this.words[0] as number);
    this.mixInt(this.words[1] as number);
  }
}
