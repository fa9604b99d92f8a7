/**
 * Adaptive: runs several strategies side by side, keeps a performance history per strategy and
 * routes through the one that currently performs best, with a little exploration.
 *
 * - Each task is attributed to the strategy that placed it; its outcome goes into that strategy's
 *   history (a ring of the last `history` outcomes, default 1,000).
 * - Every `evaluateEvery` completions the strategies are scored on their last `window` outcomes
 *   (default 100): response time (wait + service) 0.5, throughput 0.2, error rate 0.3, each relative
 *   to the best strategy. Throughput is successful tasks per unit of service time — how much work the
 *   chosen agents get done — rather than completions per second, which would only measure how often
 *   a strategy was chosen.
 * - Warm-up: a strategy with fewer than `minSamples` attributed tasks is chosen first, so every one
 *   gets scored. After that, with probability `exploration` a random strategy is used, otherwise the
 *   best. All randomness comes from the `rng` passed to `pick`, so runs are reproducible.
 * - Every child strategy sees every dispatch and completion (not only its own), so learning children
 *   (predictive, workload-aware) keep up-to-date statistics while they are not in charge.
 */
import { invalid } from '../../core/validate.js';
import type { AgentView, BalancingStrategy, RandomSource, TaskOutcome, TaskView } from './types.js';
import { numOption, strategyOptions } from './util.js';

/** Weights of the per-strategy score. */
export interface AdaptiveWeights {
  /** @default 0.5 */
  responseTime?: number;
  /** @default 0.2 */
  throughput?: number;
  /** @default 0.3 */
  errorRate?: number;
}

/** Options of {@link AdaptiveStrategy} (the child strategies are given separately). */
export interface AdaptiveOptions {
  /** Probability of trying a random child instead of the best. @default 0.05 */
  exploration?: number;
  /** Outcomes kept per child. @default 1000 */
  history?: number;
  /** Outcomes per child used for scoring (the most recent). @default 100 */
  window?: number;
  /** Re-score after this many completions. @default 50 */
  evaluateEvery?: number;
  /** Tasks a child is given before it competes on score. @default 20 */
  minSamples?: number;
  /** Score weights. */
  weights?: AdaptiveWeights;
}

/** Keys accepted in {@link AdaptiveOptions} (the registry adds `strategies`). */
export const ADAPTIVE_OPTION_KEYS = [
  'exploration',
  'history',
  'window',
  'evaluateEvery',
  'minSamples',
  'weights',
];

/** One child's score breakdown, as computed at the last evaluation. */
export interface AdaptiveScore {
  name: string;
  samples: number;
  meanResponseTime: number;
  throughput: number;
  errorRate: number;
  score: number;
}

/** Fixed-size ring of recent outcomes. */
class OutcomeRing {
  readonly response: Float64Array;
  readonly service: Float64Array;
  readonly ok: Uint8Array;
  count = 0;
  private next = 0;
  constructor(readonly capacity: number) {
    this.response = new Float64Array(capacity);
    this.service = new Float64Array(capacity);
    this.ok = new Uint8Array(capacity);
  }
  push(o: TaskOutcome): void {
    this.response[this.next] = o.waitTime + o.serviceTime;
    this.service[this.next] = o.serviceTime;
    this.ok[this.next] = o.ok ? 1 : 0;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }
  /** Aggregate the most recent `n` outcomes. */
  recent(n: number): { n: number; response: number; service: number; ok: number } {
    const k = Math.min(n, this.count);
    let response = 0;
    let service = 0;
    let ok = 0;
    for (let j = 1; j <= k; j++) {
      const i = (this.next - j + this.capacity) % this.capacity;
      response += this.response[i] as number;
      service += this.service[i] as number;
      ok += this.ok[i] as number;
    }
    return { n: k, response, service, ok };
  }
}

/** Upper bound on tasks awaiting completion whose attribution is remembered. */
const MAX_PENDING = 1_000_000;

/**
 * @example
 * ```ts
 * const s = createStrategy('adaptive', { strategies: ['least-connections', 'predictive'], exploration: 0.05 });
 * ```
 */
export class AdaptiveStrategy implements BalancingStrategy {
  readonly name = 'adaptive';
  probes = 0;
  private readonly rings: OutcomeRing[];
  private readonly assigned: number[];
  private readonly pending = new Map<unknown, number>();
  private readonly exploration: number;
  private readonly window: number;
  private readonly evaluateEvery: number;
  private readonly minSamples: number;
  private readonly w: Required<AdaptiveWeights>;
  private best = 0;
  private sinceEval = 0;
  private lastScores: AdaptiveScore[] = [];

