import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCALING_CONFIG,
  type ScalingConfig,
  validateScalingConfig,
} from '../../../src/policies/scaling/config.js';
import {
  checkObservation,
  decideScaling,
  initialPolicyState,
  markApplied,
  type ScalingObservation,
  type ScalingPolicyState,
} from '../../../src/policies/scaling/decide.js';
import { littleAgents, littleTarget, sqrtStaffing } from '../../../src/policies/scaling/little.js';

// The rules below are the classic ones: Little's law on the observed rate (β = 0, no smoothing). The
// square-root staffing and the smoothed rate have their own tests (`sized for …` below).
const cfg = (o: Partial<ScalingConfig> = {}): ScalingConfig =>
  validateScalingConfig({ min: 1, max: 50, staffingBeta: 0, rateSmoothingMs: 0, ...o });

// A policy that has already seen a whole stabilisation window (scale-downs are held before that).
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

describe("Little's law", () => {
  it('agents = λ·E[S]/ρ, rounded up', () => {
    expect(littleAgents(2, 20, 0.75)).toBeCloseTo((2 * 20) / 0.75, 12);
    expect(littleTarget(2, 20, 0.75)).toBe(54); // 53.33 → 54
    expect(littleTarget(1.5, 20, 0.75)).toBe(40); // exactly 40, no spurious +1
    expect(littleTarget(0, 20, 0.75)).toBe(0);
    expect(sqrtStaffing(4, 25, 1)).toBe(110); // R = 100, +√100
  });
});

