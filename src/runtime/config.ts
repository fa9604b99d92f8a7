/**
 * Configuration of a system and its pools, validated at the boundary: unknown keys, wrong types and
 * impossible values are {@link ConfigError}s naming the option path and the value received, thrown
 * before anything starts.
 *
 * Large because every option of the system and its pools is validated here, in one place, with its
 * path and default: splitting it would scatter the one boundary users meet first.
 *
 * Over 400 lines because it is the one boundary where every option is validated (typed errors naming
 * the path); subsystems with options of their own parse them in their own modules (rate-limits.ts,
 * retry.ts, resource-scaling-config.ts, src/cluster/config.ts) and are called from here.
 */
import {
  type AnalyseOptions,
  RECOMMENDATION_KINDS,
  type RecommendationKind,
} from '../policies/optimizers.js';
import type { TelemetryOptions } from './telemetry.js';
import type { ActorOptions, AnyActorLogic } from 'xstate';
import type { AgentTimings } from '../../machines/agent.machine.js';
import { DEFAULT_ALLOCATION_TTL_MS } from '../../machines/allocation.machine.js';
import {
  type AllocationPolicyConfig,
  type AllocationPolicyInput,
  resolveAllocationPolicy,
} from '../policies/allocation.js';
import { type AgentDefinition, isAgentDefinition } from '../agent/define.js';
import { ConfigError, InvalidArgumentError } from '../core/errors.js';
import { bool, duration, invalid, knownKeys, num, record, str, strings } from '../core/validate.js';
import type { HostKind } from '../hosts/host.js';
import { agentModuleUrl } from '../hosts/thread-host.js';
import { STRATEGY_NAMES, type StrategyName } from '../policies/balancing/index.js';
import {
  type RebalanceConfig,
  type RebalanceConfigInput,
  resolveRebalanceConfig,
} from '../policies/rebalancing.js';
import {
  type ScalingConfig,
  type ScalingConfigInput,
  validateScalingConfig,
} from '../policies/scaling/config.js';
import { type AutoscaleForecastOption, createForecast, type ForecastOptions } from '../policies/forecast.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import {
  parseSecurityProfile,
  type SecurityProfile,
  type SecurityProfileInput,
  unrestrictedProfile,
} from '../security/profile.js';
import { checkEnforceable, TIERS } from '../security/tiers.js';
import { type ClusterConfig, type ClusterOptions, parseCluster } from '../cluster/config.js';
import { parsePlacement, type PlacementConfig, type PlacementOptions } from '../cluster/placement.js';
import type { ToolDefinition, ToolFunction } from '../security/tools.js';
import { parseRateLimit, type RateLimitConfig, type RateLimitOptions } from './rate-limits.js';
import {
  parseResourceScaling,
  type ResourceScalingOptions,
  type ResourceScalingSettings,
} from './resource-scaling-config.js';
import { parseRetry, type RetryOptions, type RetryPolicy } from './retry.js';

/** Ordered security levels: an agent serves requests at or below its own level. */
export const SECURITY_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
/** A security level. */
export type SecurityLevel = (typeof SECURITY_LEVELS)[number];

/**
 * Isolation a request can demand, weakest first. `none` = caller's thread; `thread` = own V8 isolate
 * and heap cap; `process` = child process under Node's permission model; `sandbox` = that process in
 * bubblewrap namespaces; `container`, `vm` = providers (see docs/guides/security.md).
 */
export const ISOLATION_LEVELS = ['none', 'thread', 'process', 'sandbox', 'container', 'vm'] as const;
/** An isolation level. */
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** What one agent of a pool offers (every agent of a pool is alike). */
export interface AgentCapacity {
  /** Heap per agent, MB. Enforced for thread agents (`resourceLimits`). @default 1024 */
  memoryMb: number;
  /** CPU cores per agent: a scheduling weight, not a hard cap (threads cannot be capped). @default 1 */
  cpuCores: number;
  /** Token budget one lease may use. @default 50_000 */
  tokens: number;
  /** Disk MB per agent (accounting). @default 500 */
  diskMb: number;
  /** Network Mbps per agent (accounting). @default 100 */
  networkMbps: number;
  /** Tools agents of this pool may use. @default [] */
  tools: string[];
  /** Highest security level the agents are cleared for. @default 'medium' */
  securityLevel: SecurityLevel;
  /** Specialisations (balancing hints). @default [] */
  specializations: string[];
  /** Balancing weight. @default 1 */
  weight: number;
}

/** A pool's configuration after validation and defaults. */
export interface PoolConfig {
  type: string;
  agent: URL | string | AgentDefinition;
  host: HostKind;
  min: number;
  max: number;
  /** Leases one agent may hold at once. @default 1 */
  concurrency: number;
  targetUtilization: number;
  scaleUpThreshold: number;
  scaleDownThreshold: number;
  cooldownMs: number;
  healthCheckIntervalMs: number;
  /** Default acquire timeout. @default 30_000 */
  acquireTimeoutMs: number;
  /** Default graceful stop deadline of an agent on scale-down. @default 30_000 */
  scaleDownGraceMs: number;
  maxFailures: number;
  /** The base capacity of the pool's agents (a variant's capacity starts from it). */
  capacity: AgentCapacity;
  /**
   * The kinds of agent the pool spawns, at least one: without `variants` in the options, one variant
   * named `'default'` with the pool's `capacity`.
   */
  variants: readonly AgentVariant[];
  timings: AgentTimings;
  /** Validated autoscaling config, or undefined when off. */
  autoscale: ScalingConfig | undefined;
  /** The scaler's forecaster options (`autoscale.forecast`), validated; undefined for the defaults. */
  autoscaleForecast?: ForecastOptions;
  /** Balancing strategy among free agents, or undefined for idle-longest-first. */
  balancing: StrategyName | undefined;
  /** Order in which waiting acquisitions are admitted. @default 'fifo' */
  admission: AdmissionOrder;
  /** How `submit()` places this pool's tasks. @default 'central' */
  dispatch: DispatchMode;
  /** Start an agent for a waiter when none is free (see {@link PoolOptions.growOnDemand}). */
  growOnDemand: boolean;
  /** A pool at max waits half the acquire timeout again before `ERR_POOL_EXHAUSTED` (see {@link PoolOptions.retryAtMax}). */
  retryAtMax: boolean;
  /** The validated security profile (`restricted: false` when the pool gave none). */
  security: SecurityProfile;
  /** What a request reserves for a numeric resource it names no value for (see {@link PoolOptions.requirementDefaults}). */
  requirementDefaults: Partial<Record<ResourceName, number>>;
  /** What each live agent holds in the ledger (see {@link PoolOptions.agentResources}); `{}` for nothing. */
  agentResources: Partial<Record<ResourceName, number>>;
  /** Started, unleased agents kept ready beyond demand (see {@link PoolOptions.standby}). */
  standby: number;
  /** Work stealing: the victim queue length at which an idle agent steals (see {@link PoolOptions.stealThreshold}). */
  stealThreshold: number;
  /** Most `submit()` tasks queued at once (`ERR_QUEUE_FULL` beyond); Infinity = unbounded. */
  maxQueue: number;
  /** Default start-by deadline of the pool's submitted tasks (ms after submit), or undefined. */
  queueTimeoutMs: number | undefined;
  /** Default retry policy of the pool's submitted tasks, or undefined (no retry). */
  retry: RetryPolicy | undefined;
  /** The pool's own rate limit, the name of a system `rateLimits` entry, or undefined. */
  rateLimit: RateLimitConfig | string | undefined;
  /** Priority aging of queued tasks (see {@link PoolOptions.agingMs}); 0 = off. */
  agingMs: number;
  /** Where a `remote` pool's agents run (see {@link PoolOptions.placement}); undefined for local pools. */
  placement?: PlacementConfig;
}

