/** The agent-side API: what an agent module imports. */

export type {
  AgentContext,
  AgentDefinition,
  AgentHandlers,
  AgentOptions,
  AgentTools,
  SetupContext,
  TaskHandler,
  TokenReservation,
  Usage,
} from './define.js';
export { defineAgent, isAgentDefinition } from './define.js';
