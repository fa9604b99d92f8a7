/**
 * The life of one agent.
 *
 * starting → idle ⇄ busy → draining → stopping → stopped, with
 * crashed → restarting (exponential backoff) → starting, or crashed → evicted once the circuit
 * breaker opens (too many consecutive failures: the agent is never handed out again).
 *
 * The in-flight count is owned by the runtime (AgentHandle), which sends only the edges that change
 * this chart: `TASK_START` for the first task of a busy spell, `TASK_END` with `last: true` for the
 * task that empties it, and `TASK_END` for any task while one is overdue (the overdue one may end while
 * others run) or while failures are counted (a task that ends resets them). Other tasks starting and
 * ending cost the actor nothing (issue 14: two events per task were 45 % of submit()'s main-thread time).
 * The runtime holds a clean busy spell's last `TASK_END` for a 0 ms clock timer, so a task that starts
 * right after the previous one answered continues the spell (no idle → busy pair per sequential task).
 *
 * Per-task deadlines are escalated here: the runtime reports `TASK_OVERDUE` (wall-clock timeout or a
 * cancelled task); the machine sends the abort signal (`abortTask`), and if the agent has not let go
 * of the task within `abortGraceMs` it goes to `terminating` and the host is killed. While busy, an
 * agent configured with a heartbeat timeout must call `ctx.heartbeat()` at least that often.
 *
 * Pure: effects are named actors/actions the runtime provides (`startHost`, `stopHost`, `killHost`,
 * `checkHealth`, `abortTask`, `report*`).
 *
 * Over 400 lines because it is one chart: the agent's whole lifecycle (start, idle/busy, overdue
 * escalation, heartbeats, health checks, drain, stop, crash/restart/evict) must be one machine to be
 * graph-checked as one; the named implementations it declares are documented where they are declared.
 */
import { and, assign, emit, fromPromise, setup } from 'xstate';

/** Backstop beyond a stop's own grace periods for a host whose stop itself hangs (ms). */
export const STOP_MARGIN_MS = 1_000;

/** Timing knobs of one agent (all milliseconds). */
export interface AgentTimings {
  /** Start (spawn + load module) must finish within this. */
  startTimeoutMs: number;
  /** After an abort signal, how long a task may take to let go before the host is killed. */
  abortGraceMs: number;
  /** While busy, the agent must heartbeat at least this often; 0 disables. */
  heartbeatTimeoutMs: number;
  /** Health check period while idle; 0 disables. */
  healthIntervalMs: number;
  /** A health check must answer within this. */
  healthTimeoutMs: number;
  /** Graceful stop: running tasks get this long before they are aborted and the host terminated. */
  stopGraceMs: number;
  /** While draining, in-flight tasks get this long before the agent is stopped anyway. */
  drainTimeoutMs: number;
  /** First restart delay; doubles per consecutive failure. */
  backoffBaseMs: number;
  /** Restart delay cap. */
  backoffMaxMs: number;
}

/** Input to {@link agentMachine}. */
export interface AgentInput {
  agentId: string;
  pool: string;
  /** Consecutive failures (crashes, hung tasks, failed health checks) that evict the agent. */
  maxFailures: number;
  timings: AgentTimings;
}

/** Context of {@link agentMachine}. */
export interface AgentMachineContext extends AgentInput {
  /** Consecutive failures; reset by a successful task. */
  failures: number;
  /** Restarts so far. */
  restarts: number;
  /** Task currently being escalated (abort sent), if any; `'*'` for a missed heartbeat. */
  overdueTaskId: string | undefined;
  /** Why the agent last failed. */
  lastError: string | undefined;
  /** Has the agent ever reached idle? A start failure before that points at the module, not the agent. */
  started: boolean;
  /**
   * The stop in progress: how long running tasks may go on before they are aborted (`graceMs`), then
   * how long they get to let go of their abort signal before the host is killed (`abortGraceMs`). Set by
   * `STOP` (shutdown passes its own), defaulting to the timings.
   */
  stop: { graceMs: number; abortGraceMs: number };
}

