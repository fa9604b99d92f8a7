/**
 * Verify spec of the system machine (machines/system.machine.ts): start (success and failure),
 * graceful and forced shutdown from every state, drain and stop completing, failing or timing out.
 * Home = idle, running or stopped.
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import { type SystemMachineContext, systemMachine } from '../../../machines/system.machine.js';
import type { MachineSpec } from '../types.js';

// Fakes never settle: the traversal delivers done/error events itself (auto-derived per invoke).
const machine = systemMachine.provide({
  actors: {
    startPools: fromPromise<void>(() => new Promise(() => {})),
    drainPools: fromPromise<void>(() => new Promise(() => {})),
    stopPools: fromPromise<void, { graceful: boolean }>(() => new Promise(() => {})),
  },
});

/** The system machine's verify spec. */
export const spec: MachineSpec = {
  name: 'system',
  machine,
  input: { stopTimeoutMs: 1_000 },
  events: [
    { type: 'START' },
    { type: 'SHUTDOWN', graceful: true, deadlineMs: 500 },
    { type: 'SHUTDOWN', graceful: false, deadlineMs: 0 },
  ] as EventObject[],
  isHome: (s) => s.status === 'done' || s.value === 'idle' || s.value === 'running' || s.value === 'stopped',
  serializeState: (s) => {
    const c = s.context as SystemMachineContext;
    return JSON.stringify([s.value, c.deadlineMs, c.graceful, c.error !== undefined]);
  },
  limit: 200,
};
