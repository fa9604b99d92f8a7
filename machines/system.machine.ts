/**
 * The root of an agentpool system: idle → starting → running → draining → stopping → stopped.
 *
 * `START` starts every pool (invoke `startPools`; a failure goes straight to stopping so nothing is
 * left half-started). `SHUTDOWN { graceful, deadlineMs }`: graceful drains first — no new work, leases
 * and running tasks finish — for at most `deadlineMs` (this machine owns the one drain deadline); then
 * `stopping` stops every pool: still-running tasks are aborted (their signal fires), get their abort
 * grace, and their workers are killed. Forced (`graceful: false`) goes straight to stopping and kills
 * at once. `stopping` is bounded by a backstop, so `stopped` is always reached.
 */
import { assign, fromPromise, setup } from 'xstate';

/** Context of {@link systemMachine}. */
export interface SystemMachineContext {
  /** Drain deadline of the shutdown in progress. */
  deadlineMs: number;
  /** Whether the stop in progress lets aborted tasks take their abort grace. */
  graceful: boolean;
  /** Backstop on the final stop phase (beyond the pools' own bounded stops). */
  stopTimeoutMs: number;
  error: string | undefined;
}

/** Input to {@link systemMachine}. */
export interface SystemInput {
  /** Backstop on the final stop phase. @default 10_000 */
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
    /** Stop intake everywhere; resolves once no lease is held and no task runs. */
    drainPools: fromPromise<void>(async () => {}),
    /** Stop every pool's agents (graceful: with their abort grace); resolves once nothing is left. */
    stopPools: fromPromise<void, { graceful: boolean }>(async () => {}),
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
  context: ({ input }) => ({
    deadlineMs: 0,
    graceful: false,
    stopTimeoutMs: input.stopTimeoutMs ?? 10_000,
    error: undefined,
  }),
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
        SHUTDOWN: { target: 'stopping', actions: assign({ graceful: false }) },
      },
    },
    running: {
      on: {
        SHUTDOWN: [
          {
            guard: 'isGraceful',
            target: 'draining',
            actions: assign({ deadlineMs: ({ event }) => event.deadlineMs, graceful: true }),
          },
          { target: 'stopping', actions: assign({ graceful: false }) },
        ],
      },
    },
    draining: {
      invoke: {
        src: 'drainPools',
        onDone: { target: 'stopping' },
        onError: { target: 'stopping' },
      },
      after: { drainDeadline: { target: 'stopping' } },
      on: {
        SHUTDOWN: { guard: 'isForced', target: 'stopping', actions: assign({ graceful: false }) },
      },
    },
    stopping: {
      invoke: {
        src: 'stopPools',
        input: ({ context }) => ({ graceful: context.graceful }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
      after: { stopTimeout: { target: 'stopped' } },
    },
    stopped: { type: 'final' },
  },
});
