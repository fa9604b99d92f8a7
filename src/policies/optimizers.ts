/**
 * Optimisers: read pool metrics snapshots (plus optional per-agent samples and capability demand) and
 * produce recommendations — each with the numbers that triggered it, a concrete action and an expected
 * impact whose meaning is stated. {@link applyRecommendations} applies only the kinds the operator
 * opted into; by default nothing is applied.
 *
 * Queueing estimates use the M/M/c model (Erlang C). Real service times are rarely exponential, so the
 * predicted waits are estimates for ranking and sizing, not promises.
 *
 * Over 400 lines because it holds every optimiser side by side (one pure function each, with its
 * thresholds and evidence), so their recommendations stay comparable; each is small.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { invalid, knownKeys, num, record, reqNum } from '../core/validate.js';
import type { PoolMetricsSnapshot, ResourceAmounts } from '../metrics/pool-metrics.js';
import type { StrategyName } from './balancing/index.js';
import { littleTarget } from './scaling/little.js';

// ---------------------------------------------------------------- M/M/c (Erlang C)

/**
 * Probability that an arrival waits in an M/M/c queue with `servers` servers and offered load
 * `a = λ·E[S]` (Erlang C). Returns 1 when the queue is unstable (a ≥ c), 0 when a = 0.
 *
 * Computed through the Erlang B recursion, which is numerically stable for thousands of servers.
 *
 * @example
 * ```ts
 * erlangC(2, 1); // 1/3
 * ```
 */
export function erlangC(servers: number, offeredLoad: number): number {
  const c = Math.floor(servers);
  const a = offeredLoad;
  if (!(a > 0)) return 0;
  if (c <= 0 || a >= c) return 1;
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return (c * b) / (c - a * (1 - b));
}

/**
 * The `q`-quantile of the waiting time (seconds) in an M/M/c queue: P(W > t) = C·e^{−(cμ−λ)t}, so
 * t_q = ln(C / (1 − q)) / (cμ − λ) when C > 1 − q, else 0. Infinity when the queue is unstable.
 *
 * @param arrivalRatePerS λ. @param meanServiceS E[S] = 1/μ.
 * @example
 * ```ts
 * mmcWaitQuantile(2, 0.5, 1, 0.99); // ln(10) / 1.5 ≈ 1.54 s: C = 0.1 and cμ − λ = 1.5
 * ```
 */
export function mmcWaitQuantile(
  servers: number,
  arrivalRatePerS: number,
  meanServiceS: number,
  q: number,
): number {
  if (!(arrivalRatePerS > 0) || !(meanServiceS > 0)) return 0;
  const a = arrivalRatePerS * meanServiceS;
  const c = Math.floor(servers);
  if (c <= a) return Number.POSITIVE_INFINITY;
  const pWait = erlangC(c, a);
  const tail = 1 - q;
  if (pWait <= tail) return 0;
  return Math.log(pWait / tail) / (c / meanServiceS - arrivalRatePerS);
}

// ---------------------------------------------------------------- types

/** What a recommendation is about. */
export type RecommendationKind =
  | 'high-wait'
  | 'low-utilization'
  | 'resource-waste'
  | 'poor-throughput'
  | 'uneven-cpu'
  | 'task-imbalance'
  | 'unused-capabilities';

/** Every {@link RecommendationKind}. */
export const RECOMMENDATION_KINDS: readonly RecommendationKind[] = Object.freeze([
  'high-wait',
  'low-utilization',
  'resource-waste',
  'poor-throughput',
  'uneven-cpu',
  'task-imbalance',
  'unused-capabilities',
]);

/** How urgent a recommendation is: how far past its threshold the evidence is. */
export type Severity = 'info' | 'warning' | 'critical';

/** A concrete action a recommendation proposes. */
export type RecommendedAction =
  /** Resize the pool to `target` agents. */
  | { type: 'scale'; target: number }
  /** Switch the pool's balancing strategy, optionally enabling work stealing. */
  | { type: 'set-balancing'; strategy: StrategyName; workStealing: boolean }
  /** Change the pool's allocation of one resource to `to`. */
  | { type: 'resize-quota'; resource: keyof ResourceAmounts; to: number }
  /** Stop advertising capabilities no task asks for. */
  | { type: 'remove-capabilities'; capabilities: string[] }
  /** Nothing safe to automate: a human should look at the failing outcome. */
  | { type: 'investigate'; cause: 'error' | 'timeout' | 'backlog' };

