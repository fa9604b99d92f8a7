/**
 * Per-pool metrics collector. The pool (or the simulator) reports what happens — agent counts, queue
 * depth, each wait, each completion, resource allocations — and readers take a {@link PoolMetricsSnapshot}.
 * `collect(now)` closes one collection interval and pushes its sample into a bounded
 * {@link TimeSeriesRing}, which is what the scaler and the forecaster read as history.
 *
 * Time is always passed in (`now`, ms) so the collector runs on any clock.
 *
 * Why one file over 400 lines: most of it is the snapshot and sample types with their TSDoc (the metric
 * reference users read); the collector itself is small.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { record as asRecord, knownKeys, num, str } from '../core/validate.js';
import { Histogram, type HistogramOptions, type HistogramSnapshot } from './histogram.js';
import { RateCounter } from './rate-counter.js';
import { TimeSeriesRing } from './time-series-ring.js';

/** Options of a {@link PoolMetrics} collector. */
export interface PoolMetricsOptions {
  /** Pool name (a Prometheus label value). */
  pool: string;
  /** Agent type of the pool (a Prometheus label value). @default the pool name */
  type?: string;
  /** Samples kept in the history ring. @default 1440 (a day of 1-minute samples) */
  historyCapacity?: number;
  /** Sliding window of the request/completion rates, in ms. @default 60000 */
  rateWindowMs?: number;
  /** Layout of the wait/service histograms (values in seconds). */
  histogram?: HistogramOptions;
  /**
   * When the pool began (ms, the caller's clock): rates in the first window are divided by the time
   * elapsed since then, not the full window (see `RateCounterOptions.startMs`).
   * @default undefined (full window)
   */
  startMs?: number;
}

/** Agent counts by state. `total` = available + busy + starting (draining agents are not counted). */
export interface AgentCounts {
  /** Every agent the pool holds, starting ones included. */
  total: number;
  /** Ready and idle. */
  available: number;
  /** Running work. */
  busy: number;
  /** Spawned, not yet ready. */
  starting: number;
  /**
   * Held but not taking new work: starting, restarting after a crash, or retiring (draining its last
   * leases before it stops). Retiring agents are not in `total`. @default 0
   */
  standby?: number;
}

/** Resource amounts (allocated or used). */
export interface ResourceAmounts {
  /** Memory in MB. */
  memoryMb: number;
  /** CPU in cores. */
  cpuCores: number;
  /** Tokens. */
  tokens: number;
}

/** Percentile summary of a histogram, in seconds. */
export interface LatencySummary {
  count: number;
  sum: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** How a lease ended (`recordCompletion`: one per lease released or lost). */
export type TaskOutcome = 'success' | 'error' | 'timeout';

/** Incidents counted per pool (`recordIncident`), fed by the system's events. */
export const INCIDENTS = [
  'crashes',
  'restarts',
  'evictions',
  'oom',
  'budget_refusals',
  'security_denials',
] as const;
/** One kind of incident. */
export type Incident = (typeof INCIDENTS)[number];

/**
 * How one task run ended (`recordTask`: one per task, on a lease or submitted). `retried` counts the
 * failed runs of submitted tasks that `retry` runs again (`recordRetry`; each also counts as failed or
 * timed out).
 */
export const TASK_RESULTS = ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'retried'] as const;
/** How one task run ended. */
export type TaskResult = (typeof TASK_RESULTS)[number];

/** How an `acquire()` ended (the pool's counters; `agentpool_acquires_total{outcome}`). */
export const ACQUIRE_RESULTS = ['granted', 'exhausted', 'rejected', 'cancelled'] as const;
/** How an `acquire()` ended. */
export type AcquireResult = (typeof ACQUIRE_RESULTS)[number];

