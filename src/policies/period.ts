/**
 * Period detection over a binned arrival series: the autocorrelation function (ACF) of the last bins,
 * and the shortest lag whose correlation is a clear local peak after the ACF first went negative.
 * Pure and plain-data (the forecaster keeps the bins in the scaler machine's context).
 *
 * Why this rule:
 * - The ACF of a series with a repeating burst peaks at the period and its multiples; the shortest
 *   lag within 90 % of the highest peak is the period, not a harmonic.
 * - Requiring the ACF to cross zero first rejects trends and slow waves (a rising morning looks
 *   self-similar at short lags, but it is not a repetition).
 * - At least `minOverlap` bin pairs and lag ≤ 2/3 of the history: a burst must have been seen to
 *   repeat before the detector speaks; noise gives correlations ~1/√(n−k), well below the default
 *   confidence threshold (0.6) the scaler uses.
 * - A constant series has no variance and hence no period (confidence 0).
 */

/** A detected period. */
export interface DetectedPeriod {
  /** Period length in bins. */
  lagBins: number;
  /** Autocorrelation at that lag, clamped to [0, 1]: how much each period repeats the last. */
  confidence: number;
}

/** No period: confidence 0. */
export const NO_PERIOD: DetectedPeriod = Object.freeze({ lagBins: 0, confidence: 0 });

/** Options of {@link detectPeriod}. */
export interface DetectPeriodOptions {
  /** Shortest period considered, bins. @default 2 */
  minLag?: number;
  /** Fewest overlapping bin pairs at a lag. @default 10 */
  minOverlap?: number;
}

/**
 * Detect the dominant repeating period of `series` (oldest first, equally spaced bins).
 *
 * @example
 * ```ts
 * detectPeriod([0, 5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5]); // { lagBins: 2, confidence: 1 }
 * ```
 */
export function detectPeriod(series: readonly number[], options: DetectPeriodOptions = {}): DetectedPeriod {
  const n = series.length;
  const minLag = Math.max(2, options.minLag ?? 2);
  const minOverlap = Math.max(2, options.minOverlap ?? 10);
  const maxLag = Math.min(Math.floor((2 * n) / 3), n - minOverlap);
  if (maxLag < minLag) return NO_PERIOD;
  let mean = 0;
  for (const v of series) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of series) variance += (v - mean) * (v - mean);
  // Relative threshold: a series flat up to float noise has no period.
  if (!(variance > 1e-12 * Math.max(1, mean * mean) * n)) return NO_PERIOD;
  const acf = new Array<number>(maxLag + 2).fill(0);
  for (let k = 1; k <= Math.min(maxLag + 1, n - 1); k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += ((series[i] as number) - mean) * ((series[i + k] as number) - mean);
    // Normalised per pair so a lag is not penalised for overlapping fewer bins.
    acf[k] = (s / (n - k)) * (n / variance);
  }
  // Start after the first negative correlation: before it, the series only resembles itself.
  let start = 1;
  while (start <= maxLag && (acf[start] as number) >= 0) start++;
  if (start > maxLag) return NO_PERIOD;
  let best = 0;
  const peaks: number[] = [];
  for (let k = Math.max(start, minLag); k <= maxLag; k++) {
    const r = acf[k] as number;
    const left = acf[k - 1] as number;
    const right = k + 1 <= n - 1 ? (acf[k + 1] as number) : Number.NEGATIVE_INFINITY;
    if (r > 0 && r >= left && r >= right) {
      peaks.push(k);
      if (r > best) best = r;
    }
  }
  for (const k of peaks) {
    const r = acf[k] as number;
    if (r >= 0.9 * best) return { lagBins: k, confidence: Math.min(1, Math.max(0, r)) };
  }
  return NO_PERIOD;
}
