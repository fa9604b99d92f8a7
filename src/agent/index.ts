/** The agent-side API: what an agent module imports. */
export { defineAgent, isAgentDefinition } from './define.js';
export type { AgentContext, AgentDefinition, AgentHandlers, TaskHandler, TokenReservation, Usage } from './define.js';
