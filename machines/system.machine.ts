/**
 * The root of an agentpool system: idle → starting → running → draining → stopping → stopped.
 *
 * `START` starts every pool (invoke `startPools`; a failure goes straight to stopping so nothing is
 * left half-started). `SHUTDOWN { graceful, deadlineMs }`: graceful drains first (no new work, leases
 * finish up to the deadline), then stops every agent; non-graceful skips the drain. Either way the
 * `stopping` state is bounded by its own deadline, so `stopped` is always reached.
 */
import { assign, fromPromise, setup } from 'xstate';

/** Context of {@link systemMachine}. */
export interface SystemMachineContext {
  /** Drain deadline of the shutdown in progress. */
  deadlineMs: number;
  /** Hard bound on the final stop phase. */
  stopTimeoutMs: number;
  error: string | undefined;
}

/** Input to {@link systemMachine}. */
export interface SystemInput {
  /** Hard bound on the final stop phase. @default 10_000 */
  stopTimeoutMs?: number;
}

/** Events {@link systemMachine} accepts. */
export type SystemMachineEvent =
  { type: 'START' } | { type: 'SHUTDOWN'; graceful: boolean; deadlineMs: number };

/**
 * The system statechart.
 *
 * @example
 * ```ts
 * const sys = createActor(systemMachine.provide({ actors: { startPools, drainPools, stopPools } })).start();
 * sys.send({ type: 'START' });
 * sys.send({ type: 'SHUTDOWN', graceful: true, deadlineMs: 30_000 });
 * ```
 */
export const systemMachine = setup({
  types: {
    context: {} as SystemMachineContext,
    events: {} as SystemMachineEvent,
    input: {} as SystemInput,
  },
  actors: {
    startPools: fromPromise<void>(async () => {}),
    drainPools: fromPromise<void, { deadlineMs: number }>(async () => {}),
    stopPools: fromPromise<void>(async () => {}),
  },
  actions: {
    reportRunning: () => {},
    reportStopped: () => {},
  },
  guards: {
    isGraceful: ({ event }) => event.type === 'SHUTDOWN' && event.graceful,
    isForced: ({ event }) => event.type === 'SHUTDOWN' && !event.graceful,
  },
  delays: {
    drainDeadline: ({ context }) => context.deadlineMs,
    stopTimeout: ({ context }) => context.stopTimeoutMs,
  },
}).createMachine({
  id: 'system',
  context: ({ input }) => ({ deadlineMs: 0, stopTimeoutMs: input.stopTimeoutMs ?? 10_000, error: undefined }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: { target: 'starting' },
        SHUTDOWN: { target: 'stopped' },
      },
    },
    starting: {
      invoke: {
        src: 'startPools',
        onDone: { target: 'running' },
        onError: {
          target: 'stopping',
          actions: assign({ error: ({ event }) => String((event.error as Error)?.message ?? event.error) }),
        },
      },
      on: {
        SHUTDOWN: { target: 'stopping' },
      },
    },
    running: {
      entry: 'reportRunning',
      on: {
        SHUTDOWN: [
          {
            guard: 'isGraceful',
            target: 'draining',
            actions: assign({ deadlineMs: ({ event }) => event.deadlineMs }),
          },
          { target: 'stopping' },
        ],
      },
    },
    draining: {
      invoke: {
        src: 'drainPools',
        input: ({ context }) => ({ deadlineMs: context.deadlineMs }),
        onDone: { target: 'stopping' },
        onError: { target: 'stopping' },
      },
      after: { drainDeadline: { target: 'stopping' } },
      on: {
        SHUTDOWN: { guard: 'isForced', target: 'stopping' },
      },
    },
    stopping: {
      invoke: {
        src: 'stopPools',
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
      after: { stopTimeout: { target: 'stopped' } },
    },
    stopped: { type: 'final', entry: 'reportStopped' },
  },
});
