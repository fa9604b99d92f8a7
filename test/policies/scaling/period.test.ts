import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/core/random.js';
import { ConfigError } from '../../../src/core/errors.js';
import { createForecast, forecastDemand, observeForecast } from '../../../src/policies/forecast.js';
import { detectPeriod } from '../../../src/policies/period.js';

const MIN = 60_000;

/** `n` bins of a burst series: `on` bins at `high`, then `period - on` bins at 0. */
function bursts(n: number, period: number, on: number, high = 5): number[] {
  return Array.from({ length: n }, (_, i) => (i % period < on ? high : 0));
}

describe('period detection (autocorrelation over a binned series)', () => {
  it('finds the period of a burst series (30 bins, 10 on), not a harmonic', () => {
    const d = detectPeriod(bursts(100, 30, 10));
    expect(d.lagBins).toBe(30);
    expect(d.confidence).toBeGreaterThan(0.9);
  });

  it('finds a sine period through Poisson-like noise', () => {
    const rng = createRng(7);
    const series = Array.from(
      { length: 180 },
      (_, i) => 10 + 5 * Math.sin((2 * Math.PI * i) / 45) + (rng.next() - 0.5) * 3,
    );
    const d = detectPeriod(series);
    expect(Math.abs(d.lagBins - 45)).toBeLessThanOrEqual(1);
    expect(d.confidence).toBeGreaterThan(0.6);
  });

  it('finds a 2-bin square wave', () => {
    expect(detectPeriod(bursts(40, 2, 1)).lagBins).toBe(2);
  });

  it('reports no confident period for white noise (20 seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = createRng(seed);
      const series = Array.from({ length: 240 }, () => rng.next() * 10);
      expect(detectPeriod(series).confidence).toBeLessThan(0.6);
    }
  });

  it('reports no period for a constant series or a trend', () => {
    expect(detectPeriod(new Array<number>(200).fill(4))).toEqual({ lagBins: 0, confidence: 0 });
    expect(detectPeriod(Array.from({ length: 200 }, (_, i) => i)).confidence).toBe(0);
  });

  it('does not speak before the burst has repeated (too short a history)', () => {
    // one burst and most of a gap: a period of 30 cannot be seen in 35 bins
    expect(detectPeriod(bursts(35, 30, 10)).confidence).toBe(0);
  });
});

describe('forecaster with period detection', () => {
  it('predicts a burst after an idle gap with no periodMs given', () => {
    const period = 30 * MIN;
    const rate = (t: number) => (t % period < 10 * MIN ? 2 : 0);
    let s = createForecast({});
    const now = 3 * period - 60_000; // a minute before the 4th burst
    for (let t = 0; t <= now; t += 15_000) s = observeForecast(s, t, rate(t));
    expect(s.level).toBeLessThan(0.01);
    const f = forecastDemand(s, now, 90_000);
    expect(f.detectedPeriodMs).toBe(period);
    expect(f.peak).toBeGreaterThan(1.5);
    expect(f.confidence).toBeGreaterThan(0.6);
  });

  it('gives no confident forecast on noise or a constant rate', () => {
    const rng = createRng(3);
    let noisy = createForecast({});
    let flat = createForecast({});
    for (let t = 0; t <= 3 * 3_600_000; t += 15_000) {
      noisy = observeForecast(noisy, t, rng.next() * 4);
      flat = observeForecast(flat, t, 2);
    }
    const now = 3 * 3_600_000;
    expect(forecastDemand(noisy, now, 90_000).confidence).toBeLessThan(0.6);
    expect(forecastDemand(flat, now, 90_000).detectedPeriodMs).toBeUndefined();
    expect(forecastDemand(flat, now, 90_000).confidence).toBe(0);
  });

  it('detect: false turns detection off', () => {
    const period = 30 * MIN;
    let s = createForecast({ detect: false });
    for (let t = 0; t <= 3 * period - MIN; t += 15_000)
      s = observeForecast(s, t, t % period < 10 * MIN ? 2 : 0);
    expect(forecastDemand(s, 3 * period - MIN, 90_000).confidence).toBe(0);
  });

  it('rejects bad detector options with a typed error naming the path', () => {
    expect(() => createForecast({ binMs: 10 }, 'pools.a.forecast')).toThrow(ConfigError);
    expect(() => createForecast({ historyMs: 60_000 }, 'pools.a.forecast')).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('pools.a.forecast.historyMs'),
      }),
    );
    expect(() => createForecast({ detect: 'yes' } as never)).toThrow(ConfigError);
  });
});
