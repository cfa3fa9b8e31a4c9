/**
 * Randomness is injected like time: a source of uniform numbers in [0, 1). The simulator passes
 * a seeded generator so a run replays exactly; this module is the only place in `src/` that
 * touches `Math.random`.
 */
export type Random = () => number;

export const systemRandom: Random = () => Math.random();

/** A 16-hex-digit identifier drawn from `random` (journal entries, leases' owners). */
export function randomId(random: Random): string {
  let out = '';
  for (let i = 0; i < 4; i++)
    out += Math.floor(random() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return out;
}
