/**
 * `agentpool/policies`: the pure decision functions — balancing strategies, scaling (the agentpool
 * scaler's decision, Little's law, the HPA baseline, the resource scaler), allocation, rebalancing,
 * Dominant Resource Fairness, demand forecast, the optimisers — and the vocabularies and defaults of
 * the pool options.
 */

// Balancing strategies
export * from '../policies/balancing/index.js';

// Scaling
export * from '../policies/scaling/index.js';
export type { Recommendation as ScalingRecommendation } from '../policies/scaling/decide.js';
export {
  decideResourceQuotas,
  DEFAULT_RESOURCE_SCALING,
  initialResourceScalerState,
  type PoolQuotas,
  type ResourceDecision,
  type ResourceDecisionReason,
  type ResourceObservation,
  type ResourceQuotaResult,
  type ResourceScalerConfig,
  type ResourceScalerConfigInput,
  type ResourceScalerState,
  type ResourceScalingConfig,
  type ResourceScalingConfigInput,
  validateResourceScalerConfig,
} from '../policies/scaling/resource-scaler.js';

// Allocation, rebalancing, fairness, forecast
export * from '../policies/allocation.js';
export * from '../policies/rebalancing.js';
export * from '../policies/drf.js';
export * from '../policies/forecast.js';
export * from '../policies/period.js';
export * from '../policies/expected.js';

// Optimisers
export {
  type ActionType,
  type AgentLoadSample,
  type AnalyseOptions,
  analysePools,
  type ApplyOptions,
  type ApplyResult,
  applyRecommendations,
  type CapabilityUsage,
  erlangC,
  type ExpectedImpact,
  mmcWaitQuantile,
  RECOMMENDATION_KINDS,
  type Recommendation,
  type RecommendationAppliers,
  type RecommendationKind,
  type RecommendedAction,
  type Severity,
} from '../policies/optimizers.js';

// Vocabularies and defaults of the options
export {
  ADMISSION_ORDERS,
  DEFAULT_TIMINGS,
  DISPATCH_MODES,
  ISOLATION_LEVELS,
  RESOURCE_NAMES,
  SECURITY_LEVELS,
  TDD_POOL_SIZES,
} from '../runtime/config.js';
export { MAX_DURATION_MS } from '../core/clock.js';
export { PRIORITIES } from '../structures/task-queue.js';
