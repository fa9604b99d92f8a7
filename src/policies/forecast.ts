/**
 * Demand prediction: additive Holt-Winters (level + damped trend + periodic profile) over the
 * observed arrival rate, with a confidence value. Pure and plain-data, so its state can live in the
 * scaler machine's context and be persisted.
 *
 * The periodic profile has one slot per `slotMs` of the period (a day of 5-minute slots by default).
 * A slot contributes to a forecast only once it has been observed in an earlier period, so nothing is
 * predicted from a season that was never seen. Confidence combines warm-up (how many observations) with
 * the recent one-step-ahead error: 1 − EWMA(|error| / level), clamped to [0, 1].
 *
 * How the scaler uses it: the forecast may scale the pool OUT ahead of a predicted peak; it never
 * scales IN on its own (see `decideScaling`).
 */
import { knownKeys, num, record } from '../errors/validate.js';

/** Options of the forecaster. */
export interface ForecastOptions {
  /** Level smoothing. @default 0.3 */
  alpha?: number;
  /** Trend smoothing. @default 0.05 */
  beta?: number;
  /** Seasonal smoothing. @default 0.2 */
  gamma?: number;
  /** Trend damping per step (≤ 1; 1 = undamped). @default 0.95 */
  phi?: number;
  /** Length of the season. @default 86400000 (a day) */
  periodMs?: number;
  /** Width of one profile slot. @default 300000 (5 min) */
  slotMs?: number;
  /** Observations before confidence can reach 1. @default 20 */
  warmup?: number;
}

/** Forecaster state (plain data). */
export interface ForecastState {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  periodMs: number;
  slotMs: number;
  warmup: number;
  /** Deseasonalised level, or null before the first observation. */
  level: number | null;
  /** Trend per ms. */
  trend: number;
  /** Additive seasonal offset per slot. */
  seasonal: number[];
  /** Time a slot was first observed (null = never): a slot counts once a full period has passed. */
  firstSeen: (number | null)[];
  /** Time of the last observation. */
  lastAt: number | null;
  /** EWMA of the relative one-step error. */
  relError: number;
  /** Observations so far. */
  n: number;
}

/** A forecast. */
export interface Forecast {
  /** Predicted rate at now + horizon. */
  rate: number;
  /** Highest predicted rate over (now, now + horizon]. */
  peak: number;
  /** peak / current estimate (1 when no estimate). */
  peakRatio: number;
  /** 0..1. */
  confidence: number;
}

const KEYS = new Set(['alpha', 'beta', 'gamma', 'phi', 'periodMs', 'slotMs', 'warmup']);

/** Create a forecaster state (validates options; throws ConfigError on bad input). */
export function createForecast(options: ForecastOptions = {}, path = 'forecast'): ForecastState {
  const o = record('config', path, options);
  knownKeys('config', path, o, KEYS);
  const unit = (k: string, fb: number) => num('config', `${path}.${k}`, o[k], fb, { min: 0, max: 1 });
  const periodMs = num('config', `${path}.periodMs`, o.periodMs, 86_400_000, { gt: 0 });
  const slotMs = num('config', `${path}.slotMs`, o.slotMs, 300_000, { gt: 0, max: periodMs });
  const slots = Math.max(1, Math.round(periodMs / slotMs));
  if (slots > 100_000) num('config', `${path}.slotMs`, slotMs, 0, { min: periodMs / 100_000 });
  return {
    alpha: unit('alpha', 0.3),
    beta: unit('beta', 0.05),
    gamma: unit('gamma', 0.2),
    phi: unit('phi', 0.95),
    periodMs,
    slotMs: periodMs / slots,
    warmup: num('config', `${path}.warmup`, o.warmup, 20, { integer: true, min: 1 }),
    level: null,
    trend: 0,
    seasonal: new Array<number>(slots).fill(0),
    firstSeen: new Array<number | null>(slots).fill(null),
    lastAt: null,
    relError: 1,
    n: 0,
  };
}

function slotOf(s: ForecastState, t: number): number {
  const n = s.seasonal.length;
  const k = Math.floor((((t % s.periodMs) + s.periodMs) % s.periodMs) / s.slotMs);
  return Math.min(n - 1, k);
}

