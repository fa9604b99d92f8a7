/**
 * One typed pool's control plane: its size within [min, max], scaling decisions and their history,
 * start failures, drain and stop.
 *
 * active.sizing: steady ⇄ scaling (SCALE_TO target, reason → invoke `applyScale`, record the outcome:
 * completed, partial or failed). Scale-down is idle-first and graceful inside `applyScale`. A SCALE_TO
 * that arrives while scaling is queued (the latest wins) and applied right after — except a higher
 * target during a scale-up: the runtime starts the extra agents at once and sends SCALE_EXTENDED, which
 * raises the in-flight record's target (a burst must not wait a whole agent start-up for its second
 * decision); and a target the pool is already heading to, which the in-flight record answers.
 *
 * active.intake (a parallel region): open ⇄ paused (PAUSE / RESUME). While paused the runtime grants
 * nothing and dispatches nothing; sizing goes on.
 *
 * active.sizing.failed: `maxStartFailures` agent starts failed in a row; the runtime fails the pool's waiting
 * work with the start error and starts nothing until an agent starts or a SCALE_TO with `retry` comes.
 *
 * Shutdown: DRAIN → draining (invoke `drainPool`: no intake, resolves when no lease is held) →
 * stopping.graceful; STOP { graceful } from anywhere → stopping (invoke `stopAgents`) → stopped. The
 * drain deadline belongs to the system machine, which sends STOP when it passes.
 *
 * The data plane (agent handles, the free index, waiters) lives in the runtime (src/runtime/pool.ts);
 * this machine is pure so it can be graph-checked and pasted into the Stately editor.
 *
 * Over 400 lines because it is one chart (sizing, start failures, drain and stop interact: a loss
 * during a scale-up, a failure while draining); splitting it would hide those interleavings from the
 * graph checker.
 */
import { assign, emit, enqueueActions, fromPromise, setup, stopChild } from 'xstate';
import { type ScalerInput, scalerMachine } from './scaler.machine.js';

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
  /**
   * A scale-up the ledger could not fit (pool option `agentResources`): the agents it would have
   * started were never created. The first refused resource, with what was asked and what was left.
   */
  refused?: ScaleRefusal;
}

/** Why a scale-up started fewer agents than asked: an agent's base resources did not fit. */
export interface ScaleRefusal {
  code: 'ERR_RESOURCE_EXHAUSTED';
  resource: string;
  requested: number;
  available: number;
  /** The global limit, or the pool's quota (system option `resourceScaling`). */
  scope: 'global' | 'quota';
}

/** Input to {@link poolMachine}. */
export interface PoolInput {
  type: string;
  min: number;
  max: number;
  /** How many decisions to keep. @default 50 */
  historyLimit?: number;
  /**
   * Consecutive agent start failures (no start succeeding in between) after which the pool stops
   * trying: `active.failed`, where waiting work is failed with the start error. @default 3
   */
  maxStartFailures?: number;
}

/** Context of {@link poolMachine}. */
export interface PoolMachineContext {
  type: string;
  min: number;
  max: number;
  historyLimit: number;
  maxStartFailures: number;
  /**
   * The pool's size: agents starting or up, not being retired. The one definition of size — the
   * runtime's `Pool.size`, the scaler's observation and metrics all read the same count.
   */
  size: number;
  /** Agent starts that failed since the last one that succeeded. */
  startFailures: number;
  /** Why the last agent start failed (message), while starts keep failing. */
  lastStartError: string | undefined;
  /** A SCALE_TO that arrived while scaling. */
  queued: { target: number; reason: string; at?: number } | undefined;
  history: ScaleRecord[];
  seq: number;
}