describe('decideScaling', () => {
  it('scales up to the Little target when utilization and wait are high', () => {
    const c = cfg({ maxScaleUpRatio: 10 });
    // λ = 1/s, E[S] = 20 s → 20 busy → 20/0.75 = 26.7 → 27; 3 waiters add 3/30 s = 0.1/s → 22/0.75 = 29.3 → 30
    const { decision } = decideScaling(
      obs({ size: 10, busy: 10, utilization: 1, waitMs: 9000, waiters: 3, arrivalRatePerS: 1 }),
      c,
      warm(),
    );
    const expected = Math.ceil(((1 + 3 / (c.backlogDrainMs / 1000)) * 20) / 0.75);
    expect(decision).toMatchObject({ direction: 'up', reason: 'high-wait', target: expected });
  });

  it('scales up by at least one and at most maxScaleUpRatio and max', () => {
    const hot = obs({ size: 10, busy: 10, utilization: 0.95, waitMs: 9000, arrivalRatePerS: 0.01 });
    expect(decideScaling(hot, cfg(), warm()).decision.target).toBe(11);
    const huge = { ...hot, arrivalRatePerS: 100 };
    expect(decideScaling(huge, cfg({ maxScaleUpRatio: 1.5 }), warm()).decision.target).toBe(15);
    expect(decideScaling(huge, cfg({ max: 12 }), warm()).decision.target).toBe(12);
    expect(decideScaling({ ...huge, size: 12 }, cfg({ max: 12 }), warm()).decision.reason).toBe('at-max');
  });

  it('does not scale up on utilization alone or on wait alone', () => {
    const a = decideScaling(obs({ utilization: 0.95, waitMs: 100 }), cfg(), warm()).decision;
    const b = decideScaling(obs({ utilization: 0.5, waitMs: 60_000 }), cfg(), warm()).decision;
    expect(a.direction).toBe('hold');
    expect(b.direction).toBe('hold');
  });

  it('scales down idle-first, never below min nor below size − idle', () => {
    const c = cfg({ min: 3 });
    // 10 agents, 2 busy (8 idle), λ tiny → recommendation = min = 3 → target max(3, 10 − 8 = 2) = 3
    const d = decideScaling(obs({ busy: 2, utilization: 0.2, arrivalRatePerS: 0.01 }), c, warm()).decision;
    expect(d).toMatchObject({ direction: 'down', target: 3, reason: 'low-utilization' });
    // only 1 idle: can drop at most 1 agent
    const e = decideScaling(
      obs({ size: 10, ready: 10, busy: 9, utilization: 0.3, arrivalRatePerS: 0.01 }),
      c,
      warm(),
    ).decision;
    expect(e.target).toBe(9);
  });

  it('does not scale down while anyone waits', () => {
    const d = decideScaling(obs({ busy: 2, utilization: 0.2, waiters: 1 }), cfg(), warm()).decision;
    expect(d).toMatchObject({ direction: 'hold', reason: 'waiters-present' });
  });

  it('stabilisation: scales down only to the highest recommendation in the window', () => {
    const c = cfg({ stabilisationWindowMs: 300_000, scaleDownCooldownMs: 0 });
    let state = warm();
    // a peak recommendation of 30 at t = 0 …
    state = decideScaling(
      obs({ now: 0, size: 30, ready: 30, busy: 22, utilization: 0.75, arrivalRatePerS: 1.1 }),
      c,
      state,
    ).state;
    expect(state.recommendations[0]?.value).toBe(30);
    // … quiet at t = 200 s: still inside the window, so the target stays at 30 → hold
    const q = obs({ now: 200_000, size: 30, ready: 30, busy: 2, utilization: 0.1, arrivalRatePerS: 0.05 });
    const mid = decideScaling(q, c, state);
    expect(mid.decision).toMatchObject({ direction: 'hold', reason: 'stabilising' });
    // at t = 301 s the peak has left the window: down to the quiet recommendation (2 agents)
    const late = decideScaling({ ...q, now: 301_000 }, c, mid.state);
    expect(late.decision.direction).toBe('down');
    expect(late.decision.target).toBe(
      Math.max(1, littleTarget(0.05, 20, 0.75), mid.state.recommendations[1]?.value ?? 0),
    );
  });

  it('stabilisationQuantile: a scale-down keeps that quantile of the window, not its single highest', () => {
    const quiet = obs({ size: 30, ready: 30, busy: 2, utilization: 0.1, arrivalRatePerS: 0.05 });
    // Window: one spike of 30 and nine recommendations of 10 (rates 0.36/s × 20 s / 0.75 ≈ 9.6 → 10).
    const run = (q: number) => {
      const c = cfg({ stabilisationWindowMs: 300_000, scaleDownCooldownMs: 0, stabilisationQuantile: q });
      let state = warm();
      state = decideScaling(
        obs({ now: 0, size: 30, ready: 30, busy: 22, utilization: 0.75, arrivalRatePerS: 1.1 }),
        c,
        state,
      ).state;
      for (let i = 1; i <= 9; i++)
        state = decideScaling(
          obs({ now: i * 15_000, size: 30, ready: 30, busy: 22, utilization: 0.75, arrivalRatePerS: 0.36 }),
          c,
          state,
        ).state;
      return decideScaling({ ...quiet, now: 150_000 }, c, state).decision;
    };
    expect(run(1)).toMatchObject({ direction: 'hold', reason: 'stabilising' }); // the spike holds 30
    expect(run(0.9)).toMatchObject({ direction: 'down', target: 10 }); // 10 of 11 values ≤ 10
    expect(() => cfg({ stabilisationQuantile: 0 })).toThrow(/stabilisationQuantile/);
    expect(() => cfg({ stabilisationQuantile: 1.5 })).toThrow(/stabilisationQuantile/);
  });

  it('cooldowns: up after up waits scaleUpCooldownMs; down waits scaleDownCooldownMs after any scale', () => {
    const c = cfg({ scaleUpCooldownMs: 30_000, scaleDownCooldownMs: 60_000, stabilisationWindowMs: 0 });
    const hot = obs({ now: 10_000, size: 10, busy: 10, utilization: 1, waitMs: 9000, arrivalRatePerS: 2 });
    const up = decideScaling(hot, c, warm());
    const s1 = markApplied(up.state, up.decision);
    expect(decideScaling({ ...hot, now: 20_000 }, c, s1).decision.reason).toBe('cooldown');
    expect(decideScaling({ ...hot, now: 40_000 }, c, s1).decision.direction).toBe('up');
    const quiet = obs({ size: 10, busy: 1, utilization: 0.1, arrivalRatePerS: 0.01 });
    expect(decideScaling({ ...quiet, now: 60_000 }, c, s1).decision.reason).toBe('cooldown');
    expect(decideScaling({ ...quiet, now: 70_000 }, c, s1).decision.direction).toBe('down');
  });

  it('a confident forecast scales out ahead of a peak; a forecast never scales in', () => {
    const c = cfg();
    const calm = obs({ size: 10, busy: 7, utilization: 0.7, arrivalRatePerS: 0.35 }); // Little = 9.33 → 10
    const out = decideScaling(calm, c, warm(), { peakRatio: 1.5, confidence: 0.9 }).decision;
    expect(out).toMatchObject({ direction: 'up', reason: 'forecast-peak', target: 14, forecastUsed: true });
    const unsure = decideScaling(calm, c, warm(), { peakRatio: 1.5, confidence: 0.3 }).decision;
    expect(unsure.direction).toBe('hold');
    expect(unsure.confidence).toBe(0.3);
    // a forecast of falling demand on a busy pool: no scale-in
    const low = decideScaling(calm, c, warm(), { peakRatio: 0.2, confidence: 1 }).decision;
    expect(low.direction).not.toBe('down');
  });

  it('a forecast peak rate scales out of an idle gap in one step, where a ratio cannot', () => {
    const idle = obs({ size: 1, ready: 1, busy: 0, utilization: 0, arrivalRatePerS: 0 });
    const d = decideScaling(idle, cfg(), warm(), {
      peakRatio: 1,
      peakRatePerS: 1.5,
      confidence: 0.8,
    }).decision;
    // 1.5/s × 20 s / 0.75 = 40, not capped by maxScaleUpRatio (a confident forecast is demand seen
    // before, not a wild metric): the pool is ready for the burst in one step
    expect(d).toMatchObject({ direction: 'up', reason: 'forecast-peak', recommendation: 40, target: 40 });
  });

  it('moves a pool outside [min, max] back inside', () => {
    expect(decideScaling(obs({ size: 0 }), cfg({ min: 2 }), warm()).decision).toMatchObject({
      target: 2,
      reason: 'below-min',
    });
    expect(decideScaling(obs({ size: 60 }), cfg({ max: 50 }), warm()).decision).toMatchObject({
      target: 50,
      reason: 'above-max',
    });
  });

  it("never sizes for more than the pool's rate limit lets start (startRateLimitPerS)", () => {
    // 2/s arriving, 20 s each: 54 agents at 75 % — but only 0.5/s may start, which 10 agents serve.
    const pressured = obs({
      size: 10,
      busy: 10,
      utilization: 1,
      waitMs: 60_000,
      waiters: 3,
      arrivalRatePerS: 2,
    });
    const free = decideScaling(pressured, cfg(), warm()).decision;
    expect(free.target).toBeGreaterThan(40);
    const limited = decideScaling({ ...pressured, startRateLimitPerS: 0.5 }, cfg(), warm()).decision;
    expect(limited.recommendation).toBe(14); // ⌈0.5 × 20 / 0.75⌉
    expect(limited.target).toBe(14);
  });

  it('checkObservation rejects malformed readings', () => {
    expect(checkObservation(obs())).not.toBeNull();
    expect(checkObservation({ ...obs(), utilization: 1.2 })).toBeNull();
    expect(checkObservation({ ...obs(), size: Number.NaN })).toBeNull();
    expect(checkObservation({ ...obs(), waiters: -1 })).toBeNull();
    expect(checkObservation(null)).toBeNull();
  });
});