/** The action type names. */
export type ActionType = RecommendedAction['type'];

/** A predicted effect of the action, with its unit and meaning spelled out. */
export interface ExpectedImpact {
  /** The predicted amount. */
  value: number;
  /** Unit of `value`, e.g. `s`, `agents`, `MB`, `tasks/min`. */
  unit: string;
  /** What the number means and how it was derived. */
  meaning: string;
}

/** One recommendation. */
export interface Recommendation {
  kind: RecommendationKind;
  pool: string;
  severity: Severity;
  /** The numbers that triggered it (named, so a reader can re-check the rule). */
  evidence: Record<string, number>;
  action: RecommendedAction;
  expectedImpact: ExpectedImpact;
}

/** One agent's load sample. */
export interface AgentLoadSample {
  /** Agent id. */
  agent: string;
  /** CPU use (cores or a 0..1 share; only the spread matters). */
  cpu: number;
  /** Tasks in flight (or completed over the window; only the spread matters). */
  tasks: number;
}

/** Capability demand of one pool. */
export interface CapabilityUsage {
  /** Capabilities the pool's agents are configured with. */
  configured: string[];
  /** Requests per capability over the observation window; missing = 0. */
  requested: Record<string, number>;
}

/** Options of {@link analysePools}. */
export interface AnalyseOptions {
  /** p99 wait (s) above which waits are "high". @default 30 */
  maxWaitP99S?: number;
  /** Utilization below which a pool is under-used. @default 0.3 */
  lowUtilization?: number;
  /** Utilization a resize sizes for (Little's law). @default 0.75 */
  targetUtilization?: number;
  /** Smallest pool size a scale-down recommends. @default 1 */
  minAgents?: number;
  /** Efficiency (used / allocated) below which an allocation is wasteful. @default 0.5 */
  minEfficiency?: number;
  /** Efficiency a quota resize aims for. Must be > `minEfficiency`. @default 0.8 */
  targetEfficiency?: number;
  /** Successful completions / requests below this is poor throughput. @default 0.8 */
  minGoodputRatio?: number;
  /** Pools with fewer requests per minute are not judged on throughput (too little signal). @default 1 */
  minRequestRatePerMin?: number;
  /** Coefficient of variation of per-agent CPU above which CPU is uneven. @default 0.5 */
  maxCpuCv?: number;
  /** Busiest agent's tasks / mean tasks above which tasks are imbalanced. @default 1.5 */
  maxTaskImbalance?: number;
  /** Per-agent load samples, by pool. */
  agentLoad?: Record<string, AgentLoadSample[]>;
  /** Capability demand, by pool. */
  capabilities?: Record<string, CapabilityUsage>;
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'maxWaitP99S',
  'lowUtilization',
  'targetUtilization',
  'minAgents',
  'minEfficiency',
  'targetEfficiency',
  'minGoodputRatio',
  'minRequestRatePerMin',
  'maxCpuCv',
  'maxTaskImbalance',
  'agentLoad',
  'capabilities',
]);

type Resolved = Required<Omit<AnalyseOptions, 'agentLoad' | 'capabilities'>> &
  Pick<AnalyseOptions, 'agentLoad' | 'capabilities'>;

