/**
 * Resource-aware: the agent with the most free capacity, scored free fraction × (1 − utilization).
 * The free fraction is the mean over the resources the task asks for (all resources when it names
 * none), so a task needing tokens looks at token headroom, not memory. Ties (common: many idle
 * agents score 1, many busy ones 0) go to the agent with fewer active tasks per slot, then at random.
 */
import type { AgentView, BalancingStrategy, RandomSource, TaskView } from './types.js';
import { argmax2, freeFraction, strategyOptions } from './util.js';

/** Resource-aware has no options. */
export type ResourceAwareOptions = Record<string, never>;

/** Score of one agent for one task, in 0..1. Exported for tests and for explaining a decision. */
export function resourceScore(agent: AgentView, task: TaskView): number {
  const u = Math.min(1, Math.max(0, agent.utilization));
  return freeFraction(agent, task.requirements) * (1 - u);
}

/** @example `new ResourceAwareStrategy().pick(agents, { requirements: { memoryMb: 512 } }, rng)` */
export class ResourceAwareStrategy implements BalancingStrategy {
  readonly name = 'resource-aware';
  probes = 0;

  /** @throws ConfigError on any option (there are none). */
  constructor(options?: ResourceAwareOptions) {
    strategyOptions('balancing.resource-aware', options, []);
  }

  pick(candidates: readonly AgentView[], task: TaskView, rng: RandomSource): AgentView | undefined {
    this.probes = candidates.length;
    return argmax2(
      candidates,
      (a) => resourceScore(a, task),
      (a) => -a.active / Math.max(1, a.capacity),
      rng,
    );
  }
}
