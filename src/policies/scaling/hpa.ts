/**
 * A faithful model of the Kubernetes Horizontal Pod Autoscaler (autoscaling/v2, default behaviour),
 * used as the baseline the agentpool scaler is measured against. Mirrors
 * `pkg/controller/podautoscaler` (replica_calculator.go + horizontal.go):
 *
 * - desired = ⌈ready × metric / target⌉; no change within ±`tolerance` (10 %) of the target;
 * - on a scale-up, not-ready pods count as 0 % utilization and the ratio is recomputed over all pods;
 *   if that flips the direction or falls within tolerance, nothing changes;
 * - stabilisation: recommendations are remembered; scale-up uses the minimum over a 0 s window (i.e.
 *   the current one), scale-down the maximum over a 300 s window;
 * - rate policies (selectPolicy Max): up by max(4 pods, 100 %) per 15 s, down by 100 % per 15 s,
 *   measured from the size at the start of the policy period;
 * - result clamped to [min, max]. The controller loop runs every 15 s (`syncPeriodMs`).
 */
import { invalid, knownKeys, num, record } from '../../core/validate.js';

/** HPA configuration. Defaults are Kubernetes' defaults. */
export interface HpaConfig {
  /** minReplicas. @default 1 */
  min: number;
  /** maxReplicas. @default 10 */
  max: number;
  /** Target average utilization (busy fraction per ready pod). @default 0.75 */
  targetUtilization: number;
  /** `--horizontal-pod-autoscaler-tolerance`. @default 0.1 */
  tolerance: number;
  /** `--horizontal-pod-autoscaler-sync-period`. @default 15000 */
  syncPeriodMs: number;
  /** behavior.scaleUp.stabilizationWindowSeconds. @default 0 */
  scaleUpStabilisationMs: number;
  /** behavior.scaleDown.stabilizationWindowSeconds. @default 300000 */
  scaleDownStabilisationMs: number;
  /** scaleUp Pods policy value. @default 4 */
  scaleUpPods: number;
  /** scaleUp Percent policy value. @default 100 */
  scaleUpPercent: number;
  /** scaleUp policies periodSeconds. @default 15000 */
  scaleUpPeriodMs: number;
  /** scaleDown Percent policy value. @default 100 */
  scaleDownPercent: number;
  /** scaleDown policy periodSeconds. @default 15000 */
  scaleDownPeriodMs: number;
}

/** Defaults (Kubernetes defaults; min/max are the pool's). */
export const DEFAULT_HPA_CONFIG: Readonly<HpaConfig> = Object.freeze({
  min: 1,
  max: 10,
  targetUtilization: 0.75,
  tolerance: 0.1,
  syncPeriodMs: 15_000,
  scaleUpStabilisationMs: 0,
  scaleDownStabilisationMs: 300_000,
  scaleUpPods: 4,
  scaleUpPercent: 100,
  scaleUpPeriodMs: 15_000,
  scaleDownPercent: 100,
  scaleDownPeriodMs: 15_000,
});

const KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_HPA_CONFIG));

/** Validate HPA options (typed {@link ConfigError}s, unknown keys rejected). */
export function validateHpaConfig(input: unknown, path = 'hpa'): HpaConfig {
  const o = record('config', path, input ?? {});
  knownKeys('config', path, o, KEYS);
  const d = DEFAULT_HPA_CONFIG;
  const ms = (k: keyof HpaConfig) => num('config', `${path}.${k}`, o[k], d[k], { min: 0 });
  const cfg: HpaConfig = {
    min: num('config', `${path}.min`, o.min, d.min, { integer: true, min: 0 }),
    max: num('config', `${path}.max`, o.max, d.max, { integer: true, min: 1 }),
    targetUtilization: num('config', `${path}.targetUtilization`, o.targetUtilization, d.targetUtilization, {
      gt: 0,
      max: 1,
    }),
    tolerance: num('config', `${path}.tolerance`, o.tolerance, d.tolerance, { min: 0, max: 1 }),
    syncPeriodMs: num('config', `${path}.syncPeriodMs`, o.syncPeriodMs, d.syncPeriodMs, { gt: 0 }),
    scaleUpStabilisationMs: ms('scaleUpStabilisationMs'),
    scaleDownStabilisationMs: ms('scaleDownStabilisationMs'),
    scaleUpPods: num('config', `${path}.scaleUpPods`, o.scaleUpPods, d.scaleUpPods, {
      integer: true,
      min: 0,
    }),
    scaleUpPercent: num('config', `${path}.scaleUpPercent`, o.scaleUpPercent, d.scaleUpPercent, { min: 0 }),
    scaleUpPeriodMs: num('config', `${path}.scaleUpPeriodMs`, o.scaleUpPeriodMs, d.scaleUpPeriodMs, {
      gt: 0,
    }),
    scaleDownPercent: num('config', `${path}.scaleDownPercent`, o.scaleDownPercent, d.scaleDownPercent, {
      min: 0,
      max: 100,
    }),
    scaleDownPeriodMs: num('config', `${path}.scaleDownPeriodMs`, o.scaleDownPeriodMs, d.scaleDownPeriodMs, {
      gt: 0,
    }),
  };
  if (cfg.min > cfg.max) invalid('config', `${path}.min`, cfg.min, `a number <= max (${cfg.max})`);
  return cfg;
}