function resolve(options: unknown, pools: ReadonlySet<string>): Resolved {
  const o = record('argument', 'options', options ?? {});
  knownKeys('argument', 'options', o, OPTION_KEYS);
  const p = (k: string) => `options.${k}`;
  const ratio = (k: string, fb: number) => num('argument', p(k), o[k], fb, { min: 0, max: 1 });
  const r: Resolved = {
    maxWaitP99S: num('argument', p('maxWaitP99S'), o.maxWaitP99S, 30, { gt: 0 }),
    lowUtilization: ratio('lowUtilization', 0.3),
    targetUtilization: num('argument', p('targetUtilization'), o.targetUtilization, 0.75, { gt: 0, max: 1 }),
    minAgents: num('argument', p('minAgents'), o.minAgents, 1, { integer: true, min: 0 }),
    minEfficiency: ratio('minEfficiency', 0.5),
    targetEfficiency: num('argument', p('targetEfficiency'), o.targetEfficiency, 0.8, { gt: 0, max: 1 }),
    minGoodputRatio: ratio('minGoodputRatio', 0.8),
    minRequestRatePerMin: num('argument', p('minRequestRatePerMin'), o.minRequestRatePerMin, 1, { min: 0 }),
    maxCpuCv: num('argument', p('maxCpuCv'), o.maxCpuCv, 0.5, { min: 0 }),
    maxTaskImbalance: num('argument', p('maxTaskImbalance'), o.maxTaskImbalance, 1.5, { gt: 1 }),
  };
  if (r.targetEfficiency <= r.minEfficiency) {
    invalid(
      'argument',
      p('targetEfficiency'),
      r.targetEfficiency,
      `a number > minEfficiency (${r.minEfficiency})`,
    );
  }
  if (o.agentLoad !== undefined) {
    const al = record('argument', p('agentLoad'), o.agentLoad);
    for (const [pool, samples] of Object.entries(al)) {
      const pp = `${p('agentLoad')}.${pool}`;
      if (!pools.has(pool)) invalid('argument', pp, samples, 'a pool present in the snapshots');
      if (!Array.isArray(samples)) invalid('argument', pp, samples, 'an array of agent samples');
      samples.forEach((s: unknown, i: number) => {
        const so = record('argument', `${pp}[${i}]`, s);
        reqNum('argument', `${pp}[${i}].cpu`, so.cpu, { min: 0 });
        reqNum('argument', `${pp}[${i}].tasks`, so.tasks, { min: 0 });
      });
    }
    r.agentLoad = al as Record<string, AgentLoadSample[]>;
  }
  if (o.capabilities !== undefined) {
    const caps = record('argument', p('capabilities'), o.capabilities);
    for (const [pool, u] of Object.entries(caps)) {
      const pp = `${p('capabilities')}.${pool}`;
      if (!pools.has(pool)) invalid('argument', pp, u, 'a pool present in the snapshots');
      const uo = record('argument', pp, u);
      if (!Array.isArray(uo.configured))
        invalid('argument', `${pp}.configured`, uo.configured, 'an array of strings');
      const req = record('argument', `${pp}.requested`, uo.requested ?? {});
      for (const [c, n] of Object.entries(req)) reqNum('argument', `${pp}.requested.${c}`, n, { min: 0 });
    }
    r.capabilities = caps as Record<string, CapabilityUsage>;
  }
  return r;
}

// ---------------------------------------------------------------- rules

/** Severity from how far past its threshold a value is (ratio ≥ 1 means past it). */
function severity(ratio: number): Severity {
  if (ratio >= 3) return 'critical';
  if (ratio >= 1.5) return 'warning';
  return 'info';
}

/** Arrival rate (per s) and mean service time (s) of a snapshot; service 0 when nothing completed yet. */
function demand(s: PoolMetricsSnapshot): { lambda: number; meanServiceS: number } {
  const meanServiceS = s.service.count > 0 ? s.service.sum / s.service.count : 0;
  return { lambda: s.requestRatePerMin / 60, meanServiceS };
}

// Sizing loops stop here: a recommendation of more agents than this is a broken metric, not a plan.
const MAX_SIZE = 100_000;

/** Smallest size ≥ `from` whose predicted p99 wait is within `maxP99S`. */
function sizeForWait(from: number, lambda: number, meanServiceS: number, maxP99S: number): number {
  let c = Math.max(1, from);
  while (c < MAX_SIZE && mmcWaitQuantile(c, lambda, meanServiceS, 0.99) > maxP99S) c++;
  return c;
}

function highWait(s: PoolMetricsSnapshot, o: Resolved): Recommendation | undefined {
  if (!(s.wait.p99 > o.maxWaitP99S)) return undefined;
  const { lambda, meanServiceS } = demand(s);
  const size = s.agents.total;
  const evidence = {
    waitP99S: s.wait.p99,
    maxWaitP99S: o.maxWaitP99S,
    queueDepth: s.queueDepth,
    utilization: s.utilization,
    agents: size,
    arrivalRatePerS: lambda,
    meanServiceS,
  };
  if (!(meanServiceS > 0) || !(lambda > 0)) {
    // No model inputs: add one agent per waiter (at least one) and make no numeric promise.
    return {
      kind: 'high-wait',
      pool: s.pool,
      severity: severity(s.wait.p99 / o.maxWaitP99S),
      evidence,
      action: { type: 'scale', target: size + Math.max(1, s.queueDepth) },
      expectedImpact: { value: 0, unit: 's', meaning: 'unknown: no arrival/service data to model the wait' },
    };
  }
  // The model may think the current size is already fine (it sees averages, the histogram saw the
  // tail), so always propose at least one more agent.
  const target = Math.max(size + 1, sizeForWait(size, lambda, meanServiceS, o.maxWaitP99S));
  const predicted = mmcWaitQuantile(target, lambda, meanServiceS, 0.99);
  return {
    kind: 'high-wait',
    pool: s.pool,
    severity: severity(s.wait.p99 / o.maxWaitP99S),
    evidence,
    action: { type: 'scale', target },
    expectedImpact: {
      value: Math.max(0, s.wait.p99 - predicted),
      unit: 's',
      meaning: `reduction of p99 wait: observed ${s.wait.p99.toFixed(2)} s minus the M/M/c (Erlang C) p99 at ${target} agents`,
    },
  };
}

