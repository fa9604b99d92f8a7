/**
 * The scaler: one per pool. Every `evaluationInterval` it reads the pool's metrics (the `readMetrics`
 * actor), asks the pure policy (`decideScaling`, with a periodic-profile demand forecast) what to do, and if
 * the answer is to resize, runs the `applyScale` actor, then cools down before observing again.
 *
 *   observing ─(after evaluationInterval | SCALER.EVALUATE)→ evaluating ─(metrics)→ deciding
 *   deciding ─(resize)→ scaling ─(done)→ cooldown ─(after cooldown)→ observing
 *   deciding ─(hold)→ observing;  evaluating/scaling ─(error | timeout)→ observing
 *   any ─SCALER.PAUSE→ paused ─SCALER.RESUME→ observing;  any ─SCALER.STOP→ stopped (final)
 *
 * Pure: effects are the named actors `readMetrics` and `applyScale`, which the runtime (or the
 * simulator) supplies with `scalerMachine.provide({ actors })`. The defaults are inert: reading fails
 * (so the scaler just keeps observing) and applying changes nothing. A pause requested while a resize
 * is in flight takes effect once the resize settles, so the scaler never forgets a resize it started.
 */
import { assign, fromPromise, setup } from 'xstate';
import {
  createForecast,
  type ForecastOptions,
  type ForecastState,
  forecastDemand,
  observeForecast,
} from '../src/policies/forecast.js';
import {
  DEFAULT_SCALING_CONFIG,
  type ScalingConfig,
  type ScalingConfigInput,
  tryValidateScalingConfig,
} from '../src/policies/scaling/config.js';
import {
  checkObservation,
  decideScaling,
  initialPolicyState,
  markApplied,
  type ScalingDecision,
  type ScalingObservation,
  type ScalingPolicyState,
} from '../src/policies/scaling/decide.js';
import { addExpected, type ExpectedBurst, expectedAgents } from '../src/policies/expected.js';

/** Input of the scaler machine. */
export interface ScalerInput {
  /** Pool this scaler manages. */
  pool: string;
  /** Scaling options (validated by the runtime before; invalid input falls back to defaults here). */
  config?: ScalingConfigInput;
  /** Forecaster options. @default a daily profile of 5-minute slots */
  forecast?: ForecastOptions;
}

/** Input of the `readMetrics` actor. */
export interface ReadMetricsInput {
  pool: string;
}

/** Input of the `applyScale` actor. */
export interface ApplyScaleInput {
  pool: string;
  /** Size before. */
  current: number;
  /** Size wanted. */
  target: number;
  /** Why (a {@link ScalingDecision} reason). */
  reason: string;
}

/** Output of the `applyScale` actor: the size actually reached (partial success is allowed). */
export interface ApplyScaleOutput {
  size: number;
}

/** A decision with what became of it. */
export interface ScalerRecord extends ScalingDecision {
  /** 'applied' (with the size reached), 'failed', 'timeout', or 'held' for hold decisions. */
  outcome: 'held' | 'pending' | 'applied' | 'failed' | 'timeout';
  /** Size reached when applied. */
  reached?: number;
}

/** Counters of what the scaler did. */
export interface ScalerStats {
  evaluations: number;
  scaleUps: number;
  scaleDowns: number;
  readFailures: number;
  applyFailures: number;
}

/** Context of the scaler machine. */
export interface ScalerContext {
  pool: string;
  config: ScalingConfig;
  policy: ScalingPolicyState;
  forecast: ForecastState;
  /** Bursts announced with SCALER.EXPECT (`system.expect()`), soonest first. */
  expected: ExpectedBurst[];
  /** Last valid observation. */
  observation: ScalingObservation | null;
  /** The resize in flight (or just decided). */
  pending: ScalingDecision | null;
  /** Bounded decision history, oldest first (`config.historySize`). */
  decisions: ScalerRecord[];
  /** Length of the current cooldown. */
  cooldownMs: number;
  /** SCALER.PAUSE arrived during a resize. */
  pauseRequested: boolean;
  /** Failures in a row (read or apply); reset by a success. */
  consecutiveFailures: number;
  /** Last error message, for inspection. */
  lastError: string | null;
  stats: ScalerStats;
}

