/**
 * `agentpool/machines`: every statechart in `machines/`, for inspection, the Stately editor (the
 * sources ship in the package's `machines/` folder) and your own model tests. The machines are pure:
 * the runtime `.provide()`s their actors and guards. The allocator's ledger is built with `Ledger`
 * from `agentpool/structures`.
 */
export {
  type AcquisitionContext,
  type AcquisitionEvent,
  type AcquisitionFailure,
  type AcquisitionInput,
  acquisitionMachine,
} from '../../machines/acquisition.machine.js';
export {
  type AgentInput,
  type AgentMachineContext,
  type AgentMachineEvent,
  agentMachine,
  type AgentTimings,
} from '../../machines/agent.machine.js';
export {
  type AllocationContext,
  type AllocationEvent,
  type AllocationInput,
  allocationMachine,
  type AllocationOutput,
  type AllocationReleaseCause,
  DEFAULT_ALLOCATION_TTL_MS,
} from '../../machines/allocation.machine.js';
export {
  type AllocatorContext,
  type AllocatorEmitted,
  type AllocatorEvent,
  type AllocatorInput,
  allocatorMachine,
  type AllocatorReleased,
  type AllocatorResult,
  type ReleaseCause,
} from '../../machines/allocator.machine.js';
export {
  type DispatcherMachineContext,
  type DispatcherMachineEvent,
  dispatcherMachine,
} from '../../machines/dispatcher.machine.js';
export {
  type ApplyScaleOutput as PoolApplyScaleOutput,
  type PoolInput,
  poolMachine,
  type PoolMachineContext,
  type PoolMachineEvent,
  type ScaleRecord,
  type ScaleRefusal,
} from '../../machines/pool.machine.js';
export {
  type RebalanceObservations,
  type RebalancerContext,
  type RebalancerEvent,
  type RebalancerInput,
  rebalancerMachine,
  type RebalancerOutcomeEvent,
} from '../../machines/rebalancer.machine.js';
export {
  type ResourceQuotaOutcome,
  type ResourceScalerContext,
  type ResourceScalerEvent,
  type ResourceScalerInput,
  resourceScalerMachine,
  type ResourceScalerRoundEvent,
  type ResourceScalingRound,
  type ResourceUsageObservation,
} from '../../machines/resource-scaler.machine.js';
export {
  type ApplyScaleInput,
  type ApplyScaleOutput,
  type ReadMetricsInput,
  type ScalerContext,
  type ScalerEvent,
  type ScalerInput,
  scalerMachine,
  type ScalerRecord,
  type ScalerStats,
} from '../../machines/scaler.machine.js';
export {
  type SystemInput,
  systemMachine,
  type SystemMachineContext,
  type SystemMachineEvent,
} from '../../machines/system.machine.js';