/** The seed's `AgentRequirements` defaults: what `requirementDefaults: 'seed'` reserves. */
export const SEED_REQUIREMENT_DEFAULTS: Readonly<Record<ResourceName, number>> = Object.freeze({
  memoryMb: 1024,
  cpuCores: 1,
  tokens: 50_000,
  diskMb: 500,
  networkMbps: 10,
});

/** One kind of agent in a pool (validated; see {@link PoolOptions.variants}). */
export interface AgentVariant {
  /** The variant's name (its key under `variants`). */
  name: string;
  /** Relative share of the pool's agents (> 0). */
  share: number;
  /** The pool's `capacity` with the variant's overrides. */
  capacity: AgentCapacity;
}

/** A variant as the user writes it (see {@link PoolOptions.variants}). */
export interface AgentVariantOptions {
  /** Relative share of the pool's agents, e.g. 1 and 3 for a 25 % / 75 % split. @default 1 */
  share?: number;
  /** Overrides of the pool's `capacity` for agents of this variant (memory, tools, weight, specializations…). */
  capacity?: Partial<AgentCapacity>;
}

/** Placement modes of `submit()` tasks (see {@link PoolOptions.dispatch}). */
export const DISPATCH_MODES = ['central', 'work-stealing'] as const;
/** A placement mode. */
export type DispatchMode = (typeof DISPATCH_MODES)[number];

/** Admission orders of waiting acquisitions (see {@link PoolOptions.admission}). */
export const ADMISSION_ORDERS = ['fifo', 'drf'] as const;
/** An admission order. */
export type AdmissionOrder = (typeof ADMISSION_ORDERS)[number];

/** A pool as the user writes it (all but `agent` optional). */
export interface PoolOptions {
  /** Agent module (file URL or path) for thread agents, or a `defineAgent()` object for inline agents. */
  agent: URL | string | AgentDefinition;
  /** Where agents run. @default 'thread' for a module, 'inline' for a definition */
  host?: HostKind;
  /** Fewest agents, whatever the pool's name (for the TDD demo's sizes see {@link tddPool}). @default 1 */
  min?: number;
  /** Most agents, whatever the pool's name. @default max(3, min) */
  max?: number;
  /** Leases one agent may hold at once. @default 1 */
  concurrency?: number;
  /** @default 0.75 */
  targetUtilization?: number;
  /** @default 0.8 */
  scaleUpThreshold?: number;
  /** @default 0.3 */
  scaleDownThreshold?: number;
  /** @default 60_000 */
  cooldownMs?: number;
  /** Idle health-check period; 0 disables. @default 30_000 */
  healthCheckIntervalMs?: number;
  /**
   * First wait of an acquire; after it the pool scales up by one and waits half as long again. A pool
   * already at `max` rejects at this first timeout (`ERR_POOL_EXHAUSTED`, the seed's rule) unless
   * `retryAtMax`. @default 30_000
   */
  acquireTimeoutMs?: number;
  /**
   * At `max`, still wait half the acquire timeout again after the first timeout (an agent may free up)
   * before `ERR_POOL_EXHAUSTED`, instead of failing at the first timeout. @default false (the seed's rule)
   */
  retryAtMax?: boolean;
  /**
   * What an acquire or submit reserves for a numeric resource its `requirements` leave out. `'seed'`:
   * the seed's defaults (1,024 MB, 1 core, 50,000 tokens, 500 MB disk, 10 Mbps) — so every lease holds
   * resources in the global ledger, as the seed's design does; or an object of per-resource amounts.
   * @default {} (a request reserves only what it names)
   */
  requirementDefaults?: 'seed' | Partial<Record<ResourceName, number>>;
  /**
   * What every live agent of the pool holds in the global ledger for as long as it lives (the seed's
   * base allocation of an agent), reserved before the agent starts and released when it is gone. A
   * scale-up the ledger (or the pool's quota, see `resourceScaling`) cannot fit starts no agent and is
   * recorded with `ERR_RESOURCE_EXHAUSTED` naming the resource; scale-down frees it. Needs global
   * `limits` on every resource named, and `min` agents of every such pool must fit under them.
   * Leases reserve their `requirements` on top of it.
   * @default {} (agents hold nothing; only leases reserve)
   * @example { memoryMb: 512, cpuCores: 0.5 }
   */
  agentResources?: Partial<Record<ResourceName, number>>;
  /**
   * Warm standby (the seed's `standby_agents`): keep this many started agents with no lease ready
   * beyond demand, within `max`, so a burst does not wait for a start-up. The pool tops up after every
   * grant and every lost agent; the scaler never goes below the busy agents plus the standby.
   * `status().pools[t].standby` and `agentpool_agents_warm` show how many are ready.
   * @default 0
   */
  standby?: number;
  /**
   * `dispatch: 'work-stealing'` only: an idle agent steals from the busiest local queue once it holds
   * at least this many tasks (taking the oldest half, rounded up). 1 lets an idle agent take even a lone
   * task bound behind a busy one (with early binding, leaving it idles the thief while the task waits);
   * the seed's rule — steal when a queue holds more than 2 — is `stealThreshold: 3`.
   * @default 1
   */
  stealThreshold?: number;
  /**
   * Graceful scale-down: a retired agent finishes its work for at most this long, then is stopped
   * (sets `timings.drainTimeoutMs` unless that is given). @default 30_000
   */
  scaleDownGraceMs?: number;
  /** Consecutive failures that evict an agent. @default 3 */
  maxFailures?: number;
  capacity?: Partial<AgentCapacity>;
  /**
   * Agents of one pool that differ: each variant overrides the pool's `capacity` (memory, CPU, tools,
   * `weight`, `specializations`…) and has a `share` of the agents. A new agent gets the variant furthest
   * below its share, unless a waiting request fits only some variants — then one of those (the agent is
   * spawned for the work that waits). A request is served by an agent whose variant fits it; balancing
   * strategies see each agent's own weight, specializations and capacity. Without variants every agent
   * has the pool's capacity (finding a free agent is O(1); with variants, O(free agents)).
   * @default undefined (one kind of agent)
   * @example { fast: { share: 1, capacity: { weight: 3, specializations: ['frontend'] } }, std: { share: 3 } }
   */
  variants?: Record<string, AgentVariantOptions>;
  timings?: Partial<AgentTimings>;
  /**
   * Autoscale the pool from its metrics (Little's law, utilization and wait thresholds, stabilisation,
   * cooldowns; see docs/guides/scaling.md). `true` for the defaults; `min`/`max` always come from the pool.
   * @default false
   */
  autoscale?: boolean | (Omit<ScalingConfigInput, 'min' | 'max'> & AutoscaleForecastOption);
  /**
   * Which free agent gets the next lease or task (src/policies/balancing). Without it the agent idle
   * longest goes first (O(1)); a strategy looks at every free agent (O(free agents)) and learns from
   * completions. @default undefined (idle-longest-first)
   * @example 'least-connections'
   */
  balancing?: StrategyName;
  /**
   * Which waiting acquisition gets an agent that frees up. `'fifo'`: the oldest (a waiter blocked by
   * its concurrency key does not block the rest). `'drf'`: Dominant Resource Fairness across tenants
   * (cycles) — the waiter whose cycle holds the smallest dominant share of the global `limits` (over
   * every pool's leases), ties FIFO; waiters whose requirements do not fit what is free keep waiting
   * instead of being offered an agent they cannot reserve. Without global limits every share is 0,
   * so `'drf'` behaves as `'fifo'`.
   * @default 'fifo'
   */
  admission?: AdmissionOrder;
  /**
   * How `submit()` places this pool's tasks. `'central'`: one priority queue per type, a task goes to
   * whichever agent frees up first (strict priority > deadline > FIFO order). `'work-stealing'`: a task
   * is bound at submit time to one agent's local queue (chosen by `balancing`, else least-loaded;
   * bounded depth, overflow to a global queue); an agent runs its newest local task first (LIFO, warm
   * context), checks the global queue every 61st pick so it is never starved, and an idle agent steals
   * the oldest half of the busiest queue. Priorities and deadlines do NOT order tasks in this mode
   * (deadlines still expire queued tasks). See docs/machines/dispatcher.md.
   * @default 'central'
   */
  dispatch?: DispatchMode;
  /**
   * Start an agent (below `max`) as soon as an acquisition or a submitted task waits with no agent free.
   * With `autoscale` the scaler owns the pool's size: growing on every queued request would undo its
   * thresholds and stabilisation (measured on a simulated 50-agent diurnal day: 283 size changes and 31
   * reversals with it, 107 and 4 without — for a lower p99 wait, 0.51 s vs 0.93 s), so by default an
   * autoscaled pool only grows on demand when it has no agent at all (scale from zero), and otherwise
   * through its scaler and the acquire timeout's scale-up-and-retry.
   * @default true, or false when `autoscale` is set
   */
  growOnDemand?: boolean;
  /**
   * The agents' security profile: allowed tools, network, files, limits, violations
   * (src/security/profile.ts, docs/guides/security.md). Checked against what `host` can enforce:
   * what it cannot is `ERR_UNENFORCEABLE` now, never silently ignored. Presets: `tddSecurity()`.
   * @default none: only `capacity.tools` is enforced (on `ctx.tools.call`)
   */
  security?: SecurityProfileInput;
  /**
   * Most `submit()` tasks waiting for this pool at once — queued, delayed or backing off before a
   * retry. A submit beyond it rejects at once with `ERR_QUEUE_FULL` (details: pool, queued, limit) and
   * queues nothing; `system.pool(type).queued` tells a producer how full it is. See docs/guides/submit.md.
   * @default unbounded
   */
  maxQueue?: number;
  /**
   * Default `deadlineMs` of this pool's submitted tasks: a task not started within this many ms of its
   * submit rejects with `ERR_DEADLINE_EXCEEDED`. A submit's own `deadline`/`deadlineMs` wins.
   * @default none
   */
  queueTimeoutMs?: number;
  /** Default `retry` of this pool's submitted tasks (a submit's own `retry` wins). @default no retry */
  retry?: RetryOptions;
  /**
   * Rate limit of this pool's submitted tasks (requests) and token reservations: its own, or the name
   * of a system `rateLimits` entry shared with other pools (one API key, one limit). Tasks wait; they
   * do not fail. See docs/guides/submit.md.
   * @default unlimited
   */
  rateLimit?: RateLimitOptions | string;
  /**
   * Priority aging: a queued task moves up one priority level for every `agingMs` it has waited, at
   * most up to `high` (aging never makes a task `critical`), so a constant stream of high-priority
   * work cannot starve a low-priority task forever. 0 turns it off (strict priorities). Central
   * dispatch only (work-stealing does not order by priority).
   * @default 0 (off; see docs/guides/submit.md for why)
   */
  agingMs?: number;
  /**
   * `host: 'remote'` pools only: which cluster nodes the agents start on — node `labels` to match and
   * `spread` (default) or pack. Resources come from the agents: a node advertising `--memory-mb` /
   * `--cpus` takes an agent only with room for its `agentResources` (else its `capacity.memoryMb` /
   * `capacity.cpuCores`). No fitting node: the agent start fails `ERR_AGENT_UNAVAILABLE` naming each
   * node's misfit (docs/guides/cluster.md#placement).
   * @default { labels: {}, spread: true }
   * @example { labels: { zone: 'a' }, spread: true }
   */
  placement?: PlacementOptions;
}