/** Events the scaler accepts. */
export type ScalerEvent =
  | { type: 'SCALER.PAUSE' }
  | { type: 'SCALER.RESUME' }
  | { type: 'SCALER.STOP' }
  | { type: 'SCALER.EVALUATE' }
  | { type: 'SCALER.CONFIGURE'; config: ScalingConfigInput }
  /** A known upcoming burst: `tasks` arriving at `at` (validated by the runtime). */
  | { type: 'SCALER.EXPECT'; at: number; tasks: number };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function pushRecord(ctx: ScalerContext, rec: ScalerRecord): ScalerRecord[] {
  const out = ctx.decisions.concat(rec);
  const over = out.length - ctx.config.historySize;
  return over > 0 ? out.slice(over) : out;
}

/** Replace the last record (the pending one) with its outcome. */
function settleLast(ctx: ScalerContext, patch: Partial<ScalerRecord>): ScalerRecord[] {
  const last = ctx.decisions[ctx.decisions.length - 1];
  if (last?.outcome !== 'pending') return ctx.decisions;
  return [...ctx.decisions.slice(0, -1), { ...last, ...patch }];
}

/** Evaluate an observation: the decision plus the updated policy and forecast state. */
function evaluate(ctx: ScalerContext, obs: ScalingObservation) {
  const forecast = observeForecast(ctx.forecast, obs.now, obs.arrivalRatePerS);
  const f = forecastDemand(forecast, obs.now, ctx.config.forecastHorizonMs);
  // An announced burst is certain: it speaks with confidence 1 (as a floor of agents).
  const cfg = ctx.config;
  const hold = obs.meanServiceMs > 0 ? obs.meanServiceMs : cfg.forecastHorizonMs;
  const announced = expectedAgents(ctx.expected, obs.now, cfg.forecastHorizonMs, hold);
  // The forecast speaks with what it predicts for after now (`predictedPeak`), not with its own EWMA
  // level: that level lags the observations the policy already sizes for, and after a burst it held
  // a finished burst's agents as a 'forecast peak' (measured on idle-gaps: 163k → 146k agent-seconds).
  // What is predicted over the stabilisation window ahead: a floor for scale-downs (see decideScaling).
  const ahead = forecastDemand(forecast, obs.now, Math.max(cfg.forecastHorizonMs, cfg.stabilisationWindowMs));
  const next = { ratePerS: ahead.predictedPeak, confidence: ahead.confidence };
  const hint =
    announced > 0
      ? {
          peakRatio: f.peakRatio,
          peakRatePerS: f.predictedPeak,
          confidence: 1,
          minAgents: announced,
          hold: next,
        }
      : { peakRatio: f.peakRatio, peakRatePerS: f.predictedPeak, confidence: f.confidence, hold: next };
  const { decision, state } = decideScaling(obs, cfg, ctx.policy, hint);
  return { decision, policy: state, forecast };
}

/**
 * The scaler machine.
 *
 * @example
 * ```ts
 * const actor = createActor(
 *   scalerMachine.provide({
 *     actors: {
 *       readMetrics: fromPromise(async () => observe(pool)),
 *       applyScale: fromPromise(async ({ input }) => ({ size: await pool.scaleTo(input.target, input.reason) })),
 *     },
 *   }),
 *   { input: { pool: 'code', config: { min: 2, max: 20 } }, clock },
 * ).start();
 * ```
 */
