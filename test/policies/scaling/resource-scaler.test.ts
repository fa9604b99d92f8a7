import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import {
  decideResourceQuotas,
  initialResourceScalerState,
  RESOURCE_NAMES,
  type ResourceName,
  type ResourceScalerConfig,
  type ResourceScalerState,
  validateResourceScalerConfig,
} from '../../../src/policies/scaling/resource-scaler.js';
import { configErrorOf } from '../../helpers/config-error.js';

const rejects = (input: unknown, path: string) =>
  configErrorOf(() => validateResourceScalerConfig(input, 'rs'), path);

const cpu = (extra: Record<string, unknown> = {}) => ({ min: 2, max: 16, step: 2, ...extra });
const oneRule = (rule: Record<string, unknown>) => ({
  limits: { cpuCores: 32 },
  pools: { a: { cpuCores: rule } },
});

describe('resource scaler config', () => {
  it('accepts a valid config and fills defaults', () => {
    const c = validateResourceScalerConfig(oneRule(cpu()));
    expect(c.pools.a?.cpuCores).toEqual({
      min: 2,
      max: 16,
      step: 2,
      targetUtilization: 0.7,
      scaleUpThreshold: 0.85,
      scaleDownThreshold: 0.4,
      upCooldownMs: 0,
      downCooldownMs: 300_000,
    });
  });

  it('rejects bad thresholds, up ≤ down, min > max, negative cooldowns, unknown keys', () => {
    expect(
      rejects(oneRule(cpu({ scaleUpThreshold: 1.5 })), 'rs.pools.a.cpuCores.scaleUpThreshold').received,
    ).toBe(1.5);
    rejects(oneRule(cpu({ scaleDownThreshold: -0.1 })), 'rs.pools.a.cpuCores.scaleDownThreshold');
    rejects(
      oneRule(cpu({ scaleUpThreshold: 0.5, scaleDownThreshold: 0.5 })),
      'rs.pools.a.cpuCores.scaleUpThreshold',
    );
    rejects(oneRule(cpu({ min: 20 })), 'rs.pools.a.cpuCores.min');
    rejects(oneRule(cpu({ upCooldownMs: -1 })), 'rs.pools.a.cpuCores.upCooldownMs');
    rejects(oneRule(cpu({ downCooldownMs: -1 })), 'rs.pools.a.cpuCores.downCooldownMs');
    rejects(oneRule(cpu({ stepp: 1 })), 'rs.pools.a.cpuCores.stepp');
    rejects(oneRule({ min: 1, max: 4 }), 'rs.pools.a.cpuCores.step');
    rejects(oneRule(cpu({ step: 0 })), 'rs.pools.a.cpuCores.step');
    rejects(oneRule(cpu({ targetUtilization: 0 })), 'rs.pools.a.cpuCores.targetUtilization');
    rejects({ limits: { cpuCores: 32, gpu: 1 }, pools: {} }, 'rs.limits.gpu');
    rejects({ limits: { cpuCores: 32 }, pools: { a: { disk: cpu() } } }, 'rs.pools.a.disk');
    rejects({ limits: {}, pools: { a: { cpuCores: cpu() } } }, 'rs.pools.a.cpuCores');
    rejects({ limits: { cpuCores: 32 }, pools: {}, extra: 1 }, 'rs.extra');
  });

  it('rejects pool minimums that do not fit under the global limit', () => {
    rejects(
      {
        limits: { cpuCores: 10 },
        pools: { a: { cpuCores: cpu({ min: 6 }) }, b: { cpuCores: cpu({ min: 6 }) } },
      },
      'rs.pools.b.cpuCores.min',
    );
  });
});

function setup(rule: Record<string, unknown>, limit = 32): ResourceScalerState {
  return initialResourceScalerState(
    validateResourceScalerConfig({ limits: { cpuCores: limit }, pools: { a: { cpuCores: rule } } }),
  );
}