// ---- properties ------------------------------------------------------------------------------------

const arbConfig = fc
  .record({
    min: fc.integer({ min: 0, max: 10 }),
    span: fc.integer({ min: 0, max: 40 }),
    up: fc.double({ min: 0.3, max: 1, noNaN: true }),
    down: fc.double({ min: 0, max: 0.29, noNaN: true }),
    ratio: fc.double({ min: 1.1, max: 10, noNaN: true }),
    window: fc.integer({ min: 0, max: 600_000 }),
    upCd: fc.integer({ min: 0, max: 60_000 }),
    downCd: fc.integer({ min: 0, max: 120_000 }),
  })
  .map((r) =>
    validateScalingConfig({
      min: r.min,
      max: Math.max(1, r.min + r.span),
      scaleUpThreshold: r.up,
      scaleDownThreshold: r.down,
      maxScaleUpRatio: r.ratio,
      stabilisationWindowMs: r.window,
      scaleUpCooldownMs: r.upCd,
      scaleDownCooldownMs: r.downCd,
    }),
  );

const arbStep = fc.record({
  dt: fc.integer({ min: 1000, max: 60_000 }),
  busyFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  waiters: fc.integer({ min: 0, max: 30 }),
  waitMs: fc.integer({ min: 0, max: 120_000 }),
  rate: fc.double({ min: 0, max: 10, noNaN: true }),
  peakRatio: fc.double({ min: 0, max: 5, noNaN: true }),
  confidence: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('scaling properties', () => {
  it('size stays within [min, max] and never drops while acquisitions wait', () => {
    fc.assert(
      fc.property(arbConfig, fc.array(arbStep, { minLength: 1, maxLength: 60 }), (c, steps) => {
        let size = c.min;
        let now = 0;
        let state: ScalingPolicyState = warm();
        for (const s of steps) {
          now += s.dt;
          const busy = Math.round(size * s.busyFrac);
          const o = obs({
            now,
            size,
            ready: size,
            busy,
            utilization: size ? busy / size : 0,
            waiters: s.waiters,
            waitMs: s.waitMs,
            arrivalRatePerS: s.rate,
          });
          const { decision, state: next } = decideScaling(o, c, state, {
            peakRatio: s.peakRatio,
            confidence: s.confidence,
          });
          expect(decision.target).toBeGreaterThanOrEqual(c.min);
          expect(decision.target).toBeLessThanOrEqual(c.max);
          if (s.waiters > 0) expect(decision.target).toBeGreaterThanOrEqual(size);
          if (decision.direction === 'down') expect(size - decision.target).toBeLessThanOrEqual(size - busy);
          state = markApplied(next, decision);
          size = decision.target;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stabilisation prevents flapping on oscillating input', () => {
    // Demand alternates high/low every `half` ms, faster than the stabilisation window.
    fc.assert(
      fc.property(
        fc.integer({ min: 15_000, max: 90_000 }),
        fc.double({ min: 0.5, max: 3, noNaN: true }),
        fc.integer({ min: 40, max: 120 }),
        (half, highRate, steps) => {
          const c = cfg({ stabilisationWindowMs: 300_000, scaleDownCooldownMs: 0, scaleUpCooldownMs: 0 });
          let size = 1;
          let state = warm();
          const directions: { at: number; d: 'up' | 'down' }[] = [];
          for (let i = 0; i < steps; i++) {
            const now = i * 15_000;
            const high = Math.floor(now / half) % 2 === 0;
            const rate = high ? highRate : highRate * 0.2;
            const needed = (rate * 20) / 1; // busy agents demanded
            const busy = Math.min(size, Math.round(needed));
            const waiters = Math.max(0, Math.round(needed) - size);
            const o = obs({
              now,
              size,
              ready: size,
              busy,
              utilization: size ? busy / size : 0,
              waiters,
              waitMs: waiters > 0 ? 10_000 : 0,
              arrivalRatePerS: rate,
            });
            const r = decideScaling(o, c, state);
            state = markApplied(r.state, r.decision);
            if (r.decision.direction !== 'hold') directions.push({ at: now, d: r.decision.direction });
            size = r.decision.target;
          }
          // After the first scale-down, the window keeps the peak recommendation: no reversal within 300 s.
          for (let i = 1; i < directions.length; i++) {
            const a = directions[i - 1] as { at: number; d: string };
            const b = directions[i] as { at: number; d: string };
            if (a.d === 'up' && b.d === 'down') expect(b.at - a.at).toBeGreaterThanOrEqual(300_000);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('defaults are valid', () => {
    expect(validateScalingConfig({})).toEqual({ ...DEFAULT_SCALING_CONFIG });
  });
});
