/**
 * Pool option `admission: 'drf'`: when agents free up, waiting acquisitions are admitted by Dominant
 * Resource Fairness across cycles (tenants) over the global limits; `'fifo'` keeps arrival order.
 * Inline agents on a ManualClock: every agent is leased by a blocker first, so the tenants' acquisitions
 * all wait, then the blockers are released and we watch who gets in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DrfWaiter, drfOrder } from '../../src/policies/drf.js';
import type { AdmissionOrder } from '../../src/runtime/config.js';
import type { Lease } from '../../src/runtime/lease.js';
import { type Outcome, startSystem, track } from './helpers.js';

const GB = 1024;
/** Per-agent capacity large enough for every request here: only the global limits constrain. */
const BIG = { cpuCores: 16, memoryMb: 32 * GB };

interface Tenant {
  id: string;
  cpuCores: number;
  memoryMb: number;
}

/**
 * Queue `arrivals` (tenant ids, in order) behind `agents` blocker leases, release the blockers (all in
 * one synchronous burst, or one at a time with microtasks in between), and report who got a lease.
 */
async function admit(opts: {
  admission: AdmissionOrder;
  limits: { cpuCores: number; memoryMb: number };
  tenants: Tenant[];
  arrivals: string[];
  agents: number;
  burst: boolean;
}) {
  const { sys, clock } = await startSystem(
    { work: { min: opts.agents, max: opts.agents, admission: opts.admission, capacity: BIG } },
    { limits: opts.limits },
  );
  const blockers: Lease[] = [];
  for (let i = 0; i < opts.agents; i++) blockers.push(await sys.acquire('work', { cycleId: 'blocker' }));
  const byId = new Map(opts.tenants.map((t) => [t.id, t]));
  const outcomes: { tenant: string; o: Outcome<Lease> }[] = opts.arrivals.map((id) => {
    const t = byId.get(id)!;
    const p = sys.acquire('work', {
      cycleId: t.id,
      requirements: { cpuCores: t.cpuCores, memoryMb: t.memoryMb },
      timeoutMs: 60_000,
    });
    return { tenant: id, o: track(p, clock) };
  });
  await clock.advanceAsync(0);
  expect(sys.status().pools.work!.waiting).toBe(opts.arrivals.length);
  if (opts.burst) {
    for (const b of blockers) void b.release();
  } else {
    for (const b of blockers) await b.release();
  }
  await clock.advanceAsync(0);
  const granted: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  const grantOrder: string[] = [];
  for (const { tenant, o } of outcomes) {
    if (o.state === 'fulfilled') granted[tenant] = (granted[tenant] ?? 0) + 1;
    if (o.state === 'rejected') rejected[tenant] = (rejected[tenant] ?? 0) + 1;
  }
  // Lease ids end in the pool's sequence number, which grows with every grant.
  const seqOf = (o: Outcome<Lease>) => Number(o.value?.id.split('-').at(-1) ?? Number.POSITIVE_INFINITY);
  for (const { tenant, o } of [...outcomes].sort((x, y) => seqOf(x.o) - seqOf(y.o)))
    if (o.state === 'fulfilled') grantOrder.push(tenant);
  const ledger = sys.allocator!.usage().used;
  const status = sys.status().pools.work!;
  await sys.shutdown({ graceful: false });
  return { granted, rejected, ledger, status, grantOrder };
}

const A: Tenant = { id: 'A', cpuCores: 1, memoryMb: 4 * GB };
const B: Tenant = { id: 'B', cpuCores: 3, memoryMb: 1 * GB };
const VECTOR = { cpuCores: 9, memoryMb: 18 * GB };

