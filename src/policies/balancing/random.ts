/**
 * Uniform random choice: the baseline every other strategy must beat. Reads no load state
 * (0 probes); at load 0.9 each agent behaves like an independent M/M/1 queue (mean time in
 * system 1 / (1 − 0.9) = 10 service times).
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { strategyOptions } from './util.js';

/** Random has no options. */
export type RandomOptions = Record<string, never>;

/** @example `new RandomStrategy().pick(agents, task, createRng(1))` */
export class RandomStrategy implements BalancingStrategy {
  readonly name = 'random';
  probes = 0;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: RandomOptions) {
    strategyOptions('balancing.random', options, []);
  }

  pick(candidates: readonly AgentView[], _task: TaskView, rng: RandomSource): AgentView | undefined {
    return candidates.length === 0 ? undefined : candidates[rng.int(candidates.length)];
  }
}
