/**
 * Verify spec of the resource scaler (machines/resource-scaler.machine.ts): rounds on the interval or
 * TRIGGER, observations that call for a change, call for none, fail or hang; application that
 * succeeds, is refused (partial success), fails or hangs; STOP from anywhere. Home = `monitoring` or the
 * final `stopped`.
 *
 * Fakes never settle: the traversal delivers done/error events itself. The state identity is the state
 * value, whether decisions are pending, whether the last step failed and the quota the policy holds
 * (cooldowns, rounds and history only grow).
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import {
  type ResourceQuotaOutcome,
  type ResourceScalerContext,
  type ResourceUsageObservation,
  resourceScalerMachine,
} from '../../../machines/resource-scaler.machine.js';
import {
  type ResourceDecision,
  validateResourceScalerConfig,
} from '../../policies/scaling/resource-scaler.js';
import type { MachineSpec } from '../types.js';
import { invokeId } from './invoke-id.js';

const machine = resourceScalerMachine.provide({
  actors: {
    observeUsage: fromPromise<ResourceUsageObservation, void>(() => new Promise(() => {})),
    applyQuotas: fromPromise<ResourceQuotaOutcome[], { decisions: ResourceDecision[] }>(
      () => new Promise(() => {}),
    ),
  },
});

const observeId = invokeId(machine, 'observeUsage');
const applyId = invokeId(machine, 'applyQuotas');
const config = validateResourceScalerConfig({
  limits: { memoryMb: 4096 },
  pools: { code: { memoryMb: { min: 1024, max: 2048, step: 1024, downCooldownMs: 0 } } },
});
const at = 0;
const quotas = { code: { memoryMb: 1024 } };
/** Full: grow 1024 → 2048. */
const pressed: ResourceUsageObservation = { usage: { code: { memoryMb: 1000 } }, quotas, at };
/** Half full: nothing to do. */
const steady: ResourceUsageObservation = { usage: { code: { memoryMb: 512 } }, quotas, at };
const grow: ResourceDecision = {
  pool: 'code',
  resource: 'memoryMb',
  from: 1024,
  to: 2048,
  reason: 'utilization-above-threshold',
  utilization: 1000 / 1024,
  cappedByGlobalLimit: false,
};

/** The resource scaler machine's verify spec. */
export const spec: MachineSpec = {
  name: 'resource-scaler',
  machine,
  input: { config, intervalMs: 30_000, stepTimeoutMs: 5_000, historySize: 2 },
  events: [
    { type: 'TRIGGER' },
    { type: 'STOP' },
    { type: `xstate.done.actor.${observeId}`, output: pressed } as EventObject,
    { type: `xstate.done.actor.${observeId}`, output: steady } as EventObject,
    { type: `xstate.error.actor.${observeId}`, error: new Error('fake: allocator gone') } as EventObject,
    {
      type: `xstate.done.actor.${applyId}`,
      output: [{ ...grow, ok: true, applied: 2048 }],
    } as EventObject,
    {
      type: `xstate.done.actor.${applyId}`,
      output: [{ ...grow, ok: false, applied: 1024, error: 'refused' }],
    } as EventObject,
    { type: `xstate.error.actor.${applyId}`, error: new Error('fake: allocator gone') } as EventObject,
  ],
  isHome: (s) => s.status === 'done' || s.value === 'monitoring',
  serializeState: (s) => {
    const c = s.context as ResourceScalerContext;
    return JSON.stringify([
      s.value,
      c.pending !== undefined && c.pending.decisions.length > 0,
      c.lastError !== undefined,
      c.state.quotas,
    ]);
  },
  limit: 500,
};