/** Everything known about one pool at one instant. */
export interface PoolMetricsSnapshot {
  pool: string;
  type: string;
  /** Time of the snapshot (ms on the collector's clock). */
  at: number;
  agents: AgentCounts;
  /** busy / (available + busy); 0 with no ready agent. */
  utilization: number;
  /** Acquisitions/tasks waiting for an agent. */
  queueDepth: number;
  /** Wait time (queueing) since start, seconds. */
  wait: LatencySummary;
  /** Service time since start, seconds. */
  service: LatencySummary;
  /** Full histograms for exposition. */
  waitHistogram: HistogramSnapshot;
  serviceHistogram: HistogramSnapshot;
  /** Requests per minute over the rate window. */
  requestRatePerMin: number;
  /** Requests (acquire() calls and submitted tasks) since start: a counter, for PromQL `rate()`. */
  requestsTotal: number;
  /**
   * Ended acquire() calls by result since start — read from the pool's own counters by the runtime
   * (absent from a bare collector, which never sees an acquire).
   */
  acquires?: Record<AcquireResult, number>;
  /** Idle agents of the warm standby ready now (pool option `standby`; set by the runtime). */
  warmStandby?: number;
  /** Completions per minute over the rate window. */
  completionRatePerMin: number;
  /** Lease completions by outcome since start (a lease released: success; lost with its agent: error). */
  outcomes: Record<TaskOutcome, number>;
  /** Task runs by how they ended, since start (every task: on a lease or submitted; retries count each run). */
  tasks: Record<TaskResult, number>;
  /** How long task runs took (start to settle), seconds. */
  taskRun: LatencySummary;
  /** Agent and budget incidents since start (from the system's events). */
  incidents: Record<Incident, number>;
  taskRunHistogram: HistogramSnapshot;
  /** Outcome rates per minute over the rate window. */
  outcomeRatePerMin: Record<TaskOutcome, number>;
  /** Resources reserved for the pool's agents. */
  allocated: ResourceAmounts;
  /** Resources actually used. */
  used: ResourceAmounts;
  /** used / allocated per resource (0 when nothing is allocated). */
  efficiency: ResourceAmounts;
  /** Completions per minute per ready agent. */
  throughputPerAgentPerMin: number;
}

/** One collection interval, as kept in the history ring. */
export interface PoolMetricsSample {
  /** End of the interval (ms). */
  at: number;
  /** Length of the interval (ms). */
  intervalMs: number;
  agents: AgentCounts;
  utilization: number;
  queueDepth: number;
  /** Requests that arrived in the interval. */
  requests: number;
  /** Completions in the interval. */
  completions: number;
  /** Wait percentiles of tasks that started in the interval, seconds. */
  wait: LatencySummary;
  /** Service percentiles of tasks that completed in the interval, seconds. */
  service: LatencySummary;
}

const KEYS = new Set(['pool', 'type', 'historyCapacity', 'rateWindowMs', 'histogram', 'startMs']);
const ZERO: ResourceAmounts = { memoryMb: 0, cpuCores: 0, tokens: 0 };

function summary(h: Histogram): LatencySummary {
  // No snapshot() here: it copies every bucket, and summaries are taken once per interval per pool.
  return {
    count: h.count,
    sum: h.sum,
    p50: h.percentile(0.5),
    p90: h.percentile(0.9),
    p99: h.percentile(0.99),
    max: h.max,
  };
}

function nonNegative(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new InvalidArgumentError(path, v, 'a finite number >= 0');
  return v;
}

/**
 * Metrics of one pool.
 *
 * @example
 * ```ts
 * const m = new PoolMetrics({ pool: 'code' });
 * m.recordRequest(now);
 * m.setAgents({ total: 3, available: 1, busy: 2, starting: 0 });
 * m.recordWait(0.4);
 * m.recordCompletion(now, 12.5, 'success');
 * m.collect(now); // one sample into m.history
 * ```
 */
