/**
 * Demand prediction: an EWMA level plus a periodic profile, with a confidence value. Pure and
 * plain-data, so its state lives in the scaler machine's context and can be persisted.
 *
 * - **Level**: EWMA of the observed arrival rate (`alpha` per observation) — "now".
 * - **Profile**: one slot per `slotMs` of the period (a day of 5-minute slots by default). When a slot
 *   ends, its mean observed rate is folded into that slot's profile value (EWMA across periods,
 *   `gamma`). The profile is learned on the slot time scale, not per observation, so a pattern longer
 *   than a few observations is not absorbed into the level (the failure of additive Holt-Winters fed
 *   with 15-second samples, which we measured first: it learned nothing and its trend chased noise).
 * - **Forecast** for a future slot = its profile value, scaled by today's volume (level / profile of
 *   the current slot, clamped to [0.5, 2]) when the current slot is known and non-zero.
 * - **Confidence** = warm-up × coverage (share of the horizon's slots with a learned profile) ×
 *   (1 − EWMA of the profile's relative error on completed slots) × min(1, slots checked / 5). With no
 *   learned profile it is 0: a forecast is never extrapolated from noise (AWS predictive scaling also
 *   wants a day of history first).
 *
 * - **Detected period** (when `detect` is on, the default): the observations are also binned (`binMs`)
 *   over the last `historyMs`, and {@link detectPeriod} looks for a repeating period in them each time a
 *   bin completes (autocorrelation). When one is found, the forecast for a future time is the rate one
 *   period earlier (seasonal naive), with the autocorrelation at that lag as its confidence. The more
 *   confident of the profile and the detected period speaks. This is how a burst every 30 minutes is
 *   foreseen with no `periodMs` given.
 *
 * How the scaler uses it: the forecast may scale the pool OUT ahead of a predicted peak; it never
 * scales IN on its own (see `decideScaling`).
 */
import { bool, knownKeys, num, record } from '../core/validate.js';
import { type DetectedPeriod, detectPeriod, NO_PERIOD } from './period.js';

/** Options of the forecaster. */
export interface ForecastOptions {
  /** Level smoothing per observation. @default 0.3 */
  alpha?: number;
  /** Profile smoothing across periods (1 = last period only). @default 0.5 */
  gamma?: number;
  /** Length of the period. @default 86400000 (a day) */
  periodMs?: number;
  /** Width of one profile slot. @default 300000 (5 min) */
  slotMs?: number;
  /** Observations before confidence can reach 1. @default 20 */
  warmup?: number;
  /** Detect a repeating period from the arrival series itself (autocorrelation). @default true */
  detect?: boolean;
  /** Bin width of the series the period detector reads. @default 60000 (1 min) */
  binMs?: number;
  /**
   * History the period detector reads; periods up to 2/3 of it can be found (after they repeated
   * once). At most 2000 bins. @default 21600000 (6 h)
   */
  historyMs?: number;
}

/** The `forecast` key of a pool's `autoscale` options. */
export interface AutoscaleForecastOption {
  /**
   * The scaler's demand forecaster (see docs/guides/scaling.md): period detection, a known period,
   * slot and bin widths. Validated when the system is created (`ERR_INVALID_CONFIG` naming
   * `pools.<type>.autoscale.forecast.<key>`). @default {} (a daily profile plus period detection)
   * @example { periodMs: 1_800_000, slotMs: 60_000 }
   */
  forecast?: ForecastOptions;
}

/** Forecaster state (plain data). */
export interface ForecastState {
  alpha: number;
  gamma: number;
  periodMs: number;
  slotMs: number;
  warmup: number;
  /** EWMA of the observed rate, or null before the first observation. */
  level: number | null;
  /** Learned mean rate per profile slot (null = never completed). */
  profile: (number | null)[];
  /** Absolute slot number (floor(t / slotMs)) being accumulated, or null. */
  slotAbs: number | null;
  /** Sum and count of the observations in the current slot. */
  slotSum: number;
  slotCount: number;
  /** EWMA of the profile's relative error on completed slots (1 = untrusted). */
  relError: number;
  /** Completed slots whose profile value could be checked against the observation. */
  checked: number;
  /** Observations so far. */
  n: number;
  /** Whether period detection runs. */
  detect: boolean;
  /** Bin width of the detector's series, ms. */
  binMs: number;
  /** Most completed bins kept. */
  historyBins: number;
  /** Completed bin means, oldest first (the last one ends where `binAbs` starts). */
  bins: number[];
  /** Absolute bin number (floor(t / binMs)) being accumulated, or null. */
  binAbs: number | null;
  binSum: number;
  binCount: number;
  /** The period found in `bins` when the last bin completed. */
  detected: DetectedPeriod;
}