/**
 * Rebalancing options (see src/runtime/rebalance.ts): the rules of {@link RebalanceConfigInput} plus
 * the round timing.
 */
export interface RebalanceOptions extends RebalanceConfigInput {
  /** Time between rounds (clock ms). @default 60_000 */
  intervalMs?: number;
  /** A collect or apply step that takes longer is abandoned. @default 10_000 */
  stepTimeoutMs?: number;
  /** Outcomes kept for `system.rebalanceHistory()`. @default 100 */
  historySize?: number;
}

/** Validated rebalancing settings. */
export interface RebalanceSettings {
  intervalMs: number;
  stepTimeoutMs: number;
  historySize: number;
  rules: RebalanceConfig;
}

/** Global resource limits (totals over every allocation). */
export interface Limits {
  memoryMb?: number;
  cpuCores?: number;
  tokens?: number;
  diskMb?: number;
  networkMbps?: number;
}

/** Options of {@link createAgentPoolSystem}. */
export interface SystemOptions {
  /** Pools by type name. */
  pools: Record<string, PoolOptions>;
  /** Global limits. @default no limits */
  limits?: Limits;
  /** Time source. @default realClock */
  clock?: Clock;
  /** pino-compatible logger. @default silent pino */
  logger?: Logger;
  /**
   * An XState inspector for every actor of the system — XState's own `inspect` option of
   * `createActor`: an observer `{ next, error, complete }` (e.g. `createBrowserInspector().inspect` /
   * `createSkyInspector().inspect` from `@statelyai/inspect`) or a function of each
   * `InspectionEvent`. Off by default because it halves throughput.
   * @example { inspect: { next: (e) => { if (e.type === '@xstate.snapshot') log(e.snapshot); } } }
   */
  inspect?: ActorOptions<AnyActorLogic>['inspect'];
  /** Graceful shutdown deadline. @default 30_000 */
  shutdownDeadlineMs?: number;
  /**
   * Every this many ms (on the system's clock) each pool's metrics close an interval into their
   * time-series ring (`system.metricsHistory(type)`: counts, rates and wait/service percentiles per
   * interval, a day of 1-minute samples kept). 0 turns the ring off.
   * @default 60_000
   */
  metricsIntervalMs?: number;
  /**
   * Token budgets, enforced before every model call (`ctx.tokens.reserve`): per cycle, per pool and
   * for the whole system. @default unlimited
   * @example { system: 2_000_000, pools: { code: 1_000_000 }, defaultCycle: 100_000 }
   */
  budgets?: { system?: number; pools?: Record<string, number>; defaultCycle?: number };
  /**
   * Rebalance live lease allocations to their reported use (`lease.reportUsage`) every interval,
   * through the allocator: memory used < 30 % gives back 40 %, CPU < 25 % gives back 30 %, memory
   * > 90 % grows 50 % when the ledger allows. `true` for the defaults. Needs `limits` (the allocator
   * owns the ledger it resizes). Outcomes: `system.rebalanceHistory()`.
   * @default off
   * @example { intervalMs: 30_000, memoryGiveBack: 0.25 }
   */
  rebalance?: boolean | RebalanceOptions;
  /**
   * The allocation optimiser for leases with requirements under global `limits`
   * (src/policies/allocation.ts): per resource, on how full the ledger is before the grant — below
   * 60 % used a grant grows up to 1.5× the request (headroom that saves a resize), below 80 % it is
   * exactly the request, at or above 80 % it is squeezed to 0.8× (never below the per-agent minimum).
   * Tokens are always exact. A lease's granted amounts are `lease.allocation.amounts`; a thread agent's
   * memory watchdog follows them. `false` grants every request exactly. Options tune the thresholds.
   * @default on (the seed's 1.5× / 1× / 0.8× rule)
   */
  allocation?: boolean | AllocationPolicyInput;
  /**
   * How long a lease's resource allocation lives unless released: when it expires its resources go
   * back to the ledger and the holder's lease ends — running tasks are aborted and later calls
   * reject with `ERR_LEASE_EXPIRED`. Per acquire: `options.ttlMs`. Only leases that reserve
   * resources (`requirements`) have an allocation, and so a TTL.
   * @default 14_400_000 (4 h, the seed's lease)
   */
  leaseTtlMs?: number;
  /**
   * OpenTelemetry (optional peer dependency `@opentelemetry/api`): spans around `acquire`, `submit`
   * and every task run (`invoke_agent {pool}`, GenAI semantic conventions), the run's trace context
   * carried into the agent (`ctx.traceparent`, and the active parent of spans the handler makes), and
   * every metric through an OTel meter. Without the package nothing is traced. `false` turns it off;
   * an object names the providers to use instead of the API's global ones.
   * @default on when `@opentelemetry/api` can be imported — loaded once the process uses OpenTelemetry
   * (something registered a provider or context manager), a no-op until then
   * @example { telemetry: { tracerProvider, meterProvider } }
   */
  telemetry?: false | TelemetryOptions;
  /**
   * Tool implementations agents call with `ctx.tools.call(name, args)`. They run in this process,
   * after the caller's profile check (`ERR_TOOL_DENIED` otherwise); every call is audited
   * (`system.toolAudit()`). A function, or `{ run, schema }` to validate arguments first.
   * @default {}
   * @example { git: async (args, ctx) => runGit(args, { cwd: ctx.workspace }) }
   */
  tools?: Record<string, ToolFunction | ToolDefinition>;
  /**
   * Where isolated agents' workspaces are created (`<dir>/agentpool-ws/<pid>/…`); leftovers of dead
   * processes there are removed when a system is created.
   * @default the OS temporary directory
   */
  workspaceDir?: string;
  /**
   * Named rate limits, shared by every pool whose `rateLimit` names one (pools calling one provider
   * with one API key share its limit).
   * @default none
   * @example { openai: { requestsPerMinute: 500, tokensPerMinute: 200_000 } }
   */
  rateLimits?: Record<string, RateLimitOptions>;
  /**
   * Scale each pool's resource quotas (the seed's resource scaler): every `intervalMs` the quotas of
   * the resources named per pool follow what the pool holds (leases and agents together) and the
   * demand its quota refused — growing above 85 % utilization, shrinking below 40 % after a cooldown,
   * in whole `step`s between `min` (the starting quota) and `max`, never past the global limit in
   * total. A reservation beyond a pool's quota is refused (`ERR_RESOURCE_EXHAUSTED`, `pool <type>
   * quota`). Needs global `limits` on every scaled resource. State and history:
   * `system.resourceScaling()`.
   * @default off (no quotas: pools share the global limits)
   * @example { pools: { code: { memoryMb: { min: 2048, max: 16_384, step: 1024 } } } }
   */
  resourceScaling?: ResourceScalingOptions;
  /**
   * Run an optimisation round every `intervalMs` on the clock (`system.optimize()`): the live metrics
   * are analysed and the recommendations of the kinds in `auto` applied through the system's actions
   * (`scale`, `set-balancing`); every round is in `system.optimizationHistory()`. Advisory only
   * (nothing applied) with an empty `auto`.
   * @default off
   * @example { intervalMs: 60_000, auto: ['high-wait', 'low-utilization'] }
   */
  optimize?: { intervalMs: number; auto?: RecommendationKind[]; analyse?: AnalyseOptions };
  /**
   * Run `host: 'remote'` pools on agentpool nodes over NATS (docs/guides/cluster.md).
   * @default off (every agent is local)
   */
  cluster?: ClusterOptions;
}