/** Events {@link poolMachine} accepts. */
export type PoolMachineEvent =
  /**
   * `at`: when the decision was taken (the machine keeps no clock; the runtime passes its time).
   * `retry`: an explicit request (system.scalePool) — the only SCALE_TO a failed pool takes.
   */
  | { type: 'SCALE_TO'; target: number; reason: string; at?: number; retry?: boolean }
  /** While scaling up: the in-flight scale-up now aims higher (the runtime started the extra agents). */
  | { type: 'SCALE_EXTENDED'; target: number; reason: string }
  /**
   * New agents (their actors, children of this pool, were created by the runtime with the pool as
   * their parent): they count toward the size from now on. One event per scale step, not per agent.
   */
  | { type: 'AGENT_ADDED'; count: number }
  /** An agent is being retired (scale-down, shutdown): it no longer counts toward the size. */
  | { type: 'AGENT_RETIRED' }
  /** An agent is gone (its actor reached a final state); `counted`: it still counted toward the size. */
  | { type: 'AGENT_REMOVED'; agentId: string; counted: boolean }
  /** The pool is autoscaled: its scaler actor is spawned as child `scaler` (stopped when the pool drains). */
  | { type: 'SCALER_START'; input: ScalerInput }
  /** An agent reached idle: starts work again. */
  | { type: 'AGENT_STARTED' }
  /** An agent's start failed (module, setup, timeout, exit during start). */
  | { type: 'AGENT_START_FAILED'; error: string }
  /** Stop intake and wait until no lease is held (the system owns the deadline and sends STOP after it). */
  /** Stop granting (pause intake): `active.intake.paused`. */
  | { type: 'PAUSE' }
  /** Grant again: `active.intake.open`. */
  | { type: 'RESUME' }
  | { type: 'DRAIN' }
  /** Stop every agent: `graceful` lets aborted tasks take their abort grace, else kill at once. */
  | { type: 'STOP'; graceful: boolean }
  /** A child actor (agent, acquisition, scaler) failed; sent by XState. */
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string }
  /** A child actor reached its final state (an acquisition settled, an agent stopped); sent by XState. */
  | { type: `xstate.done.actor.${string}`; output?: unknown; actorId: string };

/** What the pool actor emits (relayed by the system's event API). */
export type PoolEmitted =
  | { type: 'scale.decided'; pool: string; record: ScaleRecord }
  | { type: 'scale.applied'; pool: string; record: ScaleRecord };

