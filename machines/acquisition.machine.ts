/**
 * One `acquire()` call that could not be granted on arrival.
 *
 * checking → waiting → (first timeout) → scalingUp → retrying (half the timeout) → rejected
 * (`ERR_POOL_EXHAUSTED`); a pool at its maximum rejects at the first timeout (the seed's rule) unless
 * it retries at max (`retryAtMax`); with `OFFER` (an agent was set aside for us) → allocating → granted
 * (or → granted at once when the offer came with its reservation made), and
 * `ABORT` → cancelled from every non-final state. The runtime grants an acquire that can be served
 * at once without creating this actor: that is this machine's instant path checking → allocating →
 * granted, which has no timer or wait to own (see docs/machines/acquisition.md).
 *
 * Pure: `enqueue`, `withdraw`, `requestScaleUp`, `reserve` and the `on*` outcome reporters are named
 * actions the runtime provides; `canScaleUp` and `fits` are named guards.
 */
import { assign, setup } from 'xstate';

/** Input to {@link acquisitionMachine}. */
export interface AcquisitionInput {
  /** The acquisition's id (its actor id among the pool's children). */
  id: string;
  /** Pool type asked for. */
  pool: string;
  /** First wait; the retry after a scale-up waits half of it. */
  timeoutMs: number;
}

/** Why an acquisition ended without a grant. */
export type AcquisitionFailure =
  | { kind: 'never-fits' }
  | { kind: 'pool-exhausted'; scaledUp: boolean }
  | { kind: 'resources'; resource: string }
  /** The pool's agents cannot start (see the pool machine's `active.failed`). */
  | { kind: 'pool-failed'; error: string }
  | { kind: 'cancelled' };

/** Context of {@link acquisitionMachine}. */
export interface AcquisitionContext extends AcquisitionInput {
  /** Agent set aside for this acquisition, once offered. */
  agentId: string | undefined;
  /** Did the scale-up on timeout actually start an agent? */
  scaledUp: boolean;
  failure: AcquisitionFailure | undefined;
}

/** Events {@link acquisitionMachine} accepts. */
export type AcquisitionEvent =
  /**
   * An agent was set aside for this acquisition. `reserved`: the runtime reserved the request's
   * resources with the offer, so there is nothing left to wait for — straight to `granted` (the
   * hand-off of a released agent to a waiter, one event instead of OFFER + RESERVED; issue 14).
   * Without it the acquisition reserves in `allocating`.
   */
  | { type: 'OFFER'; agentId: string; reserved?: boolean }
  | { type: 'RESERVED' }
  | { type: 'RESERVE_FAILED'; resource: string }
  /** The pool gave up starting agents: waiting is pointless, reject with its start error. */
  | { type: 'POOL_FAILED'; error: string }
  | { type: 'ABORT' };

/**
 * The acquisition statechart.
 *
 * @example
 * ```ts
 * const a = createActor(acquisitionMachine.provide({ actions: { enqueue, withdraw, … } }),
 *   { input: { pool: 'code', timeoutMs: 30_000 }, clock }).start();
 * ```
 */
export const acquisitionMachine = setup({
  types: {
    context: {} as AcquisitionContext,
    events: {} as AcquisitionEvent,
    input: {} as AcquisitionInput,
  },
  actions: {
    /** Keep the offered agent's id. */
    takeOffer: assign({
      agentId: ({ context, event }) => (event.type === 'OFFER' ? event.agentId : context.agentId),
    }),
    /** Join the pool's FIFO of waiters (the pool may OFFER at once). */
    enqueue: () => {},
    /** Leave the pool's waiters and give back any agent set aside. */
    withdraw: () => {},
    /** Ask the pool to start one more agent. */
    requestScaleUp: () => {},
    /** Reserve the requirements on the offered agent; the runtime answers RESERVED or RESERVE_FAILED. */
    reserve: () => {},
    onGranted: () => {},
    /** Reports the failure (passed as params: snapshots read inside actions are one step behind). */
    onRejected: (_, _params: { failure: AcquisitionFailure | undefined }) => {},
    onCancelled: () => {},
  },
  guards: {
    /** The requirements can ever be met by this pool's agents and the global limits. */
    fits: () => true,
    /** The pool is below its maximum size. */
    canScaleUp: () => true,
    /** A pool at max still waits half the timeout again (pool option `retryAtMax`). */
    retryAtMax: () => false,
    /** The offer came with the reservation made (pure: read from the event). */
    offerReserved: ({ event }) => event.type === 'OFFER' && event.reserved === true,
  },
  delays: {
    firstWait: ({ context }) => context.timeoutMs,
    retryWait: ({ context }) => context.timeoutMs / 2,
  },
}).createMachine({
  id: 'acquisition',
  // Field by field: a spread followed by more properties costs µs per object on Node 20 (V8 11.3).
  context: ({ input }) => ({
    id: input.id,
    pool: input.pool,
    timeoutMs: input.timeoutMs,
    agentId: undefined,
    scaledUp: false,
    failure: undefined,
  }),
  initial: 'checking',
  states: {
    checking: {
      always: [
        { guard: 'fits', target: 'waiting' },
        { target: 'rejected', actions: assign({ failure: { kind: 'never-fits' } }) },
      ],
    },
    waiting: {
      entry: 'enqueue',
      on: {
        OFFER: [
          { guard: 'offerReserved', target: 'granted', actions: 'takeOffer' },
          { target: 'allocating', actions: 'takeOffer' },
        ],
      },
      after: { firstWait: { target: 'scalingUp' } },
    },
    scalingUp: {
      always: [
        { guard: 'canScaleUp', target: 'retrying', actions: ['requestScaleUp', assign({ scaledUp: true })] },
        { guard: 'retryAtMax', target: 'retrying' },
        // At max: nothing will start for this wait, so it fails now (a full pool fails after the timeout, not 1.5×).
        {
          target: 'rejected',
          actions: assign({ failure: { kind: 'pool-exhausted', scaledUp: false } }),
        },
      ],
    },
    retrying: {
      on: {
        OFFER: [
          { guard: 'offerReserved', target: 'granted', actions: 'takeOffer' },
          { target: 'allocating', actions: 'takeOffer' },
        ],
      },
      after: {
        retryWait: {
          target: 'rejected',
          actions: assign({
            failure: ({ context }) => ({ kind: 'pool-exhausted', scaledUp: context.scaledUp }),
          }),
        },
      },
    },
    allocating: {
      entry: 'reserve',
      on: {
        RESERVED: { target: 'granted' },
        RESERVE_FAILED: {
          target: 'rejected',
          actions: assign({ failure: ({ event }) => ({ kind: 'resources', resource: event.resource }) }),
        },
      },
    },
    granted: { type: 'final', entry: 'onGranted' },
    rejected: {
      type: 'final',
      entry: ['withdraw', { type: 'onRejected', params: ({ context }) => ({ failure: context.failure }) }],
    },
    cancelled: { type: 'final', entry: ['withdraw', 'onCancelled'] },
  },
  on: {
    ABORT: { target: '.cancelled', actions: assign({ failure: { kind: 'cancelled' } }) },
    POOL_FAILED: {
      target: '.rejected',
      actions: assign({ failure: ({ event }) => ({ kind: 'pool-failed', error: event.error }) }),
    },
  },
});