function lowUtilization(s: PoolMetricsSnapshot, o: Resolved): Recommendation | undefined {
  const ready = s.agents.available + s.agents.busy;
  if (ready === 0 || !(s.utilization < o.lowUtilization) || s.queueDepth > 0) return undefined;
  if (s.wait.p99 > o.maxWaitP99S) return undefined;
  const { lambda, meanServiceS } = demand(s);
  // Little's law for the size, then grow until the modelled p99 wait still meets the SLO.
  const little = littleTarget(lambda, meanServiceS, o.targetUtilization);
  const target = Math.max(
    o.minAgents,
    lambda > 0 ? sizeForWait(little, lambda, meanServiceS, o.maxWaitP99S) : 0,
  );
  if (target >= s.agents.total) return undefined;
  return {
    kind: 'low-utilization',
    pool: s.pool,
    severity: severity(o.lowUtilization / Math.max(s.utilization, 1e-9)),
    evidence: {
      utilization: s.utilization,
      lowUtilization: o.lowUtilization,
      agents: s.agents.total,
      arrivalRatePerS: lambda,
      meanServiceS,
    },
    action: { type: 'scale', target },
    expectedImpact: {
      value: s.agents.total - target,
      unit: 'agents',
      meaning: `agents released; Little's law at ${o.targetUtilization} utilization, kept within the p99 wait SLO by M/M/c`,
    },
  };
}

const RESOURCES: readonly (keyof ResourceAmounts)[] = ['memoryMb', 'cpuCores', 'tokens'];
// Quotas are proposed in sensible grains: tenths of a core, whole MB and tokens.
const GRAIN: Record<keyof ResourceAmounts, number> = { memoryMb: 1, cpuCores: 0.1, tokens: 1 };

function resourceWaste(s: PoolMetricsSnapshot, o: Resolved): Recommendation[] {
  const out: Recommendation[] = [];
  for (const r of RESOURCES) {
    const allocated = s.allocated[r];
    const used = s.used[r];
    if (!(allocated > 0)) continue;
    const eff = used / allocated;
    if (!(eff < o.minEfficiency)) continue;
    const g = GRAIN[r];
    const to = Math.ceil(used / o.targetEfficiency / g - 1e-9) * g;
    const rounded = Number(to.toFixed(6));
    if (!(rounded < allocated)) continue;
    out.push({
      kind: 'resource-waste',
      pool: s.pool,
      severity: severity(o.minEfficiency / Math.max(eff, 1e-9)),
      evidence: { allocated, used, efficiency: eff, minEfficiency: o.minEfficiency },
      action: { type: 'resize-quota', resource: r, to: rounded },
      expectedImpact: {
        value: Number((allocated - rounded).toFixed(6)),
        unit: r,
        meaning: `allocation freed; efficiency after the resize ≈ ${o.targetEfficiency}`,
      },
    });
  }
  return out;
}

function poorThroughput(s: PoolMetricsSnapshot, o: Resolved): Recommendation | undefined {
  const req = s.requestRatePerMin;
  if (!(req >= o.minRequestRatePerMin) || req <= 0) return undefined;
  const ok = s.outcomeRatePerMin.success;
  const goodput = ok / req;
  if (!(goodput < o.minGoodputRatio)) return undefined;
  const err = s.outcomeRatePerMin.error;
  const timeout = s.outcomeRatePerMin.timeout;
  const backlog = Math.max(0, req - s.completionRatePerMin);
  // Name the biggest loss so the investigation starts in the right place.
  const cause = err >= timeout && err >= backlog ? 'error' : timeout >= backlog ? 'timeout' : 'backlog';
  return {
    kind: 'poor-throughput',
    pool: s.pool,
    severity: severity(o.minGoodputRatio / Math.max(goodput, 1e-9)),
    evidence: {
      requestRatePerMin: req,
      successRatePerMin: ok,
      errorRatePerMin: err,
      timeoutRatePerMin: timeout,
      completionRatePerMin: s.completionRatePerMin,
      goodputRatio: goodput,
      throughputPerAgentPerMin: s.throughputPerAgentPerMin,
    },
    action: { type: 'investigate', cause },
    expectedImpact: {
      value: req - ok,
      unit: 'tasks/min',
      meaning: 'successful completions per minute recovered if every request succeeded',
    },
  };
}

