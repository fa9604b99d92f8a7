/**
 * The resource scaler: every `interval`, grow or shrink each pool's quotas (CPU, memory, disk,
 * network, tokens) in the ledger from what the pool holds and what its quota turned away.
 *
 * monitoring → (interval or TRIGGER) observing → deciding → applying → monitoring.
 * - `observing` invokes `observeUsage`: per pool, what its allocations hold (the ledger's group
 *   usage) raised by the demand its quota refused since the last round, and the quotas the ledger
 *   enforces now — the ledger is the one owner of the quotas; this machine keeps only its cooldown
 *   clocks and history;
 * - `deciding` runs the pure policy {@link decideResourceQuotas} (bounds, steps, thresholds,
 *   cooldowns, the global limit shared by every pool);
 * - `applying` invokes `applyQuotas`: each decision goes **through the allocator** (SET_QUOTA), shrinks
 *   first, and each one succeeds or fails on its own (`allSettled`): a lowering below what the pool
 *   holds is refused and tried again next round; a growth that no longer fits after a refused shrink
 *   is cut to what is free. The round's outcomes are emitted (`resourceScaler.round`) and kept in a
 *   bounded `history`.
 *
 * A failed or timed-out step returns to `monitoring`: a quota round is an optimisation, never a reason
 * to stop. STOP ends it from anywhere.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import {
  decideResourceQuotas,
  initialResourceScalerState,
  type PoolQuotas,
  type ResourceDecision,
  type ResourceObservation,
  type ResourceScalerConfig,
  type ResourceScalerState,
} from '../src/policies/scaling/resource-scaler.js';

/** Input to {@link resourceScalerMachine}. */
export interface ResourceScalerInput {
  /** The validated rules: per pool, per resource; `limits` are the ledger's global limits. */
  config: ResourceScalerConfig;
  /** Time between rounds. @default 30000 (the seed's) */
  intervalMs?: number;
  /** An observe or apply step that takes longer is abandoned. @default 10000 */
  stepTimeoutMs?: number;
  /** Rounds kept in `history`. @default 100 */
  historySize?: number;
}

/** What `observeUsage` resolves with. */
export interface ResourceUsageObservation {
  /** Per pool per resource: held plus refused demand. */
  usage: ResourceObservation;
  /** The quotas the ledger enforces now. */
  quotas: Record<string, PoolQuotas>;
  /** The clock's time of the observation. */
  at: number;
}

/** What happened to one decision. */
export interface ResourceQuotaOutcome extends ResourceDecision {
  /** Applied in the ledger (possibly cut: `applied` below `to`). */
  ok: boolean;
  /** The quota the ledger holds after this decision. */
  applied: number;
  /** Why it was not applied, or was cut. */
  error?: string;
}

/** One round with at least one decision. */
export interface ResourceScalingRound {
  at: number;
  /** The usage the decisions were made on. */
  usage: ResourceObservation;
  outcomes: ResourceQuotaOutcome[];
}

/** Context of {@link resourceScalerMachine}. */
export interface ResourceScalerContext {
  /** The policy's state: its quotas are refreshed from the ledger before every decision. */
  state: ResourceScalerState;
  intervalMs: number;
  stepTimeoutMs: number;
  historySize: number;
  /** The round in progress: its decisions and the policy state if all of them apply. */
  pending:
    | { at: number; usage: ResourceObservation; decisions: ResourceDecision[]; next: ResourceScalerState }
    | undefined;
  /** Most recent rounds that decided something, oldest first. */
  history: ResourceScalingRound[];
  /** Rounds completed (including empty ones). */
  rounds: number;
  /** Last observe/apply failure. */
  lastError: string | undefined;
}

/** Events {@link resourceScalerMachine} accepts. */
export type ResourceScalerEvent = { type: 'TRIGGER' } | { type: 'STOP' };

