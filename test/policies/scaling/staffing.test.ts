/**
 * Issue 18's sizing levers, each as a pure policy: square-root staffing (`staffedAgents`), the smoothed
 * rate with change and burst-end detection (`updateRate`), and how `decideScaling` uses them with the
 * DEFAULT configuration — a rise taken before anyone waits, a finished burst shed at once, no
 * scale-down on an unknown service time or before a window was seen, a confident forecast of the window
 * ahead as a floor, rate-paced starts sized by Little's law alone.
 */
import { describe, expect, it } from 'vitest';
import { createForecast, forecastDemand, observeForecast } from '../../../src/policies/forecast.js';
import { validateScalingConfig } from '../../../src/policies/scaling/config.js';
import {
  decideScaling,
  initialPolicyState,
  markApplied,
  type ScalingObservation,
  type ScalingPolicyState,
} from '../../../src/policies/scaling/decide.js';
import { littleAgents, staffedAgents } from '../../../src/policies/scaling/little.js';
import { RATE_WINDOW_S, type RateLevel, updateRate } from '../../../src/policies/scaling/rate.js';
import { createRng } from '../../../src/core/random.js';

const cfg = validateScalingConfig({ min: 1, max: 50 });
const warm = (): ScalingPolicyState => ({ ...initialPolicyState(), firstAt: -1e12 });
const obs = (o: Partial<ScalingObservation> = {}): ScalingObservation => ({
  now: 1_000_000,
  size: 10,
  ready: 10,
  busy: 5,
  starting: 0,
  waiters: 0,
  utilization: 0.5,
  waitMs: 0,
  arrivalRatePerS: 0.25,
  meanServiceMs: 20_000,
  ...o,
});

/** A Poisson count over the 30 s window, as a rate. */
function poissonRate(rng: ReturnType<typeof createRng>, rate: number): number {
  // Knuth's method: fine for the small means used here.
  const l = Math.exp(-rate * RATE_WINDOW_S);
  let k = 0;
  let p = rng.next();
  while (p > l) {
    k++;
    p *= rng.next();
  }
  return k / RATE_WINDOW_S;
}

describe('staffedAgents (square-root staffing)', () => {
  it('is the larger of Little at ρ and R + β·√R; β = 0 is Little alone', () => {
    // R = 10: Little 13.3, β = 2.5 → 17.9
    expect(staffedAgents(0.5, 20, 0.75, 2.5)).toBeCloseTo(10 + 2.5 * Math.sqrt(10), 9);
    // R = 100: Little 133 > 100 + 25 — big pools keep utilization ≤ ρ
    expect(staffedAgents(5, 20, 0.75, 2.5)).toBeCloseTo(littleAgents(5, 20, 0.75), 9);
    expect(staffedAgents(0.5, 20, 0.75, 0)).toBeCloseTo(littleAgents(0.5, 20, 0.75), 9);
    expect(staffedAgents(0, 20, 0.75, 3)).toBe(0);
    expect(staffedAgents(1, 0, 0.75, 3)).toBe(0);
  });

  it('gives the √R margin to the steady rate only, not to a swing above it', () => {
    // sized for 1.8/s (R = 36, Little 48), of which 1.45/s is steady (R = 29): 29 + 3.5·√29 = 47.8
    expect(staffedAgents(1.8, 20, 0.75, 3.5, 1.45)).toBeCloseTo(48, 9);
    expect(staffedAgents(1.8, 20, 0.75, 3.5)).toBeCloseTo(36 + 3.5 * 6, 9);
  });
});