/** What the HPA reads at one sync. */
export interface HpaObservation {
  /** Time (ms). */
  now: number;
  /** Current replicas (spec), ready + not ready. */
  current: number;
  /** Ready pods. */
  ready: number;
  /** Sum of utilization (0..1 each) over ready pods, i.e. busy ready agents averaged over the window. */
  readyUsage: number;
}

/** HPA memory between syncs. */
export interface HpaState {
  /** Raw recommendations with their time. */
  recommendations: { at: number; value: number }[];
  /** Applied scale events with their replica delta (for the rate policies). */
  events: { at: number; delta: number }[];
}

/** A fresh HPA state. */
export function initialHpaState(): HpaState {
  return { recommendations: [], events: [] };
}

/** Result of {@link hpaDecide}. */
export interface HpaResult {
  /** Replicas to scale to (= current when nothing changes). */
  desired: number;
  /** The metric-based recommendation before stabilisation and rate limits. */
  recommendation: number;
  state: HpaState;
}

/** The replica calculator: metric-based recommendation, with the not-ready rule. */
export function hpaRecommendation(obs: HpaObservation, cfg: HpaConfig): number {
  const { current, ready } = obs;
  if (ready <= 0) return current; // no metrics at all: HPA skips the scale decision
  const unready = Math.max(0, current - ready);
  const usageRatio = obs.readyUsage / ready / cfg.targetUtilization;
  const scaleUp = usageRatio > 1;
  if (!(scaleUp && unready > 0)) {
    if (Math.abs(1 - usageRatio) <= cfg.tolerance) return current;
    return Math.ceil(usageRatio * ready - 1e-9);
  }
  // Scale-up with not-ready pods: they count as 0 % and the ratio is recomputed over every pod.
  const newRatio = obs.readyUsage / (ready + unready) / cfg.targetUtilization;
  if (Math.abs(1 - newRatio) <= cfg.tolerance || newRatio < 1) return current;
  const n = Math.ceil(newRatio * (ready + unready) - 1e-9);
  return Math.max(n, current);
}

/** One HPA sync. Pure. Call {@link hpaApplied} after the scale is applied. */
export function hpaDecide(obs: HpaObservation, cfg: HpaConfig, state: HpaState): HpaResult {
  const now = obs.now;
  const current = obs.current;
  const recommendation = Math.min(cfg.max, Math.max(cfg.min, hpaRecommendation(obs, cfg)));
  // Stabilisation (stabilizeRecommendationWithBehaviors).
  const keepFor = Math.max(cfg.scaleDownStabilisationMs, cfg.scaleUpStabilisationMs);
  const recs = state.recommendations.filter((r) => r.at > now - keepFor);
  let up = recommendation;
  let down = recommendation;
  for (const r of recs) {
    if (r.at > now - cfg.scaleUpStabilisationMs) up = Math.min(up, r.value);
    if (r.at > now - cfg.scaleDownStabilisationMs) down = Math.max(down, r.value);
  }
  recs.push({ at: now, value: recommendation });
  let desired = current;
  if (desired < up) desired = up;
  if (desired > down) desired = down;
  // Rate policies (convertDesiredReplicasWithBehaviorRate).
  const events = state.events.filter(
    (e) => e.at > now - Math.max(cfg.scaleUpPeriodMs, cfg.scaleDownPeriodMs),
  );
  if (desired > current) {
    let added = 0;
    for (const e of events) if (e.at > now - cfg.scaleUpPeriodMs && e.delta > 0) added += e.delta;
    const start = current - added;
    const limit = Math.max(start + cfg.scaleUpPods, Math.ceil(start * (1 + cfg.scaleUpPercent / 100) - 1e-9));
    desired = Math.min(desired, limit);
  } else if (desired < current) {
    let removed = 0;
    for (const e of events) if (e.at > now - cfg.scaleDownPeriodMs && e.delta < 0) removed -= e.delta;
    const start = current + removed;
    const limit = Math.floor(start * (1 - cfg.scaleDownPercent / 100) + 1e-9);
    desired = Math.max(desired, limit);
  }
  desired = Math.min(cfg.max, Math.max(cfg.min, desired));
  return { desired, recommendation, state: { recommendations: recs, events } };
}

/** Record an applied change of `delta` replicas at `now` (feeds the rate policies). Pure. */
export function hpaApplied(state: HpaState, now: number, delta: number): HpaState {
  if (delta === 0) return state;
  return { ...state, events: [...state.events, { at: now, delta }] };
}
