/**
 * The root of an agentpool system: idle → starting → running → draining → stopping → stopped.
 *
 * One actor tree: the system spawns its children when it is created — one pool actor per type
 * (`pool:<type>`), the dispatcher (`dispatcher`, the submit queue) and, with global limits, the
 * allocator (`allocator`, the ledger's only writer); the rebalancer (`rebalancer`) and the resource
 * scaler (`resourceScaler`, per-pool quotas) live while the system is running. Pools own their agents, waiting acquisitions and scaler (machines/pool.machine.ts).
 * Stopping the root stops every child.
 *
 * `START` starts every pool (invoke `startPools`; a failure goes straight to stopping so nothing is
 * left half-started). `SHUTDOWN { graceful, deadlineMs }`: graceful drains first — no new work, leases
 * and running tasks finish — for at most `deadlineMs` (this machine owns the one drain deadline); then
 * `stopping` stops every pool: still-running tasks are aborted (their signal fires), get their abort
 * grace, and their workers are killed. Forced (`graceful: false`) goes straight to stopping and kills
 * at once. `stopping` is bounded by a backstop, so `stopped` is always reached.
 */
import { assign, enqueueActions, fromPromise, setup, stopChild } from 'xstate';
import { type AllocatorInput, allocatorMachine } from './allocator.machine.js';
import { dispatcherMachine } from './dispatcher.machine.js';
import { type PoolInput, poolMachine } from './pool.machine.js';
import { type RebalancerInput, rebalancerMachine } from './rebalancer.machine.js';
import { type ResourceScalerInput, resourceScalerMachine } from './resource-scaler.machine.js';

/** Context of {@link systemMachine}. */
export interface SystemMachineContext {
  /** Drain deadline of the shutdown in progress. */
  deadlineMs: number;
  /** Whether the stop in progress lets aborted tasks take their abort grace. */
  graceful: boolean;
  /** Backstop on the final stop phase (beyond the pools' own bounded stops). */
  stopTimeoutMs: number;
  error: string | undefined;
  /** Input of the rebalancer spawned while running, when rebalancing is on. */
  rebalancer: RebalancerInput | undefined;
  /** Input of the resource scaler spawned while running, when `resourceScaling` is on. */
  resourceScaler: ResourceScalerInput | undefined;
}

/** Input to {@link systemMachine}. */
export interface SystemInput {
  /** Backstop on the final stop phase. @default 10_000 */
  stopTimeoutMs?: number;
  /** One pool actor per entry, spawned at once as child `pool:<type>` (systemId the same). */
  pools?: PoolInput[];
  /** The allocator actor (child `allocator`), when the system has global limits. */
  allocator?: AllocatorInput;
  /** The rebalancer actor (child `rebalancer`), spawned while the system is running. */
  rebalancer?: RebalancerInput;
  /** The resource scaler (child `resourceScaler`, per-pool quotas), spawned while the system is running. */
  resourceScaler?: ResourceScalerInput;
}

/** Events {@link systemMachine} accepts. */
export type SystemMachineEvent =
  | { type: 'START' }
  | { type: 'SHUTDOWN'; graceful: boolean; deadlineMs: number }
  /** A child actor (pool, dispatcher, allocator, rebalancer) failed; sent by XState. */
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

/**
 * The system statechart.
 *
 * @example
 * ```ts
 * const sys = createActor(systemMachine.provide({ actors: { startPools, drainPools, stopPools } }),
 *   { input: { pools: [{ type: 'code', min: 2, max: 5 }] } }).start();
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
    /** Children: the pools, the dispatcher (submit), the allocator (global ledger), the rebalancer, the resource scaler. */
    pool: poolMachine,
    dispatcher: dispatcherMachine,
    allocator: allocatorMachine,
    rebalancer: rebalancerMachine,
    resourceScaler: resourceScalerMachine,
    startPools: fromPromise<void>(async () => {}),
    /** Stop intake everywhere; resolves once no lease is held and no task runs. */
    drainPools: fromPromise<void>(async () => {}),
    /** Stop every pool's agents (graceful: with their abort grace); resolves once nothing is left. */
    stopPools: fromPromise<void, { graceful: boolean }>(async () => {}),
  },
  actions: {
    /** A child actor failed (an action threw): the runtime logs it; the system keeps running. */
    reportChildError: (_, _params: { error: unknown }) => {},
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
  context: ({ input, spawn }) => {
    // The children live as long as the system (refs are not kept in context: it stays plain data).
    for (const p of input.pools ?? [])
      spawn('pool', { id: `pool:${p.type}`, systemId: `pool:${p.type}`, input: p });
    spawn('dispatcher', { id: 'dispatcher', systemId: 'dispatcher' });
    if (input.allocator)
      spawn('allocator', { id: 'allocator', systemId: 'allocator', input: input.allocator });
    return {
      deadlineMs: 0,
      graceful: false,
      stopTimeoutMs: input.stopTimeoutMs ?? 10_000,
      error: undefined,
      rebalancer: input.rebalancer,
      resourceScaler: input.resourceScaler,
    };
  },
  initial: 'idle',
  on: {
    // A child's error is contained here (else it would put the whole system in error).
    'xstate.error.actor.*': {
      actions: { type: 'reportChildError', params: ({ event }) => ({ error: event.error }) },
    },
  },
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
      // Rebalancing and quota rounds only while running: no resize while leases drain.
      entry: enqueueActions(({ enqueue, context }) => {
        if (context.rebalancer)
          enqueue.spawnChild('rebalancer', {
            id: 'rebalancer',
            systemId: 'rebalancer',
            input: context.rebalancer,
          });
        if (context.resourceScaler)
          enqueue.spawnChild('resourceScaler', {
            id: 'resourceScaler',
            systemId: 'resourceScaler',
            input: context.resourceScaler,
          });
      }),
      exit: [stopChild('rebalancer'), stopChild('resourceScaler')],
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
