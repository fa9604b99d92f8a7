/**
 * Scaling configuration: defaults, and the boundary validator that turns user input into a
 * {@link ScalingConfig} or throws a {@link ConfigError} naming the option path and the value received.
 */
import { ConfigError } from '../../core/errors.js';
import { bool, duration, invalid, type Kind, knownKeys, num, record } from '../../core/validate.js';

/** Resolved scaling configuration of one pool. All durations in ms. */
export interface ScalingConfig {
  /** Fewest agents the scaler keeps. @default 1 */
  min: number;
  /** Most agents the scaler creates. @default 10 */
  max: number;
  /** Evaluation interval. @default 15000 */
  intervalMs: number;
  /** Utilization the Little's-law target sizes for (busy / ready). @default 0.75 */
  targetUtilization: number;
  /**
   * Square-root staffing margin β: the pool is sized for at least R + β·√R agents (R = λ·E[S], the
   * mean number busy), besides Little's R / `targetUtilization`, whichever is more. Small pools need
   * the √R margin: arrivals within a service time fluctuate by ±√R (see `staffedAgents`). 0 = Little's
   * law alone. @default 3.5
   */
  staffingBeta: number;
  /**
   * Time constant of the smoothed arrival rate the pool is sized for (0 = size on the observed rate
   * as it is). An observation more than 4 σ of Poisson noise from the smoothed level is a change of
   * demand and is taken at once — and it also ends the stabilisation window, so a pool scales down
   * right after a burst ends instead of holding its size for a whole window. @default 300000
   */
  rateSmoothingMs: number;
  /** Scale up only when utilization is above this. Must be > `scaleDownThreshold`. @default 0.8 */
  scaleUpThreshold: number;
  /** Scale down only when utilization is below this. @default 0.5 */
  scaleDownThreshold: number;
  /** Scale up only when the observed wait exceeds this. @default 2000 */
  maxAcceptableWaitMs: number;
  /** Scale down only when the observed wait is below this ("waits are short"). @default 500 */
  shortWaitMs: number;
  /**
   * One scale-up grows the pool to at most `ceil(size × maxScaleUpRatio)` (and at least size + 1). A
   * guard against a wild metric, not a pacing tool: pacing comes from counting starting agents in the
   * size. Generous by default because bursts usually land on a small, idle pool. @default 10
   */
  maxScaleUpRatio: number;
  /**
   * A scale-down goes to the highest recommendation made within this window (never below min), so a
   * short dip does not shed agents that the next peak needs again. @default 300000
   */
  stabilisationWindowMs: number;
  /**
   * Which recommendation of the window a scale-down keeps: 1 = the highest (Kubernetes' rule); lower
   * values ignore the top few, which are often noise of a short rate window rather than demand.
   * @default 1
   */
  stabilisationQuantile: number;
  /**
   * Minimum time between two scale-ups. 0 (like Kubernetes' scale-up window) is safe because agents
   * still starting count in the size, so the next evaluation does not add them again. @default 0
   */
  scaleUpCooldownMs: number;
  /** Minimum time after any scale event before a scale-down. @default 60000 */
  scaleDownCooldownMs: number;
  /**
   * Waiters are drained within this time: the effective arrival rate used by Little's law is
   * λ + waiters / backlogDrainMs, so a backlog is cleared rather than merely kept from growing.
   * @default 30000
   */
  backlogDrainMs: number;
  /** Use the demand forecast to scale out ahead of a predicted peak (never to scale in). @default true */
  predictive: boolean;
  /** Forecasts with a lower confidence are ignored. @default 0.6 */
  minForecastConfidence: number;
  /** How far ahead (ms) a forecast peak is considered; should cover agent start-up. @default 60000 */
  forecastHorizonMs: number;
  /** Decisions kept in the scaler's history. @default 50 */
  historySize: number;
  /** An "apply scale" call that has not settled after this is abandoned (the next read sees the truth). @default 120000 */
  applyTimeoutMs: number;
}

/** User-facing form: every field optional. */
export type ScalingConfigInput = Partial<ScalingConfig>;

/** Defaults of every option. */
export const DEFAULT_SCALING_CONFIG: Readonly<ScalingConfig> = Object.freeze({
  min: 1,
  max: 10,
  intervalMs: 15_000,
  targetUtilization: 0.75,
  staffingBeta: 3.5,
  rateSmoothingMs: 300_000,
  scaleUpThreshold: 0.8,
  scaleDownThreshold: 0.5,
  maxAcceptableWaitMs: 2_000,
  shortWaitMs: 500,
  maxScaleUpRatio: 10,
  stabilisationWindowMs: 300_000,
  stabilisationQuantile: 1,
  scaleUpCooldownMs: 0,
  scaleDownCooldownMs: 60_000,
  backlogDrainMs: 30_000,
  predictive: true,
  minForecastConfidence: 0.6,
  forecastHorizonMs: 60_000,
  historySize: 50,
  applyTimeoutMs: 120_000,
});

const KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_SCALING_CONFIG));

/**
 * Validate scaling options, filling defaults from `base` (the defaults, or the current config when
 * applying an update). Throws {@link ConfigError} on the first problem; never returns a partial config.
 *
 * @param path option path used in error messages, e.g. `pools.code.scaling`.
 * @example
 * ```ts
 * const cfg = validateScalingConfig({ min: 2, max: 20 }, 'pools.code.scaling');
 * ```
 */
export function validateScalingConfig(
  input: unknown,
  path = 'scaling',
  base: Readonly<ScalingConfig> = DEFAULT_SCALING_CONFIG,
  kind: Kind = 'config',
): ScalingConfig {
  const o = record(kind, path, input ?? {});
  knownKeys(kind, path, o, KEYS);
  const p = (k: string) => `${path}.${k}`;
  const ratio = (k: keyof ScalingConfig, fb: number) => num(kind, p(k), o[k], fb, { min: 0, max: 1 });
  // Durations: finite, within the timer range (MAX_DURATION_MS); `positive` ones must elapse.
  const ms = (k: keyof ScalingConfig, fb: number, positive = false) =>
    duration(kind, p(k), o[k], fb, { positive });
  const cfg: ScalingConfig = {
    min: num(kind, p('min'), o.min, base.min, { integer: true, min: 0 }),
    max: num(kind, p('max'), o.max, base.max, { integer: true, min: 1 }),
    intervalMs: ms('intervalMs', base.intervalMs, true),
    targetUtilization: num(kind, p('targetUtilization'), o.targetUtilization, base.targetUtilization, {
      gt: 0,
      max: 1,
    }),
    staffingBeta: num(kind, p('staffingBeta'), o.staffingBeta, base.staffingBeta, { min: 0, max: 10 }),
    rateSmoothingMs: ms('rateSmoothingMs', base.rateSmoothingMs),
    scaleUpThreshold: ratio('scaleUpThreshold', base.scaleUpThreshold),
    scaleDownThreshold: ratio('scaleDownThreshold', base.scaleDownThreshold),
    maxAcceptableWaitMs: ms('maxAcceptableWaitMs', base.maxAcceptableWaitMs),
    shortWaitMs: ms('shortWaitMs', base.shortWaitMs),
    maxScaleUpRatio: num(kind, p('maxScaleUpRatio'), o.maxScaleUpRatio, base.maxScaleUpRatio, { gt: 1 }),
    stabilisationWindowMs: ms('stabilisationWindowMs', base.stabilisationWindowMs),
    stabilisationQuantile: num(
      kind,
      p('stabilisationQuantile'),
      o.stabilisationQuantile,
      base.stabilisationQuantile,
      {
        gt: 0,
        max: 1,
      },
    ),
    scaleUpCooldownMs: ms('scaleUpCooldownMs', base.scaleUpCooldownMs),
    scaleDownCooldownMs: ms('scaleDownCooldownMs', base.scaleDownCooldownMs),
    backlogDrainMs: ms('backlogDrainMs', base.backlogDrainMs, true),
    predictive: bool(kind, p('predictive'), o.predictive, base.predictive),
    minForecastConfidence: ratio('minForecastConfidence', base.minForecastConfidence),
    forecastHorizonMs: ms('forecastHorizonMs', base.forecastHorizonMs),
    historySize: num(kind, p('historySize'), o.historySize, base.historySize, {
      integer: true,
      min: 1,
      max: 10_000,
    }),
    applyTimeoutMs: ms('applyTimeoutMs', base.applyTimeoutMs, true),
  };
  if (cfg.min > cfg.max) invalid(kind, p('min'), cfg.min, `a number <= max (${cfg.max})`);
  if (cfg.scaleUpThreshold <= cfg.scaleDownThreshold) {
    invalid(
      kind,
      p('scaleUpThreshold'),
      cfg.scaleUpThreshold,
      `a number > scaleDownThreshold (${cfg.scaleDownThreshold})`,
    );
  }
  if (cfg.shortWaitMs > cfg.maxAcceptableWaitMs) {
    invalid(
      kind,
      p('shortWaitMs'),
      cfg.shortWaitMs,
      `a number <= maxAcceptableWaitMs (${cfg.maxAcceptableWaitMs})`,
    );
  }
  return cfg;
}

/** Result of {@link tryValidateScalingConfig}. */
export type ScalingConfigResult = { ok: true; config: ScalingConfig } | { ok: false; error: ConfigError };

/**
 * Non-throwing form of {@link validateScalingConfig}, for machine actions (which must never throw).
 */
export function tryValidateScalingConfig(
  input: unknown,
  path = 'scaling',
  base: Readonly<ScalingConfig> = DEFAULT_SCALING_CONFIG,
): ScalingConfigResult {
  try {
    return { ok: true, config: validateScalingConfig(input, path, base) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e };
    return { ok: false, error: new ConfigError(path, input, 'a valid scaling configuration') };
  }
}