/** What the agent actor emits (the system's event API relays them: `system.on('agent.crashed', fn)`). */
export type AgentEmitted =
  | { type: 'agent.started'; agentId: string; pool: string; restarts: number }
  | { type: 'agent.crashed'; agentId: string; pool: string; error: string; failures: number }
  | { type: 'agent.restarting'; agentId: string; pool: string; failures: number }
  | { type: 'agent.evicted'; agentId: string; pool: string; failures: number; error: string }
  /** The agent's security profile refused something (see {@link SecurityDenialPayload}). */
  | ({ type: 'security.denied'; agentId: string; pool: string } & SecurityDenialPayload);

/**
 * A refusal by the agent's security profile: a tool call outside it (refused before it ran), or a
 * file, network or process access its isolation stopped. `denials`: the agent's count so far.
 */
export interface SecurityDenialPayload {
  kind: 'tool' | 'file' | 'network' | 'process';
  resource: string;
  error: string;
  leaseId: string | undefined;
  cycleId: string | undefined;
  denials: number;
}

/** Events {@link agentMachine} accepts. */
export type AgentMachineEvent =
  /** The first task of a busy spell started (the runtime sends no TASK_START for the others). */
  | { type: 'TASK_START'; taskId: string }
  /** A task ended; `last`: no other task is in flight on the agent (the runtime's count). */
  | { type: 'TASK_END'; taskId: string; ok: boolean; last: boolean }
  | { type: 'TASK_OVERDUE'; taskId: string; reason: 'timeout' | 'cancelled' }
  | { type: 'HEARTBEAT' }
  /**
   * The agent has been idle (or since its last health check) for `healthIntervalMs`: check it. Sent
   * by the runtime's one health timer per agent, which is not re-armed on every entry to idle.
   */
  | { type: 'HEALTH_DUE' }
  | { type: 'HOST_EXITED'; error: string }
  | { type: 'DRAIN' }
  /** Stop; `graceMs`/`abortGraceMs` override `timings.stopGraceMs`/`abortGraceMs` (0/0: at once). */
  | { type: 'STOP'; graceMs?: number; abortGraceMs?: number }
  /** The runtime saw a security refusal for this agent: emitted as `security.denied`, in every state. */
  | { type: 'SECURITY_DENIED'; denial: SecurityDenialPayload };

/**
 * The agent statechart. Provide the effectful implementations with `agentMachine.provide(...)`.
 *
 * @example
 * ```ts
 * const actor = createActor(agentMachine.provide({ actors: { startHost, stopHost, killHost, checkHealth } }),
 *   { input: { agentId: 'a1', pool: 'code', maxFailures: 3, timings }, clock });
 * ```
 */