describe('updateRate (the smoothed rate)', () => {
  it('smooths Poisson noise and takes a real step at once', () => {
    const rng = createRng(11);
    let r: RateLevel | null = null;
    let jumps = 0;
    for (let t = 0; t <= 3_600_000; t += 15_000) {
      const u = updateRate(r, t, poissonRate(rng, 1), 300_000);
      if (u.changed && r !== null) jumps++;
      r = u.next;
    }
    expect(jumps).toBe(0); // an hour of noise at 1/s: no false change at 4 σ
    expect(r?.level).toBeGreaterThan(0.85);
    expect(r?.level).toBeLessThan(1.15);
    const step = updateRate(r, 3_615_000, 2.5, 300_000);
    expect(step.changed).toBe(true);
    expect(step.next.level).toBe(2.5);
  });

  it('a level set by one window is a running mean of the next ones, not stuck for a time constant', () => {
    let u = updateRate(null, 0, 0.2, 300_000);
    for (const x of [0.5, 0.5, 0.6]) u = updateRate(u.next, u.next.at + 15_000, x, 300_000);
    expect(u.next.level).toBeCloseTo((0.2 + 0.5 + 0.5 + 0.6) / 4, 9);
  });

  it('a burst ends only when a second window confirms the drop', () => {
    let r = updateRate(null, 0, 1.875, 300_000).next;
    const drop = updateRate(r, 15_000, 0, 300_000);
    expect(drop).toMatchObject({ changed: true, ended: false });
    const confirmed = updateRate(drop.next, 30_000, 0, 300_000);
    expect(confirmed.ended).toBe(true);
    // sized on an upper bound of what is left, not on two possibly low draws
    expect(confirmed.next.level).toBeGreaterThan(0);
    expect(confirmed.next.level).toBeLessThan(0.1);
    // one unlucky window in a square wave's low phase (0.55 against 1.875), then the low phase proper
    r = updateRate(null, 0, 1.875, 300_000).next;
    const unlucky = updateRate(r, 15_000, 0.55, 300_000);
    expect(unlucky.changed).toBe(true);
    expect(updateRate(unlucky.next, 30_000, 1.0, 300_000).ended).toBe(false);
  });

  it('sizes an oscillation beyond noise for its high phase, noise for its mean', () => {
    const rng = createRng(5);
    let square: RateLevel | null = null;
    let noisy: RateLevel | null = null;
    let sq = 0;
    let no = 0;
    for (let t = 0; t <= 7_200_000; t += 15_000) {
      const high = Math.floor(t / 60_000) % 2 === 0;
      const a = updateRate(square, t, high ? 1.875 : 1.01, 300_000);
      const b = updateRate(noisy, t, poissonRate(rng, 1.44), 300_000);
      square = a.next;
      noisy = b.next;
      sq = a.sizedFor;
      no = b.sizedFor;
    }
    expect(sq).toBeGreaterThan(1.7); // mean 1.44, high phase 1.875
    expect(no).toBeLessThan(1.7);
  });
});

