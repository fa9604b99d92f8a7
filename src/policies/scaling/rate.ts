/**
 * The arrival rate the scaler sizes for: an exponentially smoothed level of the observed rate that
 * jumps to the observation when the observation is too far from the level to be Poisson noise.
 *
 * Why: the observed rate comes from a short window (30 s in the runtime's pool observer and in the
 * simulator), so at one task per second it is off by ±18 % (1 σ) at every evaluation. Sized on
 * directly, the pool follows the noise — and the stabilisation window, which keeps the highest
 * recommendation, turns every upward excursion into agents held for minutes (measured: the diurnal day
 * held ~5 agents above its Little's-law target all day). A level smoothed over minutes is nearly
 * noise-free; a real change (a step, the start or end of a burst) is many σ away from it and is taken
 * at once, so smoothing costs no reaction time where it matters.
 *
 * Pure and plain-data: the level lives in the scaling policy's state (the scaler machine's context).
 */

/** Smoothed-rate memory. */
export interface RateLevel {
  /** Smoothed rate, requests/s. */
  level: number;
  /** Smoothed squared deviation of the observations from the level, (requests/s)². */
  variance: number;
  /** Observations folded in since the level was last set to one (at the start or a change). */
  n: number;
  /** The level before a drop to under {@link BURST_END_RATIO} of it, until the next observation. */
  dropFrom?: number;
  /** Time of the last update, ms. */
  at: number;
}

/** Window of the observed rate the noise test assumes (the pool observer's and the simulator's), s. */
export const RATE_WINDOW_S = 30;

/**
 * How many standard deviations of Poisson noise an observation must be away from the level to count
 * as a change of demand (on the variance-stabilised scale, see `updateRate`). At 4 σ a stationary
 * pool evaluated every 15 s sees a false jump about once every few days.
 */
export const RATE_CHANGE_Z = 4;

/**
 * A significant drop to below this share of the level, confirmed by the next observation, is the end
 * of a burst, not a dip of oscillating demand: a ±30 % square wave's low phase is 0.54 of its high one.
 */
export const BURST_END_RATIO = 1 / 3;

/** Result of {@link updateRate}. */
export interface RateUpdate {
  /** The new level. */
  next: RateLevel;
  /** The observation was a significant change (the level jumped to it). */
  changed: boolean;
  /**
   * A burst ended: the observation before this one dropped to under {@link BURST_END_RATIO} of the
   * level, and this one confirms it.
   */
  ended: boolean;
  /**
   * The rate to size for: the level plus the spread of the observations that Poisson noise does not
   * explain (√(variance − noise variance)). Demand that really oscillates faster than a pool can follow
   * (a square wave of minutes) is sized for its high phase; demand that only looks noisy is sized for
   * its mean.
   */
  sizedFor: number;
}

/** One-sided tail probability of {@link RATE_CHANGE_Z} σ of a normal distribution (3.2·10⁻⁵). */
const TAIL_Z = 3.17e-5;

/** P(X ≤ k) for X ~ Poisson(mean); the normal approximation for large means (where it is exact enough). */
function poissonLowerTail(k: number, mean: number): number {
  if (!(mean > 0)) return 1;
  const kk = Math.floor(k + 1e-9);
  if (mean > 400) {
    const z = (kk + 0.5 - mean) / Math.sqrt(mean);
    return z < -RATE_CHANGE_Z ? 0 : 1; // only the comparison with TAIL_Z matters
  }
  let term = Math.exp(-mean);
  let sum = term;
  for (let i = 1; i <= kk; i++) {
    term *= mean / i;
    sum += term;
  }
  return sum;
}

function poissonVariance(level: number): number {
  return Math.max(1, level * RATE_WINDOW_S) / (RATE_WINDOW_S * RATE_WINDOW_S);
}

function result(next: RateLevel, changed: boolean, ended: boolean): RateUpdate {
  const excess = next.variance - poissonVariance(next.level);
  return { next, changed, ended, sizedFor: next.level + Math.sqrt(Math.max(0, excess)) };
}

/**
 * Fold the observed rate `observed` (requests/s over the last {@link RATE_WINDOW_S}) at `now` into
 * `prev`, smoothing with time constant `smoothingMs` (0 = no smoothing: the level is the observation).
 *
 * @example
 * ```ts
 * let r = updateRate(null, 0, 1, 300_000).next;        // level 1
 * r = updateRate(r, 15_000, 1.2, 300_000).next;         // ~1.01: within the noise, smoothed
 * updateRate(r, 30_000, 4, 300_000).changed;            // true: a step, taken at once
 * ```
 */
export function updateRate(
  prev: RateLevel | null,
  now: number,
  observed: number,
  smoothingMs: number,
): RateUpdate {
  const x = Number.isFinite(observed) && observed > 0 ? observed : 0;
  if (prev === null || !(smoothingMs > 0)) {
    return result({ level: x, variance: poissonVariance(x), at: now, n: 0 }, prev === null, false);
  }
  // Poisson count over the window: a rise is judged against the larger of the two counts (so a rise
  // from zero is judged against the count that would have been seen); a drop by the exact Poisson
  // lower tail, because the normal approximation misses a stop: 0 seen where 15 were due is a
  // probability of 3·10⁻⁷, but only 3.9 σ of the normal approximation.
  const expected = Math.max(prev.level, x) * RATE_WINDOW_S;
  const sigma = Math.sqrt(Math.max(1, expected)) / RATE_WINDOW_S;
  const rise = x - prev.level > RATE_CHANGE_Z * sigma;
  const drop = x < prev.level && poissonLowerTail(x * RATE_WINDOW_S, prev.level * RATE_WINDOW_S) < TAIL_Z;
  const from = prev.dropFrom;
  if (rise || drop) {
    // A new regime: its spread is not known yet, so it starts as pure noise. A drop to under a third
    // is remembered: if the next observation confirms it, a burst ended.
    const fresh: RateLevel = { level: x, variance: poissonVariance(x), at: now, n: 0 };
    // Any drop keeps the level it fell from: a stop seen first through a half-empty window is a
    // drop in two steps, and the burst's end is judged against where it started.
    return result(drop ? { ...fresh, dropFrom: Math.max(prev.level, from ?? 0) } : fresh, true, false);
  }
  const dt = Math.max(0, now - prev.at);
  // A running mean of the observations since the level was set, until the smoothing takes over: a
  // level set by one 30 s window is as noisy as that window, and must not stick for a time constant.
  const n = (prev.n ?? 0) + 1;
  const a = Math.max(1 - Math.exp(-dt / smoothingMs), 1 / (n + 1));
  const d = x - prev.level;
  const next: RateLevel = {
    level: prev.level + a * d,
    variance: (1 - a) * (prev.variance + a * d * d),
    at: now,
    n,
  };
  // Ended only when a second observation is still under a third of the level before the drop: one
  // unlucky window in the low phase of an oscillation is not the end of a burst (measured: a ±30 %
  // square wave had its pool halved by one).
  const ended = from !== undefined && x < BURST_END_RATIO * from;
  // The pool is about to be sized down on the new level, which rests on two 30 s windows that may
  // both have been low draws: take the larger of them plus 2 σ of Poisson noise (measured: without
  // it, a step back to a quarter was sized for the ¼ of a draw and scaled up again a minute later).
  const low = Math.max(prev.level, x);
  const level = low + 2 * Math.sqrt(poissonVariance(low));
  return result(ended ? { ...next, level } : next, false, ended);
}
