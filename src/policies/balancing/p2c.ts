/**
 * Power of d choices (Envoy LEAST_REQUEST): sample `choices` distinct agents at random and take the
 * best by weight / (active + 1)^bias. Two random probes instead of n cut the mean time in system at
 * load 0.9 from 10 (random) to about 2.6 (Mitzenmacher's supermarket model), at constant cost.
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { numOption, strategyOptions } from './util.js';

/** Options of {@link P2cStrategy}. */
export interface P2cOptions {
  /** How many agents to sample (d). @default 2 */
  choices?: number;
  /**
   * Envoy's `active_request_bias`: 0 ignores load (weighted random), 1 is the usual
   * weight / (active + 1). @default 1
   */
  bias?: number;
}

/** @example `new P2cStrategy({ choices: 2 }).pick(agents, task, rng)` */
export class P2cStrategy implements BalancingStrategy {
  readonly name = 'p2c';
  probes = 0;
  private readonly choices: number;
  private readonly bias: number;
  private readonly picked: number[] = [];

  /** @throws ConfigError on an unknown option or a bad value. */
  constructor(options?: P2cOptions) {
    const o = strategyOptions('balancing.p2c', options, ['choices', 'bias']);
    this.choices = numOption('balancing.p2c.choices', o.choices, 2, { integer: true, min: 1 });
    this.bias = numOption('balancing.p2c.bias', o.bias, 1, { min: 0 });
  }

  pick(candidates: readonly AgentView[], _task: TaskView, rng: RandomSource): AgentView | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const d = Math.min(this.choices, n);
    this.probes = d;
    let best: AgentView | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    // Distinct indices without allocating a permutation: redraw on collision (d ≪ n in practice;
    // when d is close to n the expected redraws stay bounded by the coupon-collector sum).
    this.picked.length = 0;
    while (this.picked.length < d) {
      const i = rng.int(n);
      if (this.picked.includes(i)) continue;
      this.picked.push(i);
      const a = candidates[i] as AgentView;
      const score = Math.max(a.weight, 0) / (a.active + 1) ** this.bias;
      if (score > bestScore) {
        best = a;
        bestScore = score;
      }
    }
    return best;
  }
}