/** An XState inspector as the runtime passes it to `createActor`: an observer object or a function. */
export type Inspector = NonNullable<ActorOptions<AnyActorLogic>['inspect']>;

/**
 * The TDD preset: pool sizes of the design's four agent types (design 1–3, code 2–5, qa 1–3, data
 * 1–2). A preset, not a default — a pool's defaults (min 1, max 3) never depend on its name; spread
 * {@link tddPool} into a pool to use these.
 */
export const TDD_POOL_SIZES = Object.freeze({
  design: Object.freeze({ min: 1, max: 3 }),
  code: Object.freeze({ min: 2, max: 5 }),
  qa: Object.freeze({ min: 1, max: 3 }),
  data: Object.freeze({ min: 1, max: 2 }),
});

/** A pool type of the TDD preset. */
export type TddPoolType = keyof typeof TDD_POOL_SIZES;

/**
 * The TDD preset's `min`/`max` for one pool type, to spread into its options (explicit values after
 * the spread win).
 *
 * @throws {InvalidArgumentError} `type` is not one of design, code, qa, data.
 * @example
 * ```ts
 * createAgentPoolSystem({
 *   pools: {
 *     code: { ...tddPool('code'), agent: new URL('./code-agent.js', import.meta.url) }, // 2–5
 *     qa: { ...tddPool('qa'), agent: qaAgent, max: 4 }, // 1–4
 *   },
 * });
 * ```
 */
export function tddPool(type: TddPoolType): { min: number; max: number } {
  const sizes = Object.hasOwn(TDD_POOL_SIZES, type) ? TDD_POOL_SIZES[type] : undefined;
  if (!sizes)
    throw new InvalidArgumentError(
      'type',
      type,
      `a TDD pool type (${Object.keys(TDD_POOL_SIZES).join(', ')})`,
    );
  return { min: sizes.min, max: sizes.max };
}

/** Default agent timings. */
export const DEFAULT_TIMINGS: AgentTimings = {
  startTimeoutMs: 30_000,
  abortGraceMs: 5_000,
  heartbeatTimeoutMs: 0,
  healthIntervalMs: 30_000,
  healthTimeoutMs: 5_000,
  stopGraceMs: 30_000,
  drainTimeoutMs: 30_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
};