describe('decideResourceQuotas', () => {
  it('starts at min and grows in steps toward the target utilization', () => {
    const s0 = setup(cpu());
    expect(s0.quotas.a?.cpuCores).toBe(2);
    // used 3.8 on quota 2: want 3.8 / 0.7 = 5.43 → steps of 2 above 2: ceil(3.43/2) = 2 → 6.
    const r = decideResourceQuotas(s0, { a: { cpuCores: 3.8 } }, 1000);
    const want = 3.8 / 0.7;
    const expected = 2 + Math.ceil((want - 2) / 2) * 2;
    expect(r.quotas.a?.cpuCores).toBe(expected);
    expect(r.decisions).toEqual([
      {
        pool: 'a',
        resource: 'cpuCores',
        from: 2,
        to: expected,
        reason: 'utilization-above-threshold',
        utilization: 3.8 / 2,
        cappedByGlobalLimit: false,
      },
    ]);
    // The input state is untouched.
    expect(s0.quotas.a?.cpuCores).toBe(2);
  });

  it('does nothing inside the thresholds or without data', () => {
    const s0 = setup(cpu({ min: 10 }));
    expect(decideResourceQuotas(s0, { a: { cpuCores: 6 } }, 0).decisions).toEqual([]); // 0.6
    expect(decideResourceQuotas(s0, {}, 0).decisions).toEqual([]);
  });

  it('caps growth at max', () => {
    const s0 = setup(cpu());
    const r = decideResourceQuotas(s0, { a: { cpuCores: 100 } }, 0);
    expect(r.quotas.a?.cpuCores).toBe(16);
  });

  it('shrinks at least one step, never below min, and not so far that it would grow again', () => {
    let s = setup(cpu({ downCooldownMs: 0 }));
    s = decideResourceQuotas(s, { a: { cpuCores: 100 } }, 0).state; // 16
    // used 1 on 16: want 1/0.7 = 1.43 → floor((16-1.43)/2) = 7 steps → 2 (= min).
    const r = decideResourceQuotas(s, { a: { cpuCores: 1 } }, 1);
    expect(r.quotas.a?.cpuCores).toBe(Math.max(2, 16 - Math.floor((16 - 1 / 0.7) / 2) * 2));
    expect(r.decisions[0]?.reason).toBe('utilization-below-threshold');
    // used 5.9 on 16 (0.37 < 0.4): target 8.43 → 3 steps → 10 (util 0.59, below 0.85: no flap).
    const r2 = decideResourceQuotas(s, { a: { cpuCores: 5.9 } }, 1);
    expect(r2.quotas.a?.cpuCores).toBe(16 - Math.floor((16 - 5.9 / 0.7) / 2) * 2);
    expect(5.9 / (r2.quotas.a?.cpuCores ?? 0)).toBeLessThanOrEqual(0.85);
  });

  it('keeps separate up and down cooldowns', () => {
    let s = setup(cpu({ upCooldownMs: 60_000, downCooldownMs: 120_000 }));
    s = decideResourceQuotas(s, { a: { cpuCores: 1.9 } }, 0).state; // 2 → 4 at t=0
    expect(s.quotas.a?.cpuCores).toBe(4);
    // Up again too soon: refused until 60 s after the last increase.
    expect(decideResourceQuotas(s, { a: { cpuCores: 3.9 } }, 59_999).decisions).toEqual([]);
    expect(decideResourceQuotas(s, { a: { cpuCores: 3.9 } }, 60_000).quotas.a?.cpuCores).toBeGreaterThan(4);
    // Down: measured from the last change (the increase at t=0).
    expect(decideResourceQuotas(s, { a: { cpuCores: 0.1 } }, 119_999).decisions).toEqual([]);
    expect(decideResourceQuotas(s, { a: { cpuCores: 0.1 } }, 120_000).quotas.a?.cpuCores).toBe(2);
  });

  it('never grants more than is free globally; the most pressed pool is served first', () => {
    const cfg = validateResourceScalerConfig({
      limits: { cpuCores: 12 },
      pools: { a: { cpuCores: cpu() }, b: { cpuCores: cpu() }, c: { cpuCores: cpu() } },
    });
    const s0 = initialResourceScalerState(cfg); // 2 + 2 + 2 = 6, 6 free
    const r = decideResourceQuotas(
      s0,
      { a: { cpuCores: 1.8 }, b: { cpuCores: 10 }, c: { cpuCores: 1.9 } },
      0,
    );
    // b has the highest utilization (5) and wants 16 (capped by max), gets 2 + 6 free = 8.
    expect(r.quotas.b?.cpuCores).toBe(8);
    expect(r.quotas.a?.cpuCores).toBe(2);
    expect(r.quotas.c?.cpuCores).toBe(2);
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]?.cappedByGlobalLimit).toBe(true);
  });

  it('frees capacity with shrinks before growing other pools in the same round', () => {
    const cfg = validateResourceScalerConfig({
      limits: { cpuCores: 18 },
      pools: { a: { cpuCores: cpu({ downCooldownMs: 0 }) }, b: { cpuCores: cpu() } },
    });
    let s = initialResourceScalerState(cfg);
    s = decideResourceQuotas(s, { a: { cpuCores: 100 } }, 0).state; // a: 16, b: 2 — full
    const r = decideResourceQuotas(s, { a: { cpuCores: 0.5 }, b: { cpuCores: 10 } }, 1);
    expect(r.quotas.a?.cpuCores).toBe(2);
    expect(r.quotas.b?.cpuCores).toBe(16);
    expect(r.decisions.map((d) => d.reason)).toEqual([
      'utilization-below-threshold',
      'utilization-above-threshold',
    ]);
  });

  it('rejects a bad observation with a typed error', () => {
    const s0 = setup(cpu());
    expect(() => decideResourceQuotas(s0, { nope: { cpuCores: 1 } }, 0)).toThrow(InvalidArgumentError);
    expect(() => decideResourceQuotas(s0, { a: { cpuCores: -1 } }, 0)).toThrow(InvalidArgumentError);
    expect(() => decideResourceQuotas(s0, { a: { gpu: 1 } as never }, 0)).toThrow(InvalidArgumentError);
    expect(() => decideResourceQuotas(s0, { a: { cpuCores: Number.NaN } }, 0)).toThrow(InvalidArgumentError);
  });
});

