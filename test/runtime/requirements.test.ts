/**
 * `hasAmounts` (the reservation fast path in pool.ts) agrees with `amountsOf` on every requirements
 * object: a request reserves nothing exactly when it names no positive amount.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountsOf, hasAmounts, type Requirements } from '../../src/runtime/requirements.js';

const amount = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true }));
const requirements: fc.Arbitrary<Requirements> = fc.record(
  {
    memoryMb: amount,
    cpuCores: amount,
    tokens: amount,
    diskMb: amount,
    networkMbps: amount,
    tools: fc.array(fc.constantFrom('git', 'npm')),
    securityLevel: fc.constantFrom('low', 'medium', 'high'),
    specialization: fc.string(),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Requirements>;

describe('hasAmounts', () => {
  it('is true exactly when amountsOf is non-empty', () => {
    fc.assert(
      fc.property(requirements, (r) => {
        expect(hasAmounts(r)).toBe(Object.keys(amountsOf(r)).length > 0);
      }),
      { numRuns: 500 },
    );
    expect(hasAmounts({})).toBe(false);
    expect(hasAmounts({ tools: ['git'], memoryMb: 0 })).toBe(false);
    expect(hasAmounts({ tokens: 1 })).toBe(true);
  });
});
