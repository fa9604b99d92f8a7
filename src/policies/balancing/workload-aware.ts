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
import { freeFraction, numOption, strategyOptions } from './util.js';

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

/** Load term: 1 / (1 + active / capacity); 1 when idle, 1/2 with one task per slot, and so on. */
export function loadScore(agent: AgentView): number {
  return 1 / (1 + agent.active / Math.max(1, agent.capacity));
}

/** Specialisation term: 1 on a match (or when the task names none), 0.5 for a generalist, else 0. */
export function specializationScore(agent: AgentView, specialization: string | undefined): number {
  if (specialization === undefined) return 1;
  if (agent.specializations.includes(specialization)) return 1;
  return agent.specializations.length === 0 ? 0.5 : 0;
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
    const weight = (k: keyof WorkloadAwareWeights, d: number) =>
      numOption(`${path}.weights.${k}`, w[k], d, { min: 0 });
    this.w = {
      load: weight('load', 0.3),
      specialization: weight('specialization', 0.25),
      resources: weight('resources', 0.2),
      performance: weight('performance', 0.15),
      affinity: weight('affinity', 0.1),
    };
    this.stats = new AgentStatsTable(numOption(`${path}.alpha`, o.alpha, 0.05, { gt: 0, max: 1 }));
    this.maxAffinityKeys = numOption(`${path}.maxAffinityKeys`, o.maxAffinityKeys, 10_000, {
      integer: true,
      min: 0,
    });
  }

  /**
   * The five component scores of one agent, each in 0..1 (for tests and for explaining a decision).
   * `fastestService` is the smallest expected service time among the candidates.
   */
  components(
    agent: AgentView,
    task: TaskView,
    fastestService: number,
  ): Record<keyof WorkloadAwareWeights, number> {
    const st = this.stats.get(agent.id);
    return {
      load: loadScore(agent),
      specialization: specializationScore(agent, task.specialization),
      resources: freeFraction(agent, task.requirements),
      performance: this.stats.successOf(st) * (fastestService / this.stats.serviceOf(st)),
      affinity: task.affinityKey !== undefined && this.affinity.get(task.affinityKey) === agent.id ? 1 : 0,
    };
  }

  pick(candidates: readonly AgentView[], task: TaskView, rng: RandomSource): AgentView | undefined {
    const n = candidates.length;
    this.probes = n;
    if (n === 0) return undefined;
    const stats = this.stats;
    const all = stats.resolve(candidates);
    let fastest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) fastest = Math.min(fastest, stats.serviceOf(all[i]));
    const w = this.w;
    const spec = task.specialization;
    const req = task.requirements;
    const warm = task.affinityKey === undefined ? undefined : this.affinity.get(task.affinityKey);
    // Argmax with random tie-breaking, inlined: this loop runs n times per dispatch.
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      const a = candidates[i] as AgentView;
      const st = all[i];
      const score =
        w.load * loadScore(a) +
        (spec === undefined ? w.specialization : w.specialization * specializationScore(a, spec)) +
        w.resources * freeFraction(a, req) +
        w.performance * stats.successOf(st) * (fastest / stats.serviceOf(st)) +
        (warm === a.id ? w.affinity : 0);
      if (score > bestScore) {
        best = i;
        bestScore = score;
        ties = 1;
      } else if (score === bestScore && rng.int(++ties) === 0) best = i;
    }
    return candidates[best];
  }

  onDispatch(agentId: string, task: TaskView, _now?: number): void {
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

  onComplete(agentId: string, _task: TaskView, outcome: TaskOutcome, _now?: number): void {
    this.stats.record(agentId, outcome);
  }

  onAgentRemoved(agentId: string): void {
    this.stats.delete(agentId);
  }
}
