/**
 * One allocation (a lease of resources for a cycle on an agent), from reservation to release.
 *
 * `live` is a parallel state with two regions:
 * - `lease`: reserved → (ACTIVATE) active → (RESIZE) resizing → active;
 * - `ttl`: a single `counting` state whose named `after` delay (`ttl`, from `context.ttlMs`, default
 *   4 h) expires the allocation; RENEW re-enters it, restarting the timer without disturbing the lease
 *   (a resize in flight is not restarted).
 *
 * RELEASE, AGENT_LOST, EXPIRE and the TTL all converge on **one** final state, `released`, whose entry
 * runs the single `releaseAllocation` action (the runtime sends RELEASE/EXPIRE to the allocator). A
 * final state is entered at most once, so the allocation is released exactly once whatever happens to
 * the agent or the lease; the cause is kept in `context.releaseCause` and in the machine's output.
 *
 * Pure: `resizeAllocation` (an actor that asks the allocator and resolves with the new amounts) and
 * `releaseAllocation` / `reportResizeFailed` are provided by the runtime with `machine.provide()`.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { ResizeChange, ResourceAmounts } from '../src/structures/ledger.js';

/** Four hours, the design's default lease. */
export const DEFAULT_ALLOCATION_TTL_MS = 4 * 60 * 60 * 1000;

/** Input to {@link allocationMachine}. */
export interface AllocationInput {
  /** The allocator's id for this allocation. */
  allocationId: string;
  /** Agent holding it. */
  owner: string;
  /** Pool type of the agent (the runtime finds the lease through it). */
  pool?: string;
  /** Cycle it serves, if any. */
  cycleId?: string;
  /** What the allocator granted. */
  amounts: ResourceAmounts;
  /** Lease length; expiry releases the allocation. @default 14400000 (4 h) */
  ttlMs?: number;
  /** A resize that has not answered within this is abandoned (the lease stays as it was). @default 5000 */
  resizeTimeoutMs?: number;
}

/** Why an allocation was released. */
export type AllocationReleaseCause = 'released' | 'expired' | 'agent-lost';

/** Context of {@link allocationMachine}. */
export interface AllocationContext {
  allocationId: string;
  owner: string;
  pool: string | undefined;
  cycleId: string | undefined;
  amounts: ResourceAmounts;
  ttlMs: number;
  resizeTimeoutMs: number;
  /** Times RENEW extended the lease. */
  renewals: number;
  /** Resize in flight (or last requested). */
  pendingChange: ResizeChange | undefined;
  /** Set on entry to `released`. */
  releaseCause: AllocationReleaseCause | undefined;
  /** Why the last resize was refused (cleared by one that succeeds). */
  lastResizeError: string | undefined;
}

/** Events {@link allocationMachine} accepts. */
export type AllocationEvent =
  | { type: 'ACTIVATE' }
  | { type: 'RESIZE'; change: ResizeChange }
  | { type: 'RENEW'; ttlMs?: number }
  | { type: 'RELEASE' }
  | { type: 'EXPIRE' }
  | { type: 'AGENT_LOST' };

/** Output of {@link allocationMachine} when it reaches `released`. */
export interface AllocationOutput {
  allocationId: string;
  cause: AllocationReleaseCause;
}

/**
 * The allocation statechart.
 *
 * @example
 * ```ts
 * const lease = createActor(allocationMachine.provide({
 *   actions: { releaseAllocation: ({ context }) => allocator.send({ type: 'RELEASE', allocationId: context.allocationId }) },
 *   actors: { resizeAllocation: fromPromise(({ input }) => resizeThroughAllocator(input)) },
 * }), { input: { allocationId, owner: agentId, amounts }, clock }).start();
 * ```
 */
