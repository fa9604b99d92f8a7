/**
 * Every lease that reserves resources owns an allocation actor (machines/allocation.machine.ts), a
 * child of its pool's actor: its TTL ends a forgotten lease (ERR_LEASE_EXPIRED, resources back in the
 * ledger), release gives back exactly what was granted, and the allocation optimiser (on by default)
 * sizes the grant by how full the ledger is. On the old main a lease's resources were a closure: a
 * forgotten lease held its memory forever and the optimiser was off for the live system.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { sleep } from '../../src/core/clock.js';
import { testTimings, track } from './helpers.js';

function system(clock: ManualClock, over: Record<string, unknown> = {}) {
  const agent = defineAgent({
    echo: (x: unknown) => x,
    // Honours its signal after `ms` of clock time at the latest.
    wait: async ({ ms }: { ms: number }, ctx) => {
      await Promise.race([sleep(clock, ms), new Promise((r) => ctx.signal.addEventListener('abort', r))]);
      return 'done';
    },
  });
  return createAgentPoolSystem({
    clock,
    limits: { memoryMb: 4_096 },
    pools: { w: { agent, min: 1, max: 2, healthCheckIntervalMs: 0, timings: testTimings } },
    ...over,
  });
}

const usedMemory = (sys: ReturnType<typeof system>) => sys.allocator!.usage().used.memoryMb ?? 0;

describe('allocations are actors', () => {
  it('a lease with requirements has an allocation actor in the pool; release returns exactly the grant', async () => {
    const clock = new ManualClock();
    const sys = system(clock, { allocation: false });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 512 } });
    const id = lease.allocation!.id;
    // In the pool's subtree (a child of its `w-leases` group), registered in the one system as
    // `allocation:<id>`.
    const ref = sys.actor.system.get(`allocation:${id}`) as
      | { getSnapshot(): { value: unknown; status: string }; _parent?: { id: string; _parent?: unknown } }
      | undefined;
    expect(ref?._parent?.id).toBe('w-leases');
    expect(ref?._parent?._parent).toBe(sys.pool('w').actor);
    expect(ref?.getSnapshot().value).toEqual({ live: { lease: 'active', ttl: 'counting' } });
    expect(usedMemory(sys)).toBe(512);
    await lease.release();
    expect(usedMemory(sys)).toBe(0);
    // Its final state was reached (once: the ledger is back to 0, not below).
    expect(ref?.getSnapshot().status).toBe('done');
    expect(sys.actor.system.get(`allocation:${id}`)).toBeUndefined();
    // A lease without requirements reserves nothing and has no allocation.
    const plain = await sys.acquire('w', { cycleId: 'd' });
    expect(plain.allocation).toBeUndefined();
    await plain.release();
    await sys.shutdown({ graceful: false });
  });

  it('the TTL ends a forgotten lease: ERR_LEASE_EXPIRED, the running task aborted, resources back', async () => {
    const clock = new ManualClock();
    const sys = system(clock, { allocation: false });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 512 }, ttlMs: 10_000 });
    expect(lease.allocation!.expiresAt).toBe(10_000);
    const running = track(lease.run('wait', { ms: 60_000 }), clock);
    await clock.advanceAsync(9_999);
    expect(running.state).toBe('pending');
    expect(usedMemory(sys)).toBe(512);
    await clock.advanceAsync(1);
    expect(running.state).toBe('rejected');
    expect(running.error!.code).toBe('ERR_LEASE_EXPIRED');
    expect(running.at).toBe(10_000);
    expect(lease.released).toBe(true);
    expect(lease.hasExpired).toBe(true);
    expect(usedMemory(sys)).toBe(0);
    await expect(lease.run('echo', 1)).rejects.toMatchObject({ code: 'ERR_LEASE_EXPIRED' });
    // The agent serves again once its aborted task let go.
    const next = await sys.acquire('w', { cycleId: 'd', timeoutMs: 5_000 });
    await expect(next.run('echo', 2)).resolves.toBe(2);
    await next.release();
    await sys.shutdown({ graceful: false });
  });

  it('the default TTL is the system option leaseTtlMs (4 h unless set)', async () => {
    const clock = new ManualClock();
    const sys = system(clock);
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 100 } });
    expect(lease.allocation!.expiresAt).toBe(4 * 60 * 60 * 1000);
    await lease.release();
    await sys.shutdown({ graceful: false });
    const short = system(new ManualClock(), { leaseTtlMs: 60_000 });
    await short.start();
    const l2 = await short.acquire('w', { cycleId: 'c', requirements: { memoryMb: 100 } });
    expect(l2.allocation!.expiresAt).toBe(60_000);
    await short.shutdown({ graceful: false });
  });

  it('the allocation optimiser is on by default: 1.5× below 60 % used, exact below 80 %, 0.8× above', async () => {
    const clock = new ManualClock();
    const agent = defineAgent({ echo: (x: unknown) => x });
    const sys = createAgentPoolSystem({
      clock,
      limits: { memoryMb: 4_000 },
      pools: { w: { agent, min: 1, max: 1, concurrency: 4, healthCheckIntervalMs: 0, timings: testTimings } },
    });
    await sys.start();
    const grant = async (cycleId: string, memoryMb: number) =>
      (await sys.acquire('w', { cycleId, requirements: { memoryMb } })).allocation!.amounts.memoryMb;
    expect(await grant('a', 1_000)).toBe(1_500); // 0 % used: grown 1.5×
    expect(await grant('b', 1_000)).toBe(1_500); // 37.5 % used: grown
    expect(await grant('c', 200)).toBe(200); // 75 % used: exact
    expect(await grant('d', 500)).toBe(400); // 80 % used: squeezed to 0.8×
    expect(sys.allocator!.usage().used.memoryMb).toBe(3_600);
    await sys.shutdown({ graceful: false });
    // Off: exactly as asked.
    const exact = system(new ManualClock(), { allocation: false });
    await exact.start();
    const e = await exact.acquire('w', { cycleId: 'a', requirements: { memoryMb: 1_000 } });
    expect(e.allocation!.amounts.memoryMb).toBe(1_000);
    await exact.shutdown({ graceful: false });
  });
});
