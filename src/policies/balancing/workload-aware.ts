/**
 * Workload-aware: a weighted sum of five scores in 0..1 —
 * load 0.30, specialisation match 0.25, resource availability 0.20, historical performance 0.15,
 * context affinity 0.10.
 *
 * - **load** = 1 / (1 + active / capacity): uses the queue length, not a busy flag, so it still
 *   separates agents when all are busy (1 queued vs 3 queued), which is what keeps the tail short.
 * - **specialisation** = 1 if the agent has the task's specialisation, 0.5 for a generalist (no
 *   specialisations), 0 for an agent specialised in something else; 1 for all when the task names none.
 * - **resources** = mean free fraction of the resources the task needs.
 * - **performance** = success rate × (fastest expected service time among candidates / this
 *   agent's), learned online (EWMA); new agents get the optimistic prior 1 so they are tried.
 * - **affinity** = 1 if this agent ran the last task with the same `affinityKey` (warm context).
 */
import { AgentStatsTable } from './agent-stats.js';
import type { AgentView, BalancingStrategy, RandomSource, TaskOutcome, TaskView } from './types.js';
import { argmax, freeFraction, numOption, strategyOptions } from './util.js';

/** Score weights of {@link WorkloadAwareStrategy}. They need not sum to 1. */
export interface WorkloadAwareWeights {
  /** @default 0.3 */
  load?: number;
  /** @default 0.25 */
  specialization?: number;
  /** @default 0.2 */
  resources?: number;
  /** @default 0.15 */
  performance?: number;
  /** @default 0.1 */
  affinity?: number;
}

/** Options of {@link WorkloadAwareStrategy}. */
export interface WorkloadAwareOptions {
  /** Score weights. */
  weights?: WorkloadAwareWeights;
  /** EWMA weight of a new completion in the performance history. @default 0.05 */
  alpha?: number;
  /** How many affinity keys to remember (oldest forgotten first). @default 10000 */
  maxAffinityKeys?: number;
}

/** @example `createStrategy('workload-aware', { weights: { affinity: 0.3 } })` */
export class WorkloadAwareStrategy implements BalancingStrategy {
  readonly name = 'workload-aware';
  probes = 0;
  private readonly w: Required<WorkloadAwareWeights>;
  private readonly stats: AgentStatsTable;
  private readonly affinity = new Map<string, string>();
  private readonly maxAffinityKeys: number;

  /** @throws ConfigError on an unknown option or a bad value. */
  constructor(options?: WorkloadAwareOptions) {
    const path = 'balancing.workload-aware';
    const o = strategyOptions(path, options, ['weights', 'alpha', 'maxAffinityKeys']);
    const w = strategyOptions(`${path}.weights`, o.weights, [
      'load',
      'specialization',
      'resources',
      'performance',
      'affinity',
    ]);
    const weight = (k: keyof WorkloadAwareWeights, d: number) => numOption(`${path}.weights.${k}`, w[k], d, { min: 0 });
    this.w = {
      load: weight('load', 0.3),
      specialization: weight('specialization', 0.25),
      resources: weight('resources', 0.2),
      performance: weight('performance', 0.15),
      affinity: weight('affinity', 0.1),
    };
    this.stats = new AgentStatsTable(numOption(`${path}.alpha`, o.alpha, 0.05, { gt: 0, max: 1 }));
    this.maxAffinityKeys = numOption(`${path}.maxAffinityKeys`, o.maxAffinityKeys, 10_000, { integer: true, min: 0 });
  }

  /** The five component scores of one agent (for tests and explaining a decision). */
  components(agent: AgentView, task: TaskView, fastestService: number) {
    const spec = task.specialization;
    return {
      load: 1 / (1 + agent.active / Math.max(1, agent.capacity)),
      specialization:
        spec === undefined ? 1 : agent.specializations.includes(spec) ? 1 : agent.specializations.length === 0 ? 0.5 : 0,
      resources: freeFraction(agent, task.requirements),
      performance: this.stats.successRate(agent.id) * (fastestService / this.stats.serviceTime(agent.id)),
      affinity: task.affinityKey !== undefined && this.affinity.get(task.affinityKey) === agent.id ? 1 : 0,
    };
  }

  /** Weighted total score of one agent. */
  score(agent: AgentView, task: TaskView, fastestService: number): number {
    const c = this.components(agent, task, fastestService);
    const w = this.w;
    return (
      w.load * c.load +
      w.specialization * c.specialization +
      w.resources * c.resources +
      w.performance * c.performance +
      w.affinity * c.affinity
    );
  }

  pick(candidates: readonly AgentView[], task: TaskView, rng: RandomSource): AgentView | undefined {
    this.probes = candidates.length;
    let fastest = Number.POSITIVE_INFINITY;
    for (const a of candidates) fastest = Math.min(fastest, this.stats.serviceTime(a.id));
    return argmax(candidates, (a) => this.score(a, task, fastest), rng);
  }

  onDispatch(agentId: string, task: TaskView): void {
    const key = task.affinityKey;
    if (key === undefined || this.maxAffinityKeys === 0) return;
    // Re-insert so Map order is least-recently-used first; evict from the front.
    this.affinity.delete(key);
    this.affinity.set(key, agentId);
    if (this.affinity.size > this.maxAffinityKeys) {
      const oldest = this.affinity.keys().next().value;
      if (oldest !== undefined) this.affinity.delete(oldest);
    }
  }

  onComplete(agentId: string, _task: TaskView, outcome: TaskOutcome): void {
    this.stats.record(agentId, outcome);
  }

  onAgentRemoved(agentId: string): void {
    this.stats.delete(agentId);
  }
}
