import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { SwitchyardError } from '../util/errors.js';
import type { Random } from '../util/random.js';

/**
 * Every random choice of a simulation flows from one seed. Each component draws from its own
 * named stream, derived from (seed, name) alone: adding a fault kind or a probe target adds a
 * stream and leaves every other stream's sequence as it was, so old seeds keep meaning the same
 * world as far as possible.
 */
export class SimRandom {
  private readonly lo: number;
  private readonly hi: number;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new SwitchyardError('SIM_INVALID', `seed must be a non-negative integer: ${seed}`);
    this.lo = seed >>> 0;
    this.hi = Math.floor(seed / 2 ** 32) >>> 0;
  }

  /** An independent uniform [0, 1) source named `name` (e.g. "link.i1.r2", "fault.dns-outage"). */
  stream(name: string): Random {
    const h = fnv1a(name);
    let s = mix32(this.lo ^ mix32(h ^ 0x9e3779b9));
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      s = mix32(s + this.hi + 0x6d2b79f5 * (i + 1));
      words.push(s | 0);
    }
    // xoroshiro's all-zero state is a fixed point; mix32 never yields four zeros, but be explicit.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    const rng = xoroshiro128plusFromState(words);
    return () => uniformFloat64(rng);
  }
}

/** Helpers over a uniform source; all deterministic given the source. */
export const draw = {
  /** Integer in [lo, hi]. */
  int(r: Random, lo: number, hi: number): number {
    return lo + Math.floor(r() * (hi - lo + 1));
  },
  /** Uniform real in [lo, hi). */
  between(r: Random, lo: number, hi: number): number {
    return lo + r() * (hi - lo);
  },
  chance(r: Random, p: number): boolean {
    return r() < p;
  },
  pick<T>(r: Random, items: readonly T[]): T {
    if (items.length === 0) throw new SwitchyardError('INTERNAL', 'pick from an empty list');
    return items[Math.floor(r() * items.length)] as T;
  },
  /** Exponentially distributed with the given mean (inter-arrival times of a Poisson process). */
  exponential(r: Random, mean: number): number {
    return -Math.log(1 - r()) * mean;
  },
};

/** 32-bit FNV-1a of a string (stable across platforms: code units, not bytes). */
export function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit finaliser (murmur3's fmix32): spreads every input bit over the output. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