const POOL_KEYS = new Set([
  'agent',
  'host',
  'min',
  'max',
  'concurrency',
  'targetUtilization',
  'scaleUpThreshold',
  'scaleDownThreshold',
  'cooldownMs',
  'healthCheckIntervalMs',
  'acquireTimeoutMs',
  'scaleDownGraceMs',
  'maxFailures',
  'capacity',
  'variants',
  'timings',
  'autoscale',
  'balancing',
  'admission',
  'dispatch',
  'growOnDemand',
  'retryAtMax',
  'requirementDefaults',
  'agentResources',
  'standby',
  'stealThreshold',
  'security',
  'maxQueue',
  'queueTimeoutMs',
  'retry',
  'rateLimit',
  'agingMs',
  'placement',
]);
const CAPACITY_KEYS = new Set([
  'memoryMb',
  'cpuCores',
  'tokens',
  'diskMb',
  'networkMbps',
  'tools',
  'securityLevel',
  'specializations',
  'weight',
]);
const SYSTEM_KEYS = new Set([
  'pools',
  'limits',
  'clock',
  'logger',
  'inspect',
  'shutdownDeadlineMs',
  'metricsIntervalMs',
  'budgets',
  'rebalance',
  'allocation',
  'leaseTtlMs',
  'telemetry',
  'tools',
  'workspaceDir',
  'rateLimits',
  'optimize',
  'resourceScaling',
  'cluster',
]);
/** Names of the numeric resources. */
export const RESOURCE_NAMES = ['memoryMb', 'cpuCores', 'tokens', 'diskMb', 'networkMbps'] as const;
/** A numeric resource name. */
export type ResourceName = (typeof RESOURCE_NAMES)[number];
const LIMIT_KEYS = new Set<string>(RESOURCE_NAMES);

const POOL_NAME = /^[a-z][a-z0-9_-]{0,62}$/i;

/** Validate and complete one pool's options. */
export function parsePool(type: string, raw: unknown): PoolConfig {
  const path = `pools.${type}`;
  if (!POOL_NAME.test(type)) invalid('config', path, type, 'a pool name of letters, digits, - or _');
  const o = record('config', path, raw);
  knownKeys('config', path, o, POOL_KEYS);
  const agent = o.agent;
  if (agent === undefined)
    invalid('config', `${path}.agent`, agent, 'an agent module URL/path or a defineAgent() object');
  const isDef = isAgentDefinition(agent);
  if (!isDef && typeof agent !== 'string' && !(agent instanceof URL)) {
    invalid('config', `${path}.agent`, agent, 'an agent module URL/path or a defineAgent() object');
  }
  // A remote agent is validated as the thread agent it is on its node (src/cluster/remote-host.ts).
  const remote = o.host === 'remote' && !isDef;
  const host = remote ? 'thread' : str('config', `${path}.host`, o.host, isDef ? 'inline' : 'thread', TIERS);
  if (host !== 'inline' && isDef)
    invalid('config', `${path}.agent`, 'defineAgent() object', 'a module URL/path for thread agents');
  // Inline agents may be modules too: a missing one must fail here, not as an endless start/crash loop.
  if (!isDef) {
    try {
      agentModuleUrl(agent as URL | string);
    } catch {
      throw new ConfigError(
        `${path}.agent`,
        agent instanceof URL ? agent.href : agent,
        'an existing agent module',
        'ERR_AGENT_MODULE',
      );
    }
  }
  const min = num('config', `${path}.min`, o.min, 1, { min: 0, integer: true });
  const max = num('config', `${path}.max`, o.max, Math.max(min, 3), { min: 1, integer: true });
  if (min > max) invalid('config', `${path}.min`, min, `a number <= max (${max})`);
  const up = num('config', `${path}.scaleUpThreshold`, o.scaleUpThreshold, 0.8, { min: 0, max: 1 });
  const down = num('config', `${path}.scaleDownThreshold`, o.scaleDownThreshold, 0.3, { min: 0, max: 1 });
  if (up <= down)
    invalid('config', `${path}.scaleUpThreshold`, up, `a number > scaleDownThreshold (${down})`);
  // A copy: the profile fills in tools and limits, and the caller's object stays as it was.
  const cap = { ...record('config', `${path}.capacity`, o.capacity ?? {}) };
  knownKeys('config', `${path}.capacity`, cap, CAPACITY_KEYS);
  // Without a profile: thread and inline agents keep the host's rights (only their tools are checked);
  // isolated tiers get the strictest profile they can enforce (workspace only, no network in a sandbox).
  const isolated = host !== 'inline' && host !== 'thread';
  const givenSecurity =
    o.security ??
    (isolated
      ? {
          tools: strings('config', `${path}.capacity.tools`, cap.tools, []),
          network: host === 'process' ? 'full' : 'none',
        }
      : undefined);
  const security =
    givenSecurity === undefined
      ? unrestrictedProfile(type, strings('config', `${path}.capacity.tools`, cap.tools, []))
      : parseSecurityProfile(givenSecurity, `${path}.security`, type);
  if (givenSecurity !== undefined) mergeProfile(security, cap, path);
  checkEnforceable(host, security, path);
  const capacity = parseCapacity(`${path}.capacity`, cap, DEFAULT_CAPACITY);
  const t = record('config', `${path}.timings`, o.timings ?? {});
  knownKeys('config', `${path}.timings`, t, new Set(Object.keys(DEFAULT_TIMINGS)));
  const timings = { ...DEFAULT_TIMINGS };
  for (const k of Object.keys(DEFAULT_TIMINGS) as (keyof AgentTimings)[]) {
    timings[k] = duration('config', `${path}.timings.${k}`, t[k], DEFAULT_TIMINGS[k]);
  }
  const healthCheckIntervalMs = duration(
    'config',
    `${path}.healthCheckIntervalMs`,
    o.healthCheckIntervalMs,
    timings.healthIntervalMs,
  );
  timings.healthIntervalMs = healthCheckIntervalMs;
  const scaleDownGraceMs = duration(
    'config',
    `${path}.scaleDownGraceMs`,
    o.scaleDownGraceMs,
    timings.drainTimeoutMs,
  );
  // A retired agent drains for this long before it is stopped anyway (graceful scale-down).
  if (t.drainTimeoutMs === undefined) timings.drainTimeoutMs = scaleDownGraceMs;
  const targetUtilization = num('config', `${path}.targetUtilization`, o.targetUtilization, 0.75, {
    gt: 0,
    max: 1,
  });
  const cooldownMs = duration('config', `${path}.cooldownMs`, o.cooldownMs, 60_000);
  let autoscale: ScalingConfig | undefined;
  let autoscaleForecast: ForecastOptions | undefined;
  if (o.autoscale !== undefined && o.autoscale !== false) {
    const { forecast, ...given } =
      o.autoscale === true ? {} : record('config', `${path}.autoscale`, o.autoscale);
    // The forecaster validates its own options (typed errors naming `….autoscale.forecast.<key>`).
    if (forecast !== undefined) {
      createForecast(forecast as ForecastOptions, `${path}.autoscale.forecast`);
      autoscaleForecast = { ...(forecast as ForecastOptions) };
    }
    for (const k of ['min', 'max'] as const) {
      if (given[k] !== undefined)
        invalid('config', `${path}.autoscale.${k}`, given[k], `no value (the pool's ${k} applies)`);
    }
    // The pool's own scaling options are the defaults; the autoscale object refines them.
    autoscale = validateScalingConfig(
      {
        targetUtilization,
        scaleUpThreshold: up,
        scaleDownThreshold: down,
        scaleDownCooldownMs: cooldownMs,
        ...given,
        min,
        max,
      },
      `${path}.autoscale`,
    );
  }
  const variants = variantsWithin(parseVariants(`${path}.variants`, o.variants, capacity), security, path);
  return {
    type,
    agent: agent as URL | string | AgentDefinition,
    host: remote ? 'remote' : host,
    min,
    max,
    concurrency: num('config', `${path}.concurrency`, o.concurrency, 1, { min: 1, integer: true }),
    targetUtilization,
    scaleUpThreshold: up,
    scaleDownThreshold: down,
    cooldownMs,
    healthCheckIntervalMs,
    acquireTimeoutMs: duration('config', `${path}.acquireTimeoutMs`, o.acquireTimeoutMs, 30_000, {
      positive: true,
    }),
    scaleDownGraceMs,
    maxFailures: num('config', `${path}.maxFailures`, o.maxFailures, 3, { min: 1, integer: true }),
    capacity,
    variants,
    timings,
    autoscale,
    ...(autoscaleForecast ? { autoscaleForecast } : {}),
    balancing:
      o.balancing === undefined
        ? undefined
        : str('config', `${path}.balancing`, o.balancing, 'round-robin' as StrategyName, STRATEGY_NAMES),
    admission: str('config', `${path}.admission`, o.admission, 'fifo' as AdmissionOrder, ADMISSION_ORDERS),
    dispatch: str('config', `${path}.dispatch`, o.dispatch, 'central' as DispatchMode, DISPATCH_MODES),
    growOnDemand: bool('config', `${path}.growOnDemand`, o.growOnDemand, autoscale === undefined),
    retryAtMax: bool('config', `${path}.retryAtMax`, o.retryAtMax, false),
    standby: num('config', `${path}.standby`, o.standby, 0, { min: 0, integer: true }),
    stealThreshold: num('config', `${path}.stealThreshold`, o.stealThreshold, 1, { min: 1, integer: true }),
    requirementDefaults: defaultsThatFit(
      parseRequirementDefaults(`${path}.requirementDefaults`, o.requirementDefaults),
      variants,
      path,
    ),
    agentResources: parseAgentResources(`${path}.agentResources`, o.agentResources),
    security,
    maxQueue:
      o.maxQueue === undefined
        ? Number.POSITIVE_INFINITY
        : num('config', `${path}.maxQueue`, o.maxQueue, 0, { min: 1, integer: true }),
    queueTimeoutMs:
      o.queueTimeoutMs === undefined
        ? undefined
        : duration('config', `${path}.queueTimeoutMs`, o.queueTimeoutMs, 0, { positive: true }),
    retry: o.retry === undefined ? undefined : parseRetry('config', `${path}.retry`, o.retry),
    rateLimit:
      o.rateLimit === undefined || typeof o.rateLimit === 'string'
        ? o.rateLimit
        : parseRateLimit(`${path}.rateLimit`, o.rateLimit),
    agingMs: duration('config', `${path}.agingMs`, o.agingMs, 0),
    ...placementOf(o.placement, remote, path),
  };
}

