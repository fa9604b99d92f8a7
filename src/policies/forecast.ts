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
 * How the scaler uses it: the forecast may scale the pool OUT ahead of a predicted peak; it never
 * scales IN on its own (see `decideScaling`).
 */
import { knownKeys, num, record } from '../core/validate.js';

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
}

const KEYS = new Set(['alpha', 'gamma', 'periodMs', 'slotMs', 'warmup']);
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
  };
}

function slotIndex(s: ForecastState, slotAbs: number): number {
  const n = s.profile.length;
  return ((slotAbs % n) + n) % n;
}

/** Feed one observation (e.g. the arrival rate over the last interval) at time `now`. Pure. */
export function observeForecast(s: ForecastState, now: number, value: number): ForecastState {
  if (!Number.isFinite(value) || value < 0 || !Number.isFinite(now)) return s;
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
  if (s.level === null) return { rate: 0, peak: 0, peakRatio: 1, confidence: 0 };
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
  for (let a = nowAbs + 1; a <= lastAbs; a++) {
    total++;
    const p = s.profile[slotIndex(s, a)];
    if (p === null || p === undefined) continue;
    known++;
    const predicted = p * scale;
    if (predicted > peak) peak = predicted;
    if (a === lastAbs) rate = predicted;
  }
  const coverage = total === 0 ? 0 : known / total;
  const warm = Math.min(1, s.n / s.warmup);
  const confidence = Math.max(
    0,
    Math.min(1, warm * coverage * (1 - s.relError) * Math.min(1, s.checked / 5)),
  );
  return { rate, peak, peakRatio: level > EPS ? Math.max(1, peak / level) : 1, confidence };
}
