/**
 * Verify spec of the dispatcher machine (machines/dispatcher.machine.ts): queue edges,
 * re-queues, expiries, drain with tasks still running and with none. Home = idle or stopped.
 */
import type { EventObject } from 'xstate';
import { type DispatcherMachineContext, dispatcherMachine } from '../../../machines/dispatcher.machine.js';
import type { MachineSpec } from '../types.js';

// On entering `draining` the live guard asks the runtime; here "something is still running" so the
// RUNNING_DONE path is explored too (the machine's own guard decides RUNNING_DONE by its payload).
const machine = dispatcherMachine.provide({
  guards: {
    nothingRunning: ({ event }) => event.type === 'RUNNING_DONE' && event.remaining === 0,
  },
});

/** The dispatcher machine's verify spec. */
export const spec: MachineSpec = {
  name: 'dispatcher',
  machine,
  events: [
    { type: 'TASK_QUEUED' },
    { type: 'QUEUE_EMPTY' },
    { type: 'TASK_REQUEUED' },
    { type: 'TASK_EXPIRED' },
    { type: 'TASKS_STOLEN', count: 2 },
    { type: 'DRAIN' },
    { type: 'RUNNING_DONE', remaining: 1 },
    { type: 'RUNNING_DONE', remaining: 0 },
  ] as EventObject[],
  isHome: (s) => s.status === 'done' || s.value === 'idle' || s.value === 'stopped',
  // Counters are bucketed so the traversal stays finite.
  serializeState: (s) => {
    const c = s.context as DispatcherMachineContext;
    return JSON.stringify([s.value, Math.min(c.requeued, 1), Math.min(c.expired, 1)]);
  },
  limit: 200,
};
