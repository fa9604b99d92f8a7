/**
 * The rebalancer: every `interval`, resize allocations to their observed use.
 *
 * monitoring → (interval or TRIGGER) analysing → deciding → rebalancing → monitoring.
 * - `analysing` invokes `collectObservations` (the runtime's usage samples plus the ledger's free
 *   amounts and per-agent limits) and plans with {@link findOpportunities};
 * - `rebalancing` invokes `applyOpportunities`, which applies each opportunity **through the allocator**
 *   (RESIZE events, so the ledger's single-writer rule holds) in confidence order and resolves with one
 *   {@link RebalanceOutcome} per opportunity;
 * - every outcome is emitted as `rebalancer.outcome` (what was freed or granted, or why not) and kept in
 *   a bounded `history`.
 *
 * Any failure or timeout returns to `monitoring`: a rebalancing round is an optimisation, never a
 * reason to stop. STOP ends it from anywhere.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import {
  type AllocationObservation,
  DEFAULT_REBALANCE_CONFIG,
  findOpportunities,
  type Opportunity,
  type RebalanceConfig,
  type RebalanceLimits,
  type RebalanceOutcome,
} from '../src/policies/rebalancing.js';

/** Input to {@link rebalancerMachine}. */
export interface RebalancerInput {
  /** Rebalancing rules; defaults from {@link DEFAULT_REBALANCE_CONFIG}. */
  config?: RebalanceConfig;
  /** Time between rounds. @default 60000 */
  intervalMs?: number;
  /** A collect or apply step that takes longer is abandoned. @default 10000 */
  stepTimeoutMs?: number;
  /** Outcomes kept in `history`. @default 100 */
  historySize?: number;
}

/** Context of {@link rebalancerMachine}. */
export interface RebalancerContext {
  config: RebalanceConfig;
  intervalMs: number;
  stepTimeoutMs: number;
  historySize: number;
  /** Plan of the current round. */
  opportunities: Opportunity[];
  /** Most recent outcomes, oldest first. */
  history: RebalanceOutcome[];
  /** Rounds completed (including empty ones). */
  rounds: number;
  /** Totals over the machine's life, per resource. */
  freed: Record<string, number>;
  granted: Record<string, number>;
  /** Last collect/apply failure. */
  lastError: string | undefined;
}

/** Events {@link rebalancerMachine} accepts. */
export type RebalancerEvent = { type: 'TRIGGER' } | { type: 'STOP' };

/** Emitted once per applied (or refused) opportunity. */
export interface RebalancerOutcomeEvent {
  type: 'rebalancer.outcome';
  outcome: RebalanceOutcome;
}

/** What `collectObservations` resolves with. */
export interface RebalanceObservations {
  observations: AllocationObservation[];
  limits: RebalanceLimits;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The rebalancer statechart.
 *
 * @example
 * ```ts
 * const rebalancer = createActor(rebalancerMachine.provide({ actors: {
 *   collectObservations: fromPromise(async () => ({ observations: sampleUsage(), limits: ledgerLimits() })),
 *   applyOpportunities: fromPromise(async ({ input }) => applyThroughAllocator(input.opportunities)),
 * } }), { input: { intervalMs: 60_000 }, clock }).start();
 * rebalancer.on('rebalancer.outcome', ({ outcome }) => log.info(outcome));
 * ```
 */
export const rebalancerMachine = setup({
  types: {
    context: {} as RebalancerContext,
    events: {} as RebalancerEvent,
    input: {} as RebalancerInput,
    emitted: {} as RebalancerOutcomeEvent,
  },
  actors: {
    /** Usage samples of live allocations plus the ledger's limits. */
    collectObservations: fromPromise<RebalanceObservations, void>(async () => ({
      observations: [],
      limits: { available: {}, perAgentMax: {}, perAgentMin: {} },
    })),
    /** Apply each opportunity through the allocator, in order; one outcome per opportunity. */
    applyOpportunities: fromPromise<RebalanceOutcome[], { opportunities: Opportunity[] }>(async () => []),
  },
  actions: {
    /** Record outcomes: bounded history, totals, one emitted event each. */
    recordOutcomes: enqueueActions(
      ({ context, event, enqueue }, params: { outcomes: RebalanceOutcome[] }) => {
        void event;
        const freed = { ...context.freed };
        const granted = { ...context.granted };
        for (const o of params.outcomes) {
          const r = o.opportunity.resource;
          if (o.freed > 0) freed[r] = (freed[r] ?? 0) + o.freed;
          if (o.granted > 0) granted[r] = (granted[r] ?? 0) + o.granted;
          enqueue.emit({ type: 'rebalancer.outcome', outcome: o });
        }
        const history = [...context.history, ...params.outcomes];
        if (history.length > context.historySize) history.splice(0, history.length - context.historySize);
        enqueue.assign({ freed, granted, history });
      },
    ),
    endRound: assign({ rounds: ({ context }) => context.rounds + 1, opportunities: [] }),
  },
  guards: {
    hasOpportunities: ({ context }) => context.opportunities.length > 0,
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    stepTimeout: ({ context }) => context.stepTimeoutMs,
  },
}).createMachine({
  id: 'rebalancer',
  context: ({ input }) => ({
    config: input.config ?? DEFAULT_REBALANCE_CONFIG,
    intervalMs: input.intervalMs ?? 60_000,
    stepTimeoutMs: input.stepTimeoutMs ?? 10_000,
    historySize: input.historySize ?? 100,
    opportunities: [],
    history: [],
    rounds: 0,
    freed: {},
    granted: {},
    lastError: undefined,
  }),
  initial: 'monitoring',
  on: {
    STOP: { target: '.stopped' },
  },
  states: {
    monitoring: {
      after: { interval: { target: 'analysing' } },
      on: { TRIGGER: { target: 'analysing' } },
    },
    analysing: {
      invoke: {
        src: 'collectObservations',
        onDone: {
          target: 'deciding',
          actions: assign({
            opportunities: ({ context, event }) =>
              findOpportunities(event.output.observations, event.output.limits, context.config),
            lastError: undefined,
          }),
        },
        onError: {
          target: 'monitoring',
          actions: [assign({ lastError: ({ event }) => `collect: ${errText(event.error)}` }), 'endRound'],
        },
      },
      after: {
        stepTimeout: {
          target: 'monitoring',
          actions: [assign({ lastError: 'collect timed out' }), 'endRound'],
        },
      },
    },
    deciding: {
      always: [
        { guard: 'hasOpportunities', target: 'rebalancing' },
        { target: 'monitoring', actions: 'endRound' },
      ],
    },
    rebalancing: {
      invoke: {
        src: 'applyOpportunities',
        input: ({ context }) => ({ opportunities: context.opportunities }),
        onDone: {
          target: 'monitoring',
          actions: [
            { type: 'recordOutcomes', params: ({ event }) => ({ outcomes: event.output }) },
            'endRound',
          ],
        },
        onError: {
          target: 'monitoring',
          actions: [assign({ lastError: ({ event }) => `apply: ${errText(event.error)}` }), 'endRound'],
        },
      },
      after: {
        stepTimeout: {
          target: 'monitoring',
          actions: [assign({ lastError: 'apply timed out' }), 'endRound'],
        },
      },
    },
    stopped: { type: 'final' },
  },
});