// ---- property: bounds, global limit and cooldowns hold on any run ----

const ruleArb = fc
  .record({
    min: fc.integer({ min: 0, max: 4 }),
    span: fc.integer({ min: 1, max: 20 }),
    step: fc.constantFrom(0.5, 1, 2, 3),
    down: fc.double({ min: 0.05, max: 0.5, noNaN: true }),
    gap: fc.double({ min: 0.05, max: 0.45, noNaN: true }),
    target: fc.double({ min: 0.3, max: 1, noNaN: true }),
    upCooldownMs: fc.integer({ min: 0, max: 5_000 }),
    downCooldownMs: fc.integer({ min: 0, max: 5_000 }),
  })
  .map((r) => ({
    min: r.min,
    max: r.min + r.span,
    step: r.step,
    targetUtilization: r.target,
    scaleDownThreshold: r.down,
    scaleUpThreshold: Math.min(1, r.down + r.gap),
    upCooldownMs: r.upCooldownMs,
    downCooldownMs: r.downCooldownMs,
  }));

const configArb = fc
  .record({
    pools: fc.array(fc.record({ cpuCores: ruleArb, memoryMb: fc.option(ruleArb, { nil: undefined }) }), {
      minLength: 1,
      maxLength: 4,
    }),
    extraCpu: fc.integer({ min: 0, max: 30 }),
    extraMem: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ pools, extraCpu, extraMem }): ResourceScalerConfig => {
    const input: Record<string, Record<string, unknown>> = {};
    let cpuMin = 0;
    let memMin = 0;
    pools.forEach((p, i) => {
      input[`p${i}`] = p.memoryMb ? { cpuCores: p.cpuCores, memoryMb: p.memoryMb } : { cpuCores: p.cpuCores };
      cpuMin += p.cpuCores.min;
      memMin += p.memoryMb?.min ?? 0;
    });
    return validateResourceScalerConfig({
      limits: { cpuCores: cpuMin + extraCpu, memoryMb: memMin + extraMem },
      pools: input,
    });
  });

describe('resource scaler properties', () => {
  it('quotas stay in [min, max], sums stay under the global limit, cooldowns hold', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 3_000 }),
            usage: fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 8, maxLength: 8 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (cfg, steps) => {
          let s = initialResourceScalerState(cfg);
          let now = 0;
          const lastUp = new Map<string, number>();
          const lastChange = new Map<string, number>();
          const pools = Object.keys(cfg.pools);
          for (const step of steps) {
            now += step.dt;
            const obs: Record<string, Partial<Record<ResourceName, number>>> = {};
            pools.forEach((p, i) => {
              obs[p] = { cpuCores: step.usage[i] ?? 0, memoryMb: step.usage[i + 4] ?? 0 };
            });
            const r = decideResourceQuotas(s, obs, now);
            for (const d of r.decisions) {
              const key = `${d.pool}/${d.resource}`;
              const rule = cfg.pools[d.pool]?.[d.resource];
              expect(rule).toBeDefined();
              if (d.to > d.from && d.reason === 'utilization-above-threshold') {
                expect(now - (lastUp.get(key) ?? -Infinity)).toBeGreaterThanOrEqual(rule!.upCooldownMs);
              }
              if (d.to < d.from && d.reason === 'utilization-below-threshold') {
                expect(now - (lastChange.get(key) ?? -Infinity)).toBeGreaterThanOrEqual(rule!.downCooldownMs);
              }
              if (d.to > d.from) lastUp.set(key, now);
              lastChange.set(key, now);
            }
            for (const res of RESOURCE_NAMES) {
              let sum = 0;
              for (const p of pools) {
                const rule = cfg.pools[p]?.[res];
                const q = r.quotas[p]?.[res];
                if (!rule) {
                  expect(q).toBeUndefined();
                  continue;
                }
                expect(q).toBeGreaterThanOrEqual(rule.min);
                expect(q).toBeLessThanOrEqual(rule.max + 1e-9);
                sum += q ?? 0;
              }
              const limit = cfg.limits[res];
              if (limit !== undefined) expect(sum).toBeLessThanOrEqual(limit + 1e-9);
            }
            s = r.state;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
