import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { tryValidateScalingConfig, validateScalingConfig } from '../../../src/policies/scaling/config.js';
import {
  type HpaConfig,
  type HpaObservation,
  hpaApplied,
  hpaDecide,
  hpaRecommendation,
  initialHpaState,
  validateHpaConfig,
} from '../../../src/policies/scaling/hpa.js';
import { configErrorOf } from '../../helpers/config-error.js';

const rejects = (input: unknown, path: string) =>
  configErrorOf(() => validateScalingConfig(input, 'pools.code.scaling'), path);

describe('scaling config validation', () => {
  it('rejects thresholds outside 0..1, up ≤ down, negative cooldowns, min > max, unknown keys', () => {
    expect(rejects({ scaleUpThreshold: 1.2 }, 'pools.code.scaling.scaleUpThreshold').received).toBe(1.2);
    rejects({ scaleDownThreshold: -0.1 }, 'pools.code.scaling.scaleDownThreshold');
    rejects({ scaleUpThreshold: 0.4, scaleDownThreshold: 0.4 }, 'pools.code.scaling.scaleUpThreshold');
    rejects({ scaleUpThreshold: 0.3, scaleDownThreshold: 0.6 }, 'pools.code.scaling.scaleUpThreshold');
    rejects({ scaleUpCooldownMs: -1 }, 'pools.code.scaling.scaleUpCooldownMs');
    rejects({ scaleDownCooldownMs: -5 }, 'pools.code.scaling.scaleDownCooldownMs');
    rejects({ min: 5, max: 3 }, 'pools.code.scaling.min');
    rejects({ targetUtilization: 0 }, 'pools.code.scaling.targetUtilization');
    rejects({ maxScaleUpRatio: 1 }, 'pools.code.scaling.maxScaleUpRatio');
    const e = rejects({ scaleUpCoolDown: 5 }, 'pools.code.scaling.scaleUpCoolDown');
    expect(e.message).toContain('scaleUpCooldownMs');
    rejects('fast', 'pools.code.scaling');
  });

  it('fills defaults and keeps a base config for partial updates', () => {
    const base = validateScalingConfig({ min: 2, max: 20 });
    const next = validateScalingConfig({ max: 30 }, 'update', base);
    expect(next.min).toBe(2);
    expect(next.max).toBe(30);
  });

  it('tryValidate returns the error instead of throwing', () => {
    const r = tryValidateScalingConfig({ scaleUpThreshold: 7 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.path).toBe('scaling.scaleUpThreshold');
  });
});

describe('Kubernetes HPA model', () => {
  const cfg = (o: Partial<HpaConfig> = {}) => validateHpaConfig({ min: 1, max: 100, ...o });
  const at = (o: Partial<HpaObservation>): HpaObservation => ({
    now: 0,
    current: 10,
    ready: 10,
    readyUsage: 7.5,
    ...o,
  });

  it('desired = ceil(current × metric / target), no change within ±10 %', () => {
    const c = cfg({ targetUtilization: 0.5 });
    expect(hpaRecommendation(at({ readyUsage: 9 }), c)).toBe(Math.ceil(10 * (0.9 / 0.5))); // 18
    expect(hpaRecommendation(at({ readyUsage: 5.4 }), c)).toBe(10); // ratio 1.08: within tolerance
    expect(hpaRecommendation(at({ readyUsage: 4.6 }), c)).toBe(10); // ratio 0.92
    expect(hpaRecommendation(at({ readyUsage: 2 }), c)).toBe(4); // ratio 0.4 → ceil(4)
  });

  it('not-ready pods count as 0 % on scale-up', () => {
    const c = cfg({ targetUtilization: 0.5 });
    // 6 ready all busy (ratio 2), 4 starting: recomputed over 10 pods → 6/10/0.5 = 1.2 → ceil(12)
    expect(hpaRecommendation(at({ current: 10, ready: 6, readyUsage: 6 }), c)).toBe(12);
    // 4 ready at 60 % (ratio 1.2), 6 starting → 2.4/10/0.5 = 0.48 < 1: no change
    expect(hpaRecommendation(at({ current: 10, ready: 4, readyUsage: 2.4 }), c)).toBe(10);
  });

  it('scale-down stabilisation keeps the highest recommendation of the last 300 s', () => {
    const c = cfg({ targetUtilization: 0.5 });
    let s = initialHpaState();
    const r0 = hpaDecide(at({ now: 0, current: 20, ready: 20, readyUsage: 10 }), c, s); // rec 20, hold
    s = r0.state;
    const r1 = hpaDecide(at({ now: 15_000, current: 20, ready: 20, readyUsage: 2 }), c, s); // rec 4
    expect(r1.recommendation).toBe(4);
    expect(r1.desired).toBe(20);
    const r2 = hpaDecide(at({ now: 300_001, current: 20, ready: 20, readyUsage: 2 }), c, r1.state);
    expect(r2.desired).toBe(4); // the 20 at t=0 left the window; the 4 at t=15 s is the max
  });

  it('scale-up rate policy: max(+4 pods, +100 %) per 15 s, counted from the period start', () => {
    const c = cfg({ targetUtilization: 0.1 });
    const busy = (n: number, now: number) => at({ now, current: n, ready: n, readyUsage: n });
    const r1 = hpaDecide(busy(2, 0), c, initialHpaState());
    expect(r1.desired).toBe(6); // max(2 + 4, 2 × 2)
    const s1 = hpaApplied(r1.state, 0, 4);
    // 10 s later, still inside the period: the limit is still from 2 → 6, so no more
    const r2 = hpaDecide(at({ now: 10_000, current: 6, ready: 2, readyUsage: 2 }), c, s1);
    expect(r2.desired).toBe(6);
    const r3 = hpaDecide(busy(20, 30_000), c, initialHpaState());
    expect(r3.desired).toBe(40); // max(24, 40)
  });

  it('results stay within [min, max] and bad config is rejected', () => {
    const c = cfg({ min: 3, max: 8, targetUtilization: 0.5 });
    expect(hpaDecide(at({ readyUsage: 10 }), c, initialHpaState()).desired).toBe(8);
    expect(hpaDecide(at({ current: 8, ready: 8, readyUsage: 0 }), c, initialHpaState()).desired).toBe(3);
    expect(() => validateHpaConfig({ min: 4, max: 2 })).toThrow(ConfigError);
    expect(() => validateHpaConfig({ tolerence: 0.1 })).toThrow(/hpa.tolerence/);
  });
});