/** A forecast. */
export interface Forecast {
  /** Predicted rate at now + horizon (the level when nothing is learned). */
  rate: number;
  /** Highest predicted rate over [now, now + horizon], never below the level. */
  peak: number;
  /** peak / level (1 when the level is ~0). */
  peakRatio: number;
  /** 0..1. */
  confidence: number;
  /** Period the forecast came from when it was detected (ms), else undefined. */
  detectedPeriodMs?: number;
  /**
   * Highest rate predicted for a time strictly after the current slot or bin, over the horizon — the
   * forecast alone, without the level (0 when nothing is predicted). What a scale-down may not go
   * below: the level only says what is happening now, the prediction what is coming.
   */
  predictedPeak: number;
}

const KEYS = new Set(['alpha', 'gamma', 'periodMs', 'slotMs', 'warmup', 'detect', 'binMs', 'historyMs']);
const EPS = 1e-9;

/** Create a forecaster state (validates options; throws ConfigError on bad input). */
export function createForecast(options: ForecastOptions = {}, path = 'forecast'): ForecastState {
  const o = record('config', path, options);
  knownKeys('config', path, o, KEYS);
  const unit = (k: string, fb: number) => num('config', `${path}.${k}`, o[k], fb, { gt: 0, max: 1 });
  const periodMs = num('config', `${path}.periodMs`, o.periodMs, 86_400_000, { gt: 0 });
  const slotMs = num('config', `${path}.slotMs`, o.slotMs, 300_000, { gt: 0, max: periodMs });
  const slots = Math.max(1, Math.round(periodMs / slotMs));
  if (slots > 100_000) num('config', `${path}.slotMs`, slotMs, 0, { min: periodMs / 100_000 });
  const binMs = num('config', `${path}.binMs`, o.binMs, 60_000, { min: 1000 });
  const historyMs = num('config', `${path}.historyMs`, o.historyMs, 21_600_000, {
    min: binMs * 15,
    max: binMs * 2000,
  });
  return {
    alpha: unit('alpha', 0.3),
    gamma: unit('gamma', 0.5),
    periodMs,
    slotMs: periodMs / slots,
    warmup: num('config', `${path}.warmup`, o.warmup, 20, { integer: true, min: 1 }),
    level: null,
    profile: new Array<number | null>(slots).fill(null),
    slotAbs: null,
    slotSum: 0,
    slotCount: 0,
    relError: 1,
    checked: 0,
    n: 0,
    detect: bool('config', `${path}.detect`, o.detect, true),
    binMs,
    historyBins: Math.floor(historyMs / binMs),
    bins: [],
    binAbs: null,
    binSum: 0,
    binCount: 0,
    detected: NO_PERIOD,
  };
}

/** Fold one observation into the detector's bins; re-detect when a bin completes. */
function observeBins(s: ForecastState, now: number, value: number): ForecastState {
  if (!s.detect) return s;
  const abs = Math.floor(now / s.binMs);
  if (s.binAbs === null) return { ...s, binAbs: abs, binSum: value, binCount: 1 };
  if (abs <= s.binAbs) return { ...s, binSum: s.binSum + value, binCount: s.binCount + 1 };
  const bins = s.bins.slice();
  bins.push(s.binSum / Math.max(1, s.binCount));
  // Bins nobody observed (no evaluation fell in them) repeat the last mean: the rate estimate held.
  const gap = Math.min(abs - s.binAbs - 1, s.historyBins);
  for (let i = 0; i < gap; i++) bins.push(bins[bins.length - 1] as number);
  if (bins.length > s.historyBins) bins.splice(0, bins.length - s.historyBins);
  return { ...s, bins, binAbs: abs, binSum: value, binCount: 1, detected: detectPeriod(bins) };
}

/** The detector's value for absolute bin `a` (null when not in the history). */
function binValue(s: ForecastState, a: number): number | null {
  if (s.binAbs === null) return null;
  if (a === s.binAbs) return s.binCount > 0 ? s.binSum / s.binCount : null;
  const back = s.binAbs - a;
  if (back < 1 || back > s.bins.length) return null;
  return s.bins[s.bins.length - back] ?? null;
}

