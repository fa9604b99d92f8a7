/**
 * The dispatcher's control plane: `submit()`ted tasks wait in a priority queue and are assigned to
 * free agents.
 *
 * idle (queue empty) → dispatching (tasks queued: entering it and every `TASK_QUEUED` run the named
 * `assign` action, which places what can be placed; while the chart is in `dispatching`, an agent
 * freed pulls queued work through that same action without an event — a freed slot changes no
 * state, and an event per finished task was the dispatcher's hottest transition) → idle when the
 * queue empties; `DRAIN`
 * → draining (no new tasks; queued tasks are rejected, running ones finish) → stopped. In
 * work-stealing pools every steal is a `TASKS_STOLEN` event (counted, in any state).
 *
 * Per-task bookkeeping (heap, deadlines, retries, idempotency) is in src/runtime/dispatcher.ts; the
 * machine only sees edges (empty ⇄ non-empty), so the hot path costs no actor event per task.
 */
import { assign, setup } from 'xstate';

/** Context of {@link dispatcherMachine}. */
export interface DispatcherMachineContext {
  /** Tasks re-queued after losing their agent. */
  requeued: number;
  /** Tasks rejected because their deadline passed while queued. */
  expired: number;
  /** Steal operations (work-stealing pools): an idle agent took half of the busiest agent's deque. */
  steals: number;
}

/** Events {@link dispatcherMachine} accepts. */
export type DispatcherMachineEvent =
  | { type: 'TASK_QUEUED' }
  | { type: 'QUEUE_EMPTY' }
  | { type: 'TASK_REQUEUED' }
  | { type: 'TASK_EXPIRED' }
  /** Work-stealing pools: an idle agent stole `count` tasks from the busiest agent's deque. */
  | { type: 'TASKS_STOLEN'; count: number }
  | { type: 'DRAIN' }
  | { type: 'RUNNING_DONE'; remaining: number };

/**
 * The dispatcher statechart.
 *
 * @example
 * ```ts
 * const d = createActor(dispatcherMachine.provide({ actions: { assign: () => placeQueuedTasks() } })).start();
 * ```
 */
export const dispatcherMachine = setup({
  types: {
    context: {} as DispatcherMachineContext,
    events: {} as DispatcherMachineEvent,
  },
  actions: {
    /** Place every queued task that can be placed now (skipping classes that cannot). */
    assign: () => {},
    /** Reject every queued task (shutting down). */
    rejectQueued: () => {},
  },
  guards: {
    /** No task is running any more (the runtime provides the live check for the eventless case). */
    nothingRunning: ({ event }) => event.type === 'RUNNING_DONE' && event.remaining === 0,
  },
}).createMachine({
  id: 'dispatcher',
  context: { requeued: 0, expired: 0, steals: 0 },
  initial: 'idle',
  states: {
    idle: {
      on: {
        TASK_QUEUED: { target: 'dispatching' },
      },
    },
    dispatching: {
      entry: 'assign',
      on: {
        TASK_QUEUED: { actions: 'assign' },
        QUEUE_EMPTY: { target: 'idle' },
        TASK_REQUEUED: { actions: [assign({ requeued: ({ context }) => context.requeued + 1 }), 'assign'] },
        TASK_EXPIRED: { actions: assign({ expired: ({ context }) => context.expired + 1 }) },
      },
    },
    draining: {
      entry: 'rejectQueued',
      always: { guard: 'nothingRunning', target: 'stopped' },
      on: { RUNNING_DONE: { guard: 'nothingRunning', target: 'stopped' } },
    },
    stopped: { type: 'final' },
  },
  on: {
    DRAIN: { target: '.draining' },
    TASK_REQUEUED: { actions: assign({ requeued: ({ context }) => context.requeued + 1 }) },
    TASKS_STOLEN: { actions: assign({ steals: ({ context }) => context.steals + 1 }) },
  },
});