/** Output of the `applyScale` actor. */
export interface ApplyScaleOutput {
  actualDelta: number;
  error?: string;
  /** Some agents were not started: their base resources did not fit. */
  refused?: ScaleRefusal;
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
 * const pool = createActor(poolMachine.provide({ actors: { applyScale, drainPool, stopAgents } }),
 *   { input: { type: 'code', min: 2, max: 5 } }).start();
 * pool.send({ type: 'SCALE_TO', target: 4, reason: 'burst' });
 * ```
 */
export const poolMachine = setup({
  types: {
    context: {} as PoolMachineContext,
    events: {} as PoolMachineEvent,
    input: {} as PoolInput,
    emitted: {} as PoolEmitted,
  },
  actors: {
    /** Child kinds: one agent actor per agent, one acquisition per waiting acquire, one scaler. */
    scaler: scalerMachine,
    /** Start or (idle-first, gracefully) stop agents to move from `from` to `target`. */
    applyScale: fromPromise<ApplyScaleOutput, { type: string; from: number; target: number; reason: string }>(
      async ({ input }) => ({
        actualDelta: input.target - input.from,
      }),
    ),
    /** Stop taking work, cancel waiters, resolve once no lease is held. */
    drainPool: fromPromise<void, { type: string }>(async () => {}),
    /** Stop every agent (leases end as lost); resolves once no agent and no worker is left. */
    stopAgents: fromPromise<void, { type: string; graceful: boolean }>(async () => {}),
  },
  actions: {
    /** The decision in flight was applied (its record has its outcome): tell the runtime. */
    emitApplied: emit(({ context }) => ({
      type: 'scale.applied' as const,
      pool: context.type,
      record: context.history[context.history.length - 1]!,
    })),
    /** A child actor failed (an action threw): the runtime logs it; the pool itself keeps running. */
    reportChildError: (_, _params: { error: unknown }) => {},
    /** Starts keep failing: fail the pool's waiting work with the start error, stop replacing agents. */
    reportFailed: () => {},
    /** Starts work again (an agent started, or an explicit scale request retries). */
    reportRecovered: () => {},
  },
  guards: {
    changesSize: ({ context, event }) =>
      event.type === 'SCALE_TO' && clamp(context, event.target) !== context.size,
    hasQueued: ({ context }) =>
      context.queued !== undefined && clamp(context, context.queued.target) !== context.size,
    /** A queued decision the size already matches (agents came or went meanwhile): drop it. */
    hasStaleQueued: ({ context }) =>
      context.queued !== undefined && clamp(context, context.queued.target) === context.size,
    /** The in-flight decision is a scale-up and the new target is above it. */
    extendsScaleUp: ({ context, event }) => {
      if (event.type !== 'SCALE_EXTENDED') return false;
      const r = context.history[context.history.length - 1];
      return (
        r !== undefined && r.status === 'pending' && r.delta > 0 && clamp(context, event.target) > r.target
      );
    },
    /** The pool is already heading to this target: the request is answered by the in-flight record. */
    matchesInFlight: ({ context, event }) => {
      if (event.type !== 'SCALE_TO') return false;
      const r = context.history[context.history.length - 1];
      return r !== undefined && r.status === 'pending' && clamp(context, event.target) === r.target;
    },
    startsKeepFailing: ({ context }) => context.startFailures >= context.maxStartFailures,
    /** Started (a first decision was taken) and below min. */
    // Not right after a refused scale-up: the ledger is full, and retrying at once would loop. The
    // next decision (the scaler's round, a waiter's grow-on-demand, system.scalePool) tries again.
    belowMin: ({ context }) =>
      context.seq > 0 && context.size < context.min && context.history.at(-1)?.refused === undefined,
    isRetry: ({ event }) => event.type === 'SCALE_TO' && event.retry === true,
    isGraceful: ({ event }) => event.type === 'STOP' && event.graceful,
    isForced: ({ event }) => event.type === 'STOP' && !event.graceful,
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    type: input.type,
    min: input.min,
    max: input.max,
    historyLimit: input.historyLimit ?? 50,
    maxStartFailures: input.maxStartFailures ?? 3,
    size: 0,
    startFailures: 0,
    lastStartError: undefined,
    queued: undefined,
    history: [],
    seq: 0,
  }),
  initial: 'active',
  // Agents come and go in every state (a retired agent finishes while the pool drains): one count.
  on: {
    AGENT_ADDED: { actions: assign({ size: ({ context, event }) => context.size + event.count }) },
    AGENT_RETIRED: { actions: assign({ size: ({ context }) => Math.max(0, context.size - 1) }) },
    AGENT_REMOVED: {
      actions: assign({
        size: ({ context, event }) => (event.counted ? Math.max(0, context.size - 1) : context.size),
      }),
    },
    // A child's final state needs nothing here (agents report it as AGENT_REMOVED; acquisitions and
    // allocations are the children of the pool's child groups and never send it here), so
    // `xstate.done.actor.*` has NO transition: an event no transition takes leaves the snapshot as it
    // is, while even an empty wildcard transition made XState run a full microstep on this parallel
    // chart (bench acquire, issue 14). The invokes handle theirs per state.
    // A child's error is contained here (else it would put the pool, and the system, in error).
    'xstate.error.actor.*': {
      actions: { type: 'reportChildError', params: ({ event }) => ({ error: event.error }) },
    },
  },
  states: {
    active: {
      // Two orthogonal regions: the pool's size (steady ⇄ scaling, failed) and its intake (open ⇄
      // paused). Pausing stops new grants and dispatch; sizing goes on (a lost agent is still replaced).
      type: 'parallel',
      states: {
        sizing: {
          initial: 'steady',
          states: {
            steady: {
              always: [
                { guard: 'startsKeepFailing', target: 'failed' },
                {
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
                // Below min once started (an agent was lost, even while its replacement was starting):
                // back to min — the machine owns the rule, so no loss can leave the pool short.
                {
                  guard: 'belowMin',
                  target: 'scaling',
                  actions: assign(({ context }) => ({
                    ...pushRecord(context, {
                      current: context.size,
                      target: context.min,
                      delta: context.min - context.size,
                      actualDelta: 0,
                      reason: 'replace lost agent',
                      status: 'pending',
                    }),
                  })),
                },
                { guard: 'hasStaleQueued', actions: assign({ queued: undefined }) },
              ],
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
              entry: emit(({ context }) => ({
                type: 'scale.decided' as const,
                pool: context.type,
                record: context.history[context.history.length - 1]!,
              })),
              invoke: {
                src: 'applyScale',
                input: ({ context }) => {
                  const r = context.history[context.history.length - 1]!;
                  return { type: context.type, from: r.current, target: r.target, reason: r.reason };
                },
                onDone: {
                  target: 'steady',
                  actions: [
                    assign(({ context, event }) => {
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
                        ...(event.output.refused ? { refused: event.output.refused } : {}),
                      };
                      // size itself moves only with AGENT_* events, sent as agents come and go.
                      return { history };
                    }),
                    'emitApplied',
                  ],
                },
                onError: {
                  target: 'steady',
                  actions: [
                    assign(({ context, event }) => {
                      const history = context.history.slice();
                      const r = history[history.length - 1]!;
                      history[history.length - 1] = {
                        ...r,
                        status: 'failed',
                        error: String((event.error as Error)?.message ?? event.error),
                      };
                      return { history };
                    }),
                    'emitApplied',
                  ],
                },
              },
              on: {
                SCALE_TO: [
                  // Already heading there: nothing to queue, and anything queued before is stale.
                  { guard: 'matchesInFlight', actions: assign({ queued: undefined }) },
                  {
                    actions: assign({
                      queued: ({ event }) => ({
                        target: event.target,
                        reason: event.reason,
                        ...(event.at !== undefined ? { at: event.at } : {}),
                      }),
                    }),
                  },
                ],
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
            // Agent starts keep failing (a broken module, a setup that always throws): no more attempts
            // until an agent starts after all or the user asks again (system.scalePool).
            failed: {
              entry: 'reportFailed',
              exit: 'reportRecovered',
              on: {
                SCALE_TO: {
                  guard: 'isRetry',
                  target: 'steady',
                  actions: assign({
                    startFailures: 0,
                    queued: ({ event }) => ({
                      target: event.target,
                      reason: event.reason,
                      ...(event.at !== undefined ? { at: event.at } : {}),
                    }),
                  }),
                },
                AGENT_STARTED: {
                  target: 'steady',
                  actions: assign({ startFailures: 0, lastStartError: undefined }),
                },
              },
            },
          },
        },
        // pause(): nothing new is granted (acquires wait, and fail by their own timeout), queued tasks
        // wait, running work finishes; resume() serves the waiters again.
        intake: {
          initial: 'open',
          states: {
            open: { on: { PAUSE: { target: 'paused' } } },
            paused: { on: { RESUME: { target: 'open' } } },
          },
        },
      },
      on: {
        SCALER_START: {
          actions: enqueueActions(({ enqueue, event, context }) =>
            enqueue.spawnChild('scaler', {
              id: 'scaler',
              systemId: `scaler:${context.type}`,
              input: event.input,
            }),
          ),
        },
        AGENT_STARTED: { actions: assign({ startFailures: 0, lastStartError: undefined }) },
        AGENT_START_FAILED: {
          actions: assign({
            startFailures: ({ context }) => context.startFailures + 1,
            lastStartError: ({ event }) => event.error,
          }),
        },
        DRAIN: { target: 'draining' },
        STOP: [{ guard: 'isGraceful', target: 'stopping.graceful' }, { target: 'stopping.forced' }],
      },
    },
    // No intake; leases finish. The deadline is the system's: it sends STOP when it passes.
    draining: {
      entry: stopChild('scaler'),
      invoke: {
        src: 'drainPool',
        input: ({ context }) => ({ type: context.type }),
        onDone: { target: 'stopping.graceful' },
        onError: { target: 'stopping.graceful' },
      },
      on: {
        STOP: [{ guard: 'isGraceful', target: 'stopping.graceful' }, { target: 'stopping.forced' }],
      },
    },
    stopping: {
      entry: stopChild('scaler'),
      initial: 'graceful',
      states: {
        graceful: {
          invoke: {
            src: 'stopAgents',
            input: ({ context }) => ({ type: context.type, graceful: true }),
            onDone: { target: '#pool.stopped' },
            onError: { target: '#pool.stopped' },
          },
          // A forced stop overrides a graceful one in progress (abort grace skipped).
          on: { STOP: { guard: 'isForced', target: 'forced' } },
        },
        forced: {
          invoke: {
            src: 'stopAgents',
            input: ({ context }) => ({ type: context.type, graceful: false }),
            onDone: { target: '#pool.stopped' },
            onError: { target: '#pool.stopped' },
          },
        },
      },
    },
    stopped: { type: 'final' },
  },
});
