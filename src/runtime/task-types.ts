/**
 * Task types of a handler map (compile time only): the names, input and output types a
 * `defineAgent()` handler map gives its tasks. A wide map (`AgentHandlers`, an index signature) gives
 * any string name, `unknown` input and output. Used by `Lease.run` and, through ./typed.ts,
 * `system.submit()`.
 */

/** True when `H` is a wide map (any string names a task). */
export type IsWide<H> = string extends keyof H ? true : false;

/** Pool type names of a system's pool map. */
export type PoolName<P> = keyof P & string;

/** Task names of a handler map. */
export type TaskName<H> = IsWide<H> extends true ? string : keyof H & string;

/** Input type of task `K` (`unknown` for a wide map or an unannotated input). */
export type TaskInput<H, K> =
  IsWide<H> extends true
    ? unknown
    : K extends keyof H
      ? H[K] extends (...args: infer A) => unknown
        ? A extends []
          ? undefined
          : [A[0]] extends [never]
            ? unknown
            : A[0]
        : never
      : never;

/** Result type of task `K` (what its handler returns, awaited). */
export type TaskOutput<H, K> =
  IsWide<H> extends true
    ? unknown
    : K extends keyof H
      ? H[K] extends (...args: never[]) => infer O
        ? Awaited<O>
        : never
      : never;

/** `input` is optional exactly when the task accepts `undefined`. */
export type InputField<I> = undefined extends I ? { input?: I } : { input: I };