export const scalerMachine = setup({
  types: {
    context: {} as ScalerContext,
    events: {} as ScalerEvent,
    input: {} as ScalerInput,
  },
  actors: {
    readMetrics: fromPromise<ScalingObservation, ReadMetricsInput>(async () => {
      throw new Error('readMetrics is not provided');
    }),
    applyScale: fromPromise<ApplyScaleOutput, ApplyScaleInput>(async ({ input }) => ({
      size: input.current,
    })),
  },
  delays: {
    evaluationInterval: ({ context }) => context.config.intervalMs,
    readTimeout: ({ context }) => context.config.intervalMs,
    applyTimeout: ({ context }) => context.config.applyTimeoutMs,
    cooldown: ({ context }) => context.cooldownMs,
  },
  guards: {
    validObservation: ({ event }) => checkObservation((event as { output?: unknown }).output) !== null,
    shouldResize: ({ context }) => context.pending !== null && context.pending.direction !== 'hold',
    pauseRequested: ({ context }) => context.pauseRequested,
  },
  actions: {
    decide: assign(({ context, event }) => {
      const obs = checkObservation((event as { output?: unknown }).output);
      if (!obs) return {};
      const { decision, policy, forecast } = evaluate(context, obs);
      const rec: ScalerRecord = { ...decision, outcome: decision.direction === 'hold' ? 'held' : 'pending' };
      return {
        observation: obs,
        policy,
        forecast,
        pending: decision,
        decisions: pushRecord(context, rec),
        consecutiveFailures: 0,
        stats: { ...context.stats, evaluations: context.stats.evaluations + 1 },
      };
    }),
    recordReadFailure: assign(({ context, event }) => ({
      lastError: `readMetrics: ${message((event as { error?: unknown }).error ?? 'invalid observation')}`,
      consecutiveFailures: context.consecutiveFailures + 1,
      stats: { ...context.stats, readFailures: context.stats.readFailures + 1 },
    })),
    recordReadTimeout: assign(({ context }) => ({
      lastError: 'readMetrics: timed out',
      consecutiveFailures: context.consecutiveFailures + 1,
      stats: { ...context.stats, readFailures: context.stats.readFailures + 1 },
    })),
    recordApplied: assign(({ context, event }) => {
      const d = context.pending;
      if (!d) return {};
      const out = (event as { output?: unknown }).output as Partial<ApplyScaleOutput> | undefined;
      const reached = typeof out?.size === 'number' && Number.isFinite(out.size) ? out.size : d.target;
      const cfg = context.config;
      const cooldownMs =
        d.direction === 'up'
          ? cfg.scaleUpCooldownMs
          : Math.min(cfg.scaleUpCooldownMs, cfg.scaleDownCooldownMs);
      return {
        policy: markApplied(context.policy, d),
        decisions: settleLast(context, { outcome: 'applied', reached }),
        pending: null,
        cooldownMs,
        consecutiveFailures: 0,
        stats: {
          ...context.stats,
          scaleUps: context.stats.scaleUps + (d.direction === 'up' ? 1 : 0),
          scaleDowns: context.stats.scaleDowns + (d.direction === 'down' ? 1 : 0),
        },
      };
    }),
    recordApplyFailure: assign(({ context, event }) => ({
      decisions: settleLast(context, { outcome: 'failed' }),
      pending: null,
      lastError: `applyScale: ${message((event as { error?: unknown }).error)}`,
      consecutiveFailures: context.consecutiveFailures + 1,
      stats: { ...context.stats, applyFailures: context.stats.applyFailures + 1 },
    })),
    recordApplyTimeout: assign(({ context }) => ({
      decisions: settleLast(context, { outcome: 'timeout' }),
      pending: null,
      lastError: 'applyScale: timed out',
      consecutiveFailures: context.consecutiveFailures + 1,
      stats: { ...context.stats, applyFailures: context.stats.applyFailures + 1 },
    })),
    expect: assign(({ context, event }) => {
      if (event.type !== 'SCALER.EXPECT') return {};
      if (!(Number.isFinite(event.at) && Number.isInteger(event.tasks) && event.tasks > 0)) return {};
      const now = context.observation?.now ?? event.at;
      return { expected: addExpected(context.expected, event, now, 3_600_000) };
    }),
    requestPause: assign({ pauseRequested: true }),
    clearPause: assign({ pauseRequested: false }),
    configure: assign(({ context, event }) => {
      if (event.type !== 'SCALER.CONFIGURE') return {};
      const r = tryValidateScalingConfig(event.config, 'scaler.config', context.config);
      // Invalid updates are refused and reported; the running config stays (actions never throw).
      if (!r.ok) return { lastError: r.error.message };
      return { config: r.config, lastError: null };
    }),
  },
}).createMachine({
  id: 'scaler',
  context: ({ input }) => {
    const r = tryValidateScalingConfig(input.config ?? {}, 'scaler.config');
    let forecast: ForecastState;
    try {
      forecast = createForecast(input.forecast ?? {});
    } catch {
      forecast = createForecast({});
    }
    return {
      pool: input.pool,
      config: r.ok ? r.config : { ...DEFAULT_SCALING_CONFIG },
      policy: initialPolicyState(),
      forecast,
      expected: [],
      observation: null,
      pending: null,
      decisions: [],
      cooldownMs: 0,
      pauseRequested: false,
      consecutiveFailures: 0,
      lastError: r.ok ? null : r.error.message,
      stats: { evaluations: 0, scaleUps: 0, scaleDowns: 0, readFailures: 0, applyFailures: 0 },
    };
  },
  initial: 'observing',
  on: {
    'SCALER.STOP': '.stopped',
    'SCALER.CONFIGURE': { actions: 'configure' },
    'SCALER.EXPECT': { actions: 'expect' },
  },
  states: {
    observing: {
      after: { evaluationInterval: 'evaluating' },
      on: { 'SCALER.EVALUATE': 'evaluating', 'SCALER.PAUSE': 'paused' },
    },
    evaluating: {
      invoke: {
        id: 'readMetrics',
        src: 'readMetrics',
        input: ({ context }) => ({ pool: context.pool }),
        onDone: [
          { guard: 'validObservation', target: 'deciding', actions: 'decide' },
          { target: 'observing', actions: 'recordReadFailure' },
        ],
        onError: { target: 'observing', actions: 'recordReadFailure' },
      },
      after: { readTimeout: { target: 'observing', actions: 'recordReadTimeout' } },
      on: { 'SCALER.PAUSE': 'paused' },
    },
    deciding: {
      always: [{ guard: 'shouldResize', target: 'scaling' }, { target: 'observing' }],
    },
    scaling: {
      invoke: {
        id: 'applyScale',
        src: 'applyScale',
        input: ({ context }) => ({
          pool: context.pool,
          current: context.pending?.current ?? 0,
          target: context.pending?.target ?? 0,
          reason: context.pending?.reason ?? 'steady',
        }),
        onDone: [
          { guard: 'pauseRequested', target: 'paused', actions: 'recordApplied' },
          { target: 'cooldown', actions: 'recordApplied' },
        ],
        onError: [
          { guard: 'pauseRequested', target: 'paused', actions: 'recordApplyFailure' },
          { target: 'observing', actions: 'recordApplyFailure' },
        ],
      },
      after: {
        applyTimeout: [
          { guard: 'pauseRequested', target: 'paused', actions: 'recordApplyTimeout' },
          { target: 'observing', actions: 'recordApplyTimeout' },
        ],
      },
      on: { 'SCALER.PAUSE': { actions: 'requestPause' } },
    },
    cooldown: {
      after: { cooldown: 'observing' },
      on: { 'SCALER.PAUSE': 'paused', 'SCALER.EVALUATE': 'evaluating' },
    },
    paused: {
      entry: 'clearPause',
      on: { 'SCALER.RESUME': 'observing' },
    },
    stopped: { type: 'final' },
  },
});