/** Emitted once per round that decided something. */
export interface ResourceScalerRoundEvent {
  type: 'resourceScaler.round';
  round: ResourceScalingRound;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The policy state after a round: quotas as applied, and the cooldown clocks of refused decisions
 * put back (a refused change did not happen, so it must not start a cooldown).
 */
function settle(
  before: ResourceScalerState,
  after: ResourceScalerState,
  outcomes: readonly ResourceQuotaOutcome[],
): ResourceScalerState {
  const quotas: Record<string, PoolQuotas> = {};
  for (const [p, q] of Object.entries(after.quotas)) quotas[p] = { ...q };
  const lastUpAt = structuredClone(after.lastUpAt);
  const lastChangeAt = structuredClone(after.lastChangeAt);
  for (const o of outcomes) {
    (quotas[o.pool] ??= {})[o.resource] = o.applied;
    if (o.applied === o.from) {
      const up = before.lastUpAt[o.pool]?.[o.resource];
      const ch = before.lastChangeAt[o.pool]?.[o.resource];
      const ups = (lastUpAt[o.pool] ??= {});
      const chs = (lastChangeAt[o.pool] ??= {});
      if (up === undefined) delete ups[o.resource];
      else ups[o.resource] = up;
      if (ch === undefined) delete chs[o.resource];
      else chs[o.resource] = ch;
    }
  }
  return { config: after.config, quotas, lastUpAt, lastChangeAt };
}

/**
 * The resource scaler statechart.
 *
 * @example
 * ```ts
 * const scaler = createActor(resourceScalerMachine.provide({ actors: {
 *   observeUsage: fromPromise(async () => ({ usage, quotas, at: clock.now() })),
 *   applyQuotas: fromPromise(async ({ input }) => applyThroughAllocator(input.decisions)),
 * } }), { input: { config }, clock }).start();
 * scaler.on('resourceScaler.round', ({ round }) => log.info(round));
 * ```
 */
export const resourceScalerMachine = setup({
  types: {
    context: {} as ResourceScalerContext,
    events: {} as ResourceScalerEvent,
    input: {} as ResourceScalerInput,
    emitted: {} as ResourceScalerRoundEvent,
  },
  actors: {
    /** Per pool: held + refused demand, and the ledger's quotas. */
    observeUsage: fromPromise<ResourceUsageObservation, void>(async () => ({ usage: {}, quotas: {}, at: 0 })),
    /** Apply each decision through the allocator (shrinks first); one outcome per decision. */
    applyQuotas: fromPromise<ResourceQuotaOutcome[], { decisions: ResourceDecision[] }>(async () => []),
  },
  actions: {
    /** Decide on the observation; the ledger's quotas are the ones decided from. */
    decide: assign(({ context }, params: { observation: ResourceUsageObservation }) => {
      const o = params.observation;
      const current: ResourceScalerState = { ...context.state, quotas: o.quotas };
      const r = decideResourceQuotas(current, o.usage, o.at);
      return {
        // Kept as observed until the outcomes say what was applied (see `settle`).
        state: current,
        pending: { at: o.at, usage: o.usage, decisions: r.decisions, next: r.state },
        lastError: undefined,
      };
    }),
    /** Record the round: the policy state as applied, history, one emitted event. */
    recordRound: enqueueActions(({ context, enqueue }, params: { outcomes: ResourceQuotaOutcome[] }) => {
      const p = context.pending as
        (ResourceScalerContext['pending'] & { next: ResourceScalerState }) | undefined;
      if (!p) return;
      const round: ResourceScalingRound = { at: p.at, usage: p.usage, outcomes: params.outcomes };
      const history = [...context.history, round];
      if (history.length > context.historySize) history.splice(0, history.length - context.historySize);
      enqueue.assign({ state: settle(context.state, p.next, params.outcomes), history });
      enqueue.emit({ type: 'resourceScaler.round', round });
    }),
    endRound: assign({ rounds: ({ context }) => context.rounds + 1, pending: undefined }),
  },
  guards: {
    hasDecisions: ({ context }) => (context.pending?.decisions.length ?? 0) > 0,
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    stepTimeout: ({ context }) => context.stepTimeoutMs,
  },
}).createMachine({
  id: 'resourceScaler',
  context: ({ input }) => ({
    state: initialResourceScalerState(input.config),
    intervalMs: input.intervalMs ?? 30_000,
    stepTimeoutMs: input.stepTimeoutMs ?? 10_000,
    historySize: input.historySize ?? 100,
    pending: undefined,
    history: [],
    rounds: 0,
    lastError: undefined,
  }),
  initial: 'monitoring',
  on: {
    STOP: { target: '.stopped' },
  },
  states: {
    monitoring: {
      after: { interval: { target: 'observing' } },
      on: { TRIGGER: { target: 'observing' } },
    },
    observing: {
      invoke: {
        src: 'observeUsage',
        onDone: {
          target: 'deciding',
          actions: { type: 'decide', params: ({ event }) => ({ observation: event.output }) },
        },
        onError: {
          target: 'monitoring',
          actions: [assign({ lastError: ({ event }) => `observe: ${errText(event.error)}` }), 'endRound'],
        },
      },
      after: {
        stepTimeout: {
          target: 'monitoring',
          actions: [assign({ lastError: 'observe timed out' }), 'endRound'],
        },
      },
    },
    deciding: {
      always: [
        { guard: 'hasDecisions', target: 'applying' },
        { target: 'monitoring', actions: 'endRound' },
      ],
    },
    applying: {
      invoke: {
        src: 'applyQuotas',
        input: ({ context }) => ({ decisions: context.pending?.decisions ?? [] }),
        onDone: {
          target: 'monitoring',
          actions: [{ type: 'recordRound', params: ({ event }) => ({ outcomes: event.output }) }, 'endRound'],
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
