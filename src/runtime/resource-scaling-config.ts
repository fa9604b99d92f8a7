/**
 * The system option `resourceScaling`: its types and validation (against the system's pools and global
 * limits). The runtime side — the actor's observe/apply through the allocator — is
 * src/runtime/resource-scaling.ts.
 */
import { duration, invalid, knownKeys, num, record } from '../core/validate.js';
import {
  type PoolQuotas,
  RESOURCE_NAMES,
  type ResourceName,
  type ResourceScalerConfig,
  validateResourceScalerConfig,
} from '../policies/scaling/resource-scaler.js';

/** Options of the system's `resourceScaling`. */
export interface ResourceScalingOptions {
  /**
   * Per pool, per resource (`memoryMb`, `cpuCores`, `diskMb`, `networkMbps`, `tokens`): the quota's
   * bounds and step, and optionally its thresholds and cooldowns (src/policies/scaling/resource-scaler.ts).
   * Every scaled resource needs a global `limits` entry; the pools' minimums must fit under it.
   * @example { code: { memoryMb: { min: 2048, max: 16_384, step: 1024 } } }
   */
  pools: Record<string, Partial<Record<ResourceName, ResourceScalingRuleOptions>>>;
  /** Time between rounds. @default 30000 (the seed's) */
  intervalMs?: number;
  /** Rounds that changed something, kept for `system.resourceScaling().history`. @default 100 */
  historySize?: number;
}

/** One quota's rule: bounds and step required; the rest default as in the seed. */
export interface ResourceScalingRuleOptions {
  /** Smallest quota, and the starting one. @default 0 */
  min?: number;
  /** Largest quota. */
  max: number;
  /** Changes are whole multiples of this. */
  step: number;
  /** Utilization (held / quota) a resize aims for. @default 0.7 */
  targetUtilization?: number;
  /** Grow above this utilization. @default 0.85 */
  scaleUpThreshold?: number;
  /** Shrink below this utilization. @default 0.4 */
  scaleDownThreshold?: number;
  /** Least time between two increases. @default 0 */
  upCooldownMs?: number;
  /** Least time after any change before a decrease. @default 300000 */
  downCooldownMs?: number;
}

/** Validated `resourceScaling`. */
export interface ResourceScalingSettings {
  config: ResourceScalerConfig;
  intervalMs: number;
  historySize: number;
}

const KEYS = new Set(['pools', 'intervalMs', 'historySize']);

/**
 * Validate `resourceScaling` against the system's pools and global limits (the quotas' shared
 * total). Unknown keys, unknown pools or resources, a scaled resource without a global limit and
 * minimums that do not fit are config errors naming the option path.
 */
export function parseResourceScaling(
  raw: unknown,
  pools: ReadonlySet<string>,
  limits: Partial<Record<string, number>>,
): ResourceScalingSettings | undefined {
  if (raw === undefined) return undefined;
  const o = record('config', 'resourceScaling', raw);
  knownKeys('config', 'resourceScaling', o, KEYS);
  const byPool = record('config', 'resourceScaling.pools', o.pools);
  for (const p of Object.keys(byPool))
    if (!pools.has(p))
      invalid('config', `resourceScaling.pools.${p}`, p, `a configured pool (${[...pools].join(', ')})`);
  const config = validateResourceScalerConfig({ limits: limitsOf(limits), pools: byPool }, 'resourceScaling');
  return {
    config,
    intervalMs: duration('config', 'resourceScaling.intervalMs', o.intervalMs, 30_000, { positive: true }),
    historySize: num('config', 'resourceScaling.historySize', o.historySize, 100, { min: 1, integer: true }),
  };
}

/** The system's global limits, as the policy's (a rule on a resource without one is a config error). */
function limitsOf(limits: Partial<Record<string, number>>): Partial<Record<ResourceName, number>> {
  const out: Partial<Record<ResourceName, number>> = {};
  for (const r of RESOURCE_NAMES) if (limits[r] !== undefined) out[r] = limits[r];
  return out;
}

/** The quotas every pool starts with (each rule's `min`), for the ledger's config. */
export function initialQuotas(settings: ResourceScalingSettings): Record<string, PoolQuotas> {
  const out: Record<string, PoolQuotas> = {};
  for (const [pool, rules] of Object.entries(settings.config.pools)) {
    const q: PoolQuotas = {};
    for (const r of RESOURCE_NAMES) if (rules[r]) q[r] = rules[r].min;
    out[pool] = q;
  }
  return out;
}
