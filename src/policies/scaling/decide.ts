/**
 * The agentpool scaling decision: a pure function from one observation of a pool (plus a forecast hint
 * and the policy's small memory) to a decision. The scaler machine calls it every interval; the
 * simulator and the tests call it directly.
 *
 * Rules (issues 6, 18):
 * - **Recommendation** = ⌈max(R / targetUtilization, R + β·√R)⌉ with R = λ·E[S] (`staffedAgents`),
 *   λ the smoothed arrival rate (`updateRate`: smoothed over `rateSmoothingMs`, a change beyond Poisson
 *   noise taken at once) plus the backlog to drain, raised by a confident forecast.
 * - **Up** when utilization > `scaleUpThreshold` (or nobody is idle while someone waits) AND the
 *   observed wait > `maxAcceptableWaitMs` AND size < max: target = max(size + 1, recommendation),
 *   capped by ⌈max(size, busy + waiters) × maxScaleUpRatio⌉ and max.
 * - **Out ahead of a forecast peak** when a confident forecast's recommendation exceeds the size.
 * - **Up to the recommendation** when demand alone (no wait yet) calls for more agents than held: a
 *   rise taken before tasks queue for it.
 * - **Down** when utilization < `scaleDownThreshold`, waits are short, size > min, nobody waits and
 *   idle agents exist: to the highest recommendation over the stabilisation window, never below min,
 *   and never below size − idle (only idle agents are removed).
 * - A change of demand beyond noise (the smoothed rate jumped) restarts the stabilisation window: the
 *   recommendations before it were made for demand that is gone, so a pool sheds a finished burst's
 *   agents right away rather than a window later.
 * - Separate up/down cooldowns. A forecast only ever raises a recommendation, so it can never cause a
 *   scale-in on its own.
 */
import type { ScalingConfig } from './config.js';
import { staffedAgents } from './little.js';
import { type RateLevel, updateRate } from './rate.js';

/** What the scaler sees of a pool at one evaluation. Times in ms. */
export interface ScalingObservation {
  /** Time of the observation (ms, on the runtime's clock). */
  now: number;
  /** Agents held: ready (idle + busy) plus starting. Draining agents are not counted. */
  size: number;
  /** Ready agents (idle + busy). */
  ready: number;
  /** Busy agents. */
  busy: number;
  /** Agents spawned but not ready. */
  starting: number;
  /** Acquisitions waiting for an agent. */
  waiters: number;
  /** busy / ready over the last interval, 0..1. */
  utilization: number;
  /** Representative recent wait: e.g. max(p90 of recent waits, age of the oldest waiter). */
  waitMs: number;
  /** Arrival rate, requests per second. */
  arrivalRatePerS: number;
  /** Mean service time in ms. */
  meanServiceMs: number;
  /**
   * Submitted tasks waiting on the pool's rate limit (not in `waiters`): demand more agents cannot
   * serve, so it never scales the pool up — the decision holds with reason `'rate-limited'`.
   */
  rateLimited?: number;
  /**
   * The most tasks per second the pool may start (its rate limit's request rate), if it has one.
   * Little's law never sizes for more: agents beyond what the limit lets work would only sit idle.
   */
  startRateLimitPerS?: number;
}

/** A demand forecast as the policy uses it. */
export interface ForecastHint {
  /** Predicted peak rate over the horizon / current rate (values < 1 are treated as 1). */
  peakRatio: number;
  /**
   * Predicted peak rate (requests/s). When given it is used directly — the only way a forecast can
   * speak while the current rate is ~0 (a burst due after an idle gap), where a ratio means nothing.
   */
  peakRatePerS?: number;
  /** 0..1; below `minForecastConfidence` the hint is ignored. */
  confidence: number;
  /**
   * The highest rate predicted over the stabilisation window ahead (the forecast alone, not the current
   * level), with its confidence: a confident one is a floor for scale-downs, so a pool is not shrunk
   * minutes before a burst it will scale up for again (a flap). Never raises the size by itself.
   */
  hold?: { ratePerS: number; confidence: number };
  /**
   * Agents the pool should hold whatever Little's law says: a known burst of that many tasks is due
   * (`system.expect`). Raises the recommendation only, like every forecast.
   */
  minAgents?: number;
}

/** Why a decision was made. */
export type ScalingReason =
  | 'below-min'
  | 'above-max'
  | 'high-wait'
  | 'forecast-peak'
  | 'high-demand'
  | 'low-utilization'
  | 'stabilising'
  | 'cooldown'
  | 'at-max'
  | 'waiters-present'
  | 'rate-limited'
  | 'steady';

