/**
 * Seeded randomness for deterministic simulation: a fast 32-bit PRNG (mulberry32) and the
 * distributions the simulators and benchmarks need. Same seed → same sequence, on every platform.
 */

/** A seeded random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [0, n). */
  int(n: number): number;
}

/**
 * Create a seeded PRNG (mulberry32: 32-bit state, period 2^32, passes the usual quick tests; ample
 * for simulation, not for cryptography).
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * const x = exponential(rng, 1); // mean 1
 * ```
 */
export function createRng(seed: number): Rng {
  let a = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

/** Exponential sample with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

/** Standard normal sample (Box–Muller). */
export function standardNormal(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Lognormal sample with the given mean and coefficient of variation (stddev / mean).
 * σ² = ln(1 + cv²), μ = ln(mean) − σ²/2.
 */
export function lognormal(rng: Rng, mean: number, cv: number): number {
  const s2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - s2 / 2;
  return Math.exp(mu + Math.sqrt(s2) * standardNormal(rng));
}

/** Service-time / inter-arrival distribution description. */
export type Distribution =
  | { kind: 'constant'; value: number }
  | { kind: 'exponential'; mean: number }
  | { kind: 'lognormal'; mean: number; cv: number };

/** Draw one sample from a {@link Distribution}. */
export function sample(rng: Rng, d: Distribution): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'exponential':
      return exponential(rng, d.mean);
    case 'lognormal':
      return lognormal(rng, d.mean, d.cv);
  }
}
