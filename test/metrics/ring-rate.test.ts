import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { RateCounter } from '../../src/metrics/rate-counter.js';
import { TimeSeriesRing } from '../../src/metrics/time-series-ring.js';

describe('TimeSeriesRing', () => {
  it('keeps the newest `capacity` samples in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer(), { maxLength: 100 }),
        (cap, values) => {
          const r = new TimeSeriesRing<number>(cap);
          for (const v of values) r.push(v);
          const expected = values.slice(Math.max(0, values.length - cap));
          expect(r.toArray()).toEqual(expected);
          expect(r.size).toBe(expected.length);
          expect(r.latest()).toBe(expected[expected.length - 1]);
          expect(r.at(0)).toBe(expected[0]);
        },
      ),
    );
  });

  it('rejects a bad capacity', () => {
    expect(() => new TimeSeriesRing(0)).toThrow(InvalidArgumentError);
    expect(() => new TimeSeriesRing(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('RateCounter', () => {
  it('startMs: a young counter divides by the time elapsed, then by the full window', () => {
    const young = new RateCounter({ windowMs: 60_000, startMs: 10_000 });
    const plain = new RateCounter({ windowMs: 60_000 });
    for (let t = 10_000; t < 30_000; t += 250) {
      young.add(t);
      plain.add(t);
    }
    expect(young.perSecond(30_000)).toBeCloseTo(4, 5); // 80 events over the 20 s since the start
    expect(plain.perSecond(30_000)).toBeCloseTo(80 / 60, 5); // the full-window reading under-reports
    for (let t = 30_000; t < 100_000; t += 250) young.add(t);
    expect(Math.abs(young.perSecond(100_000) - 4)).toBeLessThan(0.1); // a full window later (±1 slot)
    expect(() => new RateCounter({ startMs: Number.NaN })).toThrow(InvalidArgumentError);
  });

  it('counts events inside the sliding window only', () => {
    const c = new RateCounter({ windowMs: 60_000, buckets: 60 });
    for (let t = 0; t < 60_000; t += 1000) c.add(t); // 60 events over a minute
    expect(c.perMinute(59_999)).toBe(60);
    // 30 s later the first half has left the window
    expect(c.total(89_999)).toBe(30);
    expect(c.perSecond(200_000)).toBe(0);
  });

  it('matches a brute-force count at slot resolution', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 200 })
          .map((a) => a.sort((x, y) => x - y)),
        (times) => {
          const c = new RateCounter({ windowMs: 60_000, buckets: 60 });
          for (const t of times) c.add(t);
          const now = (times[times.length - 1] ?? 0) + 500;
          // window = the current 1-s slot plus the 59 before it
          const fromSlot = Math.floor(now / 1000) - 59;
          const expected = times.filter((t) => Math.floor(t / 1000) >= fromSlot).length;
          expect(c.total(now)).toBe(expected);
        },
      ),
    );
  });

  it('rejects bad options', () => {
    expect(() => new RateCounter({ windowMs: 0 })).toThrow(/rateCounter.windowMs/);
    expect(() => new RateCounter({ extra: 1 } as never)).toThrow(/rateCounter.extra/);
  });
});
