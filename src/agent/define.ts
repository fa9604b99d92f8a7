/**
 * What an agent module exports. An agent is a set of named task handlers; the host (thread or inline)
 * calls them with the task input and an {@link AgentContext}.
 */
import { invalid, knownKeys, record } from '../core/validate.js';

/** Resource usage an agent reports (tokens, or any named counter). */
export interface Usage {
  /** LLM tokens consumed. */
  tokens?: number;
  [counter: string]: number | undefined;
}

/** A granted token reservation; settle it with what the model call really used. */
export interface TokenReservation {
  /** Tokens reserved. */
  readonly amount: number;
  /** Charge the real usage (may differ from the reservation) and release the reservation. */
  settle(actualTokens: number): void;
}

/**
 * The tools an agent's security profile grants (a list of names), and the way to call them:
 * `call(name, args)` crosses to the parent, where the tool runs after the profile check — a tool
 * outside the profile rejects with `ERR_TOOL_DENIED` before it runs.
 */
export interface AgentTools extends ReadonlyArray<string> {
  /** Call a registered tool; resolves with what it returned, rejects with its error or the refusal. */
  call<T = unknown>(name: string, args?: unknown): Promise<T>;
}

/** What a task handler receives besides its input. */
export interface AgentContext {
  /** The agent's id. */
  readonly agentId: string;
  /** This task's id. */
  readonly taskId: string;
  /** The task (handler) name. */
  readonly task: string;
  /**
   * W3C `traceparent` of this run's `invoke_agent` span, when the system traces (OpenTelemetry
   * installed and not disabled). Spans the handler makes with `@opentelemetry/api` already have the run as
   * their parent; forward this header on an outgoing model or tool call to continue the trace there.
   */
  readonly traceparent?: string;
  /** Aborted when the caller cancels, the task times out, or the agent is stopping. Honour it. */
  readonly signal: AbortSignal;
  /** Tools this agent's security profile grants, and `tools.call(name, args)` to use one. */
  readonly tools: AgentTools;
  /**
   * The agent's workspace: a directory only it may write in isolated tiers (`process`, `sandbox`),
   * emptied when a lease is released and removed with the agent. Undefined for other tiers.
   */
  readonly workspace: string | undefined;
  /** Say "still alive": resets the heartbeat timeout while a long task runs. */
  heartbeat(): void;
  /**
   * Report progress (any structured-cloneable value, e.g. `{ done: 3, of: 10 }`): delivered in order to
   * the submitter's `onProgress` and as a `task.progress` event; resets the heartbeat like
   * {@link heartbeat}.
   */
  progress(value: unknown): void;
  /** Report consumed resources (added up per task, cycle, pool and system). */
  reportUsage(usage: Usage): void;
  /** Token budget: reserve before a model call; refused with `ERR_BUDGET_EXHAUSTED` when a budget would be exceeded. */
  readonly tokens: { reserve(amount: number): Promise<TokenReservation> };
  /** Throws `ERR_UNENFORCEABLE`-free `ERR_INVALID_ARGUMENT` unless `tool` is granted; call before using a tool. */
  requireTool(tool: string): void;
}

/** One named task handler. */
export type TaskHandler<I = unknown, O = unknown> = (input: I, ctx: AgentContext) => O | Promise<O>;

/** Handlers by task name. */
export type AgentHandlers = Record<string, TaskHandler<never, unknown>>;

/** What an agent's {@link AgentOptions.setup} receives. */
export interface SetupContext {
  /** The agent's id. */
  readonly agentId: string;
  /** Tools this agent's security profile grants. */
  readonly tools: readonly string[];
}

/** Options of {@link defineAgent}. */
export interface AgentOptions {
  /**
   * Runs once when the agent starts, before it is handed any task: load a model, open a client, warm a
   * cache. The agent is `starting` until it resolves; if it throws (or outlasts the pool's
   * `timings.startTimeoutMs`) the start fails and the agent is restarted with backoff like any failed
   * start. In simulations it is where a start-up delay is modelled.
   * @default undefined (ready at once)
   * @example
   * ```ts
   * export default defineAgent({ review: (pr, ctx) => review(client, pr) }, {
   *   async setup() { client = await connect(process.env.MODEL_URL); },
   * });
   * ```
   */
  setup?: (ctx: SetupContext) => void | Promise<void>;
}

/** Marker so hosts can tell an agent definition from any other default export. */
export const AGENT_DEFINITION = Symbol.for('agentpool.agent-definition');

/** A defined agent, the default export of an agent module. */
export interface AgentDefinition<H extends AgentHandlers = AgentHandlers> {
  readonly [AGENT_DEFINITION]: true;
  /** Task handlers by name. */
  readonly handlers: H;
  /** Start-up hook, see {@link AgentOptions.setup}. */
  readonly setup?: (ctx: SetupContext) => void | Promise<void>;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['setup']);

/**
 * Define an agent: the default export of an agent module.
 *
 * @throws {InvalidArgumentError} (`ERR_INVALID_ARGUMENT`) `handlers` not an object, a handler not a
 * function (`handlers.<name>`), `options` not an object, an unknown option, `options.setup` not a
 * function.
 * @example
 * ```ts
 * import { defineAgent } from 'agentpool/agent';
 * export default defineAgent({
 *   async implement(input: { story: string }, ctx) {
 *     const r = await ctx.tokens.reserve(2_000);   // refused if a budget would be exceeded
 *     const out = await callModel(input.story, { signal: ctx.signal });
 *     r.settle(out.usage.totalTokens);
 *     return out.text;
 *   },
 * });
 * ```
 */
export function defineAgent<H extends AgentHandlers>(
  handlers: H,
  options: AgentOptions = {},
): AgentDefinition<H> {
  const h = record('argument', 'handlers', handlers);
  for (const [name, fn] of Object.entries(h)) {
    if (typeof fn !== 'function') invalid('argument', `handlers.${name}`, fn, 'a task handler function');
  }
  const o = record('argument', 'options', options);
  knownKeys('argument', 'options', o, OPTION_KEYS);
  const { setup } = o;
  if (setup !== undefined && typeof setup !== 'function')
    invalid('argument', 'options.setup', setup, 'a function');
  return Object.freeze({
    [AGENT_DEFINITION]: true as const,
    handlers,
    ...(setup ? { setup: setup as NonNullable<AgentOptions['setup']> } : {}),
  });
}

/** True if `value` was made by {@link defineAgent}. */
export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[AGENT_DEFINITION] === true
  );
}
