/**
 * Measurement helpers shared by the two scaling-simulation engines: exact wait percentiles and their
 * summary, flap counting, and the mean of a service distribution.
 */
import type { PolicyName, ScaleEvent, SimulationResult, SimulationSeries } from './result.js';

export { distributionMean } from '../queueing.js';

/** Growable Float64 array for the exact wait percentiles. */
export class Samples {
  /** Storage; grows by doubling. */
  private data = new Float64Array(1024);
  length = 0;
  /** Add one sample. */
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** A sorted copy of the samples. */
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

/** The q-quantile (nearest rank) of ascending samples; 0 when empty. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Wait percentiles, mean and SLO share of a run, from its sorted waits (seconds). */
export function waitStats(
  sorted: Float64Array,
  violations: number,
): { p50WaitS: number; p90WaitS: number; p99WaitS: number; meanWaitS: number; sloViolationPct: number } {
  let sum = 0;
  for (const w of sorted) sum += w;
  return {
    p50WaitS: quantile(sorted, 0.5),
    p90WaitS: quantile(sorted, 0.9),
    p99WaitS: quantile(sorted, 0.99),
    meanWaitS: sorted.length ? sum / sorted.length : 0,
    sloViolationPct: sorted.length ? (100 * violations) / sorted.length : 0,
  };
}

/** An applied size change at `t` seconds. */
interface SizeChange {
  t: number;
  from: number;
  to: number;
}

/** Direction reversals closer than `windowMs` (a scale-up followed by a scale-down or vice versa). */
export function countFlaps(events: readonly SizeChange[], windowMs: number): number {
  let flaps = 0;
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1] as SizeChange;
    const b = events[i] as SizeChange;
    const da = Math.sign(a.to - a.from);
    const db = Math.sign(b.to - b.from);
    if (da !== 0 && db !== 0 && da !== db && (b.t - a.t) * 1000 < windowMs) flaps++;
  }
  return flaps;
}

/** What both engines measured over a run, as {@link resultOf} turns it into a result. */
export interface RunMeasures {
  scenario: { name: string; durationMs: number };
  policy: PolicyName;
  seed: number;
  tasks: number;
  completed: number;
  /** Every measured wait, seconds (tasks still queued at the end with their wait so far). */
  waits: Samples;
  /** Waits above the SLO. */
  violations: number;
  /** Agent-ms held and busy, and size-ms, over the measured part of the run. */
  heldMs: number;
  busyMs: number;
  sizeMs: number;
  maxSize: number;
  events: ScaleEvent[];
  flapWindowMs: number;
  series: SimulationSeries;
  /** `performance.now()` when the run began, and the simulated end (ms). */
  wallStart: number;
  endMs: number;
}

/** The result both engines report, from what they measured. */
export function resultOf(m: RunMeasures): SimulationResult {
  const wallMs = performance.now() - m.wallStart;
  const agentSeconds = m.heldMs / 1000;
  const busySeconds = m.busyMs / 1000;
  return {
    scenario: m.scenario.name,
    policy: m.policy,
    seed: m.seed,
    simulatedS: m.scenario.durationMs / 1000,
    tasks: m.tasks,
    completed: m.completed,
    ...waitStats(m.waits.sorted(), m.violations),
    agentSeconds,
    busySeconds,
    slackPct: agentSeconds > 0 ? 100 * (1 - busySeconds / agentSeconds) : 0,
    meanSize: m.sizeMs / Math.max(1, m.scenario.durationMs),
    maxSize: m.maxSize,
    scaleEvents: m.events.length,
    flaps: countFlaps(m.events, m.flapWindowMs),
    events: m.events,
    series: m.series,
    wallMs,
    speed: wallMs > 0 ? m.endMs / wallMs : Number.POSITIVE_INFINITY,
  };
}
