/**
 * Prometheus text exposition (format 0.0.4) of pool snapshots.
 *
 * Labels are `pool` (bounded by configuration; a pool's type is its name, so no second label) and, on
 * the `*_total` families that split by result, `outcome` (at most six values): cardinality never grows with traffic (no agent
 * ids, no task names). Histograms are exported with a coarse subset of the
 * collector's bucket bounds (every `bucketStride`-th) — cumulative counts at a bucket bound are exact,
 * so any subset is still a correct Prometheus histogram, just a coarser one.
 */
import type { HistogramSnapshot } from './histogram.js';
import { ACQUIRE_RESULTS, type PoolMetricsSnapshot, TASK_RESULTS } from './pool-metrics.js';

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
  /** Several series per pool: an extra label (its name and value) and the series' value each. */
  series?: (s: PoolMetricsSnapshot) => (readonly [string, string, number])[];
  histogram?: (s: PoolMetricsSnapshot) => HistogramSnapshot;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'tasks_total',
    help: 'Task runs by how they ended (succeeded, failed, timed_out, cancelled, lost); leases and submits.',
    kind: 'counter',
    series: (s) => TASK_RESULTS.map((r) => ['outcome', r, s.tasks[r]] as const),
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
      [
        'security_denials_total',
        'security_denials',
        'Actions refused by a security profile (tool, file, network, process).',
      ],
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
    name: 'agents_warm',
    help: 'Warm standby: idle agents kept ready beyond demand (pool option standby), ready now.',
    kind: 'gauge',
    value: (s) => s.warmStandby ?? 0,
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
    name: 'lease_seconds',
    help: 'How long leases were held, grant to release (a lease can run several tasks).',
    kind: 'histogram',
    histogram: (s) => s.serviceHistogram,
  },
  {
    name: 'requests_total',
    help: 'Work that arrived: acquire() calls and submitted tasks (rates: PromQL rate()).',
    kind: 'counter',
    value: (s) => s.requestsTotal,
  },
  {
    name: 'leases_total',
    help: 'Leases that ended: released by the caller, or lost (agent gone, lease expired).',
    kind: 'counter',
    series: (s) => [
      ['outcome', 'released', s.outcomes.success],
      ['outcome', 'lost', s.outcomes.error + s.outcomes.timeout],
    ],
  },
  {
    name: 'acquires_total',
    help: 'acquire() calls that ended: granted, exhausted (ERR_POOL_EXHAUSTED), rejected (resources, a failed or stopping pool), cancelled.',
    kind: 'counter',
    series: (s) => ACQUIRE_RESULTS.map((r) => ['outcome', r, s.acquires?.[r] ?? 0] as const),
  },
  // Per resource: reserved (the live allocations), used (samples and reports), and used / reserved.
  ...(
    [
      ['memory', 'bytes', 'memoryMb', 1024 * 1024, 'Memory'],
      ['cpu', 'cores', 'cpuCores', 1, 'CPU cores'],
      ['tokens', '', 'tokens', 1, 'Tokens'],
    ] as const
  ).flatMap(([r, unit, key, scale, what]): Family[] => {
    const suffix = unit ? `_${unit}` : '';
    return [
      {
        name: `${r}_allocated${suffix}`,
        help: `${what} reserved for the pool (its live allocations).`,
        kind: 'gauge',
        value: (s) => s.allocated[key] * scale,
      },
      {
        name: `${r}_used${suffix}`,
        help: `${what} the pool's agents use: thread agents' samples (heap; CPU time, or event-loop share on Node < 22.15) and leases' reported usage.`,
        kind: 'gauge',
        value: (s) => s.used[key] * scale,
      },
      {
        name: `${r}_efficiency_ratio`,
        help: `${what}: used / allocated.`,
        kind: 'gauge',
        value: (s) => s.efficiency[key],
      },
    ];
  }),
];

/** One sample of a {@link MetricFamily}: a series name (the family's, or `_bucket` / `_sum` / `_count`), labels, a value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family, ready to render in the text format or to hand to a prom-client registry. */
export interface MetricFamily {
  name: string;
  help: string;
  type: Kind;
  samples: MetricSample[];
}

/**
 * The metric families of `snapshots` (one per pool), each family once with one series per pool — the
 * single definition both {@link toPrometheus} and {@link promClientMetrics} render.
 */
