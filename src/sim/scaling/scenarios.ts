/**
 * Demand scenarios for the scaling simulation: a rate function λ(t) (requests per second at simulated
 * time t, in ms) plus its duration, peak and mean. Arrivals are drawn from λ(t) as a seeded
 * non-homogeneous Poisson process (see arrivals.ts), or replayed from a trace.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Distribution } from '../../core/random.js';

/** Built-in scenario names. */
export const SCENARIOS = [
  'constant',
  'step',
  'diurnal',
  'square',
  'idle-gaps',
  'heavy-tail',
  'rate-limited',
] as const;

/** A built-in scenario name. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** A demand scenario. */
export interface Scenario {
  /** Name (built-in or 'trace'). */
  name: string;
  /** Simulated duration, ms. */
  durationMs: number;
  /** Arrival rate at time t (ms), requests/s. */
  rate: (tMs: number) => number;
  /** An upper bound of `rate` over the run (used for thinning and for the peak-sized pool). */
  peakRatePerS: number;
  /** Time-averaged rate over the run (used for the fixed Little's-law pool). */
  meanRatePerS: number;
  /** Explicit arrival times (ms) for trace scenarios; when set, `rate` is informational only. */
  arrivals?: readonly number[];
  /** Explicit service times (ms) matching `arrivals`, if the trace has them. */
  services?: readonly (number | undefined)[];
  /**
   * The scenario's own service-time distribution (used when the simulation is given none): how an
   * agent workload differs from the default lognormal CV 1.5.
   */
  service?: Distribution;
  /**
   * Tasks start at most this often (per second), whatever the number of idle agents: an upstream
   * rate limit (an LLM API quota). Tasks held back wait in the pool's backlog as `rateLimited`.
   */
  rateLimitPerS?: number;
}

/** Options of {@link makeScenario}. */
export interface ScenarioOptions {
  /** Peak arrival rate, requests/s. */
  peakRatePerS: number;
  /** Duration override in hours (defaults per scenario: 24 for diurnal, 2 for square and idle-gaps, 1 else). */
  hours?: number;
}

const MIN = 60_000;
const HOUR = 3_600_000;

function meanOf(rate: (t: number) => number, durationMs: number): number {
  // 1-second resolution is exact enough for every built-in shape (the square wave has 60 s phases).
  const steps = Math.max(1, Math.floor(durationMs / 1000));
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += rate((i + 0.5) * 1000);
  return sum / steps;
}

/**
 * Build a scenario.
 *
 * - `constant`: Poisson at the peak rate.
 * - `step`: a quarter of the peak, ×4 for 10 minutes starting at minute 20 (or a third of the run).
 * - `diurnal`: sine over 24 h around the mean, ±60 % (starts at the trough at midnight).
 * - `square`: ±30 % around the mean, 2-minute period (60 s high, 60 s low).
 * - `idle-gaps`: 10-minute bursts at the peak rate separated by 20 minutes without any arrival.
 * - `heavy-tail`: the `step` shape with lognormal service times of CV 2.5 (LLM calls and test runs:
 *   most are short, a few take ten times the mean) instead of the default CV 1.5.
 * - `rate-limited`: the `step` shape, but tasks may start at most at 40 % of the peak rate (an
 *   upstream quota): during the step more agents do not help, and a scaler should not grow for it.
 *
 * @example
 * ```ts
 * const s = makeScenario('step', { peakRatePerS: 1.875 });
 * ```
 */
export function makeScenario(name: ScenarioName, options: ScenarioOptions): Scenario {
  const peak = options.peakRatePerS;
  if (!(typeof peak === 'number' && Number.isFinite(peak) && peak > 0)) {
    throw new InvalidArgumentError('scenario.peakRatePerS', peak, 'a number > 0');
  }
  if (options.hours !== undefined && !(Number.isFinite(options.hours) && options.hours > 0)) {
    throw new InvalidArgumentError('scenario.hours', options.hours, 'a number > 0');
  }
  const hours = (fallback: number) => (options.hours ?? fallback) * HOUR;
  let durationMs: number;
  let rate: (t: number) => number;
  switch (name) {
    case 'constant':
      durationMs = hours(1);
      rate = () => peak;
      break;
    case 'step':
    case 'heavy-tail':
    case 'rate-limited': {
      durationMs = hours(1);
      const start = Math.min(20 * MIN, durationMs / 3);
      const end = start + 10 * MIN;
      rate = (t) => (t >= start && t < end ? peak : peak / 4);
      break;
    }
    case 'diurnal': {
      durationMs = hours(24);
      const mean = peak / 1.6;
      rate = (t) => mean * (1 - 0.6 * Math.cos((2 * Math.PI * t) / (24 * HOUR)));
      break;
    }
    case 'square': {
      durationMs = hours(2);
      const mean = peak / 1.3;
      rate = (t) => (Math.floor(t / MIN) % 2 === 0 ? mean * 1.3 : mean * 0.7);
      break;
    }
    case 'idle-gaps':
      durationMs = hours(2);
      rate = (t) => (t % (30 * MIN) < 10 * MIN ? peak : 0);
      break;
    default:
      throw new InvalidArgumentError('scenario', name, `one of ${SCENARIOS.join(', ')}`);
  }
  const extra: Partial<Scenario> =
    name === 'heavy-tail'
      ? { service: { kind: 'lognormal', mean: 20_000, cv: 2.5 } }
      : name === 'rate-limited'
        ? { rateLimitPerS: 0.4 * peak }
        : {};
  return { name, durationMs, rate, peakRatePerS: peak, meanRatePerS: meanOf(rate, durationMs), ...extra };
}

/** Whether `name` is a built-in scenario. */
export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}
