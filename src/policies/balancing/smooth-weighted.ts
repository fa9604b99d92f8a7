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
import type { AgentView, BalancingStrategy } from './types.js';
import { Ordinals, strategyOptions } from './util.js';

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
  private readonly current = new Map<string, number>();
  private readonly ordinals = new Ordinals();

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: SmoothWeightedOptions) {
    strategyOptions('balancing.smooth-weighted', options, []);
  }

  pick(candidates: readonly AgentView[]): AgentView | undefined {
    let total = 0;
    let best: AgentView | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let bestOrd = Number.POSITIVE_INFINITY;
    for (const a of candidates) {
      // A non-positive or non-finite weight means "never, unless nobody else": weight 0.
      const w = Number.isFinite(a.weight) && a.weight > 0 ? a.weight : 0;
      const c = (this.current.get(a.id) ?? 0) + w;
      this.current.set(a.id, c);
      total += w;
      const o = this.ordinals.of(a.id);
      // Ties go to the lower ordinal so the sequence does not depend on candidate order.
      if (c > bestCurrent || (c === bestCurrent && o < bestOrd)) {
        best = a;
        bestCurrent = c;
        bestOrd = o;
      }
    }
    if (best) this.current.set(best.id, bestCurrent - total);
    return best;
  }

  onAgentRemoved(agentId: string): void {
    this.current.delete(agentId);
    this.ordinals.delete(agentId);
  }
}
