/**
 * A fixed-layout log-scale histogram: O(1) record, mergeable, percentiles to within half a bucket.
 *
 * Buckets are geometric (`bucketsPerDecade` per factor of ten) between `lowest` and `highest`, plus an
 * underflow bucket `[0, lowest]` and an overflow bucket `(highest, +Inf)`. With the default 20 buckets per
 * decade each bucket spans ×1.122, so a percentile read from the bucket's geometric midpoint is within
 * ≈ 6 % of the true sample — precise enough for p99 waits, while the layout stays fixed so that
 * histograms from different pools or intervals merge by adding counts.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { record as asRecord, knownKeys, num } from '../core/validate.js';

/** Layout of a {@link Histogram}. Two histograms merge only if their layouts are equal. */
export interface HistogramOptions {
  /** Upper bound of the underflow bucket; must be > 0. @default 0.001 (1 ms when recording seconds) */
  lowest?: number;
  /** Values above this go to the overflow bucket. @default 100000 */
  highest?: number;
  /** Geometric buckets per factor of ten. @default 20 */
  bucketsPerDecade?: number;
}

/** Plain-data form of a histogram, used by snapshots and the Prometheus exposition. */
export interface HistogramSnapshot {
  /** Upper bounds (`le`) of every finite bucket, ascending. The last bucket (overflow) is `+Inf`. */
  bounds: readonly number[];
  /** Count per bucket (not cumulative); length = `bounds.length + 1`. */
  counts: readonly number[];
  /** Number of recorded values. */
  count: number;
  /** Sum of recorded values. */
  sum: number;
  /** Smallest recorded value, or 0 when empty. */
  min: number;
  /** Largest recorded value, or 0 when empty. */
  max: number;
}

const KEYS = new Set(['lowest', 'highest', 'bucketsPerDecade']);

/**
 * Log-scale histogram.
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.record(0.25); h.record(3);
 * h.percentile(0.99); // ≈ 3
 * ```
 */
export class Histogram {
  /** Upper bounds of the finite buckets (index 0 is the underflow bucket `[0, lowest]`). */
  readonly bounds: readonly number[];
  private readonly counts: Float64Array;
  private readonly lowest: number;
  private readonly logLowest: number;
  private readonly perDecade: number;
  private total = 0;
  private sumValues = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;

  constructor(options: HistogramOptions = {}) {
    const o = asRecord('argument', 'histogram', options);
    knownKeys('argument', 'histogram', o, KEYS);
    this.lowest = num('argument', 'histogram.lowest', o.lowest, 0.001, { gt: 0 });
    const highest = num('argument', 'histogram.highest', o.highest, 100_000, { gt: this.lowest });
    this.perDecade = num('argument', 'histogram.bucketsPerDecade', o.bucketsPerDecade, 20, {
      integer: true,
      min: 1,
      max: 1000,
    });
    this.logLowest = Math.log10(this.lowest);
    const n = Math.ceil((Math.log10(highest) - this.logLowest) * this.perDecade - 1e-9);
    const bounds: number[] = [];
    for (let i = 0; i <= n; i++) bounds.push(10 ** (this.logLowest + i / this.perDecade));
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Index of the bucket that holds `v` (bucket i covers `(bounds[i-1], bounds[i]]`). */
  private indexOf(v: number): number {
    if (!(v > this.lowest)) return 0;
    let i = Math.ceil((Math.log10(v) - this.logLowest) * this.perDecade - 1e-9);
    // Floating-point log can land one bucket off at exact boundaries: correct it against the bounds.
    const b = this.bounds;
    if (i < b.length && v > (b[i] as number)) i++;
    else if (i > 0 && i - 1 < b.length && v <= (b[i - 1] as number)) i--;
    return Math.min(i, b.length);
  }

  /** Record `count` observations of `value` (negative and NaN values are rejected). O(1). */
  record(value: number, count = 1): void {
    if (!Number.isFinite(value) || value < 0)
      throw new InvalidArgumentError('histogram.value', value, 'a finite number >= 0');
    if (!(count > 0)) return;
    const i = this.indexOf(value);
    this.counts[i] = (this.counts[i] as number) + count;
    this.total += count;
    this.sumValues += value * count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Sum of recorded values. */
  get sum(): number {
    return this.sumValues;
  }

  /** Smallest recorded value, or 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  /** Largest recorded value, or 0 when empty. */
  get max(): number {
    return this.total === 0 ? 0 : this.maxValue;
  }

  /** Mean of recorded values, or 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sumValues / this.total;
  }

  /**
   * Estimated quantile `q` in [0, 1]: the geometric midpoint of the bucket holding the ⌈q·count⌉-th
   * value, clamped to the exact min/max seen. Returns 0 when empty.
   */
  percentile(q: number): number {
    if (!(q >= 0 && q <= 1))
      throw new InvalidArgumentError('histogram.percentile.q', q, 'a number in [0, 1]');
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    const b = this.bounds;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) {
        let estimate: number;
        if (i === 0) estimate = this.minValue;
        else if (i >= b.length) estimate = this.maxValue;
        else estimate = Math.sqrt((b[i - 1] as number) * (b[i] as number));
        return Math.min(this.maxValue, Math.max(this.minValue, estimate));
      }
    }
    return this.maxValue;
  }

  /** Add every count of `other` into this histogram. Throws unless the layouts are identical. */
  merge(other: Histogram): this {
    if (
      other.bounds.length !== this.bounds.length ||
      other.lowest !== this.lowest ||
      other.perDecade !== this.perDecade
    ) {
      throw new InvalidArgumentError(
        'histogram.merge',
        'a histogram with another layout',
        'the same bucket layout',
      );
    }
    for (let i = 0; i < this.counts.length; i++)
      this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.total += other.total;
    this.sumValues += other.sumValues;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
    return this;
  }

  /** Forget every recorded value (the layout stays). */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sumValues = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = Number.NEGATIVE_INFINITY;
  }

  /** Plain-data copy of the current state. */
  snapshot(): HistogramSnapshot {
    const empty = this.total === 0;
    return {
      bounds: this.bounds,
      counts: Array.from(this.counts),
      count: this.total,
      sum: this.sumValues,
      min: empty ? 0 : this.minValue,
      max: empty ? 0 : this.maxValue,
    };
  }
}
