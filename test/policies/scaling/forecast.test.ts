import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { createForecast, forecastDemand, observeForecast } from '../../../src/policies/forecast.js';

const MIN = 60_000;

describe('demand forecast (EWMA level + periodic profile)', () => {
  it('without a learned profile it forecasts the level with zero confidence', () => {
    let s = createForecast({ periodMs: 60 * MIN, slotMs: 5 * MIN });
    for (let t = 0; t <= 30 * MIN; t += 15_000) s = observeForecast(s, t, 4);
    const f = forecastDemand(s, 30 * MIN, 2 * MIN);
    expect(f.rate).toBeCloseTo(4, 6);
    expect(f.peakRatio).toBeCloseTo(1, 6);
    // the next slots were never seen: nothing to predict from, so no confidence
    expect(f.confidence).toBe(0);
  });

  it('a constant series, once a period is learned, forecasts itself with high confidence', () => {
    let s = createForecast({ periodMs: 10 * MIN, slotMs: MIN });
    for (let t = 0; t <= 30 * MIN; t += 15_000) s = observeForecast(s, t, 4);
    const f = forecastDemand(s, 30 * MIN, 2 * MIN);
    expect(f.rate).toBeCloseTo(4, 6);
    expect(f.peakRatio).toBeCloseTo(1, 6);
    expect(f.confidence).toBeGreaterThan(0.9);
  });

  it('predicts a burst after an idle gap (peak rate given although the level is 0)', () => {
    // 30-minute period: 10 min at 2/s, 20 min idle
    const period = 30 * MIN;
    const rate = (t: number) => (t % period < 10 * MIN ? 2 : 0);
    let s = createForecast({ periodMs: period, slotMs: MIN });
    for (let t = 0; t < 3 * period; t += 15_000) s = observeForecast(s, t, rate(t));
    // 90 s before the 4th burst: the level is 0 but the profile knows what comes
    const now = 4 * period - 90_000;
    for (let t = 3 * period; t <= now; t += 15_000) s = observeForecast(s, t, rate(t));
    const f = forecastDemand(s, now, 2 * MIN);
    expect(s.level).toBeLessThan(0.01);
    expect(f.peak).toBeGreaterThan(1.5);
    expect(f.confidence).toBeGreaterThan(0.6);
  });

  it('learns a periodic profile and predicts the next peak ahead of time', () => {
    // 10-minute period: 5 min at 1/s, 5 min at 3/s
    const period = 10 * MIN;
    const rate = (t: number) => (t % period < 5 * MIN ? 1 : 3);
    let s = createForecast({ periodMs: period, slotMs: MIN, gamma: 0.5 });
    let t = 0;
    for (; t < 6 * period; t += 15_000) s = observeForecast(s, t, rate(t));
    // t is now at the start of a low phase; 4.5 min later the high phase starts
    const now = 6 * period + 4.5 * MIN - 15_000;
    for (; t <= now; t += 15_000) s = observeForecast(s, t, rate(t));
    const f = forecastDemand(s, now, MIN);
    expect(f.peakRatio).toBeGreaterThan(2);
    expect(f.confidence).toBeGreaterThan(0.6);
  });

  it('never returns a peak ratio below 1 nor confidence outside [0, 1]', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 80 }), (values) => {
        let s = createForecast({ periodMs: 10 * MIN, slotMs: MIN });
        values.forEach((v, i) => {
          s = observeForecast(s, i * 15_000, v);
        });
        const f = forecastDemand(s, values.length * 15_000, 2 * MIN);
        expect(f.peakRatio).toBeGreaterThanOrEqual(1);
        expect(f.confidence).toBeGreaterThanOrEqual(0);
        expect(f.confidence).toBeLessThanOrEqual(1);
        expect(f.rate).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('ignores invalid observations and rejects bad options', () => {
    const s = createForecast();
    expect(observeForecast(s, 0, Number.NaN)).toBe(s);
    expect(() => createForecast({ alpha: 2 })).toThrow(ConfigError);
    expect(() => createForecast({ season: 1 } as never)).toThrow(/forecast.season/);
  });
});
