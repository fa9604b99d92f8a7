/**
 * Rebalancing: find allocations whose size no longer matches their use.
 *
 * Rules (defaults from the design):
 * - memory used < 30 % of the allocation → give back 40 % of it;
 * - CPU used < 25 % → give back 30 %;
 * - memory used > 90 % (pressure) → grow by 50 %, if the ledger allows (capped by the per-agent max;
 *   skipped when not enough is free after the give-backs planned before it).
 *
 * Shrinks never go below the per-agent minimum. Each opportunity carries a *confidence* in [0, 1]:
 * how far past its threshold the observation is, scaled by how many samples back it
 * (`samples / minSamples`, capped at 1). Opportunities are returned sorted by confidence (highest
 * first), so when the rebalancer is cut short the surest changes were applied.
 *
 * Pure: observations in, opportunities out. The rebalancer machine applies them through the allocator.
 */
import { bool, invalid, type Kind, knownKeys, num, record } from '../core/validate.js';
import type { ResourceAmounts } from '../structures/ledger.js';

/** Resolved rebalancing configuration. */
export interface RebalanceConfig {
  /** Memory use below this fraction of the allocation is under-use. @default 0.3 */
  memoryUnderuse: number;
  /** Fraction of an under-used memory allocation given back. @default 0.4 */
  memoryGiveBack: number;
  /** CPU use below this fraction is under-use. @default 0.25 */
  cpuUnderuse: number;
  /** Fraction of an under-used CPU allocation given back. @default 0.3 */
  cpuGiveBack: number;
  /** Memory use above this fraction is pressure. @default 0.9 */
  memoryPressure: number;
  /** Growth of a pressured memory allocation, as a fraction of it. @default 0.5 */
  memoryGrow: number;
  /** Samples needed for full confidence. @default 5 */
  minSamples: number;
  /** Opportunities below this confidence are dropped. @default 0 */
  minConfidence: number;
  /** Most opportunities per round (highest confidence first). @default 50 */
  maxPerRound: number;
  /** Also plan grows (turn off to only reclaim). @default true */
  grow: boolean;
}

/** User-facing form: every field optional. */
export type RebalanceConfigInput = Partial<RebalanceConfig>;

/** Defaults of every option. */
export const DEFAULT_REBALANCE_CONFIG: Readonly<RebalanceConfig> = Object.freeze({
  memoryUnderuse: 0.3,
  memoryGiveBack: 0.4,
  cpuUnderuse: 0.25,
  cpuGiveBack: 0.3,
  memoryPressure: 0.9,
  memoryGrow: 0.5,
  minSamples: 5,
  minConfidence: 0,
  maxPerRound: 50,
  grow: true,
});

const KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_REBALANCE_CONFIG));

/**
 * Validate user input into a {@link RebalanceConfig}.
 *
 * @throws {ConfigError} unknown keys, fractions outside [0, 1], `memoryUnderuse >= memoryPressure`.
 */
export function resolveRebalanceConfig(input: unknown = {}, path = 'rebalancing'): RebalanceConfig {
  const kind: Kind = 'config';
  const o = record(kind, path, input);
  knownKeys(kind, path, o, KEYS);
  const d = DEFAULT_REBALANCE_CONFIG;
  const frac = (k: keyof RebalanceConfig) =>
    num(kind, `${path}.${k}`, o[k], d[k] as number, { min: 0, max: 1 });
  const cfg: RebalanceConfig = {
    memoryUnderuse: frac('memoryUnderuse'),
    memoryGiveBack: frac('memoryGiveBack'),
    cpuUnderuse: frac('cpuUnderuse'),
    cpuGiveBack: frac('cpuGiveBack'),
    memoryPressure: frac('memoryPressure'),
    memoryGrow: num(kind, `${path}.memoryGrow`, o.memoryGrow, d.memoryGrow, { min: 0 }),
    minSamples: num(kind, `${path}.minSamples`, o.minSamples, d.minSamples, { min: 1, integer: true }),
    minConfidence: frac('minConfidence'),
    maxPerRound: num(kind, `${path}.maxPerRound`, o.maxPerRound, d.maxPerRound, { min: 0, integer: true }),
    grow: bool(kind, `${path}.grow`, o.grow, d.grow),
  };
  if (cfg.memoryUnderuse >= cfg.memoryPressure) {
    invalid(kind, `${path}.memoryUnderuse`, cfg.memoryUnderuse, `< memoryPressure (${cfg.memoryPressure})`);
  }
  return cfg;
}

/** What the runtime observed about one allocation over the last interval. */
export interface AllocationObservation {
  allocationId: string;
  owner?: string;
  /** What the allocation holds. */
  allocated: ResourceAmounts;
  /** Peak use over the interval (peak, not mean: shrinking to a mean starves the next spike). */
  used: ResourceAmounts;
  /** How many samples the peak is taken over. @default minSamples (full confidence) */
  samples?: number;
}

/** The ledger facts a plan needs. */
export interface RebalanceLimits {
  /** Free now, per resource (missing = unlimited). */
  available: ResourceAmounts;
  /** Per-agent maxima (missing = unlimited). */
  perAgentMax: ResourceAmounts;
  /** Per-agent minima (missing = 0). */
  perAgentMin: ResourceAmounts;
}

/** The kind of change. */
export type OpportunityKind = 'shrink-memory' | 'shrink-cpu' | 'grow-memory';

/** One planned change. */
export interface Opportunity {
  allocationId: string;
  owner: string | undefined;
  kind: OpportunityKind;
  resource: 'memoryMb' | 'cpuCores';
  /** Signed change: negative frees, positive grants. */
  delta: number;
  /** In [0, 1]; higher first. */
  confidence: number;
  /** Use / allocation that triggered it. */
  utilization: number;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : Math.min(x, 1);
}

