import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../src/core/errors.js';
import {
  DEFAULT_ALLOCATION_POLICY,
  decideGrant,
  ledgerNumbers,
  resolveAllocationPolicy,
} from '../../src/policies/allocation.js';
import { Ledger } from '../../src/structures/ledger.js';

/** A ledger filled to `fraction` of 10 000 MB memory (and 10 cores CPU), per-agent max 4000 MB. */
function at(fraction: number, perAgentMin = 0) {
  const l = new Ledger({
    limits: { memoryMb: 10_000, cpuCores: 10, tokens: 1_000_000 },
    perAgentMax: { memoryMb: 4000 },
    perAgentMin: { memoryMb: perAgentMin },
  });
  if (fraction > 0) l.reserve({ amounts: { memoryMb: Math.min(4000, 10_000 * fraction) } });
  let rest = 10_000 * fraction - Math.min(4000, 10_000 * fraction);
  while (rest > 0) {
    const take = Math.min(4000, rest);
    l.reserve({ amounts: { memoryMb: take } });
    rest -= take;
  }
  return ledgerNumbers(l);
}

const P = DEFAULT_ALLOCATION_POLICY;

describe('decideGrant', () => {
  it('grows 1.5x below 60 % utilization', () => {
    const g = decideGrant({ requested: { memoryMb: 1000 } }, at(0.3), P);
    expect(g.amounts.memoryMb).toBe(1000 * P.growFactor);
    expect(g.rules.memoryMb).toBe('grow');
  });

  it('caps growth at the per-agent max and at what is free', () => {
    expect(decideGrant({ requested: { memoryMb: 3000 } }, at(0), P).amounts.memoryMb).toBe(4000);
    // 50 % used → 5000 free; 3 × 1000 requests never see more than free.
    const n = at(0.55);
    const free = n.available.memoryMb!;
    expect(decideGrant({ requested: { memoryMb: 3500 } }, n, P).amounts.memoryMb).toBe(
      Math.min(4000, free, 5250),
    );
  });

  it('grants exactly the request between 60 % and 80 %', () => {
    const g = decideGrant({ requested: { memoryMb: 1000 } }, at(0.7), P);
    expect(g).toEqual({ amounts: { memoryMb: 1000 }, rules: { memoryMb: 'as-requested' } });
  });

  it('squeezes to 0.8x above 80 %, never below the per-agent or stated minimum', () => {
    expect(decideGrant({ requested: { memoryMb: 1000 } }, at(0.85), P).amounts.memoryMb).toBe(
      1000 * P.shrinkFactor,
    );
    expect(decideGrant({ requested: { memoryMb: 1000 } }, at(0.85, 900), P).amounts.memoryMb).toBe(900);
    const stated = decideGrant({ requested: { memoryMb: 1000 }, minimum: { memoryMb: 950 } }, at(0.85), P);
    expect(stated.amounts.memoryMb).toBe(950);
    expect(stated.rules.memoryMb).toBe('squeeze');
  });

  it('rounds grown grants down and squeezed grants up to the step', () => {
    expect(decideGrant({ requested: { memoryMb: 333 } }, at(0), P).amounts.memoryMb).toBe(
      Math.floor(333 * 1.5),
    );
    expect(decideGrant({ requested: { memoryMb: 333 } }, at(0.9), P).amounts.memoryMb).toBe(
      Math.ceil(333 * 0.8),
    );
  });

  it('keeps tokens, exact resources and disabled policy exactly as asked', () => {
    const n = at(0);
    expect(decideGrant({ requested: { tokens: 1000 } }, n, P).amounts.tokens).toBe(1000);
    expect(decideGrant({ requested: { memoryMb: 100 }, exact: true }, n, P).amounts.memoryMb).toBe(100);
    const listed = decideGrant({ requested: { memoryMb: 100, cpuCores: 1 }, exact: ['cpuCores'] }, n, P);
    expect(listed.amounts).toEqual({ memoryMb: 150, cpuCores: 1 });
    const off = resolveAllocationPolicy({ enabled: false });
    expect(decideGrant({ requested: { memoryMb: 100 } }, n, off).amounts.memoryMb).toBe(100);
  });

  it('rejects a stated minimum above the request', () => {
    expect(() => decideGrant({ requested: { memoryMb: 10 }, minimum: { memoryMb: 11 } }, at(0.9), P)).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('resolveAllocationPolicy', () => {
  it('fills defaults and validates', () => {
    expect(resolveAllocationPolicy({ growFactor: 2 }).growFactor).toBe(2);
    expect(resolveAllocationPolicy().lowUtilization).toBe(0.6);
    expect(() => resolveAllocationPolicy({ growfactor: 2 })).toThrow(ConfigError);
    expect(() => resolveAllocationPolicy({ lowUtilization: 0.9, highUtilization: 0.5 })).toThrow(ConfigError);
    expect(() => resolveAllocationPolicy({ shrinkFactor: 0 })).toThrow(ConfigError);
  });
});