/** Seasonal offset at time t, only for slots seen at least one period before `now`. */
function season(s: ForecastState, t: number, now: number): number {
  return seasonKnown(s, t, now) ? (s.seasonal[slotOf(s, t)] ?? 0) : 0;
}

/** Whether the profile slot holding t was observed at least one period before `now`. */
function seasonKnown(s: ForecastState, t: number, now: number): boolean {
  const seen = s.firstSeen[slotOf(s, t)];
  return seen !== null && seen !== undefined && now - seen >= s.periodMs;
}

/** Sum of damped trend steps: φ + φ² + … + φ^h, with h measured in slots. */
function dampedTrend(s: ForecastState, horizonMs: number): number {
  const steps = horizonMs / s.slotMs;
  if (s.phi >= 1) return s.trend * horizonMs;
  // Trend is per ms; damping applies per slot.
  const sum = (s.phi * (1 - s.phi ** steps)) / (1 - s.phi);
  return s.trend * s.slotMs * sum;
}

/** Predicted value at now + horizonMs (without the confidence). */
function predictAt(s: ForecastState, now: number, horizonMs: number): number {
  if (s.level === null) return 0;
  return Math.max(0, s.level + dampedTrend(s, horizonMs) + season(s, now + horizonMs, now));
}

/** Feed one observation (e.g. the arrival rate over the last interval) at time `now`. Pure. */
export function observeForecast(s: ForecastState, now: number, value: number): ForecastState {
  if (!Number.isFinite(value) || value < 0 || !Number.isFinite(now)) return s;
  const k = slotOf(s, now);
  const seasonal = s.seasonal.slice();
  const firstSeen = s.firstSeen.slice();
  if (firstSeen[k] === null) firstSeen[k] = now;
  if (s.level === null || s.lastAt === null) {
    return { ...s, level: value, trend: 0, seasonal, firstSeen, lastAt: now, n: 1 };
  }
  const dt = Math.max(0, now - s.lastAt);
  const predicted = predictAt(s, s.lastAt, dt);
  const scale = Math.max(Math.abs(value), Math.abs(predicted), 1e-9);
  const relError = s.relError + 0.1 * (Math.min(1, Math.abs(value - predicted) / scale) - s.relError);
  const seasonNow = season(s, now, now);
  const prevLevel = s.level;
  const level = s.alpha * (value - seasonNow) + (1 - s.alpha) * (prevLevel + s.trend * dt);
  const trend = dt > 0 ? s.beta * ((level - prevLevel) / dt) + (1 - s.beta) * s.phi * s.trend : s.trend;
  seasonal[k] = s.gamma * (value - level) + (1 - s.gamma) * (seasonal[k] ?? 0);
  return { ...s, level, trend, seasonal, firstSeen, lastAt: now, relError, n: s.n + 1 };
}

/**
 * Forecast the next `horizonMs` from `now`: the rate at the horizon, the peak over it (sampled per
 * slot), the peak ratio against the current estimate, and the confidence.
 */
export function forecastDemand(s: ForecastState, now: number, horizonMs: number): Forecast {
  if (s.level === null) return { rate: 0, peak: 0, peakRatio: 1, confidence: 0 };
  const current = predictAt(s, now, 0);
  let peak = 0;
  const step = Math.min(s.slotMs, Math.max(1, horizonMs));
  for (let h = step; h <= horizonMs + 1e-9; h += step) peak = Math.max(peak, predictAt(s, now, h));
  const rate = predictAt(s, now, horizonMs);
  peak = Math.max(peak, rate);
  const warm = Math.min(1, s.n / s.warmup);
  // A forecast over slots whose season was never seen is trend-only extrapolation of noisy rates:
  // halve its confidence, so with the default threshold only a learned profile can scale out early
  // (as AWS predictive scaling, which wants a day of history first).
  const seasonal = seasonKnown(s, now + horizonMs, now) ? 1 : 0.5;
  const confidence = Math.max(0, Math.min(1, warm * seasonal * (1 - s.relError)));
  return { rate, peak, peakRatio: current > 1e-9 ? Math.max(1, peak / current) : 1, confidence };
}