export class PoolMetrics {
  /** Pool name. */
  readonly pool: string;
  /** Pool agent type. */
  readonly type: string;
  /** Per-interval samples, oldest first. */
  readonly history: TimeSeriesRing<PoolMetricsSample>;
  private agents: AgentCounts = { total: 0, available: 0, busy: 0, starting: 0, standby: 0 };
  private queue = 0;
  private readonly waitAll: Histogram;
  private readonly serviceAll: Histogram;
  private readonly waitInterval: Histogram;
  private readonly serviceInterval: Histogram;
  private readonly requests: RateCounter;
  private readonly completions: RateCounter;
  private readonly outcomeRates: Record<TaskOutcome, RateCounter>;
  private readonly outcomes: Record<TaskOutcome, number> = { success: 0, error: 0, timeout: 0 };
  private readonly tasks: Record<TaskResult, number> = {
    succeeded: 0,
    failed: 0,
    timed_out: 0,
    cancelled: 0,
    lost: 0,
    retried: 0,
  };
  private readonly taskRunAll: Histogram;
  private readonly incidents: Record<Incident, number> = {
    crashes: 0,
    restarts: 0,
    evictions: 0,
    oom: 0,
    budget_refusals: 0,
    security_denials: 0,
  };
  private allocatedRes: ResourceAmounts = { ...ZERO };
  private usedRes: ResourceAmounts = { ...ZERO };
  private intervalRequests = 0;
  private requestsTotal = 0;
  private intervalCompletions = 0;
  private lastCollect: number | undefined;

  constructor(options: PoolMetricsOptions) {
    const o = asRecord('argument', 'poolMetrics', options);
    knownKeys('argument', 'poolMetrics', o, KEYS);
    if (typeof o.pool !== 'string' || o.pool.length === 0) {
      throw new InvalidArgumentError('poolMetrics.pool', o.pool, 'a non-empty string');
    }
    this.pool = o.pool;
    this.type = str('argument', 'poolMetrics.type', o.type, o.pool);
    const cap = num('argument', 'poolMetrics.historyCapacity', o.historyCapacity, 1440, {
      integer: true,
      min: 1,
    });
    const windowMs = num('argument', 'poolMetrics.rateWindowMs', o.rateWindowMs, 60_000, { gt: 0 });
    const h = (o.histogram ?? {}) as HistogramOptions;
    this.waitAll = new Histogram(h);
    this.serviceAll = new Histogram(h);
    this.waitInterval = new Histogram(h);
    this.serviceInterval = new Histogram(h);
    this.taskRunAll = new Histogram(h);
    this.history = new TimeSeriesRing(cap);
    const startMs =
      o.startMs === undefined ? undefined : num('argument', 'poolMetrics.startMs', o.startMs, 0);
    const rc = () =>
      new RateCounter({ windowMs, buckets: 60, ...(startMs !== undefined ? { startMs } : {}) });
    this.requests = rc();
    this.completions = rc();
    this.outcomeRates = { success: rc(), error: rc(), timeout: rc() };
  }

  /** Set the agent counts (a gauge; call whenever they change or before a snapshot). */
  setAgents(counts: AgentCounts): void {
    const c = asRecord('argument', 'agents', counts);
    const next: AgentCounts = {
      total: nonNegative('agents.total', c.total),
      available: nonNegative('agents.available', c.available),
      busy: nonNegative('agents.busy', c.busy),
      starting: nonNegative('agents.starting', c.starting),
      standby: c.standby === undefined ? 0 : nonNegative('agents.standby', c.standby),
    };
    this.agents = next;
  }

  /** Set the number of waiting acquisitions/tasks. */
  setQueueDepth(depth: number): void {
    this.queue = nonNegative('queueDepth', depth);
  }

  /** A request (acquire/submit) arrived at `now`. */
  recordRequest(now: number, n = 1): void {
    this.requests.add(now, n);
    this.intervalRequests += n;
    this.requestsTotal += n;
  }

  /** A waiter got an agent after waiting `seconds`. */
  recordWait(seconds: number): void {
    this.waitAll.record(seconds);
    this.waitInterval.record(seconds);
  }

  /** A task finished at `now` after running `serviceSeconds`. */
  recordCompletion(now: number, serviceSeconds: number, outcome: TaskOutcome = 'success'): void {
    this.serviceAll.record(serviceSeconds);
    this.serviceInterval.record(serviceSeconds);
    this.completions.add(now);
    this.outcomeRates[outcome].add(now);
    this.outcomes[outcome]++;
    this.intervalCompletions++;
  }

  /** One incident (an agent crashed, restarted, was evicted, ran out of memory; a budget refusal). */
  recordIncident(kind: Incident): void {
    this.incidents[kind]++;
  }

