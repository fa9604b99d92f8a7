/**
 * Verify spec of the agent machine (machines/agent.machine.ts): tasks starting and ending (ok or
 * failed, the overdue one or another), overdue escalation, heartbeats, host exits, drain and stop, and
 * the done/error outcomes of every invoked actor (start, health check, stop, kill). Heartbeat and
 * health checks are enabled in the input so their guarded timers are walked. Home = idle or a final
 * state (stopped, evicted).
 *
 * The in-flight count is the runtime's (AgentHandle): TASK_END says whether it was the last task
 * (`last`), so the graph sends both kinds for both tasks — including ones the runtime would never
 * send, which only widens the check. `restarts`, `lastError`, `started` and `stop` are left out (they
 * only count, describe or time).
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import { type AgentMachineContext, agentMachine } from '../../../machines/agent.machine.js';
import type { MachineSpec } from '../types.js';

// Fakes never settle: the traversal delivers done/error events itself (auto-derived per invoke).
const never = () => new Promise<void>(() => {});
const machine = agentMachine.provide({
  actors: {
    startHost: fromPromise<void, { agentId: string }>(never),
    stopHost: fromPromise<void, { agentId: string; graceMs: number; abortGraceMs: number }>(never),
    killHost: fromPromise<void, { agentId: string; reason: string }>(never),
    checkHealth: fromPromise<void, { agentId: string }>(never),
  },
});

/** The agent machine's verify spec. */
export const spec: MachineSpec = {
  name: 'agent',
  machine,
  input: {
    agentId: 'verify-agent',
    pool: 'verify',
    maxFailures: 2,
    timings: {
      startTimeoutMs: 1_000,
      abortGraceMs: 100,
      heartbeatTimeoutMs: 500,
      healthIntervalMs: 1_000,
      healthTimeoutMs: 100,
      stopGraceMs: 200,
      drainTimeoutMs: 1_000,
      backoffBaseMs: 50,
      backoffMaxMs: 400,
    },
  },
  events: [
    { type: 'TASK_START', taskId: 't1' },
    { type: 'TASK_START', taskId: 't2' },
    { type: 'TASK_END', taskId: 't1', ok: true, last: true },
    { type: 'TASK_END', taskId: 't1', ok: true, last: false },
    { type: 'TASK_END', taskId: 't1', ok: false, last: true },
    { type: 'TASK_END', taskId: 't2', ok: true, last: true },
    { type: 'TASK_END', taskId: 't2', ok: false, last: false },
    { type: 'TASK_OVERDUE', taskId: 't1', reason: 'timeout' },
    { type: 'TASK_OVERDUE', taskId: 't2', reason: 'cancelled' },
    { type: 'HEARTBEAT' },
    { type: 'HEALTH_DUE' },
    { type: 'HOST_EXITED', error: 'exit code 1' },
    { type: 'DRAIN' },
    { type: 'STOP' },
    { type: 'STOP', graceMs: 0, abortGraceMs: 0 },
    {
      type: 'SECURITY_DENIED',
      denial: { kind: 'tool', resource: 'git', error: 'refused', leaseId: 'l1', cycleId: 'c1', denials: 1 },
    },
  ] as EventObject[],
  isHome: (s) => {
    if (s.status === 'done') return true;
    const v = s.value;
    return v === 'idle' || (typeof v === 'object' && v !== null && 'idle' in v);
  },
  serializeState: (s) => {
    const c = s.context as AgentMachineContext;
    return JSON.stringify([s.value, c.failures, c.overdueTaskId ?? null]);
  },
  limit: 1000,
};
