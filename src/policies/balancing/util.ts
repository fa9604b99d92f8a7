/**
 * Helpers shared by the strategies: option validation, a stable agent ordering, argmax with
 * random tie-breaking, an exponentially weighted moving average.
 */
import { knownKeys, num, record } from '../../core/validate.js';
import type { AgentView, RandomSource } from './types.js';

/**
 * Validate a strategy's options object: must be a plain object (or undefined) with only `allowed`
 * keys. Returns it as a record. Throws ConfigError naming `path`.
 */
export function strategyOptions(
  path: string,
  options: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  const o = record('config', path, options);
  knownKeys('config', path, o, new Set(allowed));
  return o;
}

/** Validate an optional number option of a strategy (ConfigError on bad input). */
export function numOption(
  path: string,
  value: unknown,
  fallback: number,
  bounds: { min?: number; max?: number; gt?: number; integer?: boolean } = {},
): number {
  return num('config', path, value, fallback, bounds);
}

/**
 * Gives every agent id a stable ordinal (first-seen order). Rotating strategies walk agents in
 * ordinal order, so the rotation does not depend on the order in which `candidates` arrive and
 * survives agents joining or leaving.
 */
export class Ordinals {
  private readonly map = new Map<string, number>();
  private nextOrdinal = 0;

  /** The ordinal of `id`, assigning the next one on first sight. */
  of(id: string): number {
    let o = this.map.get(id);
    if (o === undefined) {
      o = this.nextOrdinal++;
      this.map.set(id, o);
    }
    return o;
  }

  /** Forget an agent that left. */
  delete(id: string): void {
    this.map.delete(id);
  }
}

/**
 * The candidate with the highest `score`; ties broken uniformly at random (reservoir sampling, one
 * pass, no allocation). Random ties matter: always taking the first of equally loaded agents piles
 * work onto the front of the list.
 */
export function argmax(
  candidates: readonly AgentView[],
  score: (a: AgentView) => number,
  rng: RandomSource,
): AgentView | undefined {
  let best: AgentView | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (const a of candidates) {
    const s = score(a);
    if (s > bestScore) {
      best = a;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (rng.int(ties) === 0) best = a;
    }
  }
  // All scores NaN (should not happen): fall back to the first candidate rather than nothing.
  return best ?? candidates[0];
}

/** Exponentially weighted moving average; `undefined` until the first sample. */
export class Ewma {
  /** Current average, or `undefined` before any sample. */
  value: number | undefined;
  /** Number of samples seen. */
  count = 0;
  /**
   * @param alpha weight of a new sample, 0 < alpha ≤ 1.
   * @param initial starting value (a prior); without one the first sample becomes the value.
   */
  constructor(
    private readonly alpha: number,
    initial?: number,
  ) {
    this.value = initial;
  }

  /** Add a sample. Non-finite samples are ignored (a strategy must never be poisoned by NaN). */
  add(x: number): void {
    if (!Number.isFinite(x)) return;
    this.count++;
    this.value = this.value === undefined ? x : this.value + this.alpha * (x - this.value);
  }
}

/**
 * Mean free fraction of the resources `task` asks for (or of every resource the agent has, when the
 * task names none), in 0..1. An agent with no resource information counts as fully free, so the
 * term is neutral rather than excluding it.
 */
export function freeFraction(
  agent: AgentView,
  requirements: Readonly<Record<string, number>> | undefined,
): number {
  const keys = requirements ?? agent.capacityTotal;
  // for…in, not Object.keys: this runs for every candidate on every dispatch, so no allocation.
  // The common "no resources" case returns from inside the first iteration check.
  for (const _ in keys) return meanFreeFraction(agent, keys);
  return 1;
}

function meanFreeFraction(agent: AgentView, keys: Readonly<Record<string, number>>): number {
  let sum = 0;
  let n = 0;
  for (const k in keys) {
    const total = agent.capacityTotal[k];
    const free = agent.free[k];
    if (total === undefined || free === undefined || !(total > 0)) continue;
    sum += Math.min(1, Math.max(0, free / total));
    n++;
  }
  return n === 0 ? 1 : sum / n;
}

/**
 * Like {@link argmax} with a second key that breaks ties of the first before falling back to a
 * random choice (e.g. resource score first, then fewer active tasks).
 */
export function argmax2(
  candidates: readonly AgentView[],
  primary: (a: AgentView) => number,
  secondary: (a: AgentView) => number,
  rng: RandomSource,
): AgentView | undefined {
  let best: AgentView | undefined;
  let b1 = Number.NEGATIVE_INFINITY;
  let b2 = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (const a of candidates) {
    const s1 = primary(a);
    const s2 = secondary(a);
    if (s1 > b1 || (s1 === b1 && s2 > b2)) {
      best = a;
      b1 = s1;
      b2 = s2;
      ties = 1;
    } else if (s1 === b1 && s2 === b2) {
      ties++;
      if (rng.int(ties) === 0) best = a;
    }
  }
  return best ?? candidates[0];
}
