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
export type { PoolMachineContext, PoolMachineEvent, ScaleRecord } from '../machines/pool.machine.js';
export { poolMachine } from '../machines/pool.machine.js';
export type { SystemMachineContext, SystemMachineEvent } from '../machines/system.machine.js';
export { systemMachine } from '../machines/system.machine.js';
export type { AgentContext, AgentDefinition, TaskHandler, TokenReservation, Usage } from './agent/define.js';
// Agents
export { defineAgent, isAgentDefinition } from './agent/define.js';
// Errors
export {
  AbortedError,
  AgentCrashedError,
  AgentPoolError,
  BudgetExhaustedError,
  ConfigError,
  type ErrorCode,
  InvalidArgumentError,
  PoolExhaustedError,
  ResourceExhaustedError,
  TaskError,
  TaskTimeoutError,
  UnknownPoolError,
} from './errors/errors.js';
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
export { Lease } from './runtime/lease.js';
export { createLogger, type Logger } from './runtime/logger.js';
export type { PoolCounters, PoolStatus } from './runtime/pool.js';
export type { Requirements } from './runtime/requirements.js';
export type { AcquireOptions, ShutdownOptions, SystemStatus } from './runtime/system.js';
// System facade
export { AgentPoolSystem, createAgentPoolSystem } from './runtime/system.js';
