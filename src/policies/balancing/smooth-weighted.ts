/**
 * Smooth weighted round robin — the nginx upstream algorithm.
 *
 * Every pick: each candidate's `current` grows by its weight; the candidate with the largest
 * `current` wins and pays back the total weight. Weights 2:1 give A, B, A (not A, A, B): heavy
 * agents are spread through the cycle instead of receiving bursts. Over every full cycle of
 * sum(weights) picks with a fixed candidate set, each agent is picked exactly `weight` times
 * (integer weights), and at every point each agent's count stays within one pick of its exact
 * share.
 *
 * Agents not among the candidates keep their `current` (as in nginx) so a briefly ineligible agent
 * neither loses nor gains its turn.
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { strategyOptions } from './util.js';

/** Smooth weighted round robin has no options: weights come from {@link AgentView.weight}. */
export type SmoothWeightedOptions = Record<string, never>;

/**
 * @example
 * ```ts
 * const s = new SmoothWeightedStrategy();
 * // a.weight = 2, b.weight = 1 → a, b, a, a, b, a, …
 * ```
 */
export class SmoothWeightedStrategy implements BalancingStrategy {
  readonly name = 'smooth-weighted';
  probes = 0;
  /** Per agent: its running `current` weight and its stable ordinal (tie-breaker); one lookup per pick. */
  private readonly state = new Map<string, { current: number; ordinal: number }>();
  private nextOrdinal = 0;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: SmoothWeightedOptions) {
    strategyOptions('balancing.smooth-weighted', options, []);
  }

  pick(candidates: readonly AgentView[], _task?: TaskView, _rng?: RandomSource): AgentView | undefined {
    let total = 0;
    let best: { current: number } | undefined;
    let bestAgent: AgentView | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let bestOrd = Number.POSITIVE_INFINITY;
    for (const a of candidates) {
      // A non-positive or non-finite weight means "never, unless nobody else": weight 0.
      const w = Number.isFinite(a.weight) && a.weight > 0 ? a.weight : 0;
      let st = this.state.get(a.id);
      if (!st) {
        st = { current: 0, ordinal: this.nextOrdinal++ };
        this.state.set(a.id, st);
      }
      st.current += w;
      total += w;
      // Ties go to the lower ordinal so the sequence does not depend on candidate order.
      if (st.current > bestCurrent || (st.current === bestCurrent && st.ordinal < bestOrd)) {
        best = st;
        bestAgent = a;
        bestCurrent = st.current;
        bestOrd = st.ordinal;
      }
    }
    if (best) best.current -= total;
    return bestAgent;
  }

  onAgentRemoved(agentId: string): void {
    this.state.delete(agentId);
  }
}
