/**
 * The typed task API, compile time only: a `defineAgent()` handler map gives each task's name, input
 * and output type; the keys of the `pools` config are the pool types. So
 * `system.submit({ type: 'qa', task: 'runTests', input })` infers its result type, and a misspelt
 * pool or task, or an input of the wrong type, does not compile. Nothing here exists at run time
 * except the identity {@link agentModule}; the runtime still validates everything (typed errors).
 *
 * A config whose type is wide (`SystemOptions`, `Record<string, PoolOptions>`, modules given as plain
 * URLs or paths) gives the wide types: any string pool or task name, `unknown` input and output —
 * what the API accepted before the types existed.
 *
 * The task-level types (names, inputs, outputs of a handler map) live in ./task-types.ts.
 *
 * Type tests: test/types/typed-api.test-d.ts (run by `npm run typecheck` and by vitest's typecheck).
 */
import type { AgentDefinition, AgentHandlers } from '../agent/define.js';
import type { PoolOptions, SystemOptions } from './config.js';
import type { SubmitOptions } from './dispatcher.js';
import type { InputField, PoolName, TaskInput } from './task-types.js';

declare const AGENT_TYPE: unique symbol;

/**
 * A thread agent's module location (a file URL or path) that carries the module's agent type for the
 * compiler. Make one with {@link agentModule}.
 */
export type AgentModule<D extends AgentDefinition = AgentDefinition> = (URL | string) & {
  /** Phantom: never set, only read by the compiler. */
  readonly [AGENT_TYPE]?: D;
};

/**
 * Tie a thread agent's module URL to the type of its default export, so the pool's tasks are typed
 * although the module is only loaded (in a worker) at run time. Returns `url` unchanged.
 *
 * @example
 * ```ts
 * pools: {
 *   qa: { agent: agentModule<typeof import('./qa-agent.js').default>(new URL('./qa-agent.js', import.meta.url)) },
 * }
 * // type-only import: nothing of qa-agent.js is loaded on the main thread
 * ```
 */
export function agentModule<D extends AgentDefinition>(url: URL | string): AgentModule<D> {
  return url as AgentModule<D>;
}

/** What may stand in `pools.<type>.agent`. */
export type PoolAgent = PoolOptions['agent'] | AgentModule;

/** Handler map of a pool's `agent` (the wide {@link AgentHandlers} when the module's type is unknown). */
export type HandlersOf<A> =
  A extends AgentDefinition<infer H>
    ? H
    : A extends { readonly [AGENT_TYPE]?: infer D }
      ? // An optional property infers `D | undefined`: only the definition counts.
        NonNullable<D> extends AgentDefinition<infer H>
        ? H
        : AgentHandlers
      : AgentHandlers;

/** Task handler maps by pool type. */
export type PoolTasks = Record<string, AgentHandlers>;

/** The task handler maps of a config's pools, by pool type. */
export type PoolsOf<A> = { [K in keyof A]: HandlersOf<A[K]> };

/** `system.submit()`'s options for task `K` of pool `T`: `type`, `task` and `input` typed, the rest as {@link SubmitOptions}. */
export type TypedSubmitOptions<P, T extends PoolName<P>, K extends string> = Omit<
  SubmitOptions,
  'type' | 'task' | 'input'
> & { type: T; task: K } & InputField<TaskInput<P[T], K>>;

/** {@link SystemOptions} whose pools' agents are inferred (the shape `createAgentPoolSystem` accepts). */
export type TypedSystemOptions<A> = Omit<SystemOptions, 'pools'> & {
  /** Pools by type name. */
  pools: { [K in keyof A]: Omit<PoolOptions, 'agent'> & { agent: A[K] } };
};