/** `placement` is a remote pool's (which nodes its agents start on); on a local pool it is an error. */
function placementOf(raw: unknown, remote: boolean, path: string): { placement?: PlacementConfig } {
  if (!remote) {
    if (raw !== undefined)
      invalid('config', `${path}.placement`, raw, "no value (only host: 'remote' pools are placed)");
    return {};
  }
  return { placement: parsePlacement(raw, `${path}.placement`) };
}

/** An agent's capacity when the pool gives none (the seed's `AgentRequirements` defaults). */
const DEFAULT_CAPACITY: AgentCapacity = {
  memoryMb: 1024,
  cpuCores: 1,
  tokens: 50_000,
  diskMb: 500,
  networkMbps: 100,
  tools: [],
  securityLevel: 'medium',
  specializations: [],
  weight: 1,
};

/** Validate a capacity object at `path`; missing keys come from `base`. */
function parseCapacity(path: string, raw: unknown, base: AgentCapacity): AgentCapacity {
  const cap = record('config', path, raw ?? {});
  knownKeys('config', path, cap, CAPACITY_KEYS);
  return {
    memoryMb: num('config', `${path}.memoryMb`, cap.memoryMb, base.memoryMb, { gt: 0 }),
    cpuCores: num('config', `${path}.cpuCores`, cap.cpuCores, base.cpuCores, { gt: 0 }),
    tokens: num('config', `${path}.tokens`, cap.tokens, base.tokens, { min: 0 }),
    diskMb: num('config', `${path}.diskMb`, cap.diskMb, base.diskMb, { min: 0 }),
    networkMbps: num('config', `${path}.networkMbps`, cap.networkMbps, base.networkMbps, { min: 0 }),
    tools: strings('config', `${path}.tools`, cap.tools, base.tools),
    securityLevel: str(
      'config',
      `${path}.securityLevel`,
      cap.securityLevel,
      base.securityLevel,
      SECURITY_LEVELS,
    ),
    specializations: strings('config', `${path}.specializations`, cap.specializations, base.specializations),
    weight: num('config', `${path}.weight`, cap.weight, base.weight, { gt: 0 }),
  };
}

const VARIANT_KEYS = new Set(['share', 'capacity']);

/** Validate `variants` (a record of name → options); none = one `'default'` variant with the pool's capacity. */
function parseVariants(path: string, raw: unknown, capacity: AgentCapacity): AgentVariant[] {
  if (raw === undefined) return [{ name: 'default', share: 1, capacity }];
  const rec = record('config', path, raw);
  const names = Object.keys(rec);
  if (names.length === 0) invalid('config', path, raw, 'at least one variant (or no `variants` at all)');
  return names.map((name) => {
    const p = `${path}.${name}`;
    const v = record('config', p, rec[name]);
    knownKeys('config', p, v, VARIANT_KEYS);
    return {
      name,
      share: num('config', `${p}.share`, v.share, 1, { gt: 0 }),
      capacity: parseCapacity(`${p}.capacity`, v.capacity, capacity),
    };
  });
}

/** Defaults no agent could ever serve would fail every request: an impossible combination, caught here. */
function defaultsThatFit(
  defaults: Partial<Record<ResourceName, number>>,
  variants: readonly AgentVariant[],
  path: string,
): Partial<Record<ResourceName, number>> {
  for (const k of RESOURCE_NAMES) {
    const want = defaults[k];
    if (want === undefined) continue;
    const most = Math.max(...variants.map((v) => v.capacity[k]));
    if (want > most)
      invalid('config', `${path}.requirementDefaults.${k}`, want, `at most the agents' capacity (${most})`);
  }
  return defaults;
}

/** Validate `requirementDefaults`: `'seed'`, or amounts per numeric resource (unknown keys are errors). */
/** A pool's `agentResources`: known numeric resources, each ≥ 0 (zeros dropped: nothing to hold). */
function parseAgentResources(path: string, raw: unknown): Partial<Record<ResourceName, number>> {
  if (raw === undefined) return {};
  const o = record('config', path, raw);
  knownKeys('config', path, o, new Set<string>(RESOURCE_NAMES));
  const out: Partial<Record<ResourceName, number>> = {};
  for (const k of RESOURCE_NAMES) {
    const v = o[k] === undefined ? 0 : num('config', `${path}.${k}`, o[k], 0, { min: 0 });
    if (v > 0) out[k] = v;
  }
  return out;
}

/**
 * Agents' base holdings need the ledger (global limits on each resource named), and every pool's
 * `min` agents must fit together — else the system could never reach its minimums.
 */