function stats(xs: readonly number[]): { mean: number; sd: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, sd: Math.sqrt(variance), max: Math.max(...xs) };
}

function unevenCpu(
  pool: string,
  samples: readonly AgentLoadSample[],
  o: Resolved,
): Recommendation | undefined {
  if (samples.length < 2) return undefined;
  const { mean, sd, max } = stats(samples.map((s) => s.cpu));
  if (!(mean > 0)) return undefined;
  const cv = sd / mean;
  if (!(cv > o.maxCpuCv)) return undefined;
  return {
    kind: 'uneven-cpu',
    pool,
    severity: severity(cv / Math.max(o.maxCpuCv, 1e-9)),
    evidence: { agents: samples.length, meanCpu: mean, maxCpu: max, cpuCv: cv, maxCpuCv: o.maxCpuCv },
    action: { type: 'set-balancing', strategy: 'resource-aware', workStealing: false },
    expectedImpact: {
      value: max - mean,
      unit: 'cpu',
      meaning: "reduction of the hottest agent's CPU if load were spread evenly (max − mean)",
    },
  };
}

function taskImbalance(
  pool: string,
  samples: readonly AgentLoadSample[],
  o: Resolved,
): Recommendation | undefined {
  if (samples.length < 2) return undefined;
  const { mean, max } = stats(samples.map((s) => s.tasks));
  if (!(mean > 0)) return undefined;
  const ratio = max / mean;
  if (!(ratio > o.maxTaskImbalance)) return undefined;
  return {
    kind: 'task-imbalance',
    pool,
    severity: severity(ratio / o.maxTaskImbalance),
    evidence: { agents: samples.length, meanTasks: mean, maxTasks: max, imbalance: ratio },
    action: { type: 'set-balancing', strategy: 'least-connections', workStealing: true },
    expectedImpact: {
      value: max - mean,
      unit: 'tasks',
      meaning: 'tasks taken off the busiest agent once load is levelled (max − mean)',
    },
  };
}

function unusedCapabilities(pool: string, u: CapabilityUsage): Recommendation | undefined {
  const configured = [...new Set(u.configured)];
  const unused = configured.filter((c) => !((u.requested[c] ?? 0) > 0)).sort();
  if (unused.length === 0) return undefined;
  return {
    kind: 'unused-capabilities',
    pool,
    severity: 'info',
    evidence: { configured: configured.length, unused: unused.length },
    action: { type: 'remove-capabilities', capabilities: unused },
    expectedImpact: {
      value: unused.length / configured.length,
      unit: 'fraction',
      meaning: 'share of configured capabilities that no request asked for',
    },
  };
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/**
 * Analyse pools and recommend actions. Pure and deterministic: output sorted by severity (critical
 * first), then pool, then kind.
 *
 * Rules (defaults in {@link AnalyseOptions}):
 * - `high-wait`: p99 wait above `maxWaitP99S` → scale to the smallest size whose M/M/c p99 meets it
 *   (at least +1); impact = predicted p99 wait reduction (s).
 * - `low-utilization`: utilization below `lowUtilization`, no waiters → scale to the Little's-law size
 *   (still meeting the wait SLO); impact = agents released.
 * - `resource-waste`: used / allocated below `minEfficiency` → resize the quota to used / `targetEfficiency`.
 * - `poor-throughput`: successes / requests below `minGoodputRatio` → investigate the main loss.
 * - `uneven-cpu`: per-agent CPU coefficient of variation above `maxCpuCv` → resource-aware balancing.
 * - `task-imbalance`: busiest agent / mean tasks above `maxTaskImbalance` → least-connections + work stealing.
 * - `unused-capabilities`: configured capabilities never requested → remove them.
 *
 * Throws {@link InvalidArgumentError} on bad options (unknown keys, out-of-range numbers, samples for a
 * pool that has no snapshot).
 *
 * @example
 * ```ts
 * const recs = analysePools(system.metrics(), { maxWaitP99S: 10 }); // or system.recommendations()
 * ```
 */
export function analysePools(
  snapshots: readonly PoolMetricsSnapshot[],
  options: AnalyseOptions = {},
): Recommendation[] {
  if (!Array.isArray(snapshots))
    throw new InvalidArgumentError('snapshots', snapshots, 'an array of pool snapshots');
  const pools = new Set(snapshots.map((s) => s.pool));
  const o = resolve(options, pools);
  const out: Recommendation[] = [];
  const push = (r: Recommendation | undefined) => {
    if (r) out.push(r);
  };
  for (const s of snapshots) {
    push(highWait(s, o));
    push(lowUtilization(s, o));
    out.push(...resourceWaste(s, o));
    push(poorThroughput(s, o));
    const load = o.agentLoad?.[s.pool];
    if (load) {
      push(unevenCpu(s.pool, load, o));
      push(taskImbalance(s.pool, load, o));
    }
    const caps = o.capabilities?.[s.pool];
    if (caps) push(unusedCapabilities(s.pool, caps));
  }
  const kindIndex = (k: RecommendationKind) => RECOMMENDATION_KINDS.indexOf(k);
  return out.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0) ||
      kindIndex(a.kind) - kindIndex(b.kind),
  );
}

