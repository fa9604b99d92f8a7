/**
 * agentpool — pools of AI agents as XState v5 actors.
 *
 * The public API, listed explicitly. Agent modules import from `agentpool/agent`.
 */

export type { AcquisitionContext, AcquisitionEvent } from '../machines/acquisition.machine.js';
export { acquisitionMachine } from '../machines/acquisition.machine.js';
export type { AgentMachineContext, AgentMachineEvent, AgentTimings } from '../machines/agent.machine.js';
// Machines (for inspection, the Stately editor, and your own model tests)
export { agentMachine } from '../machines/agent.machine.js';
export { allocationMachine } from '../machines/allocation.machine.js';
export type {
  AllocatorContext,
  AllocatorEvent,
  AllocatorInput,
  AllocatorResult,
} from '../machines/allocator.machine.js';
export { allocatorMachine } from '../machines/allocator.machine.js';
export type { DispatcherMachineContext, DispatcherMachineEvent } from '../machines/dispatcher.machine.js';
export { dispatcherMachine } from '../machines/dispatcher.machine.js';
export type { PoolMachineContext, PoolMachineEvent, ScaleRecord } from '../machines/pool.machine.js';
export { poolMachine } from '../machines/pool.machine.js';
export { rebalancerMachine } from '../machines/rebalancer.machine.js';
export type { ScalerContext, ScalerEvent, ScalerInput } from '../machines/scaler.machine.js';
export { scalerMachine } from '../machines/scaler.machine.js';
export type { SystemMachineContext, SystemMachineEvent } from '../machines/system.machine.js';
export { systemMachine } from '../machines/system.machine.js';
export type {
  AgentContext,
  AgentDefinition,
  AgentOptions,
  SetupContext,
  TaskHandler,
  TokenReservation,
  Usage,
} from './agent/define.js';
// Agents
export { defineAgent, isAgentDefinition } from './agent/define.js';
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
  ResourceExhaustedError,
  TaskError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownPoolError,
} from './errors/errors.js';
// Scaling, metrics, simulation
export * from './metrics/index.js';
export {
  type MetricsEndpoint,
  type MetricsSource,
  serveMetrics,
  type ServeMetricsOptions,
} from './metrics/http-endpoint.js';
export { DEFAULT_ALLOCATION_POLICY, resolveAllocationPolicy } from './policies/allocation.js';
export type {
  AgentView,
  BalancingStrategy,
  StrategyName,
  StrategyOptionsMap,
  TaskView,
} from './policies/balancing/index.js';
// Balancing strategies and queues
export {
  AdaptiveStrategy,
  createStrategy,
  DEFAULT_ADAPTIVE_CHILDREN,
  JsqStrategy,
  LeastConnectionsStrategy,
  P2cStrategy,
  PredictiveStrategy,
  RandomStrategy,
  ResourceAwareStrategy,
  RoundRobinStrategy,
  SmoothWeightedStrategy,
  STRATEGY_NAMES,
  WorkloadAwareStrategy,
} from './policies/balancing/index.js';
export { dominantShare, drfAllocate, drfOrder, drfPick } from './policies/drf.js';
export { createForecast, forecastDemand, observeForecast } from './policies/forecast.js';
export { applyOpportunities, findOpportunities, resolveRebalanceConfig } from './policies/rebalancing.js';
export * from './policies/scaling/index.js';
export type { RunOptions } from './runtime/agent-handle.js';
// Time and logging
export { type Clock, ManualClock, realClock, sleep } from './runtime/clock.js';
export type {
  AgentCapacity,
  IsolationLevel,
  Limits,
  PoolOptions,
  ResourceName,
  SecurityLevel,
  SystemOptions,
} from './runtime/config.js';
export {
  DEFAULT_TIMINGS,
  ISOLATION_LEVELS,
  RESOURCE_NAMES,
  SECURITY_LEVELS,
  SEED_SIZES,
} from './runtime/config.js';
// Dispatcher (submit)
export type { DispatcherStats, SubmitOptions } from './runtime/dispatcher.js';
export { Lease } from './runtime/lease.js';
export { createLogger, type Logger } from './runtime/logger.js';
export type { PoolCounters, PoolStatus } from './runtime/pool.js';
export type { Requirements } from './runtime/requirements.js';
export type { AcquireOptions, ShutdownOptions, SystemStatus } from './runtime/system.js';
// System facade
export { AgentPoolSystem, createAgentPoolSystem } from './runtime/system.js';
export { createRng, type Rng } from './sim/random.js';
export {
  makeScenario,
  type SimulationOptions,
  type SimulationResult,
  type SystemSimulationOptions,
  type SystemSimulationResult,
  simulateScaling,
  simulateSystem,
} from './sim/scaling/index.js';
export type { BudgetScope, BudgetUsage, TokenBudgetsConfig } from './structures/budget.js';
export { TokenBudgets } from './structures/budget.js';
export type {
  Allocation,
  LedgerConfig,
  Refusal,
  ReserveResult,
  ResourceAmounts,
} from './structures/ledger.js';
// Resources
export { Ledger, STANDARD_RESOURCES } from './structures/ledger.js';
export { PRIORITIES, type Priority, TaskQueue } from './structures/task-queue.js';
export { Deque, WorkStealingScheduler } from './structures/work-stealing.js';
export type { Finding, MachineReport, MachineSpec } from './verify/index.js';
// Verification
export { checkMachine, loadSpecs } from './verify/index.js';

// Admission order and rebalancing at run time
export { ADMISSION_ORDERS, type AdmissionOrder, type RebalanceOptions } from './runtime/config.js';
export type { LeaseUsage } from './runtime/lease.js';

// Optimisers and the resource scaler
export {
  analysePools,
  applyRecommendations,
  erlangC,
  mmcWaitQuantile,
  RECOMMENDATION_KINDS,
  type Recommendation,
  type RecommendationKind,
  type RecommendedAction,
} from './policies/optimizers.js';
export {
  decideResourceQuotas,
  DEFAULT_RESOURCE_SCALING,
  initialResourceScalerState,
  validateResourceScalerConfig,
  type ResourceDecision,
  type ResourceScalerConfig,
  type ResourceScalerState,
} from './policies/scaling/resource-scaler.js';
