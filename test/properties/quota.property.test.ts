/**
 * Quotas never over-allocate: under any sequence of reserves, resizes, releases and quota changes
 * (raises, lowerings — refused below what is held — and removals), every group holds at most its quota
 * of each resource whenever that quota was set at or above what it held, the global limit is never
 * passed, and each group's usage is exactly the sum of its live allocations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/structures/ledger.js';

const GROUPS = ['a', 'b', 'c'] as const;
const RESOURCES = ['memoryMb', 'cpuCores'] as const;
const LIMITS = { memoryMb: 1000, cpuCores: 8 };

const group = fc.constantFrom(...GROUPS);
const resource = fc.constantFrom(...RESOURCES);
const amount = fc.integer({ min: 0, max: 600 });
const op = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    group,
    memoryMb: amount,
    cpuCores: fc.integer({ min: 0, max: 4 }),
  }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('resize' as const),
    pick: fc.nat(),
    delta: fc.integer({ min: -300, max: 300 }),
  }),
  fc.record({
    kind: fc.constant('quota' as const),
    group,
    resource,
    amount: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  }),
);

describe('ledger quotas (property)', () => {
  it('no group passes its quota, the global limit holds, group usage = sum of its allocations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const l = new Ledger({ limits: LIMITS });
        const live: { id: string; group: string }[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'reserve') {
            const r = l.reserve({
              id: `x${++n}`,
              group: o.group,
              amounts: { memoryMb: o.memoryMb, cpuCores: o.cpuCores },
            });
            if (r.ok) live.push({ id: r.allocation.id, group: o.group });
          } else if (o.kind === 'release' && live.length > 0) {
            const [gone] = live.splice(o.pick % live.length, 1);
            l.release(gone!.id);
          } else if (o.kind === 'resize' && live.length > 0) {
            const a = live[o.pick % live.length]!;
            const held = l.get(a.id)!.amounts.memoryMb ?? 0;
            try {
              l.resize(a.id, { delta: { memoryMb: Math.max(-held, o.delta) } });
            } catch (e) {
              // Growth past the global total can never fit: a typed error, nothing changed.
              expect(e).toMatchObject({ code: 'ERR_RESOURCE_EXHAUSTED' });
            }
          } else if (o.kind === 'quota') {
            const before = l.quotas(o.group)[o.resource];
            const r = l.setQuota(o.group, o.resource, o.amount);
            // A refused lowering changes nothing.
            if (!r.ok) expect(l.quotas(o.group)[o.resource]).toBe(before);
          }
          const used = l.usage();
          for (const r of RESOURCES) expect(used[r]!).toBeLessThanOrEqual(LIMITS[r] + 1e-9);
          for (const g of GROUPS) {
            const usage = l.groupUsage(g);
            const q = l.quotas(g);
            for (const r of RESOURCES) {
              const sum = live
                .filter((a) => a.group === g)
                .reduce((s, a) => s + (l.get(a.id)!.amounts[r] ?? 0), 0);
              expect(usage[r]).toBeCloseTo(sum, 6);
              if (q[r] !== undefined) expect(usage[r]!).toBeLessThanOrEqual(q[r] + 1e-9);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
