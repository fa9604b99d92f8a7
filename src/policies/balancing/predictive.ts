/**
 * Predictive: scores each agent on what it is expected to deliver for this task —
 * expected completion time 0.4, success probability 0.3, efficiency 0.3 — from statistics learned
 * online from completions (EWMA per agent).
 *
 * - **completion** = fastest expected completion among candidates / this agent's, where expected
 *   completion = expected service × (1 + tasks ahead of it / capacity). With exponential service the
 *   residual of the running task is a full service time, so an agent with k tasks finishes a new one
 *   after about (k + 1) service times.
 * - **success** = EWMA success rate (prior 1).
 * - **efficiency** = successful work per unit time, success / service, relative to the best
 *   candidate: it separates a fast-but-flaky agent from a slower reliable one.
 */
import { AgentStatsTable } from './agent-stats.js';
import type { AgentView, BalancingStrategy, RandomSource, TaskOutcome, TaskView } from './types.js';
import { numOption, strategyOptions } from './util.js';

/** Score weights of {@link PredictiveStrategy}. */
export interface PredictiveWeights {
  /** @default 0.4 */
  completion?: number;
  /** @default 0.3 */
  success?: number;
  /** @default 0.3 */
  efficiency?: number;
}

/** Options of {@link PredictiveStrategy}. */
export interface PredictiveOptions {
  /** Score weights. */
  weights?: PredictiveWeights;
  /** EWMA weight of a new completion. @default 0.05 */
  alpha?: number;
}

/** Expected completion time of a new task on `agent` given its expected service time. */
export function expectedCompletion(agent: AgentView, service: number): number {
  const c = Math.max(1, agent.capacity);
  const ahead = Math.max(0, agent.active - c + 1);
  return service * (1 + ahead / c);
}

/** @example `createStrategy('predictive', { alpha: 0.1 })` */
export class PredictiveStrategy implements BalancingStrategy {
  readonly name = 'predictive';
  probes = 0;
  private readonly w: Required<PredictiveWeights>;
  private readonly stats: AgentStatsTable;
  // Scratch buffers reused across picks (no allocation per dispatch).
  private service = new Float64Array(64);
  private success = new Float64Array(64);

  /** @throws ConfigError on an unknown option or a bad value. */
  constructor(options?: PredictiveOptions) {
    const path = 'balancing.predictive';
    const o = strategyOptions(path, options, ['weights', 'alpha']);
    const w = strategyOptions(`${path}.weights`, o.weights, ['completion', 'success', 'efficiency']);
    const weight = (k: keyof PredictiveWeights, d: number) => numOption(`${path}.weights.${k}`, w[k], d, { min: 0 });
    this.w = { completion: weight('completion', 0.4), success: weight('success', 0.3), efficiency: weight('efficiency', 0.3) };
    this.stats = new AgentStatsTable(numOption(`${path}.alpha`, o.alpha, 0.05, { gt: 0, max: 1 }));
  }

  /** Learned expected service time of an agent (pool average before its first completion). */
  serviceEstimate(agentId: string): number {
    return this.stats.serviceTime(agentId);
  }

  /** Learned success probability of an agent. */
  successEstimate(agentId: string): number {
    return this.stats.successRate(agentId);
  }

  pick(candidates: readonly AgentView[], _task: TaskView, rng: RandomSource): AgentView | undefined {
    const n = candidates.length;
    this.probes = n;
    if (n === 0) return undefined;
    const stats = this.stats;
    const all = stats.resolve(candidates);
    const service = this.service;
    const success = this.success;
    if (service.length < n) {
      this.service = new Float64Array(n * 2);
      this.success = new Float64Array(n * 2);
      return this.pick(candidates, _task, rng);
    }
    let bestEct = Number.POSITIVE_INFINITY;
    let bestEff = 0;
    for (let i = 0; i < n; i++) {
      const st = all[i];
      const s = stats.serviceOf(st);
      const p = stats.successOf(st);
      service[i] = s;
      success[i] = p;
      bestEct = Math.min(bestEct, expectedCompletion(candidates[i] as AgentView, s));
      bestEff = Math.max(bestEff, p / s);
    }
    const w = this.w;
    // Argmax with random tie-breaking, inlined: this loop runs n times per dispatch.
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      const s = service[i] as number;
      const p = success[i] as number;
      const eff = bestEff > 0 ? p / s / bestEff : 0;
      const score =
        w.completion * (bestEct / expectedCompletion(candidates[i] as AgentView, s)) + w.success * p + w.efficiency * eff;
      if (score > bestScore) {
        best = i;
        bestScore = score;
        ties = 1;
      } else if (score === bestScore && rng.int(++ties) === 0) best = i;
    }
    return candidates[best];
  }

  onComplete(agentId: string, _task: TaskView, outcome: TaskOutcome): void {
    this.stats.record(agentId, outcome);
  }

  onAgentRemoved(agentId: string): void {
    this.stats.delete(agentId);
  }
}
