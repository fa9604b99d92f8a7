/**
 * agentpool — pools of AI agents as XState v5 actors.
 *
 * The root entry is deliberately narrow: the system factory, its option and result types, the typed
 * errors, the clocks, the logger, the metrics endpoint and the optimisers. `test/public-api.test.ts`
 * pins the exact list of runtime exports, so growing it is a conscious act.
 *
 * Everything else lives in a subpath:
 *
 * | import from | what |
 * |---|---|
 * | `agentpool/agent` | what an agent module imports: `defineAgent`, the agent context types |
 * | `agentpool/machines` | every statechart in `machines/` (inspection, the Stately editor, model tests) |
 * | `agentpool/policies` | balancing strategies, scaling, allocation, rebalancing, DRF, forecast, optimisers; option vocabularies |
 * | `agentpool/structures` | ledger, task queue, work-stealing deques, token budgets, heap |
 * | `agentpool/metrics` | histograms, time-series rings, rate counters, the per-pool collector, Prometheus text |
 * | `agentpool/sim` | deterministic simulation: scaling scenarios, the pool and system simulators, queueing |
 * | `agentpool/verify` | the graph checker, machine specs, Mermaid diagrams |
 */

// System facade
export {
  type AcquireOptions,
  type AgentPoolSystem,
  createAgentPoolSystem,
  type ShutdownOptions,
  type SystemStatus,
} from './runtime/system.js';
// The typed task API (compile time; `agentModule` types a thread agent's module URL)
export {
  type AgentModule,
  agentModule,
  type PoolAgent,
  type PoolsOf,
  type PoolTasks,
  type TypedSubmitOptions,
  type TypedSystemOptions,
} from './runtime/typed.js';
export type { PoolName, TaskInput, TaskName, TaskOutput } from './runtime/task-types.js';
// Events (`system.on`)
export type { SystemEvent, SystemEventOf, SystemEventType } from './runtime/events.js';
export {
  type AdmissionOrder,
  type AgentCapacity,
  type DispatchMode,
  type Inspector,
  type IsolationLevel,
  type Limits,
  type PoolOptions,
  type RebalanceOptions,
  type ResourceName,
  type SecurityLevel,
  type SystemOptions,
  tddPool,
  type TddPoolType,
} from './runtime/config.js';
export type { Requirements } from './runtime/requirements.js';
// Nodes over NATS (`cluster` option, `host: 'remote'`; docs/guides/cluster.md)
export type { ClusterOptions } from './cluster/config.js';
export type { DurableOptions } from './cluster/durable-config.js';
export type { AttachOptions, TaskHandle } from './cluster/task-handle.js';
// Security profiles, tools, isolation tiers (docs/guides/security.md)
export {
  type NetworkPolicy,
  type SecurityProfileInput,
  tddSecurity,
  type TddProfileType,
} from './security/profile.js';
export type {
  ToolAuditEntry,
  ToolContext,
  ToolDefinition,
  ToolFunction,
  ToolSchema,
} from './security/tools.js';
export type { IsolationTier } from './security/tiers.js';
export { registerVmProvider, type VmProvider } from './hosts/vm-provider.js';
export type { Host, HostIsolation, HostListener, HostOptions } from './hosts/host.js';
export type { EnforcementRecord } from './runtime/agent-handle.js';
export { type CheckResult, type DoctorReport, runDoctor, type TierReport } from './doctor/index.js';
export type { StrategyName } from './policies/balancing/index.js';
export type { Priority } from './structures/task-queue.js';

// Leases, tasks, status (types only: leases come from `system.acquire`)
export type { Lease, LeaseRunOptions, LeaseUsage, RunArgs } from './runtime/lease.js';
export type { RunOptions } from './runtime/agent-handle.js';
export type { DispatcherStats, SubmitOptions } from './runtime/dispatcher.js';
export type { RetryOptions } from './runtime/retry.js';
export type { RateLimitOptions, RateUsage } from './runtime/rate-limits.js';
export type { PoolCounters, PoolStatus } from './runtime/pool.js';
export type { ScaleRecord, ScaleRefusal } from '../machines/pool.machine.js';
export type {
  ResourceScalingOptions,
  ResourceScalingRuleOptions,
  ResourceScalingView,
} from './runtime/resource-scaling.js';
export type { ResourceQuotaOutcome, ResourceScalingRound } from '../machines/resource-scaler.machine.js';
export type { RebalanceOutcome } from './policies/rebalancing.js';
export type { BudgetScope, BudgetUsage, TokenBudgetsConfig } from './structures/budget.js';
export type { PoolMetricsSample, PoolMetricsSnapshot } from './metrics/pool-metrics.js';

// Agents (agent modules import from `agentpool/agent`; inline agents are defined next to the system)
export { defineAgent } from './agent/define.js';
export type {
  AgentContext,
  AgentDefinition,
  AgentOptions,
  SetupContext,
  TaskHandler,
  TokenReservation,
  Usage,
} from './agent/define.js';

// Errors
export {
  AbortedError,
  AgentCrashedError,
  AgentPoolError,
  BudgetExhaustedError,
  ConfigError,
  DeadlineExceededError,
  type ErrorCode,
  InvalidArgumentError,
  PoolExhaustedError,
  QueueFullError,
  ResourceExhaustedError,
  TaskError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownPoolError,
} from './core/errors.js';

// Time and logging
export { type Clock, ManualClock, realClock } from './core/clock.js';
export { createLogger, type Logger } from './core/logger.js';

// Metrics endpoint and optimisers
export {
  type MetricsEndpoint,
  type MetricsSource,
  serveMetrics,
  type ServeMetricsOptions,
} from './metrics/http-endpoint.js';
export {
  type AnalyseOptions,
  analysePools,
  type ApplyOptions,
  type ApplyResult,
  applyRecommendations,
  type Recommendation,
  type RecommendationAppliers,
  type RecommendationKind,
  type RecommendedAction,
} from './policies/optimizers.js';
