/**
 * Pool option `agentResources` (issue 19 item 3, the seed's `scaleUp` / `scaleDown`): every live agent
 * holds its base amounts in the global ledger; a scale-up that does not fit starts no agent and is a
 * recorded outcome with `ERR_RESOURCE_EXHAUSTED` naming the resource; scale-down and lost agents give
 * the amounts back. Through the public API, inline agents on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { configErrorOf } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ echo: (x: unknown) => x });
const pool = { agent, healthCheckIntervalMs: 0, timings: testTimings };

/** Memory the ledger holds, all pools together. */
const ledgerMemory = (sys: ReturnType<typeof createAgentPoolSystem>) => sys.allocator!.usage().used.memoryMb;

describe('agentResources', () => {
  it('agents hold their base while they live; a scale-up that does not fit is refused for the resource, and scale-down frees it', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 1_800 },
      pools: { w: { ...pool, min: 1, max: 5, agentResources: { memoryMb: 512 } } },
    });
    await sys.start();
    expect(ledgerMemory(sys)).toBe(512);
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(512);

    // 3 × 512 = 1,536 fit under 1,800; the 4th and 5th do not: no agent is made for them.
    const r = await sys.scalePool('w', 5, 'burst');
    expect(r).toMatchObject({ status: 'partial', delta: 4, actualDelta: 2 });
    expect(r!.refused).toEqual({
      code: 'ERR_RESOURCE_EXHAUSTED',
      resource: 'memoryMb',
      requested: 512,
      available: 264,
      scope: 'global',
    });
    expect(r!.error).toContain('2 of 4 agents not started (ERR_RESOURCE_EXHAUSTED): memoryMb');
    expect(sys.status().pools.w!.size).toBe(3);
    expect(ledgerMemory(sys)).toBe(1_536);

    // Leases reserve on top of the agents' base: 264 MB are left.
    await expect(
      sys.acquire('w', { cycleId: 'big', requirements: { memoryMb: 265 }, timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: 'ERR_RESOURCE_EXHAUSTED' });
    const lease = await sys.acquire('w', { cycleId: 'fits', requirements: { memoryMb: 264 } });
    expect(ledgerMemory(sys)).toBe(1_800);
    await lease.release();

    // Scale-down: the retired agents' base goes back to the ledger.
    const down = await sys.scalePool('w', 1, 'quiet');
    expect(down).toMatchObject({ status: 'completed', actualDelta: -2 });
    await clock.advanceAsync(testTimings.drainTimeoutMs + testTimings.stopGraceMs);
    expect(sys.status().pools.w!.size).toBe(1);
    expect(ledgerMemory(sys)).toBe(512);

    // Now there is room again: the same scale-up completes.
    await expect(sys.scalePool('w', 3, 'again')).resolves.toMatchObject({
      status: 'completed',
      actualDelta: 2,
    });
    expect(ledgerMemory(sys)).toBe(1_536);
    await sys.shutdown({ graceful: false });
    // Every agent gone: nothing left in the ledger.
    expect(ledgerMemory(sys)).toBe(0);
  });

  it('a refused scale-up is recorded once, nothing retries in a loop, and the next decision succeeds once there is room', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 1_024 },
      pools: {
        w: { ...pool, min: 1, max: 2, agentResources: { memoryMb: 512 } },
        // Another pool's lease can take the room a new agent of w would need.
        o: { ...pool, min: 1, max: 1 },
      },
    });
    await sys.start();
    // 512 for w's agent, 512 for a lease of o: the ledger is full.
    const hog = await sys.acquire('o', { cycleId: 'hog', requirements: { memoryMb: 512 } });
    const before = sys.status().pools.w!.history.length;
    const refused = await sys.scalePool('w', 2, 'more');
    expect(refused).toMatchObject({ status: 'failed', actualDelta: 0 });
    expect(refused!.refused).toMatchObject({ resource: 'memoryMb', requested: 512, available: 0 });
    await clock.advanceAsync(10_000);
    expect(sys.status().pools.w!.history.length).toBe(before + 1);
    expect(sys.status().pools.w!.size).toBe(1);
    await hog.release();
    await expect(sys.scalePool('w', 2, 'room now')).resolves.toMatchObject({ status: 'completed' });
    expect(ledgerMemory(sys)).toBe(1_024);
    await sys.shutdown({ graceful: false });
  });

  it('bad values, missing limits and minimums that cannot fit are config errors naming the path', () => {
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits: { memoryMb: 4_096 },
          pools: { w: { agent, agentResources: { memMb: 1 } as never } },
        }),
      'pools.w.agentResources.memMb',
    );
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits: { memoryMb: 4_096 },
          pools: { w: { agent, agentResources: { memoryMb: -1 } } },
        }),
      'pools.w.agentResources.memoryMb',
    );
    // No global limit on the resource: there is no ledger to hold it in.
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent, agentResources: { cpuCores: 1 } } } }),
      'pools.w.agentResources.cpuCores',
    );
    // min agents of every pool together must fit: 2 × 1,024 + 3 × 1,024 > 4,096.
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits: { memoryMb: 4_096 },
          pools: {
            a: { agent, min: 2, agentResources: { memoryMb: 1_024 } },
            b: { agent, min: 3, agentResources: { memoryMb: 1_024 } },
          },
        }),
      'pools.b.agentResources.memoryMb',
    );
  });
});
