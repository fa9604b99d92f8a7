/**
 * Balancing strategies: one interface ({@link BalancingStrategy}), one file per strategy, and a
 * registry so a pool can select one by name in its configuration.
 *
 * | name | picks | probes |
 * |---|---|---|
 * | `round-robin` | next agent in stable order | 0 |
 * | `smooth-weighted` | nginx smooth weighted round robin | 0 |
 * | `random` | uniform at random | 0 |
 * | `least-connections` | fewest active / weight | n |
 * | `p2c` | best of d random by weight / (active + 1)^bias | d |
 * | `jsq` | fewest active (baseline) | n |
 * | `resource-aware` | free capacity × (1 − utilization) | n |
 * | `workload-aware` | load, specialisation, resources, performance, affinity | n |
 * | `predictive` | expected completion, success, efficiency (learned) | n |
 * | `adaptive` | the best-performing of several of the above | child's |
 */
import { ConfigError } from '../../core/errors.js';
import { strings } from '../../core/validate.js';
import { ADAPTIVE_OPTION_KEYS, type AdaptiveOptions, AdaptiveStrategy } from './adaptive.js';
import { JsqStrategy } from './jsq.js';
import { LeastConnectionsStrategy } from './least-connections.js';
import { type P2cOptions, P2cStrategy } from './p2c.js';
import { type PredictiveOptions, PredictiveStrategy } from './predictive.js';
import { RandomStrategy } from './random.js';
import { ResourceAwareStrategy } from './resource-aware.js';
import { RoundRobinStrategy } from './round-robin.js';
import { SmoothWeightedStrategy } from './smooth-weighted.js';
import type { BalancingStrategy } from './types.js';
import { strategyOptions } from './util.js';
import { type WorkloadAwareOptions, WorkloadAwareStrategy } from './workload-aware.js';

export type { AdaptiveOptions, AdaptiveScore, AdaptiveWeights } from './adaptive.js';
export { AdaptiveStrategy } from './adaptive.js';
export { JsqStrategy } from './jsq.js';
export { LeastConnectionsStrategy } from './least-connections.js';
export type { P2cOptions } from './p2c.js';
export { P2cStrategy } from './p2c.js';
export type { PredictiveOptions, PredictiveWeights } from './predictive.js';
export { expectedCompletion, PredictiveStrategy } from './predictive.js';
export { RandomStrategy } from './random.js';
export { ResourceAwareStrategy, resourceScore } from './resource-aware.js';
export { RoundRobinStrategy } from './round-robin.js';
export { SmoothWeightedStrategy } from './smooth-weighted.js';
export type { AgentView, BalancingStrategy, RandomSource, TaskOutcome, TaskView } from './types.js';
export type { WorkloadAwareOptions, WorkloadAwareWeights } from './workload-aware.js';
export { WorkloadAwareStrategy } from './workload-aware.js';

/** Every registered strategy name. */
export const STRATEGY_NAMES = [
  'round-robin',
  'smooth-weighted',
  'least-connections',
  'p2c',
  'random',
  'jsq',
  'resource-aware',
  'workload-aware',
  'predictive',
  'adaptive',
] as const;

/** A registered strategy name. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Options of `adaptive` through the registry: its own options plus the children by name. */
export interface AdaptiveRegistryOptions extends AdaptiveOptions {
  /**
   * Child strategies by name (not `adaptive`).
   * @default ['workload-aware', 'least-connections', 'predictive']
   */
  strategies?: readonly Exclude<StrategyName, 'adaptive'>[];
  /** Options per child, by name. */
  childOptions?: Partial<Record<Exclude<StrategyName, 'adaptive'>, unknown>>;
}

/** Options accepted by {@link createStrategy}, per name. */
export interface StrategyOptionsMap {
  'round-robin': Record<string, never>;
  'smooth-weighted': Record<string, never>;
  'least-connections': Record<string, never>;
  p2c: P2cOptions;
  random: Record<string, never>;
  jsq: Record<string, never>;
  'resource-aware': Record<string, never>;
  'workload-aware': WorkloadAwareOptions;
  predictive: PredictiveOptions;
  adaptive: AdaptiveRegistryOptions;
}

/**
 * Default children of `adaptive`: full-information strategies that each win a different regime in
 * the simulation (bench/balancers.ts). p2c is left out: with every agent's load at hand it is never
 * the best, and exploring it cost adaptive about 10 % of mean time in system (lognormal, load 0.9:
 * 1.36 with p2c among the children against 1.18 without).
 */
export const DEFAULT_ADAPTIVE_CHILDREN: readonly Exclude<StrategyName, 'adaptive'>[] = [
  'workload-aware',
  'least-connections',
  'predictive',
];

/**
 * Create a strategy by name. Every call returns a fresh instance with its own learning state.
 *
 * @throws ConfigError (path `balancing.strategy` or `balancing.<name>.<option>`) on an unknown name,
 *   an unknown option or a bad value.
 * @example
 * ```ts
 * const s = createStrategy('p2c', { choices: 2 });
 * const a = createStrategy('adaptive', { strategies: ['least-connections', 'predictive'], exploration: 0.02 });
 * ```
 */
export function createStrategy<N extends StrategyName>(
  name: N,
  options?: StrategyOptionsMap[N],
): BalancingStrategy;
export function createStrategy(name: string, options?: unknown): BalancingStrategy;
export function createStrategy(name: string, options?: unknown): BalancingStrategy {
  switch (name) {
    case 'round-robin':
      return new RoundRobinStrategy(options as never);
    case 'smooth-weighted':
      return new SmoothWeightedStrategy(options as never);
    case 'least-connections':
      return new LeastConnectionsStrategy(options as never);
    case 'p2c':
      return new P2cStrategy(options as P2cOptions);
    case 'random':
      return new RandomStrategy(options as never);
    case 'jsq':
      return new JsqStrategy(options as never);
    case 'resource-aware':
      return new ResourceAwareStrategy(options as never);
    case 'workload-aware':
      return new WorkloadAwareStrategy(options as WorkloadAwareOptions);
    case 'predictive':
      return new PredictiveStrategy(options as PredictiveOptions);
    case 'adaptive':
      return createAdaptive(options);
    default:
      throw new ConfigError('balancing.strategy', name, `one of ${STRATEGY_NAMES.join(', ')}`);
  }
}

function createAdaptive(options: unknown): AdaptiveStrategy {
  const path = 'balancing.adaptive';
  const o = strategyOptions(path, options, [...ADAPTIVE_OPTION_KEYS, 'strategies', 'childOptions']);
  const names = strings('config', `${path}.strategies`, o.strategies, DEFAULT_ADAPTIVE_CHILDREN);
  const childOptions = strategyOptions(`${path}.childOptions`, o.childOptions, names);
  const children = names.map((n, i) => {
    if (n === 'adaptive' || !(STRATEGY_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError(`${path}.strategies[${i}]`, n, 'a strategy name other than adaptive');
    }
    return createStrategy(n, childOptions[n]);
  });
  const { strategies: _s, childOptions: _c, ...own } = o;
  return new AdaptiveStrategy(children, own as AdaptiveOptions);
}
