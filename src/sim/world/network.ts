import type { Random } from '../../util/random.js';
import { draw } from '../random.js';
import { EffectMap } from './effects.js';

/** What one fault does to the path between an observer and a region. */
export interface LinkEffect {
  /** Share of requests (or their replies) lost, 0–1. */
  loss?: number;
  /** Added one-way latency (ms). */
  latencyMs?: number;
  /** Requests from the observer never arrive. */
  cutOut?: boolean;
  /** Replies to the observer never arrive (the server still acts on the request). */
  cutBack?: boolean;
}

export interface LinkState {
  loss: number;
  /** One-way latency before jitter (ms). */
  latencyMs: number;
  cutOut: boolean;
  cutBack: boolean;
}

/**
 * The network between director instances (observers) and regions, and between regions (the
 * replication streams). Base latencies are fixed per pair from the seed; faults add loss,
 * latency and cuts, in either direction or both (an asymmetric cut: the request arrives, the
 * reply does not — the server still acts).
 */
export class Network {
  private readonly links = new EffectMap<LinkEffect>();
  private readonly replication = new EffectMap<{ cut?: boolean; delayMs?: number }>();
  private readonly base = new Map<string, number>();

  constructor(
    /** Named random streams (SimRandom.stream), so each pair's base latency is its own draw. */
    private readonly streamFor: (name: string) => Random,
    /** Where each observer runs, so its own region is near and the others far. */
    private readonly home: ReadonlyMap<string, string>,
  ) {}

  linkKey(observer: string, region: string): string {
    return `${observer}>${region}`;
  }

  effects(observer: string, region: string) {
    return this.links.of(this.linkKey(observer, region));
  }

  replicationEffects(from: string, to: string) {
    return this.replication.of(`${from}>${to}`);
  }

  state(observer: string, region: string): LinkState {
    let loss = 0;
    let keep = 1;
    let latencyMs = this.baseLatency(observer, region);
    let cutOut = false;
    let cutBack = false;
    for (const e of this.effects(observer, region).values()) {
      keep *= 1 - (e.loss ?? 0);
      latencyMs += e.latencyMs ?? 0;
      cutOut ||= e.cutOut === true;
      cutBack ||= e.cutBack === true;
    }
    loss = 1 - keep;
    return { loss, latencyMs, cutOut, cutBack };
  }

  /** The replication stream from `from` to `to`: cut, and its one-way delay (ms). */
  replicationState(from: string, to: string): { cut: boolean; delayMs: number } {
    let cut = false;
    let delayMs = 30;
    for (const e of this.replicationEffects(from, to).values()) {
      cut ||= e.cut === true;
      delayMs += e.delayMs ?? 0;
    }
    return { cut, delayMs };
  }

  /** A one-way trip's latency: the link's, with ±20 % jitter from the given stream. */
  jittered(state: LinkState, r: Random): number {
    return Math.max(0.1, state.latencyMs * draw.between(r, 0.8, 1.2));
  }

  /** Links (observer>region) with an active fault. */
  impairedLinks(): string[] {
    return this.links.activeKeys();
  }

  impairedReplication(): string[] {
    return this.replication.activeKeys();
  }

  /** Same region: 0.5–2 ms one way; another region: 10–60 ms, fixed per pair for the run. */
  private baseLatency(observer: string, region: string): number {
    const key = this.linkKey(observer, region);
    let ms = this.base.get(key);
    if (ms === undefined) {
      const r = this.streamFor(`latency.${key}`);
      ms = this.home.get(observer) === region ? draw.between(r, 0.5, 2) : draw.between(r, 10, 60);
      this.base.set(key, ms);
    }
    return ms;
  }
}