function checkAgentResources(
  pools: Map<string, PoolConfig>,
  limits: Partial<Record<ResourceName, number>>,
): void {
  const total: Partial<Record<ResourceName, number>> = {};
  for (const [type, pc] of pools) {
    for (const [r, v] of Object.entries(pc.agentResources) as [ResourceName, number][]) {
      const limit = limits[r];
      if (limit === undefined)
        invalid(
          'config',
          `pools.${type}.agentResources.${r}`,
          v,
          `no value, or a global limits.${r} (agents hold their base amounts in the global ledger)`,
        );
      total[r] = (total[r] ?? 0) + v * pc.min;
      if ((total[r] ?? 0) > limit)
        invalid(
          'config',
          `pools.${type}.agentResources.${r}`,
          v,
          `an amount whose min agents fit with the other pools' under limits.${r} (${limit}; ${total[r]} needed)`,
        );
    }
  }
}

/** A pool's starting quota (its rule's `min`) must hold its `min` agents' base amounts. */
function checkQuotaFitsAgents(pools: Map<string, PoolConfig>, rs: ResourceScalingSettings | undefined): void {
  if (rs === undefined) return;
  for (const [type, rules] of Object.entries(rs.config.pools)) {
    const pc = pools.get(type);
    if (pc === undefined) continue;
    for (const [r, rule] of Object.entries(rules) as [ResourceName, { min: number } | undefined][]) {
      const need = (pc.agentResources[r] ?? 0) * pc.min;
      if (rule !== undefined && rule.min < need)
        invalid(
          'config',
          `resourceScaling.pools.${type}.${r}.min`,
          rule.min,
          `at least the pool's min agents' agentResources.${r} (${need})`,
        );
    }
  }
}

function parseRequirementDefaults(path: string, raw: unknown): Partial<Record<ResourceName, number>> {
  if (raw === undefined) return {};
  if (raw === 'seed') return { ...SEED_REQUIREMENT_DEFAULTS };
  if (typeof raw === 'string') invalid('config', path, raw, "'seed' or an object of resource amounts");
  const o = record('config', path, raw);
  knownKeys('config', path, o, new Set<string>(RESOURCE_NAMES));
  const out: Partial<Record<ResourceName, number>> = {};
  for (const k of RESOURCE_NAMES)
    if (o[k] !== undefined) out[k] = num('config', `${path}.${k}`, o[k], 0, { min: 0 });
  return out;
}

/**
 * A restricted profile is the allowlist of every agent of the pool: a variant may not grant tools the
 * profile does not (an impossible combination, a typed error naming the variant's path).
 */
function variantsWithin(variants: AgentVariant[], security: SecurityProfile, path: string): AgentVariant[] {
  if (!security.restricted) return variants;
  for (const v of variants) {
    const extra = v.capacity.tools.filter((t) => !security.tools.includes(t));
    if (extra.length > 0)
      invalid(
        'config',
        `${path}.variants.${v.name}.capacity.tools`,
        v.capacity.tools,
        `tools within the profile's (${JSON.stringify(security.tools)})`,
      );
  }
  return variants;
}

/**
 * One owner per fact: a profile's tools and limits become the pool's `capacity` (what requirement
 * matching reads); giving both with different values is an impossible combination.
 */
function mergeProfile(security: SecurityProfile, cap: Record<string, unknown>, path: string): void {
  if (cap.tools !== undefined) {
    const given = strings('config', `${path}.capacity.tools`, cap.tools, []);
    const same = given.length === security.tools.length && given.every((t) => security.tools.includes(t));
    if (!same)
      invalid(
        'config',
        `${path}.capacity.tools`,
        given,
        `the profile's tools (${JSON.stringify(security.tools)}) or no value`,
      );
  }
  cap.tools = security.tools;
  for (const k of ['memoryMb', 'cpuCores'] as const) {
    const want = security.limits[k];
    if (want === undefined) continue;
    if (cap[k] !== undefined && cap[k] !== want)
      invalid('config', `${path}.capacity.${k}`, cap[k], `the profile's limits.${k} (${want}) or no value`);
    cap[k] = want;
  }
}

/** Validated system configuration. */
export interface SystemConfig {
  pools: Map<string, PoolConfig>;
  limits: Partial<Record<ResourceName, number>>;
  shutdownDeadlineMs: number;
  /** Metrics collection interval (0 = off). */
  metricsIntervalMs: number;
  /** Rebalancing settings, or undefined when off. */
  rebalance: RebalanceSettings | undefined;
  /** The allocation optimiser, or false when grants are exact. */
  allocation: AllocationPolicyConfig | false;
  /** Lifetime of a lease's resource allocation. */
  leaseTtlMs: number;
  /** The XState inspector passed to every actor, or undefined when off. */
  inspect: Inspector | undefined;
  /** OpenTelemetry: false (off), providers, or undefined (the API's globals when installed). */
  telemetry: false | TelemetryOptions | undefined;
  /** Periodic optimisation rounds (system option `optimize`), or undefined (off). */
  optimize: { intervalMs: number; auto: RecommendationKind[]; analyse?: AnalyseOptions } | undefined;
  /** Named rate limits pools share (system option `rateLimits`). */
  rateLimits: Map<string, RateLimitConfig>;
  /** Per-pool resource quotas and their scaler (system option `resourceScaling`), or undefined (off). */
  resourceScaling: ResourceScalingSettings | undefined;
  /** Nodes over NATS for `host: 'remote'` pools (system option `cluster`), or undefined. */
  cluster: ClusterConfig | undefined;
}

/** Validate the options of {@link createAgentPoolSystem}; throws before anything starts. */
export function parseSystem(raw: unknown): SystemConfig {
  const o = record('config', 'options', raw);
  knownKeys('config', 'options', o, SYSTEM_KEYS);
  if (o.clock !== undefined) methods('clock', o.clock, CLOCK_METHODS, 'a clock');
  if (o.logger !== undefined) methods('logger', o.logger, LOGGER_METHODS, 'a logger');
  const inspect = parseInspect(o.inspect);
  const pools = record('config', 'pools', o.pools);
  if (Object.keys(pools).length === 0) invalid('config', 'pools', pools, 'at least one pool');
  const out = new Map<string, PoolConfig>();
  for (const [type, p] of Object.entries(pools)) out.set(type, parsePool(type, p));
  checkBudgetPools(o.budgets, out);
  const rateLimits = new Map<string, RateLimitConfig>();
  for (const [name, r] of Object.entries(record('config', 'rateLimits', o.rateLimits ?? {})))
    rateLimits.set(name, parseRateLimit(`rateLimits.${name}`, r));
  for (const [type, pc] of out) {
    if (pc.rateLimit !== undefined && pc.dispatch === 'work-stealing')
      invalid(
        'config',
        `pools.${type}.rateLimit`,
        pc.rateLimit,
        "no rate limit on a dispatch: 'work-stealing' pool (tasks are bound to agents at submit; use 'central')",
      );
    if (typeof pc.rateLimit === 'string' && !rateLimits.has(pc.rateLimit))
      invalid(
        'config',
        `pools.${type}.rateLimit`,
        pc.rateLimit,
        `a rate limit object, or a name of system rateLimits (${[...rateLimits.keys()].join(', ') || 'none'})`,
      );
  }
  const cluster = parseClusterOption(o.cluster, out);
  const l = record('config', 'limits', o.limits ?? {});
  knownKeys('config', 'limits', l, LIMIT_KEYS);
  const limits: Partial<Record<ResourceName, number>> = {};
  for (const k of RESOURCE_NAMES) {
    if (l[k] !== undefined) limits[k] = num('config', `limits.${k}`, l[k], 0, { min: 0 });
  }
  checkAgentResources(out, limits);
  const resourceScaling = parseResourceScaling(o.resourceScaling, new Set(out.keys()), limits);
  checkQuotaFitsAgents(out, resourceScaling);
  return {
    pools: out,
    limits,
    shutdownDeadlineMs: duration('config', 'shutdownDeadlineMs', o.shutdownDeadlineMs, 30_000),
    metricsIntervalMs: duration('config', 'metricsIntervalMs', o.metricsIntervalMs, 60_000),
    rebalance: parseRebalance(o.rebalance, limits),
    allocation:
      o.allocation === false
        ? false
        : resolveAllocationPolicy(
            o.allocation === true || o.allocation === undefined ? {} : o.allocation,
            'allocation',
          ),
    leaseTtlMs: duration('config', 'leaseTtlMs', o.leaseTtlMs, DEFAULT_ALLOCATION_TTL_MS, { positive: true }),
    inspect,
    telemetry: parseTelemetry(o.telemetry),
    rateLimits,
    cluster,
    optimize: parseOptimize(o.optimize),
    resourceScaling,
  };
}

