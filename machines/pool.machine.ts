/**
 * One typed pool's control plane: its size within [min, max], scaling decisions and their history,
 * and drain.
 *
 * active.steady ⇄ active.scaling (SCALE_TO target, reason → invoke `applyScale`, record the outcome:
 * completed, partial or failed) → draining (invoke `drainPool`, forced after the drain deadline) →
 * stopped. Scale-down is idle-first and graceful inside `applyScale`. A SCALE_TO that arrives while
 * scaling is queued (the latest wins) and applied right after — except a higher target during a
 * scale-up: the runtime starts the extra agents at once and sends SCALE_EXTENDED, which raises the
 * in-flight record's target (a burst must not wait a whole agent start-up for its second decision).
 *
 * The data plane (agent handles, the idle index, waiters) lives in the runtime (src/runtime/pool.ts);
 * this machine is pure so it can be graph-checked and pasted into the Stately editor.
 */
import { assign, fromPromise, setup } from 'xstate';

/** One scaling decision, as kept in the pool's history. */
export interface ScaleRecord {
  seq: number;
  current: number;
  target: number;
  delta: number;
  actualDelta: number;
  reason: string;
  status: 'pending' | 'completed' | 'partial' | 'failed';
  error?: string;
  /** When the decision was taken (ms on the runtime's clock), when its SCALE_TO said so. */
  at?: number;
}

/** Input to {@link poolMachine}. */
export interface PoolInput {
  type: string;
  min: number;
  max: number;
  /** How many decisions to keep. @default 50 */
  historyLimit?: number;
  /** Drain deadline in ms. */
  drainTimeoutMs: number;
}

/** Context of {@link poolMachine}. */
export interface PoolMachineContext {
  type: string;
  min: number;
  max: number;
  historyLimit: number;
  drainTimeoutMs: number;
  /** Agents counted by the pool (starting or up). */
  size: number;
  /** A SCALE_TO that arrived while scaling. */
  queued: { target: number; reason: string; at?: number } | undefined;
  history: ScaleRecord[];
  seq: number;
}

/** Events {@link poolMachine} accepts. */
export type PoolMachineEvent =
  /** `at`: when the decision was taken (the machine keeps no clock; the runtime passes its time). */
  | { type: 'SCALE_TO'; target: number; reason: string; at?: number }
  /** While scaling up: the in-flight scale-up now aims higher (the runtime started the extra agents). */
  | { type: 'SCALE_EXTENDED'; target: number; reason: string }
  | { type: 'AGENT_ADDED' }
  | { type: 'AGENT_REMOVED' }
  /** `deadlineMs` overrides the input's drain deadline (the system passes its shutdown deadline). */
  | { type: 'DRAIN'; deadlineMs?: number };

/** Output of the `applyScale` actor. */
export interface ApplyScaleOutput {
  actualDelta: number;
  error?: string;
}

const clamp = (c: { min: number; max: number }, n: number) => Math.max(c.min, Math.min(c.max, Math.round(n)));

function pushRecord(
  ctx: PoolMachineContext,
  r: Omit<ScaleRecord, 'seq'>,
): Pick<PoolMachineContext, 'history' | 'seq'> {
  const seq = ctx.seq + 1;
  const history = [...ctx.history, { ...r, seq }];
  if (history.length > ctx.historyLimit) history.splice(0, history.length - ctx.historyLimit);
  return { history, seq };
}

/**
 * The pool statechart.
 *
 * @example
 * ```ts
 * const pool = createActor(poolMachine.provide({ actors: { applyScale, drainPool } }),
 *   { input: { type: 'code', min: 2, max: 5, drainTimeoutMs: 30_000 } }).start();
 * pool.send({ type: 'SCALE_TO', target: 4, reason: 'burst' });
 * ```
 */
