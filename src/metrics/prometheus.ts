/**
 * Prometheus text exposition (format 0.0.4) of pool snapshots.
 *
 * Labels are `pool` (bounded by configuration; a pool's type is its name, so no second label) and, on
 * `agentpool_tasks_total`, `outcome` (six values): cardinality never grows with traffic (no agent
 * ids, no task names). Histograms are exported with a coarse subset of the
 * collector's bucket bounds (every `bucketStride`-th) — cumulative counts at a bucket bound are exact,
 * so any subset is still a correct Prometheus histogram, just a coarser one.
 */
import type { HistogramSnapshot } from './histogram.js';
import { type PoolMetricsSnapshot, TASK_RESULTS } from './pool-metrics.js';

/** Options of {@link toPrometheus}. */
export interface PrometheusOptions {
  /** Metric name prefix. @default 'agentpool' */
  prefix?: string;
  /** Export every n-th histogram bound (n ≥ 1). @default 5 (four bounds per decade with the default layout) */
  bucketStride?: number;
}

/** Escape a label value: backslash, double quote and newline, as the format requires. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escape HELP text: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Format a sample value the way Prometheus parses it (`+Inf`, `-Inf`, `NaN`, else a JS number). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** `le` value of a bound: 6 significant digits keeps labels short and stable across platforms. */
function formatLe(v: number): string {
  return String(Number(v.toPrecision(6)));
}

type Kind = 'gauge' | 'counter' | 'histogram';

interface Family {
  name: string;
  help: string;
  kind: Kind;
  value?: (s: PoolMetricsSnapshot) => number;
  /** Several series per pool: an extra label (`name="value"`) and its value each. */
  series?: (s: PoolMetricsSnapshot) => [string, number][];
  histogram?: (s: PoolMetricsSnapshot) => HistogramSnapshot;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'tasks_total',
    help: 'Task runs by how they ended (succeeded, failed, timed_out, cancelled, lost); leases and submits.',
    kind: 'counter',
    series: (s) => TASK_RESULTS.map((r) => [`outcome="${r}"`, s.tasks[r]]),
  },
  ...(
    [
      [
        'agent_crashes_total',
        'crashes',
        'Agent crashes (a worker exit or crash, a failed start, a kill when unresponsive).',
      ],
      ['agent_restarts_total', 'restarts', 'Agent restarts after a crash (with backoff).'],
      [
        'agent_evictions_total',
        'evictions',
        'Agents evicted by the circuit breaker (too many failures in a row).',
      ],
      ['agent_oom_total', 'oom', 'Thread agents stopped for memory (hard cap, or their tasks allocation).'],
      ['budget_refusals_total', 'budget_refusals', 'Token reservations refused by a budget.'],
    ] as const
  ).map(([name, key, help]): Family => ({ name, help, kind: 'counter', value: (s) => s.incidents[key] })),
  {
    name: 'task_run_seconds',
    help: 'How long task runs took, start to settle.',
    kind: 'histogram',
    histogram: (s) => s.taskRunHistogram,
  },
  {
    name: 'agents',
    help: 'The pool size: agents starting or up, retiring ones excluded.',
    kind: 'gauge',
    value: (s) => s.agents.total,
  },
  {
    name: 'agents_available',
    help: 'Ready agents not leased (ready minus busy).',
    kind: 'gauge',
    value: (s) => s.agents.available,
  },
  {
    name: 'agents_busy',
    help: 'Leases held, at most the ready agents.',
    kind: 'gauge',
    value: (s) => s.agents.busy,
  },
  {
    name: 'agents_starting',
    help: 'Agents spawned but not ready yet.',
    kind: 'gauge',
    value: (s) => s.agents.starting,
  },
  {
    name: 'agents_standby',
    help: 'Agents held but not taking new work: starting, restarting or retiring.',
    kind: 'gauge',
    value: (s) => s.agents.standby ?? 0,
  },
  {
    name: 'utilization_ratio',
    help: 'Busy agents / ready agents.',
    kind: 'gauge',
    value: (s) => s.utilization,
  },
  {
    name: 'queue_depth',
    help: 'Acquisitions and submitted tasks waiting for an agent.',
    kind: 'gauge',
    value: (s) => s.queueDepth,
  },
  {
    name: 'wait_seconds',
    help: 'Time waited for an agent.',
    kind: 'histogram',
    histogram: (s) => s.waitHistogram,
  },
  {
    name: 'service_seconds',
    help: 'Time an agent spent on a task.',
    kind: 'histogram',
    histogram: (s) => s.serviceHistogram,
  },
  {
    name: 'requests_per_minute',
    help: 'Requests per minute over the rate window.',
    kind: 'gauge',
    value: (s) => s.requestRatePerMin,
  },
  {
    name: 'completions_per_minute',
    help: 'Completions per minute over the rate window.',
    kind: 'gauge',
    value: (s) => s.completionRatePerMin,
  },
  {
    name: 'tasks_succeeded_total',
    help: 'Tasks that succeeded.',
    kind: 'counter',
    value: (s) => s.outcomes.success,
  },
  {
    name: 'tasks_failed_total',
    help: 'Tasks that failed with an error.',
    kind: 'counter',
    value: (s) => s.outcomes.error,
  },
  {
    name: 'tasks_timed_out_total',
    help: 'Tasks that timed out.',
    kind: 'counter',
    value: (s) => s.outcomes.timeout,
  },
  {
    name: 'memory_allocated_bytes',
    help: 'Memory reserved for the pool.',
    kind: 'gauge',
    value: (s) => s.allocated.memoryMb * 1024 * 1024,
  },
  {
    name: 'cpu_allocated_cores',
    help: 'CPU cores reserved for the pool.',
    kind: 'gauge',
    value: (s) => s.allocated.cpuCores,
  },
  {
    name: 'tokens_allocated',
    help: 'Tokens reserved for the pool.',
    kind: 'gauge',
    value: (s) => s.allocated.tokens,
  },
  {
    name: 'memory_efficiency_ratio',
    help: 'Memory used / allocated.',
    kind: 'gauge',
    value: (s) => s.efficiency.memoryMb,
  },
  {
    name: 'cpu_efficiency_ratio',
    help: 'CPU used / allocated.',
    kind: 'gauge',
    value: (s) => s.efficiency.cpuCores,
  },
  {
    name: 'tokens_efficiency_ratio',
    help: 'Tokens used / allocated.',
    kind: 'gauge',
    value: (s) => s.efficiency.tokens,
  },
  {
    name: 'throughput_per_agent_per_minute',
    help: 'Completions per minute per ready agent.',
    kind: 'gauge',
    value: (s) => s.throughputPerAgentPerMin,
  },
];

