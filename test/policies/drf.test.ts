import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dominantShare, drfAllocate, drfOrder, drfPick, fits } from '../../src/policies/drf.js';

const CAP = { cpuCores: 9, memoryMb: 18 * 1024 };
const A = { cpuCores: 1, memoryMb: 4 * 1024 };
const B = { cpuCores: 3, memoryMb: 1024 };

describe('DRF', () => {
  it('the paper vector: 9 CPU, 18 GB; A <1, 4 GB>, B <3, 1 GB> → A 3, B 2, both at 2/3', () => {
    const r = drfAllocate(CAP, [
      { id: 'A', perTask: A },
      { id: 'B', perTask: B },
    ]);
    expect(r.tasks).toEqual({ A: 3, B: 2 });
    expect(r.shares.A).toBeCloseTo(2 / 3);
    expect(r.shares.B).toBeCloseTo(2 / 3);
    expect(r.free.cpuCores).toBe(0);
  });

  it('the same vector as an admission order of waiting acquisitions', () => {
    const waiters = [...Array(5)].flatMap(() => [
      { tenant: 'A', demand: A },
      { tenant: 'B', demand: B },
    ]);
    const order = drfOrder(waiters, new Map(), CAP);
    const admitted = order.map((i) => waiters[i]!.tenant);
    expect(admitted.filter((t) => t === 'A')).toHaveLength(3);
    expect(admitted.filter((t) => t === 'B')).toHaveLength(2);
  });

  it('picks the tenant with the lowest dominant share that fits, FIFO within a tenant', () => {
    const held = new Map([['A', { cpuCores: 1 }]]);
    const w = [
      { tenant: 'A', demand: { cpuCores: 1 } },
      { tenant: 'B', demand: { cpuCores: 5 } },
      { tenant: 'B', demand: { cpuCores: 1 } },
    ];
    // B holds nothing but its first waiter does not fit: its second (fitting) waiter is admitted.
    expect(drfPick(w, held, { cpuCores: 9 }, { cpuCores: 2 })).toBe(2);
    expect(drfPick(w, held, { cpuCores: 9 }, { cpuCores: 9 })).toBe(1);
    expect(drfPick(w, held, { cpuCores: 9 }, { cpuCores: 0.5 })).toBe(-1);
  });

  it('dominantShare ignores unlimited resources; fits treats missing free as unlimited', () => {
    expect(
      dominantShare({ cpuCores: 3, tokens: 5 }, { cpuCores: 9, tokens: Number.POSITIVE_INFINITY }),
    ).toBeCloseTo(1 / 3);
    expect(fits({ gpus: 4 }, { cpuCores: 0 })).toBe(true);
    expect(fits({ cpuCores: 1 }, { cpuCores: 0.5 })).toBe(false);
  });

  it('property: never over-allocates, and no tenant could take one more task while its share is below another admitted tenant', () => {
    const demand = fc.record({
      cpuCores: fc.integer({ min: 1, max: 4 }),
      memoryMb: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(
      fc.property(fc.array(demand, { minLength: 1, maxLength: 5 }), (demands) => {
        const cap = { cpuCores: 20, memoryMb: 40 };
        const tenants = demands.map((perTask, i) => ({ id: `t${i}`, perTask }));
        const r = drfAllocate(cap, tenants);
        let cpu = 0;
        let mem = 0;
        tenants.forEach((t) => {
          cpu += r.tasks[t.id]! * t.perTask.cpuCores;
          mem += r.tasks[t.id]! * t.perTask.memoryMb;
        });
        expect(cpu).toBeLessThanOrEqual(cap.cpuCores);
        expect(mem).toBeLessThanOrEqual(cap.memoryMb);
        // Termination: no tenant's next task still fits.
        for (const t of tenants)
          expect(fits(t.perTask, { cpuCores: cap.cpuCores - cpu, memoryMb: cap.memoryMb - mem })).toBe(false);
      }),
    );
  });
});
