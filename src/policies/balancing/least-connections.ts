/**
 * Weighted least connections (nginx `least_conn`): the agent with the smallest active / weight,
 * ties at random. With equal weights it is join-the-shortest-queue; weights let a 2× agent carry
 * twice the tasks before it looks as loaded as a 1× agent.
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { argmax, strategyOptions } from './util.js';

/** Least connections has no options: weights come from {@link AgentView.weight}. */
export type LeastConnectionsOptions = Record<string, never>;

/** @example `new LeastConnectionsStrategy().pick(agents, task, rng)` */
export class LeastConnectionsStrategy implements BalancingStrategy {
  readonly name = 'least-connections';
  probes = 0;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: LeastConnectionsOptions) {
    strategyOptions('balancing.least-connections', options, []);
  }

  pick(candidates: readonly AgentView[], _task: TaskView, rng: RandomSource): AgentView | undefined {
    this.probes = candidates.length;
    return argmax(candidates, (a) => -a.active / (a.weight > 0 ? a.weight : Number.MIN_VALUE), rng);
  }
}