/**
 * Render snapshots (one per pool) as Prometheus text. Each metric family appears once, with one
 * series per pool.
 *
 * @example
 * ```ts
 * res.setHeader('content-type', 'text/plain; version=0.0.4');
 * res.end(toPrometheus(pools.map((p) => p.metrics.snapshot(clock.now()))));
 * ```
 */
export function toPrometheus(
  snapshots: readonly PoolMetricsSnapshot[],
  options: PrometheusOptions = {},
): string {
  const prefix = options.prefix ?? 'agentpool';
  const stride = Math.max(1, Math.floor(options.bucketStride ?? 5));
  const lines: string[] = [];
  for (const f of FAMILIES) {
    const name = `${prefix}_${f.name}`;
    lines.push(`# HELP ${name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${name} ${f.kind}`);
    for (const s of snapshots) {
      // One label: a pool's `type` is its name, so a second label would only repeat it.
      const labels = `pool="${escapeLabelValue(s.pool)}"`;
      if (f.value) {
        lines.push(`${name}{${labels}} ${formatValue(f.value(s))}`);
        continue;
      }
      if (f.series) {
        for (const [extra, v] of f.series(s)) lines.push(`${name}{${labels},${extra}} ${formatValue(v)}`);
        continue;
      }
      const h = f.histogram?.(s);
      if (!h) continue;
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i] ?? 0;
        // Always emit the last finite bound so the coarse series still ends where the layout does.
        if (i % stride === 0 || i === h.bounds.length - 1) {
          lines.push(`${name}_bucket{${labels},le="${formatLe(h.bounds[i] as number)}"} ${cumulative}`);
        }
      }
      lines.push(`${name}_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`${name}_sum{${labels}} ${formatValue(h.sum)}`);
      lines.push(`${name}_count{${labels}} ${h.count}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