export const agentMachine = setup({
  types: {
    context: {} as AgentMachineContext,
    events: {} as AgentMachineEvent,
    input: {} as AgentInput,
    emitted: {} as AgentEmitted,
  },
  actors: {
    /** Spawn the host and load the agent module. */
    startHost: fromPromise<void, { agentId: string }>(async () => {}),
    /** Graceful stop: wait for tasks up to `graceMs`, abort them, give them `abortGraceMs`, terminate. */
    stopHost: fromPromise<void, { agentId: string; graceMs: number; abortGraceMs: number }>(async () => {}),
    /** Kill the host now. */
    killHost: fromPromise<void, { agentId: string; reason: string }>(async () => {}),
    /** Round trip to the agent. */
    checkHealth: fromPromise<void, { agentId: string }>(async () => {}),
  },
  actions: {
    /** Send the abort signal to an overdue task (`'*'`: every task). */
    abortTask: (_, _params: { taskId: string }) => {},
    /** The agent can take work. */
    reportIdle: () => {},
    /** The agent is running work. */
    reportBusy: () => {},
    /**
     * A task is overdue (aborted, not yet let go): the agent keeps its leases but must not be offered to
     * anyone until it is idle again or replaced — a new task would die with the hung one.
     */
    reportOverdue: () => {},
    /** The agent cannot take work for now (starting, crashed, restarting, draining). */
    reportUnavailable: () => {},
    /** The agent is gone for good (stopped or evicted). */
    reportGone: () => {},
    /** Every in-flight task failed with the agent (the host already rejected them). */
    failInflight: () => {},
    /** Make sure no host is left running (crashed and final states). Idempotent. */
    killHostNow: () => {},
    /** The start succeeded (the pool resets its count of failed starts). */
    reportStarted: () => {},
    /** The start failed: tell the pool why (it counts consecutive start failures). */
    reportStartFailed: () => {},
    setStop: assign({
      stop: ({ context, event }) =>
        event.type === 'STOP'
          ? {
              graceMs: event.graceMs ?? context.timings.stopGraceMs,
              abortGraceMs: event.abortGraceMs ?? context.timings.abortGraceMs,
            }
          : context.stop,
    }),
    /** The start succeeded (`started`: the agent reached idle once). */
    markStarted: assign({ started: true }),
    /** Emit `agent.started`. */
    emitStarted: emit(({ context }) => ({
      type: 'agent.started' as const,
      agentId: context.agentId,
      pool: context.pool,
      restarts: context.restarts,
    })),
    /** A task ended: a success resets the failure count. */
    endTask: assign({
      failures: ({ context, event }) => (event.type === 'TASK_END' && !event.ok ? context.failures : 0),
    }),
  },
  guards: {
    heartbeatEnabled: ({ context }) => context.timings.heartbeatTimeoutMs > 0,
    healthEnabled: ({ context }) => context.timings.healthIntervalMs > 0,
    lastTask: ({ event }) => event.type === 'TASK_END' && event.last,
    isOverdueTask: ({ context, event }) =>
      event.type === 'TASK_END' && (context.overdueTaskId === event.taskId || context.overdueTaskId === '*'),
    circuitOpen: ({ context }) => context.failures >= context.maxFailures,
    /** A task ended ok with no failures counted: ending it leaves the context as it is. */
    cleanEnd: ({ context, event }) => event.type === 'TASK_END' && event.ok && context.failures === 0,
  },
  delays: {
    startTimeout: ({ context }) => context.timings.startTimeoutMs,
    abortGrace: ({ context }) => context.timings.abortGraceMs,
    heartbeatTimeout: ({ context }) => context.timings.heartbeatTimeoutMs,
    healthTimeout: ({ context }) => context.timings.healthTimeoutMs,
    // The host's own stop waits stopGraceMs; this is the backstop if even that hangs.
    stopDeadline: ({ context }) => context.stop.graceMs + context.stop.abortGraceMs + STOP_MARGIN_MS,
    drainTimeout: ({ context }) => context.timings.drainTimeoutMs,
    backoff: ({ context }) =>
      Math.min(
        context.timings.backoffMaxMs,
        context.timings.backoffBaseMs * 2 ** Math.max(0, context.failures - 1),
      ),
  },
}).createMachine({
  id: 'agent',
  // Field by field: a spread followed by more properties costs µs per object on Node 20 (V8 11.3).
  context: ({ input }) => ({
    agentId: input.agentId,
    pool: input.pool,
    maxFailures: input.maxFailures,
    timings: input.timings,
    failures: 0,
    restarts: 0,
    overdueTaskId: undefined,
    lastError: undefined,
    started: false,
    stop: { graceMs: input.timings.stopGraceMs, abortGraceMs: input.timings.abortGraceMs },
  }),
  initial: 'starting',
  // A denial changes no state: the agent keeps serving (the pool decides about eviction); the actor
  // is where it is recorded, so an inspector sees it with the agent's other events.
  on: {
    SECURITY_DENIED: {
      actions: emit(({ context, event }) => ({
        type: 'security.denied' as const,
        agentId: context.agentId,
        pool: context.pool,
        ...event.denial,
      })),
    },
  },
  states: {
    starting: {
      entry: 'reportUnavailable',
      invoke: {
        src: 'startHost',
        input: ({ context }) => ({ agentId: context.agentId }),
        // Straight to idle's child (as TASK_START does for busy): no transient `entered` microstep
        // per agent start (issue 14: starting 10,000 inline agents).
        onDone: [
          {
            guard: 'healthEnabled',
            target: 'idle.waiting',
            actions: ['markStarted', 'reportStarted', 'emitStarted'],
          },
          { target: 'idle.unmonitored', actions: ['markStarted', 'reportStarted', 'emitStarted'] },
        ],
        onError: {
          target: 'crashed',
          actions: [
            assign({
              lastError: ({ event }) =>
                `start failed: ${String((event.error as Error)?.message ?? event.error)}`,
            }),
            'reportStartFailed',
          ],
        },
      },
      // Leaving `starting` any way but to idle stops the startHost actor (the runtime terminates the
      // host it was starting) and `crashed` kills whatever host is left: an agent owns at most one.
      after: {
        startTimeout: {
          target: 'crashed',
          actions: [assign({ lastError: 'start timed out' }), 'reportStartFailed'],
        },
      },
      on: {
        HOST_EXITED: {
          target: 'crashed',
          actions: [assign({ lastError: ({ event }) => event.error }), 'reportStartFailed'],
        },
        STOP: { target: 'stopping', actions: 'setStop' },
        DRAIN: { target: 'stopping' },
      },
    },
    idle: {
      // No overdue task is left on entry: every way out of `busy.overdue` clears it (to idle, back
      // to busy, or through crashed), so idle's entry assigns nothing (a context copy per task).
      entry: 'reportIdle',
      initial: 'entered',
      states: {
        entered: { always: [{ guard: 'healthEnabled', target: 'waiting' }, { target: 'unmonitored' }] },
        unmonitored: {},
        // No timer here: one armed per agent on every idle⇄busy edge was ~20 % of a sequential task's
        // actor cost (issue 14). The runtime's health timer sends HEALTH_DUE once the agent has
        // been in `waiting` for healthIntervalMs.
        waiting: {
          on: { HEALTH_DUE: { target: 'checking' } },
        },
        checking: {
          invoke: {
            src: 'checkHealth',
            input: ({ context }) => ({ agentId: context.agentId }),
            onDone: { target: 'waiting' },
            onError: {
              target: '#agent.crashed',
              actions: assign({ lastError: 'health check failed' }),
            },
          },
          after: {
            healthTimeout: {
              target: '#agent.terminating',
              actions: assign({ lastError: 'health check timed out' }),
            },
          },
        },
      },
      on: {
        // The hot edge targets busy's child directly: no transient `entered` microstep per task.
        TASK_START: [{ guard: 'heartbeatEnabled', target: 'busy.running' }, { target: 'busy.unwatched' }],
        HOST_EXITED: { target: 'crashed', actions: assign({ lastError: ({ event }) => event.error }) },
        DRAIN: { target: 'stopping' },
        STOP: { target: 'stopping', actions: 'setStop' },
      },
    },
    busy: {
      entry: 'reportBusy',
      initial: 'entered',
      states: {
        // As for idle: the heartbeat timer exists only when heartbeats are required.
        entered: { always: [{ guard: 'heartbeatEnabled', target: 'running' }, { target: 'unwatched' }] },
        unwatched: {},
        running: {
          after: {
            heartbeatTimeout: {
              target: 'overdue',
              actions: [
                assign({ overdueTaskId: '*', lastError: 'missed heartbeat' }),
                { type: 'abortTask', params: { taskId: '*' } },
              ],
            },
          },
          on: {
            // Re-entering restarts the heartbeat timer.
            HEARTBEAT: { target: 'running', reenter: true },
          },
        },
        overdue: {
          entry: 'reportOverdue',
          after: { abortGrace: { target: '#agent.terminating' } },
          on: {
            // The overdue task let go after its abort signal: no escalation needed.
            TASK_END: [
              {
                guard: and(['isOverdueTask', 'lastTask']),
                target: '#agent.idle',
                actions: assign({ overdueTaskId: undefined }),
              },
              {
                guard: 'isOverdueTask',
                target: 'entered',
                actions: [
                  assign({ overdueTaskId: undefined }),
                  // Offered again: busy's entry does not run for a move inside busy.
                  'reportBusy',
                ],
              },
              // Another task ended while the overdue one hangs: nothing changes here.
              {},
            ],
          },
        },
      },
      on: {
        TASK_END: [
          // As for TASK_START: straight to idle's child, skipping the transient `entered`.
          // With no failures counted a success changes nothing but the state: no assign (a context copy).
          { guard: and(['lastTask', 'healthEnabled', 'cleanEnd']), target: 'idle.waiting' },
          { guard: and(['lastTask', 'cleanEnd']), target: 'idle.unmonitored' },
          { guard: and(['lastTask', 'healthEnabled']), target: 'idle.waiting', actions: 'endTask' },
          { guard: 'lastTask', target: 'idle.unmonitored', actions: 'endTask' },
          { guard: 'cleanEnd' },
          { actions: 'endTask' },
        ],
        TASK_OVERDUE: {
          target: '.overdue',
          actions: [
            assign({
              overdueTaskId: ({ event }) => event.taskId,
              lastError: ({ event }) => `task ${event.reason}`,
            }),
            { type: 'abortTask', params: ({ event }) => ({ taskId: event.taskId }) },
          ],
        },
        HOST_EXITED: { target: 'crashed', actions: assign({ lastError: ({ event }) => event.error }) },
        DRAIN: { target: 'draining' },
        STOP: { target: 'stopping', actions: 'setStop' },
      },
    },
    draining: {
      entry: 'reportUnavailable',
      // The work had its drain time: abort what is left now (no second grace period).
      after: {
        drainTimeout: {
          target: 'stopping',
          actions: assign({ stop: ({ context }) => ({ ...context.stop, graceMs: 0 }) }),
        },
      },
      on: {
        TASK_END: { guard: 'lastTask', target: 'stopping' },
        TASK_OVERDUE: {
          actions: { type: 'abortTask', params: ({ event }) => ({ taskId: event.taskId }) },
        },
        HOST_EXITED: { target: 'stopped', actions: 'failInflight' },
        STOP: { target: 'stopping', actions: 'setStop' },
      },
    },
    stopping: {
      entry: 'reportUnavailable',
      invoke: {
        src: 'stopHost',
        input: ({ context }) => ({
          agentId: context.agentId,
          graceMs: context.stop.graceMs,
          abortGraceMs: context.stop.abortGraceMs,
        }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
      after: { stopDeadline: { target: 'stopped' } },
    },
    terminating: {
      entry: 'reportUnavailable',
      invoke: {
        src: 'killHost',
        input: ({ context }) => ({ agentId: context.agentId, reason: context.lastError ?? 'unresponsive' }),
        onDone: { target: 'crashed' },
        onError: { target: 'crashed' },
      },
      after: { abortGrace: { target: 'crashed' } },
      on: {
        HOST_EXITED: { target: 'crashed' },
        // Stopped while being killed: no restart after the kill (else a new worker outlives the stop).
        STOP: { target: 'stopping', actions: 'setStop' },
        DRAIN: { target: 'stopping' },
      },
    },
    crashed: {
      entry: [
        'reportUnavailable',
        'failInflight',
        'killHostNow',
        assign({ failures: ({ context }) => context.failures + 1, overdueTaskId: undefined }),
        emit(({ context }) => ({
          type: 'agent.crashed' as const,
          agentId: context.agentId,
          pool: context.pool,
          error: context.lastError ?? 'unknown',
          failures: context.failures,
        })),
      ],
      always: [{ guard: 'circuitOpen', target: 'evicted' }, { target: 'restarting' }],
    },
    restarting: {
      entry: emit(({ context }) => ({
        type: 'agent.restarting' as const,
        agentId: context.agentId,
        pool: context.pool,
        failures: context.failures,
      })),
      after: {
        backoff: { target: 'starting', actions: assign({ restarts: ({ context }) => context.restarts + 1 }) },
      },
      on: { STOP: { target: 'stopped' }, DRAIN: { target: 'stopped' } },
    },
    stopped: { type: 'final', entry: ['killHostNow', 'reportGone'] },
    evicted: {
      type: 'final',
      entry: [
        'killHostNow',
        'reportGone',
        emit(({ context }) => ({
          type: 'agent.evicted' as const,
          agentId: context.agentId,
          pool: context.pool,
          failures: context.failures,
          error: context.lastError ?? 'unknown',
        })),
      ],
    },
  },
});