export const allocationMachine = setup({
  types: {
    context: {} as AllocationContext,
    events: {} as AllocationEvent,
    input: {} as AllocationInput,
    output: {} as AllocationOutput,
  },
  actors: {
    /** Ask the allocator to resize; resolves with the new amounts, rejects when refused. */
    resizeAllocation: fromPromise<ResourceAmounts, { allocationId: string; change: ResizeChange }>(
      async () => ({}),
    ),
  },
  actions: {
    /** The one release: tell the allocator. Runs on entry to `released`, so exactly once. */
    releaseAllocation: (_, _params: { allocationId: string; cause: AllocationReleaseCause }) => {},
    /** A resize was applied: the holder follows the new amounts (e.g. the agent's memory watchdog). */
    reportResized: (_, _params: { allocationId: string; amounts: ResourceAmounts }) => {},
    /** A resize was refused or timed out; the allocation keeps its amounts. */
    reportResizeFailed: (_, _params: { allocationId: string; error: string }) => {},
  },
  delays: {
    ttl: ({ context }) => context.ttlMs,
    resizeTimeout: ({ context }) => context.resizeTimeoutMs,
  },
}).createMachine({
  id: 'allocation',
  context: ({ input }) => ({
    allocationId: input.allocationId,
    owner: input.owner,
    pool: input.pool,
    cycleId: input.cycleId,
    amounts: input.amounts,
    ttlMs: input.ttlMs ?? DEFAULT_ALLOCATION_TTL_MS,
    resizeTimeoutMs: input.resizeTimeoutMs ?? 5000,
    renewals: 0,
    pendingChange: undefined,
    releaseCause: undefined,
    lastResizeError: undefined,
  }),
  initial: 'live',
  states: {
    live: {
      type: 'parallel',
      states: {
        lease: {
          initial: 'reserved',
          states: {
            reserved: {
              on: { ACTIVATE: { target: 'active' } },
            },
            active: {
              on: {
                RESIZE: {
                  target: 'resizing',
                  actions: assign({ pendingChange: ({ event }) => event.change }),
                },
              },
            },
            resizing: {
              invoke: {
                src: 'resizeAllocation',
                input: ({ context }) => ({
                  allocationId: context.allocationId,
                  change: context.pendingChange ?? { delta: {} },
                }),
                onDone: {
                  target: 'active',
                  actions: [
                    assign({
                      amounts: ({ event }) => event.output,
                      pendingChange: undefined,
                      lastResizeError: undefined,
                    }),
                    {
                      type: 'reportResized',
                      params: ({ context, event }) => ({
                        allocationId: context.allocationId,
                        amounts: event.output,
                      }),
                    },
                  ],
                },
                onError: {
                  target: 'active',
                  actions: [
                    assign({
                      pendingChange: undefined,
                      lastResizeError: ({ event }) =>
                        String((event.error as Error | undefined)?.message ?? event.error),
                    }),
                    {
                      type: 'reportResizeFailed',
                      params: ({ context, event }) => ({
                        allocationId: context.allocationId,
                        error: String((event.error as Error | undefined)?.message ?? event.error),
                      }),
                    },
                  ],
                },
              },
              after: {
                resizeTimeout: {
                  target: 'active',
                  actions: [
                    assign({ pendingChange: undefined, lastResizeError: 'resize timed out' }),
                    {
                      type: 'reportResizeFailed',
                      params: ({ context }) => ({
                        allocationId: context.allocationId,
                        error: 'resize timed out',
                      }),
                    },
                  ],
                },
              },
            },
          },
        },
        ttl: {
          initial: 'counting',
          states: {
            counting: {
              after: {
                ttl: { target: '#allocation.released', actions: assign({ releaseCause: 'expired' }) },
              },
              on: {
                RENEW: {
                  target: 'counting',
                  reenter: true,
                  actions: assign({
                    renewals: ({ context }) => context.renewals + 1,
                    ttlMs: ({ context, event }) =>
                      event.ttlMs !== undefined && Number.isFinite(event.ttlMs) && event.ttlMs > 0
                        ? event.ttlMs
                        : context.ttlMs,
                  }),
                },
              },
            },
          },
        },
      },
      on: {
        RELEASE: { target: 'released', actions: assign({ releaseCause: 'released' }) },
        EXPIRE: { target: 'released', actions: assign({ releaseCause: 'expired' }) },
        AGENT_LOST: { target: 'released', actions: assign({ releaseCause: 'agent-lost' }) },
      },
    },
    released: {
      type: 'final',
      entry: {
        type: 'releaseAllocation',
        params: ({ context }) => ({
          allocationId: context.allocationId,
          cause: context.releaseCause ?? 'released',
        }),
      },
    },
  },
  output: ({ context }) => ({
    allocationId: context.allocationId,
    cause: context.releaseCause ?? 'released',
  }),
});
