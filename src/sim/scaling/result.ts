/**
 * What a scaling simulation returns (shared by both engines and the measurements, so neither imports
 * the other).
 */

/** Policies the simulator can run. */
export const POLICIES = ['agentpool', 'hpa', 'fixed', 'peak'] as const;

/** A policy name. */
export type PolicyName = (typeof POLICIES)[number];

/** Time series sampled every `sampleMs`. */
export interface SimulationSeries {
  /** End of each interval, seconds. */
  t: number[];
  /** Arrivals per minute in the interval. */
  demandPerMin: number[];
  /** Time-averaged pool size (agents held, starting included). */
  size: number[];
  /** busy / ready over the interval. */
  utilization: number[];
  /** p99 wait of the tasks that started in the interval, seconds. */
  waitP99S: number[];
}

/** One applied size change. */
export interface ScaleEvent {
  /** Seconds. */
  t: number;
  from: number;
  to: number;
}

/** Result of one simulation. */
export interface SimulationResult {
  scenario: string;
  policy: PolicyName;
  seed: number;
  simulatedS: number;
  /** Tasks that arrived. */
  tasks: number;
  /** Tasks that completed within the run. */
  completed: number;
  /** Exact percentiles over every task (tasks still queued at the end count with their wait so far). */
  p50WaitS: number;
  p90WaitS: number;
  p99WaitS: number;
  meanWaitS: number;
  /** % of tasks that waited longer than the SLO (30 s). */
  sloViolationPct: number;
  /** Agent-seconds held, start-up and draining included. */
  agentSeconds: number;
  /** Agent-seconds spent running tasks. */
  busySeconds: number;
  /** 100 × (1 − busy / held). */
  slackPct: number;
  meanSize: number;
  maxSize: number;
  /** Applied size changes. */
  scaleEvents: number;
  /** Direction reversals within the flap window. */
  flaps: number;
  events: ScaleEvent[];
  series: SimulationSeries;
  /** Wall-clock milliseconds the run took (informational; never asserted). */
  wallMs: number;
  /** Simulated seconds per wall-clock second. */
  speed: number;
}