export const poolMachine = setup({
  types: {
    context: {} as PoolMachineContext,
    events: {} as PoolMachineEvent,
    input: {} as PoolInput,
  },
  actors: {
    /** Start or (idle-first, gracefully) stop agents to move from `from` to `target`. */
    applyScale: fromPromise<ApplyScaleOutput, { from: number; target: number; reason: string }>(
      async ({ input }) => ({
        actualDelta: input.target - input.from,
      }),
    ),
    /** Stop taking work, let leases finish, stop every agent. */
    drainPool: fromPromise<void, { deadlineMs: number }>(async () => {}),
  },
  actions: {
    /** The pool is fully stopped. */
    reportStopped: () => {},
  },
  guards: {
    changesSize: ({ context, event }) =>
      event.type === 'SCALE_TO' && clamp(context, event.target) !== context.size,
    hasQueued: ({ context }) =>
      context.queued !== undefined && clamp(context, context.queued.target) !== context.size,
    /** The in-flight decision is a scale-up and the new target is above it. */
    extendsScaleUp: ({ context, event }) => {
      if (event.type !== 'SCALE_EXTENDED') return false;
      const r = context.history[context.history.length - 1];
      return (
        r !== undefined && r.status === 'pending' && r.delta > 0 && clamp(context, event.target) > r.target
      );
    },
  },
  delays: {
    drainTimeout: ({ context }) => context.drainTimeoutMs,
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    type: input.type,
    min: input.min,
    max: input.max,
    historyLimit: input.historyLimit ?? 50,
    drainTimeoutMs: input.drainTimeoutMs,
    size: 0,
    queued: undefined,
    history: [],
    seq: 0,
  }),
  initial: 'active',
  states: {
    active: {
      initial: 'steady',
      states: {
        steady: {
          always: {
            guard: 'hasQueued',
            target: 'scaling',
            actions: assign(({ context }) => {
              const q = context.queued!;
              const target = clamp(context, q.target);
              return {
                queued: undefined,
                ...pushRecord(context, {
                  current: context.size,
                  target,
                  delta: target - context.size,
                  actualDelta: 0,
                  reason: q.reason,
                  status: 'pending',
                  ...(q.at !== undefined ? { at: q.at } : {}),
                }),
              };
            }),
          },
          on: {
            SCALE_TO: {
              guard: 'changesSize',
              actions: assign({
                queued: ({ event }) => ({
                  target: event.target,
                  reason: event.reason,
                  ...(event.at !== undefined ? { at: event.at } : {}),
                }),
              }),
            },
          },
        },
        scaling: {
          invoke: {
            src: 'applyScale',
            input: ({ context }) => {
              const r = context.history[context.history.length - 1]!;
              return { from: r.current, target: r.target, reason: r.reason };
            },
            onDone: {
              target: 'steady',
              actions: assign(({ context, event }) => {
                const history = context.history.slice();
                const r = history[history.length - 1]!;
                // Nothing moved at all is a failure, not a partial success (the history must tell them apart).
                const a = event.output.actualDelta;
                const status = a === r.delta ? 'completed' : a === 0 ? 'failed' : 'partial';
                history[history.length - 1] = {
                  ...r,
                  actualDelta: event.output.actualDelta,
                  status,
                  ...(event.output.error ? { error: event.output.error } : {}),
                };
                // size itself moves only with AGENT_ADDED / AGENT_REMOVED, sent as agents come and go.
                return { history };
              }),
            },
            onError: {
              target: 'steady',
              actions: assign(({ context, event }) => {
                const history = context.history.slice();
                const r = history[history.length - 1]!;
                history[history.length - 1] = {
                  ...r,
                  status: 'failed',
                  error: String((event.error as Error)?.message ?? event.error),
                };
                return { history };
              }),
            },
          },
          on: {
            SCALE_TO: {
              actions: assign({
                queued: ({ event }) => ({
                  target: event.target,
                  reason: event.reason,
                  ...(event.at !== undefined ? { at: event.at } : {}),
                }),
              }),
            },
            SCALE_EXTENDED: {
              guard: 'extendsScaleUp',
              actions: assign(({ context, event }) => {
                const history = context.history.slice();
                const r = history[history.length - 1]!;
                const target = clamp(context, event.target);
                history[history.length - 1] = {
                  ...r,
                  target,
                  delta: target - r.current,
                  reason: `${r.reason}; ${event.reason}`,
                };
                // The latest decision wins: anything queued before it is stale.
                return { history, queued: undefined };
              }),
            },
          },
        },
      },
      on: {
        AGENT_ADDED: { actions: assign({ size: ({ context }) => context.size + 1 }) },
        AGENT_REMOVED: { actions: assign({ size: ({ context }) => Math.max(0, context.size - 1) }) },
        DRAIN: {
          target: 'draining',
          actions: assign({
            drainTimeoutMs: ({ context, event }) => event.deadlineMs ?? context.drainTimeoutMs,
          }),
        },
      },
    },
    draining: {
      invoke: {
        src: 'drainPool',
        input: ({ context }) => ({ deadlineMs: context.drainTimeoutMs }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
      after: { drainTimeout: { target: 'stopped' } },
      on: {
        AGENT_REMOVED: { actions: assign({ size: ({ context }) => Math.max(0, context.size - 1) }) },
      },
    },
    stopped: { type: 'final', entry: 'reportStopped' },
  },
});