  /** A task run ended with `result` after `runSeconds`. */
  recordTask(result: TaskResult, runSeconds: number): void {
    this.tasks[result]++;
    this.taskRunAll.record(Math.max(0, runSeconds));
  }

  /** A submitted task's failed run will run again (its `retry`); the run itself was recorded already. */
  recordRetry(): void {
    this.tasks.retried++;
  }

  /** Set allocated and (optionally) used resources. */
  setResources(allocated: ResourceAmounts, used: ResourceAmounts = this.usedRes): void {
    const check = (p: string, r: ResourceAmounts): ResourceAmounts => {
      const x = asRecord('argument', p, r);
      return {
        memoryMb: nonNegative(`${p}.memoryMb`, x.memoryMb),
        cpuCores: nonNegative(`${p}.cpuCores`, x.cpuCores),
        tokens: nonNegative(`${p}.tokens`, x.tokens),
      };
    };
    const a = check('allocated', allocated);
    const u = check('used', used);
    this.allocatedRes = a;
    this.usedRes = u;
  }

  /** Mean service time in seconds since start (0 before the first completion). Cheaper than a snapshot. */
  get meanServiceSeconds(): number {
    return this.serviceAll.mean;
  }

  /** Current utilization: busy / ready agents. */
  get utilization(): number {
    const ready = this.agents.available + this.agents.busy;
    return ready === 0 ? 0 : this.agents.busy / ready;
  }

  /** A snapshot as of `now`. */
  snapshot(now: number): PoolMetricsSnapshot {
    const a = this.agents;
    const ready = a.available + a.busy;
    const completionRate = this.completions.perMinute(now);
    const ratio = (u: number, al: number) => (al > 0 ? u / al : 0);
    return {
      pool: this.pool,
      type: this.type,
      at: now,
      agents: { ...a },
      utilization: this.utilization,
      queueDepth: this.queue,
      wait: summary(this.waitAll),
      service: summary(this.serviceAll),
      waitHistogram: this.waitAll.snapshot(),
      serviceHistogram: this.serviceAll.snapshot(),
      requestRatePerMin: this.requests.perMinute(now),
      requestsTotal: this.requestsTotal,
      completionRatePerMin: completionRate,
      outcomes: { ...this.outcomes },
      tasks: { ...this.tasks },
      incidents: { ...this.incidents },
      taskRun: summary(this.taskRunAll),
      taskRunHistogram: this.taskRunAll.snapshot(),
      outcomeRatePerMin: {
        success: this.outcomeRates.success.perMinute(now),
        error: this.outcomeRates.error.perMinute(now),
        timeout: this.outcomeRates.timeout.perMinute(now),
      },
      allocated: { ...this.allocatedRes },
      used: { ...this.usedRes },
      efficiency: {
        memoryMb: ratio(this.usedRes.memoryMb, this.allocatedRes.memoryMb),
        cpuCores: ratio(this.usedRes.cpuCores, this.allocatedRes.cpuCores),
        tokens: ratio(this.usedRes.tokens, this.allocatedRes.tokens),
      },
      throughputPerAgentPerMin: ready === 0 ? 0 : completionRate / ready,
    };
  }

  /**
   * Close the collection interval ending at `now`: push one {@link PoolMetricsSample} (interval
   * counts and percentiles) into {@link history} and start a new interval. Returns the sample.
   */
  collect(now: number): PoolMetricsSample {
    const sample: PoolMetricsSample = {
      at: now,
      intervalMs: this.lastCollect === undefined ? 0 : now - this.lastCollect,
      agents: { ...this.agents },
      utilization: this.utilization,
      queueDepth: this.queue,
      requests: this.intervalRequests,
      completions: this.intervalCompletions,
      wait: summary(this.waitInterval),
      service: summary(this.serviceInterval),
    };
    this.history.push(sample);
    this.waitInterval.reset();
    this.serviceInterval.reset();
    this.intervalRequests = 0;
    this.intervalCompletions = 0;
    this.lastCollect = now;
    return sample;
  }
}
