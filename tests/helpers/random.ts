/**
 * A small seeded generator for randomised tests, so a failing case can be
 * replayed from its seed.
 *
 * @module
 */

/**
 * mulberry32: the same seed gives the same sequence of numbers in [0, 1).
 *
 * @example
 * ```ts
 * const next = seededRandom(42);
 * console.log(next() === seededRandom(42)()); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
