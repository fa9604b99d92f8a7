/**
 * Verify spec of the rebalancer (machines/rebalancer.machine.ts): rounds on the interval or TRIGGER,
 * collection that finds opportunities, finds none, fails or hangs; application that succeeds, fails or
 * hangs; STOP from anywhere. Home = `monitoring` or the final `stopped`.
 *
 * Fakes never settle: the traversal delivers done/error events itself. The state identity is the state
 * value, whether a plan is pending and whether the last step failed (totals, rounds and history only
 * grow).
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import {
  type RebalanceObservations,
  type RebalancerContext,
  rebalancerMachine,
} from '../../../machines/rebalancer.machine.js';
import type { Opportunity, RebalanceOutcome } from '../../policies/rebalancing.js';
import type { MachineSpec } from '../types.js';
import { invokeId } from './invoke-id.js';

const machine = rebalancerMachine.provide({
  actors: {
    collectObservations: fromPromise<RebalanceObservations, void>(() => new Promise(() => {})),
    applyOpportunities: fromPromise<RebalanceOutcome[], { opportunities: Opportunity[] }>(
      () => new Promise(() => {}),
    ),
  },
});

const collectId = invokeId(machine, 'collectObservations');
const applyId = invokeId(machine, 'applyOpportunities');
const LIMITS = { available: { memoryMb: 10_000 }, perAgentMax: {}, perAgentMin: {} };
const idle: RebalanceObservations = {
  observations: [{ allocationId: 'idle', allocated: { memoryMb: 1000 }, used: { memoryMb: 0 } }],
  limits: LIMITS,
};
const healthy: RebalanceObservations = {
  observations: [{ allocationId: 'ok', allocated: { memoryMb: 1000 }, used: { memoryMb: 500 } }],
  limits: LIMITS,
};
const shrink: Opportunity = {
  allocationId: 'idle',
  owner: undefined,
  kind: 'shrink-memory',
  resource: 'memoryMb',
  delta: -400,
  confidence: 1,
  utilization: 0,
};

/** The rebalancer machine's verify spec. */
export const spec: MachineSpec = {
  name: 'rebalancer',
  machine,
  input: { intervalMs: 60_000, stepTimeoutMs: 5_000, historySize: 2 },
  events: [
    { type: 'TRIGGER' },
    { type: 'STOP' },
    { type: `xstate.done.actor.${collectId}`, output: idle } as EventObject,
    { type: `xstate.done.actor.${collectId}`, output: healthy } as EventObject,
    { type: `xstate.error.actor.${collectId}`, error: new Error('fake: metrics down') } as EventObject,
    {
      type: `xstate.done.actor.${applyId}`,
      output: [{ opportunity: shrink, applied: true, freed: 400, granted: 0 }],
    } as EventObject,
    { type: `xstate.error.actor.${applyId}`, error: new Error('fake: allocator gone') } as EventObject,
  ],
  isHome: (s) => s.status === 'done' || s.value === 'monitoring',
  serializeState: (s) => {
    const c = s.context as RebalancerContext;
    return JSON.stringify([s.value, c.opportunities.length > 0, c.lastError !== undefined]);
  },
  limit: 500,
};