// ---------------------------------------------------------------- applying

/** Callbacks that carry out actions, by action type. Missing ones mean "cannot apply this type". */
export type RecommendationAppliers = {
  [T in ActionType]?: (
    pool: string,
    action: Extract<RecommendedAction, { type: T }>,
    rec: Recommendation,
  ) => void | Promise<void>;
};

/** Which kinds are applied automatically. Empty (the default everywhere) = advisory only. */
export interface ApplyOptions {
  /** Kinds applied without a human. */
  auto: ReadonlySet<RecommendationKind>;
}

/** What {@link applyRecommendations} did. */
export interface ApplyResult {
  /** Recommendations whose applier ran and settled. */
  applied: Recommendation[];
  /** Not applied: kind not in `auto`, or no applier for the action type. */
  skipped: { rec: Recommendation; reason: 'not-auto' | 'no-applier' }[];
  /** Appliers that threw or rejected (later recommendations are still applied). */
  failed: { rec: Recommendation; error: unknown }[];
}

/**
 * Apply the recommendations whose kind is in `options.auto`, one at a time in order, through the
 * matching applier. Nothing else is touched: a kind not listed is only reported.
 *
 * Throws {@link InvalidArgumentError} when `auto` is not a Set of known kinds (before applying anything).
 *
 * @example
 * ```ts
 * const { applied } = await applyRecommendations(recs, { auto: new Set(['high-wait', 'low-utilization']) }, {
 *   scale: (pool, a) => system.scalePool(pool, a.target, 'optimizer'),
 * });
 * ```
 */
export async function applyRecommendations(
  recs: readonly Recommendation[],
  options: ApplyOptions,
  appliers: RecommendationAppliers,
): Promise<ApplyResult> {
  const o = record('argument', 'options', options);
  knownKeys('argument', 'options', o, new Set(['auto']));
  if (!(o.auto instanceof Set)) invalid('argument', 'options.auto', o.auto, 'a Set of recommendation kinds');
  for (const k of o.auto as Set<unknown>) {
    if (!RECOMMENDATION_KINDS.includes(k as RecommendationKind)) {
      invalid('argument', 'options.auto', k, `one of ${RECOMMENDATION_KINDS.join(', ')}`);
    }
  }
  const auto = o.auto as ReadonlySet<RecommendationKind>;
  const result: ApplyResult = { applied: [], skipped: [], failed: [] };
  for (const rec of recs) {
    if (!auto.has(rec.kind)) {
      result.skipped.push({ rec, reason: 'not-auto' });
      continue;
    }
    const fn = appliers[rec.action.type] as
      ((pool: string, action: RecommendedAction, rec: Recommendation) => void | Promise<void>) | undefined;
    if (!fn) {
      result.skipped.push({ rec, reason: 'no-applier' });
      continue;
    }
    try {
      await fn(rec.pool, rec.action, rec);
      result.applied.push(rec);
    } catch (error) {
      result.failed.push({ rec, error });
    }
  }
  return result;
}
