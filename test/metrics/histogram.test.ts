import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Histogram } from '../../src/metrics/histogram.js';

/** Exact quantile with the same rank rule as Histogram.percentile (⌈q·n⌉-th smallest). */
function exactQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] as number;
}

describe('Histogram', () => {
  it('counts, sums and bounds', () => {
    const h = new Histogram();
    for (const v of [0.5, 1, 2, 4]) h.record(v);
    expect(h.count).toBe(4);
    expect(h.sum).toBeCloseTo(7.5, 12);
    expect(h.mean).toBeCloseTo(7.5 / 4, 12);
    expect(h.snapshot().min).toBe(0.5);
    expect(h.snapshot().max).toBe(4);
  });

  it('puts a value in the bucket whose bounds enclose it', () => {
    const h = new Histogram({ bucketsPerDecade: 10 });
    const values = [0.0005, 0.001, 0.0011, 0.37, 1, 10, 99_999, 1e9];
    for (const v of values) h.record(v);
    const s = h.snapshot();
    for (const v of values) {
      // bucket i covers (bounds[i-1], bounds[i]]; the last bucket is (last bound, +Inf)
      let i = s.bounds.findIndex((b) => v <= b);
      if (i < 0) i = s.bounds.length;
      expect(s.counts[i], `value ${v}`).toBeGreaterThan(0);
    }
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
  });

  it('percentiles are within one bucket width of the exact quantile', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.002, max: 50_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.99),
        (values, q) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const exact = exactQuantile(values, q);
          const est = h.percentile(q);
          // 20 buckets per decade → bucket ratio 10^(1/20); the midpoint is within √ratio of any member.
          const r = 10 ** (1 / 20);
          expect(est).toBeLessThanOrEqual(exact * r * 1.000001);
          expect(est).toBeGreaterThanOrEqual((exact / r) * 0.999999);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('merging equals recording everything into one histogram', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true })),
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true })),
        (a, b) => {
          const ha = new Histogram();
          const hb = new Histogram();
          const all = new Histogram();
          for (const v of a) {
            ha.record(v);
            all.record(v);
          }
          for (const v of b) {
            hb.record(v);
            all.record(v);
          }
          ha.merge(hb);
          expect(ha.snapshot().counts).toEqual(all.snapshot().counts);
          expect(ha.count).toBe(a.length + b.length);
          expect(ha.percentile(0.99)).toBe(all.percentile(0.99));
        },
      ),
    );
  });

  it('rejects bad values, bad options and merges across layouts', () => {
    const h = new Histogram();
    expect(() => h.record(-1)).toThrow(InvalidArgumentError);
    expect(() => h.record(Number.NaN)).toThrow(InvalidArgumentError);
    expect(h.count).toBe(0);
    expect(() => new Histogram({ lowest: 0 })).toThrow(/histogram.lowest/);
    expect(() => new Histogram({ bogus: 1 } as never)).toThrow(/histogram.bogus/);
    expect(() => h.merge(new Histogram({ bucketsPerDecade: 5 }))).toThrow(InvalidArgumentError);
    expect(() => h.percentile(1.5)).toThrow(InvalidArgumentError);
  });

  it('empty histogram reports zeros; reset forgets', () => {
    const h = new Histogram();
    expect(h.percentile(0.99)).toBe(0);
    h.record(3);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.percentile(0.5)).toBe(0);
  });
});
