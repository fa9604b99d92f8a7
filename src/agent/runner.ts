/**
 * Runs an agent's handlers: one AbortController per task, usage accounting, token reservations,
 * and errors turned into plain data. Shared by the inline host (same thread) and the worker entry
 * (inside a thread), so both behave the same.
 */
import { type SerializedError, serializeError } from '../core/errors.js';
import type { AgentContext, AgentDefinition, TokenReservation, Usage } from './define.js';

/** How a task ended, as plain data (crosses the worker boundary). */
export type TaskOutcome =
  | { ok: true; value: unknown; usage: Usage }
  | { ok: false; error: SerializedError; usage: Usage; partial?: unknown };

/** Calls from the runner back to the host (the side channel in a thread). */
export interface RunnerBridge {
  heartbeat(taskId: string): void;
  /** The task's `ctx.progress(value)`. */
  progress?(taskId: string, value: unknown): void;
  usage(taskId: string, usage: Usage): void;
  /** Resolve with `undefined` when granted, or with the refusal. */
  reserveTokens(taskId: string, amount: number): Promise<SerializedError | undefined>;
  /** `index`: which of the task's reservations (0 = its first `reserve` call, refused ones included). */
  settleTokens(taskId: string, reserved: number, actual: number, index: number): void;
}

interface Running {
  /** Created on first use: most tasks never look at their signal, and an AbortSignal costs microseconds. */
  controller: AbortController | undefined;
  usage: Usage;
  budgetError?: SerializedError;
  /** `ctx.tokens.reserve` calls so far (each reservation's index). */
  reservations: number;
}

/** The task's AbortController, created on first use. */
function controllerOf(r: Running): AbortController {
  if (r.controller === undefined) r.controller = new AbortController();
  return r.controller;
}

/** True for promises and other thenables (what `await` would wait on). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/** Executes tasks of one agent definition. */
export class AgentRunner {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly agentId: string,
    private readonly def: AgentDefinition,
    private readonly tools: readonly string[],
    private readonly bridge: RunnerBridge,
  ) {}

  /** Run the definition's start-up hook, if any (hosts call it once, before any task). */
  async setup(): Promise<void> {
    await this.def.setup?.({ agentId: this.agentId, tools: this.tools });
  }

  /** Names of the handlers this agent has. */
  handlerNames(): string[] {
    return Object.keys(this.def.handlers);
  }

  /** Number of tasks running now. */
  get active(): number {
    return this.running.size;
  }

  /** Run one task to an outcome. Never throws, never rejects. */
  run(taskId: string, task: string, input: unknown): Promise<TaskOutcome> {
    const o = this.start(taskId, task, input);
    return o instanceof Promise ? o : Promise.resolve(o);
  }

  /**
   * Start one task. A handler that returns a plain value (not a promise) has its outcome returned
   * synchronously, so a worker can answer a whole batch of such tasks in one message without waiting
   * for the microtask queue; an async handler gives a promise of the outcome. Never throws, never rejects.
   */
  start(taskId: string, task: string, input: unknown): TaskOutcome | Promise<TaskOutcome> {
    const handler = this.def.handlers[task];
    const usage: Usage = {};
    if (typeof handler !== 'function') {
      return {
        ok: false,
        usage,
        error: {
          name: 'AgentPoolError',
          code: 'ERR_UNKNOWN_TASK',
          message: `agent has no task ${JSON.stringify(task)}`,
        },
      };
    }
    const r: Running = { controller: undefined, usage, reservations: 0 };
    this.running.set(taskId, r);
    let result: unknown;
    try {
      result = (handler as (i: unknown, c: AgentContext) => unknown)(input, this.context(taskId, task, r));
    } catch (err) {
      this.running.delete(taskId);
      return { ok: false, error: r.budgetError ?? serializeError(err), usage };
    }
    if (!isThenable(result)) {
      this.running.delete(taskId);
      return this.outcome(r, result);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.running.delete(taskId);
        return this.outcome(r, value);
      },
      (err: unknown) => {
        this.running.delete(taskId);
        return { ok: false, error: r.budgetError ?? serializeError(err), usage } as TaskOutcome;
      },
    );
  }

  private outcome(r: Running, value: unknown): TaskOutcome {
    if (r.budgetError) return { ok: false, error: r.budgetError, usage: r.usage, partial: value };
    return { ok: true, value, usage: r.usage };
  }

  /** Abort one task (its handler sees `ctx.signal` fire). Unknown ids are ignored. */
  abort(taskId: string, reason: string): void {
    const r = this.running.get(taskId);
    if (r) controllerOf(r).abort(new Error(reason));
  }

  /** Abort every running task. */
  abortAll(reason: string): void {
    for (const r of this.running.values()) controllerOf(r).abort(new Error(reason));
  }

  private context(taskId: string, task: string, r: Running): AgentContext {
    const bridge = this.bridge;
    const tools = this.tools;
    return {
      agentId: this.agentId,
      taskId,
      task,
      // A getter, so destructuring `{ signal }` still works but tasks that never look pay nothing.
      get signal() {
        return controllerOf(r).signal;
      },
      tools,
      heartbeat: () => bridge.heartbeat(taskId),
      progress: (value: unknown) => {
        if (bridge.progress) bridge.progress(taskId, value);
        else bridge.heartbeat(taskId);
      },
      reportUsage: (u) => {
        for (const [k, v] of Object.entries(u)) {
          if (typeof v === 'number' && Number.isFinite(v)) r.usage[k] = (r.usage[k] ?? 0) + v;
        }
        bridge.usage(taskId, u);
      },
      tokens: {
        reserve: async (amount: number): Promise<TokenReservation> => {
          // Numbered in call order, which is the order the runtime receives them in (one channel).
          const index = r.reservations++;
          const refusal = await bridge.reserveTokens(taskId, amount);
          if (refusal) {
            r.budgetError = refusal;
            const e = new Error(refusal.message) as Error & { code?: string };
            e.name = 'BudgetExhaustedError';
            e.code = 'ERR_BUDGET_EXHAUSTED';
            throw e;
          }
          let settled = false;
          return {
            amount,
            settle: (actual: number) => {
              if (settled) return;
              settled = true;
              r.usage.tokens = (r.usage.tokens ?? 0) + actual;
              bridge.settleTokens(taskId, amount, actual, index);
            },
          };
        },
      },
      requireTool: (tool: string) => {
        if (!tools.includes(tool)) {
          const e = new Error(
            `tool ${JSON.stringify(tool)} is not granted to agent ${this.agentId}`,
          ) as Error & {
            code?: string;
          };
          e.code = 'ERR_UNENFORCEABLE';
          throw e;
        }
      },
    };
  }
}
