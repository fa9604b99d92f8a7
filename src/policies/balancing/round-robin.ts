/**
 * Round robin that stays fair when the candidate set changes.
 *
 * A plain index counter (`i++ % n`) skips or repeats agents whenever the eligible set changes size
 * between picks, which it does constantly in a pool (agents busy, draining, not matching). Instead
 * each agent gets a stable ordinal (first-seen order) and the next pick is the candidate with the
 * smallest ordinal after the last one picked, wrapping around. Over any run of picks with an
 * unchanged candidate set of size n, every candidate is picked exactly once per n picks; an agent
 * joining is visited at its ordinal's turn, one leaving is simply skipped.
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { Ordinals, strategyOptions } from './util.js';

/** Round robin has no options; an options object must be empty. */
export type RoundRobinOptions = Record<string, never>;

/**
 * @example
 * ```ts
 * const rr = new RoundRobinStrategy();
 * rr.pick([a, b, c], {}, rng); // a, then b, then c, then a…
 * ```
 */
export class RoundRobinStrategy implements BalancingStrategy {
  readonly name = 'round-robin';
  probes = 0;
  private readonly ordinals = new Ordinals();
  private last = -1;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: RoundRobinOptions) {
    strategyOptions('balancing.round-robin', options, []);
  }

  pick(candidates: readonly AgentView[], _task?: TaskView, _rng?: RandomSource): AgentView | undefined {
    let next: AgentView | undefined; // smallest ordinal > last
    let nextOrd = Number.POSITIVE_INFINITY;
    let first: AgentView | undefined; // smallest ordinal overall (wrap-around)
    let firstOrd = Number.POSITIVE_INFINITY;
    for (const a of candidates) {
      const o = this.ordinals.of(a.id);
      if (o > this.last && o < nextOrd) {
        next = a;
        nextOrd = o;
      }
      if (o < firstOrd) {
        first = a;
        firstOrd = o;
      }
    }
    const chosen = next ?? first;
    if (chosen) this.last = next ? nextOrd : firstOrd;
    return chosen;
  }

  onAgentRemoved(agentId: string): void {
    this.ordinals.delete(agentId);
  }
}