function slotIndex(s: ForecastState, slotAbs: number): number {
  const n = s.profile.length;
  return ((slotAbs % n) + n) % n;
}

/** Feed one observation (e.g. the arrival rate over the last interval) at time `now`. Pure. */
export function observeForecast(s: ForecastState, now: number, value: number): ForecastState {
  if (!Number.isFinite(value) || value < 0 || !Number.isFinite(now)) return s;
  return observeProfile(observeBins(s, now, value), now, value);
}

function observeProfile(s: ForecastState, now: number, value: number): ForecastState {
  const level = s.level === null ? value : s.level + s.alpha * (value - s.level);
  const abs = Math.floor(now / s.slotMs);
  if (s.slotAbs === null) return { ...s, level, slotAbs: abs, slotSum: value, slotCount: 1, n: 1 };
  if (abs === s.slotAbs) {
    return { ...s, level, slotSum: s.slotSum + value, slotCount: s.slotCount + 1, n: s.n + 1 };
  }
  // The slot ended: check the profile against what happened, then fold the slot's mean into it.
  const k = slotIndex(s, s.slotAbs);
  const mean = s.slotSum / Math.max(1, s.slotCount);
  const known = s.profile[k];
  let relError = s.relError;
  let checked = s.checked;
  if (known !== null && known !== undefined) {
    const err = Math.abs(known - mean) / Math.max(known, mean, EPS);
    relError += 0.2 * (err - relError);
    checked++;
  }
  const profile = s.profile.slice();
  profile[k] = known === null || known === undefined ? mean : known + s.gamma * (mean - known);
  return { ...s, level, profile, slotAbs: abs, slotSum: value, slotCount: 1, relError, checked, n: s.n + 1 };
}

/**
 * Forecast the next `horizonMs` from `now`: the rate at the horizon, the peak over it, the peak ratio
 * against the current level, and the confidence.
 */
export function forecastDemand(s: ForecastState, now: number, horizonMs: number): Forecast {
  if (s.level === null) return { rate: 0, peak: 0, peakRatio: 1, confidence: 0, predictedPeak: 0 };
  const level = s.level;
  const nowAbs = Math.floor(now / s.slotMs);
  const current = s.profile[slotIndex(s, nowAbs)];
  // Scale the learned profile to today's volume, within reason.
  const scale =
    current !== null && current !== undefined && current > EPS
      ? Math.min(2, Math.max(0.5, level / current))
      : 1;
  const lastAbs = Math.floor((now + Math.max(0, horizonMs)) / s.slotMs);
  let peak = level;
  let rate = level;
  let known = 0;
  let total = 0;
  let predictedPeak = 0;
  for (let a = nowAbs + 1; a <= lastAbs; a++) {
    total++;
    const p = s.profile[slotIndex(s, a)];
    if (p === null || p === undefined) continue;
    known++;
    const predicted = p * scale;
    if (predicted > peak) peak = predicted;
    if (predicted > predictedPeak) predictedPeak = predicted;
    if (a === lastAbs) rate = predicted;
  }
  const coverage = total === 0 ? 0 : known / total;
  const warm = Math.min(1, s.n / s.warmup);
  const confidence = Math.max(
    0,
    Math.min(1, warm * coverage * (1 - s.relError) * Math.min(1, s.checked / 5)),
  );
  const d = s.detected;
  if (s.detect && d.lagBins > 0 && d.confidence > confidence) {
    // Seasonal naive: what happened one detected period ago, over the same span.
    const periodMs = d.lagBins * s.binMs;
    const first = Math.floor((now - periodMs) / s.binMs);
    const last = Math.floor((now + Math.max(0, horizonMs) - periodMs) / s.binMs);
    let dPeak = level;
    let dRate = level;
    let dPredicted = 0;
    for (let a = first; a <= last; a++) {
      const v = binValue(s, a);
      if (v === null) continue;
      if (v > dPeak) dPeak = v;
      if (a > first && v > dPredicted) dPredicted = v;
      if (a === last) dRate = v;
    }
    return {
      rate: dRate,
      peak: dPeak,
      peakRatio: level > EPS ? Math.max(1, dPeak / level) : 1,
      confidence: d.confidence,
      detectedPeriodMs: periodMs,
      predictedPeak: dPredicted,
    };
  }
  return { rate, peak, peakRatio: level > EPS ? Math.max(1, peak / level) : 1, confidence, predictedPeak };
}