const OPTIMIZE_KEYS = new Set(['intervalMs', 'auto', 'analyse']);

/** Validate `optimize`: an interval (> 0), the kinds applied automatically, analysis thresholds. */
function parseOptimize(raw: unknown): SystemConfig['optimize'] {
  if (raw === undefined) return undefined;
  const o = record('config', 'optimize', raw);
  knownKeys('config', 'optimize', o, OPTIMIZE_KEYS);
  const auto = o.auto === undefined ? [] : strings('config', 'optimize.auto', o.auto, []);
  for (const [i, k] of auto.entries())
    if (!(RECOMMENDATION_KINDS as readonly string[]).includes(k))
      invalid('config', `optimize.auto[${i}]`, k, `one of ${RECOMMENDATION_KINDS.join(', ')}`);
  return {
    intervalMs: duration('config', 'optimize.intervalMs', o.intervalMs, 60_000, { positive: true }),
    auto: auto as RecommendationKind[],
    ...(o.analyse !== undefined
      ? { analyse: record('config', 'optimize.analyse', o.analyse) as AnalyseOptions }
      : {}),
  };
}

const TELEMETRY_KEYS = new Set(['tracerProvider', 'meterProvider']);

/** Validate `telemetry`: false, or providers with `getTracer()` / `getMeter()`. */
function parseTelemetry(value: unknown): false | TelemetryOptions | undefined {
  if (value === undefined || value === false) return value;
  const o = record('config', 'telemetry', value);
  knownKeys('config', 'telemetry', o, TELEMETRY_KEYS);
  if (o.tracerProvider !== undefined)
    methods('telemetry.tracerProvider', o.tracerProvider, ['getTracer'], 'a tracer provider');
  if (o.meterProvider !== undefined)
    methods('telemetry.meterProvider', o.meterProvider, ['getMeter'], 'a meter provider');
  return o as TelemetryOptions;
}

const CLOCK_METHODS = ['now', 'setTimeout', 'clearTimeout'] as const;
/** What the runtime calls on a logger (any pino logger, or `console`, has them). */
const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;
const OBSERVER_METHODS = ['next', 'error', 'complete'] as const;

/** Throw unless `value` is an object whose `names` are all functions (`path.name` for a bad one). */
function methods(path: string, value: unknown, names: readonly string[], what: string): void {
  const expected = `${what}: an object with ${names.map((n) => `${n}()`).join(', ')}`;
  if (value === null || typeof value !== 'object') invalid('config', path, value, expected);
  for (const n of names) {
    const m = (value as Record<string, unknown>)[n];
    if (typeof m !== 'function') invalid('config', `${path}.${n}`, m, `a function (${expected})`);
  }
}

/**
 * Validate the `inspect` option: XState's `inspect` of `createActor`, a function or an observer with
 * at least one of `next`/`error`/`complete` (each given one a function). Passed on as it is.
 */
function parseInspect(value: unknown): Inspector | undefined {
  if (value === undefined || typeof value === 'function') return value as Inspector | undefined;
  const expected = 'an XState inspector: a function or an observer { next, error, complete }';
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid('config', 'inspect', value, expected);
  const o = value as Record<string, unknown>;
  if (!OBSERVER_METHODS.some((n) => o[n] !== undefined)) invalid('config', 'inspect', value, expected);
  for (const n of OBSERVER_METHODS) {
    if (o[n] !== undefined && typeof o[n] !== 'function')
      invalid('config', `inspect.${n}`, o[n], `a function (${expected})`);
  }
  return value as Inspector;
}

/**
 * Budgets may only name configured pools (a typo would otherwise be an unenforced budget). The rest of
 * `budgets` is validated by `TokenBudgets` (src/structures/budget.ts).
 */
function checkBudgetPools(raw: unknown, pools: ReadonlyMap<string, PoolConfig>): void {
  if (raw === undefined) return;
  const b = record('config', 'budgets', raw);
  if (b.pools === undefined) return;
  const p = record('config', 'budgets.pools', b.pools);
  for (const name of Object.keys(p)) {
    if (!pools.has(name))
      invalid(
        'config',
        `budgets.pools.${name}`,
        p[name],
        `a configured pool (${[...pools.keys()].join(', ')})`,
      );
  }
}

/** Validate the `rebalance` option: round timing here, the rules by {@link resolveRebalanceConfig}. */
function parseRebalance(
  raw: unknown,
  limits: Partial<Record<ResourceName, number>>,
): RebalanceSettings | undefined {
  if (raw === undefined || raw === false) return undefined;
  const given = raw === true ? {} : record('config', 'rebalance', raw);
  const { intervalMs, stepTimeoutMs, historySize, ...rules } = given;
  const settings: RebalanceSettings = {
    intervalMs: duration('config', 'rebalance.intervalMs', intervalMs, 60_000, { positive: true }),
    stepTimeoutMs: duration('config', 'rebalance.stepTimeoutMs', stepTimeoutMs, 10_000, { positive: true }),
    historySize: num('config', 'rebalance.historySize', historySize, 100, { min: 1, integer: true }),
    rules: resolveRebalanceConfig(rules, 'rebalance'),
  };
  // The rebalancer resizes allocations in the allocator's ledger, which exists only with global limits.
  if (Object.keys(limits).length === 0)
    invalid(
      'config',
      'rebalance',
      raw,
      'off, or global `limits` configured too (the rebalancer resizes allocations in the allocator ledger)',
    );
  return settings;
}

/** The `cluster` option; a `remote` pool without it is an error naming the pool. */
function parseClusterOption(raw: unknown, pools: Map<string, PoolConfig>): ClusterConfig | undefined {
  const cluster = raw === undefined ? undefined : parseCluster(raw);
  for (const [type, pc] of pools) {
    if (pc.host === 'remote' && cluster === undefined)
      invalid('config', `pools.${type}.host`, 'remote', "a local tier, or 'remote' with the cluster option");
  }
  return cluster;
}
