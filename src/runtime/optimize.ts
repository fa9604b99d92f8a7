/**
 * Optimisation rounds at run time (issue 19 item 5): analyse the live metrics, apply the
 * recommendations whose kind the user allows through actions the system really has, with partial
 * success (one failing action never stops the rest), and keep a bounded history with the metrics
 * before each round and after it (read at the next round).
 *
 * Actions with a runtime API: `scale` → `system.scalePool`, `set-balancing` → the pool's strategy is
 * replaced (work-stealing mode is configuration: not changed, said in the record). Others
 * (`resize-quota`, `remove-capabilities`, `investigate`) have none and are recorded as skipped.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { PoolMetricsSnapshot } from '../metrics/pool-metrics.js';
import {
  type AnalyseOptions,
  analysePools,
  applyRecommendations,
  RECOMMENDATION_KINDS,
  type Recommendation,
  type RecommendationAppliers,
  type RecommendationKind,
} from '../policies/optimizers.js';

/** What one pool looked like when a round ran. */
export interface PoolFigures {
  /** p99 wait for an agent (s) since start. */
  waitP99S: number;
  /** Busy / ready agents. */
  utilization: number;
  /** Waiting acquisitions and tasks. */
  queueDepth: number;
  /** Pool size. */
  agents: number;
}

/** One optimisation round. */
export interface OptimizationRecord {
  /** Clock time of the round. */
  at: number;
  /** Kinds allowed to be applied in this round. */
  auto: RecommendationKind[];
  /** Recommendations applied (their action ran and settled). */
  applied: Recommendation[];
  /** Not applied, with why: not an allowed kind, no runtime action for it. */
  skipped: { rec: Recommendation; reason: 'not-auto' | 'no-applier' }[];
  /** Actions that threw or rejected (the round went on). */
  failed: { rec: Recommendation; error: string }[];
  /** Every pool's figures when the round ran. */
  before: Record<string, PoolFigures>;
  /** The same figures at the next round (undefined until then): the effect of what was applied. */
  after?: Record<string, PoolFigures>;
}

/** Options of one round (`system.optimize()`) and of the periodic ones (system option `optimize`). */
export interface OptimizeOptions {
  /** Kinds applied without a human; the others are only reported. @default [] (advisory only) */
  auto?: readonly RecommendationKind[];
  /** Thresholds of the analysis (src/policies/optimizers.ts). */
  analyse?: AnalyseOptions;
}

/** The system calls the optimiser needs. */
export interface OptimizeHost {
  metrics(): PoolMetricsSnapshot[];
  now(): number;
  appliers: RecommendationAppliers;
}

const HISTORY = 100;

function figures(snaps: readonly PoolMetricsSnapshot[]): Record<string, PoolFigures> {
  const out: Record<string, PoolFigures> = {};
  for (const s of snaps)
    out[s.pool] = {
      waitP99S: s.wait.p99,
      utilization: s.utilization,
      queueDepth: s.queueDepth,
      agents: s.agents.total,
    };
  return out;
}

/** Validate `auto` (a list of known kinds); throws `ERR_INVALID_ARGUMENT` naming `path`. */
export function parseAuto(raw: unknown, path: string): RecommendationKind[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InvalidArgumentError(path, raw, 'an array of recommendation kinds');
  for (const [i, k] of raw.entries())
    if (!(RECOMMENDATION_KINDS as readonly unknown[]).includes(k))
      throw new InvalidArgumentError(`${path}[${i}]`, k, `one of ${RECOMMENDATION_KINDS.join(', ')}`);
  return [...(raw as RecommendationKind[])];
}

/** Runs rounds and keeps their history. */
export class Optimizer {
  private readonly records: OptimizationRecord[] = [];

  constructor(private readonly host: OptimizeHost) {}

  /** One round: analyse, apply the allowed kinds, record. */
  async round(options: OptimizeOptions = {}): Promise<OptimizationRecord> {
    const auto = parseAuto(options.auto, 'options.auto');
    const snaps = this.host.metrics();
    const before = figures(snaps);
    const last = this.records[this.records.length - 1];
    if (last && last.after === undefined) last.after = before;
    const recs = analysePools(snaps, options.analyse);
    const r = await applyRecommendations(recs, { auto: new Set(auto) }, this.host.appliers);
    const record: OptimizationRecord = {
      at: this.host.now(),
      auto,
      applied: r.applied,
      skipped: r.skipped,
      failed: r.failed.map((f) => ({ rec: f.rec, error: (f.error as Error)?.message ?? String(f.error) })),
      before,
    };
    this.records.push(record);
    if (this.records.length > HISTORY) this.records.shift();
    return record;
  }

  /** Past rounds, oldest first (at most 100). */
  history(): readonly OptimizationRecord[] {
    return this.records;
  }
}