export function metricFamilies(
  snapshots: readonly PoolMetricsSnapshot[],
  options: PrometheusOptions = {},
): MetricFamily[] {
  const prefix = options.prefix ?? 'agentpool';
  const stride = Math.max(1, Math.floor(options.bucketStride ?? 5));
  const out: MetricFamily[] = [];
  for (const f of FAMILIES) {
    const name = `${prefix}_${f.name}`;
    const samples: MetricSample[] = [];
    for (const s of snapshots) {
      // One label: a pool's `type` is its name, so a second label would only repeat it.
      const pool = s.pool;
      if (f.value) {
        samples.push({ name, labels: { pool }, value: f.value(s) });
        continue;
      }
      if (f.series) {
        for (const [key, label, value] of f.series(s))
          samples.push({ name, labels: { pool, [key]: label }, value });
        continue;
      }
      const h = f.histogram?.(s);
      if (!h) continue;
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i] ?? 0;
        // Always emit the last finite bound so the coarse series still ends where the layout does.
        if (i % stride === 0 || i === h.bounds.length - 1) {
          samples.push({
            name: `${name}_bucket`,
            labels: { pool, le: formatLe(h.bounds[i] as number) },
            value: cumulative,
          });
        }
      }
      samples.push({ name: `${name}_bucket`, labels: { pool, le: '+Inf' }, value: h.count });
      samples.push({ name: `${name}_sum`, labels: { pool }, value: h.sum });
      samples.push({ name: `${name}_count`, labels: { pool }, value: h.count });
    }
    out.push({ name, help: f.help, type: f.kind, samples });
  }
  return out;
}

/** Render one sample line. */
function sampleLine(s: MetricSample): string {
  const labels = Object.entries(s.labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(',');
  return `${s.name}{${labels}} ${formatValue(s.value)}`;
}

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
  const lines: string[] = [];
  for (const f of metricFamilies(snapshots, options)) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(sampleLine(s));
  }
  return `${lines.join('\n')}\n`;
}

/** What {@link promClientMetrics} reads: an `AgentPoolSystem`, or anything with its `metrics()`. */
export interface MetricsSnapshotSource {
  metrics(): readonly PoolMetricsSnapshot[];
}

/**
 * A metric in the shape prom-client's `Registry.registerMetric()` accepts: a name, a type and an
 * async `get()` that a registry awaits on every scrape (prom-client's own metrics have the same
 * contract; nothing here imports prom-client).
 */
export interface PromClientMetric {
  readonly name: string;
  readonly help: string;
  readonly type: Kind;
  /** The metric at scrape time, in prom-client's `MetricObjectWithValues` shape. */
  get(): Promise<{
    name: string;
    help: string;
    type: Kind;
    aggregator: 'sum';
    values: { value: number; labels: Record<string, string>; metricName: string }[];
  }>;
  /** Nothing to reset: the values are the pools' own counters. */
  reset(): void;
}

/**
 * The system's metrics as prom-client metrics, so they join an application's registry and are
 * scraped with the rest (every scrape reads fresh snapshots; one snapshot per scrape serves every
 * family). Register each:
 *
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { promClientMetrics } from 'agentpool/metrics';
 * for (const m of promClientMetrics(system)) register.registerMetric(m as never);
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
 * ```
 */
export function promClientMetrics(
  source: MetricsSnapshotSource,
  options: PrometheusOptions = {},
): PromClientMetric[] {
  if (typeof source?.metrics !== 'function') {
    throw new TypeError('promClientMetrics(source): source must have a metrics() method');
  }
  // A registry calls get() on every metric in the same tick: compute the families once per scrape.
  let cached: Promise<Map<string, MetricFamily>> | undefined;
  const families = (): Promise<Map<string, MetricFamily>> => {
    cached ??= Promise.resolve().then(() => {
      const map = new Map(metricFamilies(source.metrics(), options).map((f) => [f.name, f]));
      queueMicrotask(() => setImmediate(() => (cached = undefined)));
      return map;
    });
    return cached;
  };
  return metricFamilies([], options).map((f): PromClientMetric => ({
    name: f.name,
    help: f.help,
    type: f.type,
    async get() {
      const fam = (await families()).get(f.name) as MetricFamily;
      return {
        name: f.name,
        help: f.help,
        type: f.type,
        aggregator: 'sum',
        values: fam.samples.map((s) => ({ value: s.value, labels: s.labels, metricName: s.name })),
      };
    },
    reset() {},
  }));
}