describe('decideScaling with the default sizing', () => {
  it('gives a small pool the √R margin Little alone lacks', () => {
    // 0.5/s × 20 s: R = 10 → Little 14, square-root staffing 10 + 3.5·√10 = 21.1 → 22
    const d = decideScaling(obs({ arrivalRatePerS: 0.5 }), cfg, warm()).decision;
    expect(d.recommendation).toBe(22);
    expect(d).toMatchObject({ direction: 'up', reason: 'high-demand', target: 22 });
  });

  it('scales up for rising demand before anyone waits; holds inside the band below it', () => {
    let state = decideScaling(obs({ now: 0, size: 22, arrivalRatePerS: 0.5 }), cfg, warm()).state;
    // a little more demand: the recommendation rises but the size is within the band → hold
    const near = decideScaling(obs({ now: 15_000, size: 22, arrivalRatePerS: 0.55 }), cfg, state);
    expect(near.decision.direction).toBe('hold');
    state = near.state;
    // three times the demand, nobody waiting yet: up at once, to the recommendation
    const rise = decideScaling(obs({ now: 30_000, size: 22, arrivalRatePerS: 1.5 }), cfg, state).decision;
    expect(rise).toMatchObject({ direction: 'up', reason: 'high-demand' });
    expect(rise.target).toBe(rise.recommendation);
    expect(rise.target).toBeGreaterThanOrEqual(40);
  });

  it('sheds a finished burst right away instead of holding it for the stabilisation window', () => {
    const busy = obs({ now: 0, size: 50, ready: 50, busy: 38, utilization: 0.76, arrivalRatePerS: 1.875 });
    let state = decideScaling(busy, cfg, warm()).state;
    const quiet = (now: number) =>
      obs({ now, size: 50, ready: 50, busy: 5, utilization: 0.1, arrivalRatePerS: 0 });
    const first = decideScaling(quiet(15_000), cfg, state);
    expect(first.decision.direction).toBe('hold'); // one empty window could be luck
    state = first.state;
    const second = decideScaling(quiet(30_000), cfg, state).decision;
    expect(second).toMatchObject({ direction: 'down', reason: 'low-utilization' });
    expect(second.target).toBeLessThanOrEqual(10);
    // with the drop not confirmed the window holds: the same pool with a dip of one window stays
    const dip = decideScaling({ ...quiet(30_000), arrivalRatePerS: 1.8 }, cfg, first.state).decision;
    expect(dip.direction).not.toBe('down');
  });

  it('does not scale down before a service time is known, nor before two windows were seen', () => {
    const idle = obs({ size: 20, ready: 20, busy: 2, utilization: 0.1, arrivalRatePerS: 0.05 });
    expect(decideScaling({ ...idle, meanServiceMs: 0 }, cfg, warm()).decision.direction).toBe('hold');
    const fresh = decideScaling({ ...idle, now: 0 }, cfg, initialPolicyState());
    expect(fresh.decision).toMatchObject({ direction: 'hold', reason: 'stabilising' });
    const early = decideScaling({ ...idle, now: cfg.stabilisationWindowMs + 1 }, cfg, fresh.state);
    expect(early.decision.direction).toBe('hold');
    const later = decideScaling({ ...idle, now: 2 * cfg.stabilisationWindowMs + 1 }, cfg, early.state);
    expect(later.decision.direction).toBe('down');
  });

  it('a confident forecast of the window ahead is a floor for scale-downs, and raises nothing', () => {
    const idle = obs({ size: 20, ready: 20, busy: 1, utilization: 0.05, arrivalRatePerS: 0.02 });
    const hint = (ratePerS: number, confidence: number) => ({
      peakRatio: 1,
      confidence: 0,
      hold: { ratePerS, confidence },
    });
    const d = decideScaling(idle, cfg, warm(), hint(1.5, 0.9)).decision;
    expect(d).toMatchObject({ direction: 'hold', reason: 'stabilising' });
    expect(decideScaling(idle, cfg, warm(), hint(1.5, 0.3)).decision.direction).toBe('down');
    // it never raises: a pool the rules would hold is held, not grown, whatever is due ahead
    const held = obs({ size: 3, ready: 3, busy: 1, utilization: 0.3, arrivalRatePerS: 0.02 });
    expect(decideScaling(held, cfg, warm()).decision.direction).toBe('hold');
    expect(decideScaling(held, cfg, warm(), hint(1.5, 0.9)).decision).toMatchObject({
      direction: 'hold',
      target: 3,
    });
  });

  it('takes the scale-up ratio of the work present, not of a pool shrunk to its minimum', () => {
    const burst = obs({
      size: 1,
      ready: 1,
      busy: 1,
      waiters: 20,
      utilization: 1,
      waitMs: 10_000,
      arrivalRatePerS: 1.5,
    });
    // 21 tasks present × maxScaleUpRatio 10 ≫ the recommendation: capped by max only
    expect(decideScaling(burst, cfg, warm()).decision).toMatchObject({ direction: 'up', target: 50 });
  });

  it('sizes starts paced by a rate limit by Little alone (no √R margin behind the limit)', () => {
    const limited = obs({
      size: 10,
      busy: 10,
      utilization: 1,
      waitMs: 60_000,
      waiters: 3,
      arrivalRatePerS: 2,
      startRateLimitPerS: 0.75,
    });
    expect(decideScaling(limited, cfg, warm()).decision.recommendation).toBe(20); // ⌈0.75 × 20 / 0.75⌉
  });

  it('never scales a cooled-down pool up again for noise after a scale-down (no flap)', () => {
    const rng = createRng(9);
    let state = warm();
    let size = 30;
    const events: { at: number; dir: 'up' | 'down' }[] = [];
    for (let now = 0; now <= 6 * 3_600_000; now += 15_000) {
      const rate = poissonRate(rng, 1);
      const busy = Math.min(size, Math.round(rate * 20));
      const r = decideScaling(
        obs({ now, size, ready: size, busy, utilization: busy / size, arrivalRatePerS: rate }),
        cfg,
        state,
      );
      state = r.state;
      if (r.decision.direction !== 'hold') {
        events.push({ at: now, dir: r.decision.direction });
        size = r.decision.target;
        state = markApplied(state, r.decision);
      }
    }
    let flaps = 0;
    for (let i = 1; i < events.length; i++) {
      const a = events[i - 1];
      const b = events[i];
      if (a && b && a.dir !== b.dir && b.at - a.at < 300_000) flaps++;
    }
    expect(flaps).toBe(0);
    // sized near R + 3.5·√R = 20 + 15.7 for a steady 1/s, not the pool max
    expect(size).toBeGreaterThanOrEqual(33);
    expect(size).toBeLessThanOrEqual(40);
  });
});

describe('forecast predictedPeak (the hold hint)', () => {
  it('is what a detected period predicts ahead, without the current level', () => {
    const MIN = 60_000;
    const period = 30 * MIN;
    const rate = (t: number) => (t % period < 10 * MIN ? 2 : 0);
    let s = createForecast({});
    const now = 3 * period - 4 * MIN; // four minutes before the 4th burst
    for (let t = 0; t <= now; t += 15_000) s = observeForecast(s, t, rate(t));
    expect(forecastDemand(s, now, 60_000).predictedPeak).toBe(0); // not within a minute
    const ahead = forecastDemand(s, now, 300_000);
    expect(ahead.predictedPeak).toBeGreaterThan(1.5); // within the 5-minute window ahead
    expect(ahead.confidence).toBeGreaterThan(0.6);
  });
});

describe('the new options at the boundary', () => {
  it('reject bad staffingBeta and rateSmoothingMs with a typed error naming the path', () => {
    expect(() => validateScalingConfig({ staffingBeta: -1 }, 'pools.a.autoscale')).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('pools.a.autoscale.staffingBeta'),
      }),
    );
    expect(() => validateScalingConfig({ rateSmoothingMs: 'slow' }, 'pools.a.autoscale')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('pools.a.autoscale.rateSmoothingMs') }),
    );
    expect(validateScalingConfig({ staffingBeta: 0, rateSmoothingMs: 0 })).toMatchObject({
      staffingBeta: 0,
      rateSmoothingMs: 0,
    });
  });
});