/** One scaling decision. */
export interface ScalingDecision {
  /** Time of the decision (ms). */
  at: number;
  /** Size when deciding. */
  current: number;
  /** Size to scale to (= current when holding). */
  target: number;
  direction: 'up' | 'down' | 'hold';
  reason: ScalingReason;
  /** The un-stabilised recommendation (Little's law × peak ratio, within [min, max]). */
  recommendation: number;
  /** Confidence of the forecast consulted (0 when none). */
  confidence: number;
  /** Whether a forecast raised the recommendation. */
  forecastUsed: boolean;
}

/** One recommendation remembered for the stabilisation window. */
export interface Recommendation {
  at: number;
  value: number;
}

/** The policy's memory between evaluations (plain data, fits in machine context). */
export interface ScalingPolicyState {
  /** Recommendations within the stabilisation window, oldest first. */
  recommendations: Recommendation[];
  /** Time of the last applied scale-up, or null. */
  lastScaleUpAt: number | null;
  /** Time of the last applied scale-down, or null. */
  lastScaleDownAt: number | null;
  /** The smoothed arrival rate sized for (null before the first evaluation). */
  rate?: RateLevel | null;
  /** Time of the first evaluation (null before it). */
  firstAt?: number | null;
}

/** A fresh policy state. */
export function initialPolicyState(): ScalingPolicyState {
  return { recommendations: [], lastScaleUpAt: null, lastScaleDownAt: null, rate: null, firstAt: null };
}

/** Hard cap on remembered recommendations, whatever the interval/window ratio. */
const MAX_RECOMMENDATIONS = 1024;

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Result of {@link decideScaling}. */
export interface DecideResult {
  decision: ScalingDecision;
  /** The state with this evaluation's recommendation recorded. */
  state: ScalingPolicyState;
}

/**
 * Decide what to do with a pool. Pure: the input state is not modified.
 *
 * @example
 * ```ts
 * const { decision, state: next } = decideScaling(obs, cfg, state, forecastHint);
 * if (decision.direction !== 'hold') await pool.scaleTo(decision.target, decision.reason);
 * state = markApplied(next, decision);
 * ```
 */
