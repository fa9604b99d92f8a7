/**
 * The one interface every balancing strategy implements, and the views it works on.
 *
 * Contract:
 * - The caller (dispatcher, simulator) first filters agents to the **eligible** ones (capabilities,
 *   requirements fit, not draining) and passes them as `candidates`; a strategy only ranks.
 * - `pick` must not mutate the views and must not throw; it returns `undefined` only when
 *   `candidates` is empty.
 * - Learning strategies learn from `onDispatch` / `onComplete`; callers pass the **same `task`
 *   object** (or one with the same `id`) to `pick`, `onDispatch` and `onComplete` of one task.
 * - All randomness comes from the `rng` argument, so a run is reproducible from its seed.
 * - Time is an argument (`now`), never read from a clock.
 */

/** A uniform random source; `createRng` from src/sim/random.ts satisfies it. */
export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [0, n). */
  int(n: number): number;
}

/** What a strategy may know about one agent at decision time. */
export interface AgentView {
  /** Stable agent id. */
  readonly id: string;
  /** Configured relative weight (> 0); agents with 2× the weight should get 2× the work. */
  readonly weight: number;
  /** Tasks on this agent now: running + queued on it. */
  readonly active: number;
  /** How many tasks it runs at once (≥ 1). */
  readonly capacity: number;
  /** Busy fraction, 0..1 (e.g. running / capacity, or measured CPU). */
  readonly utilization: number;
  /** Free amount per resource (memoryMb, cpu, tokens…). */
  readonly free: Readonly<Record<string, number>>;
  /** Total amount per resource; with `free` gives the free fraction. */
  readonly capacityTotal: Readonly<Record<string, number>>;
  /** What this agent is specialised in (empty = generalist). */
  readonly specializations: readonly string[];
}

/** What a strategy may know about the task being placed. */
export interface TaskView {
  /** Task id; lets learning strategies tie a completion to its dispatch. */
  readonly id?: string;
  /** Task type (e.g. the handler name). */
  readonly type?: string;
  /** Specialisation the task prefers. */
  readonly specialization?: string;
  /** Resources the task needs (same keys as {@link AgentView.free}). */
  readonly requirements?: Readonly<Record<string, number>>;
  /** Tasks with the same key run best on the same agent (warm context). */
  readonly affinityKey?: string;
}

/** How a task ended, reported to {@link BalancingStrategy.onComplete}. */
export interface TaskOutcome {
  /** Whether it succeeded. */
  readonly ok: boolean;
  /** Time spent running on the agent. */
  readonly serviceTime: number;
  /** Time spent queued before it started. */
  readonly waitTime: number;
}

/**
 * A load-balancing strategy. Implementations are small classes holding only their own learning
 * state; see src/policies/balancing/index.ts for the registry.
 *
 * @example
 * ```ts
 * const s = createStrategy('p2c');
 * const agent = s.pick(eligible, task, rng);
 * if (agent) { s.onDispatch?.(agent.id, task, now); …; s.onComplete?.(agent.id, task, outcome, later); }
 * ```
 */
export interface BalancingStrategy {
  /** Registry name, e.g. `'p2c'`. */
  readonly name: string;
  /** Choose one of `candidates` (already filtered to eligible agents) for `task`. */
  pick(candidates: readonly AgentView[], task: TaskView, rng: RandomSource): AgentView | undefined;
  /** The task was handed to `agentId` at `now`. */
  onDispatch?(agentId: string, task: TaskView, now: number): void;
  /** The task finished on `agentId` at `now`. */
  onComplete?(agentId: string, task: TaskView, outcome: TaskOutcome, now: number): void;
  /** The agent left the pool: drop whatever is kept about it (keeps memory bounded under churn). */
  onAgentRemoved?(agentId: string): void;
  /**
   * How many agents' **load state** the last `pick` read (0 for round robin and random, 2 for
   * P2C, n for join-shortest-queue). The benchmark reports it as probes per dispatch: in a
   * distributed deployment each probe is a message.
   */
  readonly probes: number;
}
