/**
 * Join the shortest queue: the agent with the fewest tasks (running + queued), ties at random.
 * The quality baseline (near-optimal for identical servers) at the price of reading every agent's
 * load on every dispatch (n probes).
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { argmax, strategyOptions } from './util.js';

/** JSQ has no options. */
export type JsqOptions = Record<string, never>;

/** @example `new JsqStrategy().pick(agents, task, rng)` → an agent with the fewest active tasks */
export class JsqStrategy implements BalancingStrategy {
  readonly name = 'jsq';
  probes = 0;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: JsqOptions) {
    strategyOptions('balancing.jsq', options, []);
  }

  pick(candidates: readonly AgentView[], _task: TaskView, rng: RandomSource): AgentView | undefined {
    this.probes = candidates.length;
    return argmax(candidates, (a) => -a.active, rng);
  }
}