  /**
   * @param children the strategies to choose between (at least one).
   * @throws ConfigError on an unknown option, a bad value or no children.
   */
  constructor(
    private readonly children: readonly BalancingStrategy[],
    options?: AdaptiveOptions,
  ) {
    const path = 'balancing.adaptive';
    const o = strategyOptions(path, options, ADAPTIVE_OPTION_KEYS);
    if (children.length === 0) invalid('config', `${path}.strategies`, [], 'at least one strategy');
    this.exploration = numOption(`${path}.exploration`, o.exploration, 0.05, { min: 0, max: 1 });
    const history = numOption(`${path}.history`, o.history, 1000, { integer: true, min: 1 });
    this.window = numOption(`${path}.window`, o.window, 100, { integer: true, min: 1, max: history });
    this.evaluateEvery = numOption(`${path}.evaluateEvery`, o.evaluateEvery, 50, { integer: true, min: 1 });
    this.minSamples = numOption(`${path}.minSamples`, o.minSamples, 20, { integer: true, min: 0 });
    const w = strategyOptions(`${path}.weights`, o.weights, ['responseTime', 'throughput', 'errorRate']);
    const weight = (k: keyof AdaptiveWeights, d: number) =>
      numOption(`${path}.weights.${k}`, w[k], d, { min: 0 });
    this.w = {
      responseTime: weight('responseTime', 0.5),
      throughput: weight('throughput', 0.2),
      errorRate: weight('errorRate', 0.3),
    };
    this.rings = children.map(() => new OutcomeRing(history));
    this.assigned = children.map(() => 0);
  }

  /** Name of the child currently considered best. */
  get current(): string {
    return (this.children[this.best] as BalancingStrategy).name;
  }

  /** Scores from the last evaluation (empty before the first). */
  scores(): readonly AdaptiveScore[] {
    return this.lastScores;
  }

  pick(candidates: readonly AgentView[], task: TaskView, rng: RandomSource): AgentView | undefined {
    if (candidates.length === 0) return undefined;
    const idx = this.choose(rng);
    const child = this.children[idx] as BalancingStrategy;
    const agent = child.pick(candidates, task, rng);
    this.probes = child.probes;
    this.assigned[idx] = (this.assigned[idx] as number) + 1;
    if (this.pending.size >= MAX_PENDING) {
      // Completions that never arrive (caller bug, lost task) must not grow memory without bound.
      const oldest = this.pending.keys().next().value;
      this.pending.delete(oldest);
    }
    this.pending.set(task.id ?? task, idx);
    return agent;
  }

  onDispatch(agentId: string, task: TaskView, now: number): void {
    for (const c of this.children) c.onDispatch?.(agentId, task, now);
  }

  onComplete(agentId: string, task: TaskView, outcome: TaskOutcome, now: number): void {
    for (const c of this.children) c.onComplete?.(agentId, task, outcome, now);
    const key = task.id ?? task;
    const idx = this.pending.get(key);
    if (idx === undefined) return;
    this.pending.delete(key);
    (this.rings[idx] as OutcomeRing).push(outcome);
    if (++this.sinceEval >= this.evaluateEvery) {
      this.sinceEval = 0;
      this.evaluate();
    }
  }

  onAgentRemoved(agentId: string): void {
    for (const c of this.children) c.onAgentRemoved?.(agentId);
  }

  private choose(rng: RandomSource): number {
    // Warm-up: the child with the fewest tasks so far, until each has minSamples.
    let least = 0;
    for (let i = 1; i < this.children.length; i++) {
      if ((this.assigned[i] as number) < (this.assigned[least] as number)) least = i;
    }
    if ((this.assigned[least] as number) < this.minSamples) return least;
    if (this.exploration > 0 && rng.next() < this.exploration) return rng.int(this.children.length);
    return this.best;
  }

  /** Score every child with enough outcomes; the best becomes the default choice. */
  private evaluate(): void {
    const raw = this.children.map((c, i) => {
      const r = (this.rings[i] as OutcomeRing).recent(this.window);
      return {
        name: c.name,
        samples: r.n,
        meanResponseTime: r.n > 0 ? r.response / r.n : Number.POSITIVE_INFINITY,
        throughput: r.service > 0 ? r.ok / r.service : 0,
        errorRate: r.n > 0 ? 1 - r.ok / r.n : 1,
      };
    });
    const eligible = raw.filter((r) => r.samples >= Math.max(1, Math.min(this.minSamples, this.window)));
    if (eligible.length === 0) return;
    const minRt = Math.min(...eligible.map((r) => r.meanResponseTime));
    const maxTp = Math.max(...eligible.map((r) => r.throughput));
    const { responseTime, throughput, errorRate } = this.w;
    this.lastScores = raw.map((r) => {
      const ok = eligible.includes(r);
      const rtScore = ok && r.meanResponseTime > 0 ? minRt / r.meanResponseTime : ok ? 1 : 0;
      const tpScore = ok && maxTp > 0 ? r.throughput / maxTp : 0;
      const score = ok ? responseTime * rtScore + throughput * tpScore + errorRate * (1 - r.errorRate) : 0;
      return { ...r, score };
    });
    let best = this.best;
    let bestScore = Number.NEGATIVE_INFINITY;
    this.lastScores.forEach((s, i) => {
      if (s.score > bestScore) {
        best = i;
        bestScore = s.score;
      }
    });
    this.best = best;
  }
}