export function decideScaling(
  obs: ScalingObservation,
  cfg: ScalingConfig,
  state: ScalingPolicyState,
  forecast?: ForecastHint,
): DecideResult {
  const now = obs.now;
  const size = Math.max(0, Math.round(obs.size));
  const idle = Math.max(0, obs.ready - obs.busy);
  const meanServiceS = Math.max(0, obs.meanServiceMs) / 1000;
  // The rate sized for: smoothed, unless demand changed beyond noise.
  const smoothed = updateRate(state.rate ?? null, now, obs.arrivalRatePerS, cfg.rateSmoothingMs);
  const rate = smoothed.sizedFor;
  // A backlog must be drained, not just kept from growing: count it as extra arrivals.
  const limit = obs.startRateLimitPerS;
  const capped = (r: number) => (limit !== undefined && limit > 0 ? Math.min(r, limit) : r);
  const offered = rate + Math.max(0, obs.waiters) / (cfg.backlogDrainMs / 1000);
  const lambda = capped(offered);
  // Starts paced by a rate limit are not Poisson: the √R margin for bunched arrivals is not needed, and
  // agents beyond Little's law would only sit idle behind the limit.
  const paced = limit !== undefined && limit > 0 && offered >= limit;
  const beta = paced ? 0 : cfg.staffingBeta;

  const confidence = forecast ? clamp(forecast.confidence, 0, 1) : 0;
  // The forecast's peak rate: given directly, or as a ratio of the current rate (capped by maxScaleUpRatio).
  let forecastRate = 0;
  if (forecast !== undefined) {
    const direct = forecast.peakRatePerS;
    forecastRate =
      direct !== undefined && Number.isFinite(direct)
        ? Math.max(0, direct)
        : rate * Math.min(Math.max(1, forecast.peakRatio), cfg.maxScaleUpRatio);
  }
  const floor = forecast?.minAgents !== undefined && forecast.minAgents > 0 ? forecast.minAgents : 0;
  const forecastUsed =
    cfg.predictive &&
    forecast !== undefined &&
    confidence >= cfg.minForecastConfidence &&
    (forecastRate > rate || floor > 0);
  // Little's law × predicted peak ratio: a forecast can only raise the rate the pool is sized for.
  const sizedFor = capped(forecastUsed ? lambda - capped(rate) + Math.max(rate, forecastRate) : lambda);
  // The steady part of it: the same without the swing of the observations beyond noise.
  const swing = rate - smoothed.next.level;
  const steady = Math.max(0, sizedFor - swing);
  const little = Math.ceil(staffedAgents(sizedFor, meanServiceS, cfg.targetUtilization, beta, steady) - 1e-9);
  const recommendation = clamp(forecastUsed ? Math.max(little, Math.ceil(floor)) : little, cfg.min, cfg.max);

  // Record the recommendation and forget those that left the window — all of them when demand changed
  // beyond noise: they were made for demand that is gone.
  const cutoff = now - cfg.stabilisationWindowMs;
  const recs = smoothed.ended ? [] : state.recommendations.filter((r) => r.at > cutoff && r.at <= now);
  recs.push({ at: now, value: recommendation });
  if (recs.length > MAX_RECOMMENDATIONS) recs.splice(0, recs.length - MAX_RECOMMENDATIONS);
  const firstAt = state.firstAt ?? now;
  const next: ScalingPolicyState = { ...state, recommendations: recs, rate: smoothed.next, firstAt };

  const base = { at: now, current: size, recommendation, confidence, forecastUsed };
  const hold = (reason: ScalingReason): DecideResult => ({
    decision: { ...base, target: size, direction: 'hold', reason },
    state: next,
  });

  // Bounds first: a config update may have moved min/max past the current size.
  if (size < cfg.min)
    return { decision: { ...base, target: cfg.min, direction: 'up', reason: 'below-min' }, state: next };
  if (size > cfg.max)
    return { decision: { ...base, target: cfg.max, direction: 'down', reason: 'above-max' }, state: next };

  const upCooling = state.lastScaleUpAt !== null && now - state.lastScaleUpAt < cfg.scaleUpCooldownMs;
  // The ratio guards against a wild metric, so it is taken of the work really present (agents held, or
  // busy plus waiting), not of a pool shrunk to its minimum between bursts.
  const present = Math.max(size, Math.max(0, obs.busy) + Math.max(0, obs.waiters));
  const upCap = Math.min(cfg.max, Math.max(size + 1, Math.ceil(present * cfg.maxScaleUpRatio - 1e-9)));

  // Work waiting only on a rate limit (no waiter for an agent): more agents cannot start it sooner.
  const rateBound = (obs.rateLimited ?? 0) > 0 && obs.waiters === 0;
  // Busy over the interval, or busy now: nobody idle while someone waits (the first seconds of a burst
  // on a pool that was idle for most of the interval).
  const saturated = obs.utilization > cfg.scaleUpThreshold || (idle === 0 && obs.waiters > 0);
  const pressured = saturated && obs.waitMs > cfg.maxAcceptableWaitMs;
  if (pressured) {
    if (rateBound) return hold('rate-limited');
    if (size >= cfg.max) return hold('at-max');
    if (upCooling) return hold('cooldown');
    // Tasks already wait: size for the rate as observed too, not only its smoothed level (which takes a
    // change only once it is 4 σ clear of noise — seconds a queue is already growing through).
    const observed = capped(
      Math.max(0, obs.arrivalRatePerS) + Math.max(0, obs.waiters) / (cfg.backlogDrainMs / 1000),
    );
    const now_ = Math.ceil(staffedAgents(observed, meanServiceS, cfg.targetUtilization, beta) - 1e-9);
    const target = clamp(Math.max(size + 1, recommendation, now_), size + 1, upCap);
    // Remember the size we scale up to as a recommendation: the stabilisation window then keeps it for
    // a whole window, instead of a later scale-down undoing the "+1" a moment after it was added.
    if (target > recommendation) recs[recs.length - 1] = { at: now, value: target };
    return { decision: { ...base, target, direction: 'up', reason: 'high-wait' }, state: next };
  }

  if (forecastUsed && recommendation > size) {
    if (rateBound) return hold('rate-limited');
    if (upCooling) return hold('cooldown');
    // Not capped by maxScaleUpRatio: a confident forecast is demand seen before (one period ago, or
    // announced), not a wild metric, and its point is to be ready before the burst, in one step.
    const target = Math.min(recommendation, cfg.max);
    return { decision: { ...base, target, direction: 'up', reason: 'forecast-peak' }, state: next };
  }

  // Demand alone scales up only past a band below the recommendation (utilization above
  // scaleUpThreshold, or a margin under (β − 1)·√R): a pool just scaled down to its window's highest
  // recommendation is not scaled up again by the next noisy one (a flap).
  const trigger = clamp(
    Math.ceil(
      staffedAgents(sizedFor, meanServiceS, cfg.scaleUpThreshold, Math.max(0, beta - 1), steady) - 1e-9,
    ),
    cfg.min,
    cfg.max,
  );
  if (trigger > size && recommendation > size && !rateBound && !upCooling) {
    const target = Math.min(recommendation, upCap);
    return { decision: { ...base, target, direction: 'up', reason: 'high-demand' }, state: next };
  }

  // Quiet: short waits, and utilization below scaleDownThreshold or below what the pool would run at
  // its recommendation (R / recommendation). Square-root staffing runs a small pool at 40–60 %, so a
  // fixed threshold alone (0.3 for a pool's own default) would keep it from ever shrinking to its
  // target; below the implied utilization the pool is, by its own measurement, above the target.
  const implied = recommendation > 0 ? Math.min(1, (sizedFor * meanServiceS) / recommendation) : 0;
  const quiet = obs.utilization < Math.max(cfg.scaleDownThreshold, implied) && obs.waitMs < cfg.shortWaitMs;
  if (quiet && size > cfg.min) {
    if (obs.waiters > 0) return hold('waiters-present');
    if (idle === 0) return hold('steady');
    // Work arrives but no task has completed yet: the service time, hence the recommendation, is not
    // known (it reads 0), and a pool must not be shrunk on that.
    if (meanServiceS === 0 && obs.arrivalRatePerS > 0) return hold('steady');
    // Nor before two stabilisation windows were seen: the first tasks to complete are the short ones,
    // so the early mean service time is low (measured: a 50-agent pool at a burst's start was cut to 20
    // at its first evaluation and climbed back for minutes; after one window still by 2, and back).
    if (now - firstAt < 2 * cfg.stabilisationWindowMs) return hold('stabilising');
    const lastScale = Math.max(
      state.lastScaleUpAt ?? Number.NEGATIVE_INFINITY,
      state.lastScaleDownAt ?? Number.NEGATIVE_INFINITY,
    );
    if (now - lastScale < cfg.scaleDownCooldownMs) return hold('cooldown');
    const values = recs.map((r) => r.value).sort((a, b) => a - b);
    const q = cfg.stabilisationQuantile;
    const held = values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))] ?? 0;
    // A confident forecast of the window ahead is a floor too: demand that is known to come back.
    const ahead = forecast?.hold;
    const holdFloor =
      cfg.predictive && ahead !== undefined && ahead.confidence >= cfg.minForecastConfidence
        ? Math.ceil(
            staffedAgents(capped(Math.max(0, ahead.ratePerS)), meanServiceS, cfg.targetUtilization, beta) -
              1e-9,
          )
        : 0;
    const stabilised = Math.max(recommendation, held, Math.min(cfg.max, holdFloor));
    // Idle-first: never plan to remove more agents than are idle right now.
    const target = Math.max(cfg.min, stabilised, size - idle);
    if (target < size)
      return { decision: { ...base, target, direction: 'down', reason: 'low-utilization' }, state: next };
    return hold('stabilising');
  }
  return hold(rateBound ? 'rate-limited' : 'steady');
}

/** Record that `decision` was applied (starts the matching cooldown). Pure. */
export function markApplied(state: ScalingPolicyState, decision: ScalingDecision): ScalingPolicyState {
  if (decision.direction === 'up') return { ...state, lastScaleUpAt: decision.at };
  if (decision.direction === 'down') return { ...state, lastScaleDownAt: decision.at };
  return state;
}

const OBS_KEYS = [
  'now',
  'size',
  'ready',
  'busy',
  'starting',
  'waiters',
  'utilization',
  'waitMs',
  'arrivalRatePerS',
  'meanServiceMs',
] as const;

/**
 * Check an observation coming from outside (a metrics reader): every field a finite number ≥ 0 and
 * utilization within [0, 1]. Returns null instead of throwing, so machine guards can use it.
 */
export function checkObservation(value: unknown): ScalingObservation | null {
  if (value === null || typeof value !== 'object') return null;
  const o = value as Record<string, unknown>;
  for (const k of OBS_KEYS) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || (k !== 'now' && v < 0)) return null;
  }
  const obs = value as ScalingObservation;
  if (obs.utilization > 1) return null;
  return obs;
}
