import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  applyOpportunities,
  DEFAULT_REBALANCE_CONFIG as C,
  findOpportunities,
  resolveRebalanceConfig,
} from '../../src/policies/rebalancing.js';

const LIMITS = {
  available: { memoryMb: 10_000 },
  perAgentMax: { memoryMb: 8192 },
  perAgentMin: { memoryMb: 256 },
};

describe('findOpportunities', () => {
  it('gives back 40 % of memory used below 30 % and 30 % of CPU used below 25 %', () => {
    const ops = findOpportunities(
      [
        {
          allocationId: 'a',
          allocated: { memoryMb: 2000, cpuCores: 2 },
          used: { memoryMb: 200, cpuCores: 0.2 },
        },
      ],
      LIMITS,
      C,
    );
    const mem = ops.find((o) => o.kind === 'shrink-memory');
    const cpu = ops.find((o) => o.kind === 'shrink-cpu');
    expect(mem?.delta).toBe(-2000 * C.memoryGiveBack);
    expect(cpu?.delta).toBeCloseTo(-2 * C.cpuGiveBack);
  });

  it('never shrinks below the per-agent minimum', () => {
    const ops = findOpportunities(
      [{ allocationId: 'a', allocated: { memoryMb: 300 }, used: { memoryMb: 10 } }],
      LIMITS,
      C,
    );
    expect(ops[0]?.delta).toBe(-(300 - 256));
  });

  it('grows memory under pressure by 50 % if the ledger allows, capped by the per-agent max', () => {
    const ops = findOpportunities(
      [{ allocationId: 'a', allocated: { memoryMb: 2000 }, used: { memoryMb: 1950 } }],
      LIMITS,
      C,
    );
    expect(ops).toMatchObject([{ kind: 'grow-memory', delta: 2000 * C.memoryGrow }]);
    const capped = findOpportunities(
      [{ allocationId: 'a', allocated: { memoryMb: 8000 }, used: { memoryMb: 7900 } }],
      LIMITS,
      C,
    );
    expect(capped[0]?.delta).toBe(192);
    const noRoom = { ...LIMITS, available: { memoryMb: 999 } };
    expect(
      findOpportunities(
        [{ allocationId: 'a', allocated: { memoryMb: 2000 }, used: { memoryMb: 1950 } }],
        noRoom,
        C,
      ),
    ).toEqual([]);
  });

  it('counts memory freed by surer shrinks when deciding whether a grow fits', () => {
    const obs = [
      { allocationId: 'idle', allocated: { memoryMb: 5000 }, used: { memoryMb: 0 } },
      { allocationId: 'hot', allocated: { memoryMb: 2000 }, used: { memoryMb: 1910 } },
    ];
    const ops = findOpportunities(obs, { ...LIMITS, available: { memoryMb: 0 } }, C);
    expect(ops.map((o) => o.allocationId)).toEqual(['idle', 'hot']);
  });

  it('sorts by confidence, scales it by samples and leaves healthy allocations alone', () => {
    const ops = findOpportunities(
      [
        { allocationId: 'slight', allocated: { memoryMb: 1000 }, used: { memoryMb: 250 } },
        { allocationId: 'strong', allocated: { memoryMb: 1000 }, used: { memoryMb: 10 } },
        { allocationId: 'few', allocated: { memoryMb: 1000 }, used: { memoryMb: 10 }, samples: 1 },
        {
          allocationId: 'fine',
          allocated: { memoryMb: 1000, cpuCores: 1 },
          used: { memoryMb: 500, cpuCores: 0.5 },
        },
      ],
      LIMITS,
      C,
    );
    expect(ops.map((o) => o.allocationId)).toEqual(['strong', 'few', 'slight']);
    for (let i = 1; i < ops.length; i++)
      expect(ops[i - 1]!.confidence).toBeGreaterThanOrEqual(ops[i]!.confidence);
    expect(ops[1]!.confidence).toBeCloseTo(ops[0]!.confidence / C.minSamples);
  });
});

describe('applyOpportunities', () => {
  it('records what was freed or granted, and refusals', () => {
    const ops = findOpportunities(
      [
        { allocationId: 'a', allocated: { memoryMb: 1000 }, used: { memoryMb: 0 } },
        { allocationId: 'b', allocated: { memoryMb: 1000 }, used: { memoryMb: 990 } },
      ],
      LIMITS,
      C,
    );
    const out = applyOpportunities(ops, (id, delta) =>
      id === 'a'
        ? { ok: true, before: 1000, after: 1000 + delta.memoryMb! }
        : { ok: false, error: 'no room' },
    );
    expect(out).toMatchObject([
      { applied: true, freed: 400, granted: 0 },
      { applied: false, freed: 0, granted: 0, error: 'no room' },
    ]);
  });
});

describe('resolveRebalanceConfig', () => {
  it('validates', () => {
    expect(resolveRebalanceConfig({ memoryGiveBack: 0.5 }).memoryGiveBack).toBe(0.5);
    expect(() => resolveRebalanceConfig({ memoryGiveback: 0.5 })).toThrow(ConfigError);
    expect(() => resolveRebalanceConfig({ memoryUnderuse: 0.95 })).toThrow(ConfigError);
    expect(() => resolveRebalanceConfig({ cpuGiveBack: 2 })).toThrow(ConfigError);
  });
});