/**
 * Plan the opportunities for one round. O(n log n) for n observations.
 *
 * @example
 * ```ts
 * const ops = findOpportunities(observations, { available: ledger.available(), perAgentMax: ledger.perAgentMax(),
 *   perAgentMin: ledger.perAgentMin() }, DEFAULT_REBALANCE_CONFIG);
 * ```
 */
export function findOpportunities(
  observations: readonly AllocationObservation[],
  limits: RebalanceLimits,
  cfg: RebalanceConfig,
): Opportunity[] {
  const shrinks: Opportunity[] = [];
  const grows: Opportunity[] = [];
  for (const o of observations) {
    const weight = clamp01((o.samples ?? cfg.minSamples) / cfg.minSamples);
    const owner = o.owner;
    const mem = o.allocated.memoryMb ?? 0;
    if (mem > 0) {
      const u = (o.used.memoryMb ?? 0) / mem;
      const min = limits.perAgentMin.memoryMb ?? 0;
      if (u < cfg.memoryUnderuse) {
        const give = Math.min(Math.floor(mem * cfg.memoryGiveBack), Math.max(0, mem - min));
        if (give > 0) {
          const confidence = weight * clamp01(1 - u / cfg.memoryUnderuse);
          shrinks.push({
            allocationId: o.allocationId,
            owner,
            kind: 'shrink-memory',
            resource: 'memoryMb',
            delta: -give,
            confidence,
            utilization: u,
          });
        }
      } else if (u > cfg.memoryPressure && cfg.grow) {
        const max = limits.perAgentMax.memoryMb ?? Number.POSITIVE_INFINITY;
        const grow = Math.min(Math.floor(mem * cfg.memoryGrow), Math.max(0, max - mem));
        if (grow > 0) {
          const confidence = weight * clamp01((u - cfg.memoryPressure) / (1 - cfg.memoryPressure || 1));
          grows.push({
            allocationId: o.allocationId,
            owner,
            kind: 'grow-memory',
            resource: 'memoryMb',
            delta: grow,
            confidence,
            utilization: u,
          });
        }
      }
    }
    const cpu = o.allocated.cpuCores ?? 0;
    if (cpu > 0) {
      const u = (o.used.cpuCores ?? 0) / cpu;
      const min = limits.perAgentMin.cpuCores ?? 0;
      if (u < cfg.cpuUnderuse) {
        // CPU in hundredths of a core: give back whole hundredths only.
        const give = Math.min(Math.floor(cpu * cfg.cpuGiveBack * 100) / 100, Math.max(0, cpu - min));
        if (give > 0) {
          const confidence = weight * clamp01(1 - u / cfg.cpuUnderuse);
          shrinks.push({
            allocationId: o.allocationId,
            owner,
            kind: 'shrink-cpu',
            resource: 'cpuCores',
            delta: -give,
            confidence,
            utilization: u,
          });
        }
      }
    }
  }
  const all = [...shrinks, ...grows]
    .filter((x) => x.confidence >= cfg.minConfidence)
    .sort((a, b) => b.confidence - a.confidence || a.allocationId.localeCompare(b.allocationId));
  // Grows must fit what is free, counting memory freed by higher-confidence shrinks planned before them.
  let freeMem = limits.available.memoryMb ?? Number.POSITIVE_INFINITY;
  const out: Opportunity[] = [];
  for (const x of all) {
    if (out.length >= cfg.maxPerRound) break;
    if (x.kind === 'grow-memory') {
      if (x.delta > freeMem) continue;
      freeMem -= x.delta;
    } else if (x.resource === 'memoryMb') {
      freeMem -= x.delta; // delta < 0: frees
    }
    out.push(x);
  }
  return out;
}

/** What applying one opportunity did, recorded by the rebalancer. */
export interface RebalanceOutcome {
  opportunity: Opportunity;
  /** Applied by the allocator, or refused (the ledger changed since the plan, or the allocation is gone). */
  applied: boolean;
  /** Amount actually freed (> 0 for applied shrinks). */
  freed: number;
  /** Amount actually granted (> 0 for applied grows). */
  granted: number;
  /** Why it was not applied. */
  error?: string;
}

/** What {@link applyOpportunities} needs: one resize through the allocator, answered synchronously. */
export type ResizeThroughAllocator = (
  allocationId: string,
  delta: Readonly<Record<string, number>>,
) => { ok: true; before: number; after: number } | { ok: false; error: string };

/**
 * Apply opportunities in order through `resize` (the runtime sends a RESIZE to the allocator and reads
 * its `allocator.result`). Measures what was really freed or granted from the allocation's amounts
 * before and after, because the ledger may clamp a shrink at the per-agent minimum.
 */
export function applyOpportunities(
  opportunities: readonly Opportunity[],
  resize: ResizeThroughAllocator,
): RebalanceOutcome[] {
  return opportunities.map((opportunity) => {
    let r: ReturnType<ResizeThroughAllocator>;
    try {
      r = resize(opportunity.allocationId, { [opportunity.resource]: opportunity.delta });
    } catch (e) {
      r = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    return outcomeOf(opportunity, r);
  });
}

/** The outcome of one opportunity from its resize's answer (what was really freed or granted). */
export function outcomeOf(opportunity: Opportunity, r: ReturnType<ResizeThroughAllocator>): RebalanceOutcome {
  if (!r.ok) return { opportunity, applied: false, freed: 0, granted: 0, error: r.error };
  const change = r.after - r.before;
  return { opportunity, applied: true, freed: Math.max(0, -change), granted: Math.max(0, change) };
}