describe("admission: 'drf'", () => {
  for (const burst of [true, false]) {
    it(`the DRF vector: 9 CPUs, 18 GB, A ⟨1, 4 GB⟩, B ⟨3, 1 GB⟩ → A 3, B 2 (${burst ? 'agents freed in one burst' : 'freed one at a time'})`, async () => {
      // B queues first: FIFO would let B take all 9 CPUs; DRF equalises dominant shares (A: 12/18 GB,
      // B: 6/9 CPUs, both 2/3) and leaves the rest waiting because nothing more fits.
      const r = await admit({
        admission: 'drf',
        limits: VECTOR,
        tenants: [A, B],
        arrivals: ['B', 'B', 'B', 'B', 'B', 'A', 'A', 'A', 'A', 'A'],
        agents: 10,
        burst,
      });
      expect(r.granted).toEqual({ A: 3, B: 2 });
      // Nothing offered that could not be reserved: the others still wait (no resource rejections).
      expect(r.rejected).toEqual({});
      expect(r.status.waiting).toBe(5);
      expect(r.ledger.cpuCores).toBe(3 * A.cpuCores + 2 * B.cpuCores);
      expect(r.ledger.memoryMb).toBe(3 * A.memoryMb + 2 * B.memoryMb);
    });
  }

  it('the order alternates by dominant share, the first arrival winning ties', async () => {
    const r = await admit({
      admission: 'drf',
      limits: VECTOR,
      tenants: [A, B],
      arrivals: ['B', 'B', 'B', 'B', 'B', 'A', 'A', 'A', 'A', 'A'],
      agents: 10,
      burst: false,
    });
    // shares: B 1/3 (tie at 0 → B arrived first), A 2/9, A 4/9, B 2/3, A 2/3.
    expect(r.grantOrder).toEqual(['B', 'A', 'A', 'B', 'A']);
  });

  it('matches the pure DRF order (drfOrder) for random tenants, demands and arrival orders', async () => {
    const tenant = (id: string) =>
      fc.record({
        id: fc.constant(id),
        cpuCores: fc.integer({ min: 1, max: 4 }),
        memoryMb: fc.integer({ min: 1, max: 8 }),
      });
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(tenant('t0'), tenant('t1'), tenant('t2')),
        fc.array(fc.constantFrom('t0', 't1', 't2'), { minLength: 1, maxLength: 8 }),
        // Limits at least the largest demand: a request above a global limit is refused at the boundary.
        fc.record({ cpuCores: fc.integer({ min: 4, max: 12 }), memoryMb: fc.integer({ min: 8, max: 16 }) }),
        async (tenants, arrivals, limits) => {
          const byId = new Map(tenants.map((t) => [t.id, t]));
          const waiters: DrfWaiter[] = arrivals.map((id) => {
            const t = byId.get(id)!;
            return { tenant: id, demand: { cpuCores: t.cpuCores, memoryMb: t.memoryMb } };
          });
          const expected: Record<string, number> = {};
          for (const i of drfOrder(waiters, new Map(), limits))
            expected[arrivals[i]!] = (expected[arrivals[i]!] ?? 0) + 1;
          const r = await admit({
            admission: 'drf',
            limits,
            tenants,
            arrivals,
            agents: arrivals.length,
            burst: true,
          });
          expect(r.granted).toEqual(expected);
          expect(r.rejected).toEqual({});
        },
      ),
      { numRuns: 20 },
    );
  });

  it('still skips a waiter blocked by its concurrency key', async () => {
    const { sys, clock } = await startSystem(
      { work: { min: 2, max: 2, admission: 'drf', capacity: BIG } },
      { limits: VECTOR },
    );
    const keyHolder = await sys.acquire('work', { cycleId: 'A', concurrencyKey: 'repo' });
    const blocker = await sys.acquire('work', { cycleId: 'blocker' });
    // A holds nothing in the ledger (no requirements), so A has the lowest share — but its key is taken.
    const a = track(sys.acquire('work', { cycleId: 'A', concurrencyKey: 'repo', timeoutMs: 60_000 }), clock);
    const b = track(
      sys.acquire('work', { cycleId: 'B', requirements: { cpuCores: 3 }, timeoutMs: 60_000 }),
      clock,
    );
    await blocker.release();
    await clock.advanceAsync(0);
    expect(a.state).toBe('pending');
    expect(b.state).toBe('fulfilled');
    await keyHolder.release();
    await clock.advanceAsync(0);
    expect(a.state).toBe('fulfilled');
    await sys.shutdown({ graceful: false });
  });

  it('without global limits every share is 0: arrival order', async () => {
    const { sys, clock } = await startSystem({ work: { min: 1, max: 1, admission: 'drf' } });
    const held = await sys.acquire('work', { cycleId: 'blocker' });
    const order: string[] = [];
    const ps = ['B', 'A', 'B'].map((c) =>
      sys.acquire('work', { cycleId: c, timeoutMs: 60_000 }).then(async (l) => {
        order.push(c);
        await l.release();
      }),
    );
    await clock.advanceAsync(0);
    await held.release();
    await Promise.all(ps);
    expect(order).toEqual(['B', 'A', 'B']);
    await sys.shutdown({ graceful: false });
  });
});

describe("admission: 'fifo' (default)", () => {
  it('keeps arrival order: B, first in line, takes every CPU; later offers fail their reservation', async () => {
    const r = await admit({
      admission: 'fifo',
      limits: VECTOR,
      tenants: [A, B],
      arrivals: ['B', 'B', 'B', 'B', 'B', 'A', 'A', 'A', 'A', 'A'],
      agents: 10,
      burst: false,
    });
    expect(r.granted).toEqual({ B: 3 });
    expect(r.grantOrder).toEqual(['B', 'B', 'B']);
    // Every other waiter was offered an agent and refused by the allocator (no CPU left).
    expect(r.rejected).toEqual({ A: 5, B: 2 });
    expect(r.ledger.cpuCores).toBe(9);
  });

  it('the pool option is validated: an unknown order is a ConfigError naming the path', async () => {
    const { AgentPoolSystem } = await import('../../src/runtime/system.js');
    const { echoAgent } = await import('./helpers.js');
    let err: unknown;
    try {
      new AgentPoolSystem({
        pools: { work: { agent: echoAgent(), admission: 'lottery' as AdmissionOrder } },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect(String((err as Error).message)).toContain('pools.work.admission');
    expect(String((err as Error).message)).toContain('lottery');
  });
});
