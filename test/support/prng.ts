/**
 * A small seeded PRNG for randomized tests, so a failing run can be replayed with
 * OBJECTFS_SEED=<seed>. Not for anything but tests.
 */

/** A deterministic random source. */
export interface Rng {
  /** The seed it was made from (log it so a failure can be replayed). */
  readonly seed: number;
  /** A float in [0, 1) with 53 random bits. */
  next(): number;
  /** An integer in [lo, hi], both inclusive; lo and hi are safe integers with lo ≤ hi. */
  int(lo: number, hi: number): number;
}

/** mulberry32 over a 32-bit state; two draws make one 53-bit float. */
export function makeRng(seed: number): Rng {
  let state = seed >>> 0;
  const u32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
  return {
    seed: seed >>> 0,
    next,
    int(lo: number, hi: number): number {
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) throw new RangeError(`int(${lo}, ${hi})`);
      return lo + Math.floor(next() * (hi - lo + 1));
    },
  };
}

/** The seed for this run: OBJECTFS_SEED when set (decimal u32), otherwise a fresh random one. */
export function testSeed(): number {
  const env = process.env['OBJECTFS_SEED'];
  if (env !== undefined && env !== '') {
    const seed = Number(env);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`OBJECTFS_SEED=${env} is not a u32`);
    return seed;
  }
  return Math.floor(Math.random() * 0x1_0000_0000);
}
