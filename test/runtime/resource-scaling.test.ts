/**
 * System option `resourceScaling` (issue 19 item 4, the seed's ResourceScaler): per-pool quotas in the
 * ledger, enforced on every reservation, scaled by the resource scaler actor on its own interval from
 * what each pool holds and what its quota refused; every decision goes through the allocator with
 * partial success; rounds are kept and exposed by `system.resourceScaling()`. Public API, ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { ResourceScaling } from '../../src/runtime/resource-scaling.js';
import { configErrorOf } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ echo: (x: unknown) => x });
const pool = { agent, healthCheckIntervalMs: 0, timings: testTimings };
const INTERVAL = 1_000;

describe('resourceScaling', () => {
  it('a quota refuses beyond it; the scaler grows it from the refused demand on its interval, then shrinks it after the cooldown', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 8_192 },
      pools: { code: { ...pool, min: 2, max: 4 }, qa: { ...pool, min: 1, max: 1 } },
      resourceScaling: {
        intervalMs: INTERVAL,
        pools: { code: { memoryMb: { min: 1_024, max: 4_096, step: 1_024, downCooldownMs: 5_000 } } },
      },
    });
    await sys.start();
    expect(sys.resourceScaling()).toMatchObject({
      quotas: { code: { memoryMb: 1_024 } },
      held: { code: { memoryMb: 0 } },
      rounds: 0,
    });
    const a = await sys.acquire('code', { cycleId: 'a', requirements: { memoryMb: 1_024 } });
    // The global limit has room, the pool's quota has none: refused, naming the quota.
    const refused = await sys
      .acquire('code', { cycleId: 'b', requirements: { memoryMb: 1_024 }, timeoutMs: 100 })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERR_RESOURCE_EXHAUSTED' });
    expect(String((refused as Error).message)).toContain('pool code quota');
    // Pools without a quota share the global limit as before.
    const q = await sys.acquire('qa', { cycleId: 'q', requirements: { memoryMb: 1_024 } });

    // One interval: demand was 1,024 held + 1,024 refused = 2,048 > 85 % of 1,024 → 2,048 / 0.7 → 3,072.
    await clock.advanceAsync(INTERVAL);
    const grown = sys.resourceScaling()!;
    expect(grown.quotas.code!.memoryMb).toBe(3_072);
    expect(grown.rounds).toBe(1);
    expect(grown.history).toHaveLength(1);
    expect(grown.history[0]!.outcomes).toEqual([
      expect.objectContaining({
        pool: 'code',
        resource: 'memoryMb',
        from: 1_024,
        to: 3_072,
        ok: true,
        applied: 3_072,
      }),
    ]);
    const b = await sys.acquire('code', { cycleId: 'b', requirements: { memoryMb: 1_024 } });
    expect(sys.resourceScaling()!.held.code!.memoryMb).toBe(2_048);

    // Nothing held: below 40 % — but the down cooldown (5 s after the change) holds the quota first.
    await a.release();
    await b.release();
    await clock.advanceAsync(INTERVAL);
    expect(sys.resourceScaling()!.quotas.code!.memoryMb).toBe(3_072);
    await clock.advanceAsync(5_000);
    const shrunk = sys.resourceScaling()!;
    expect(shrunk.quotas.code!.memoryMb).toBe(1_024);
    expect(shrunk.history.at(-1)!.outcomes[0]).toMatchObject({ from: 3_072, applied: 1_024, ok: true });
    // Rounds that changed nothing are counted, not kept.
    expect(shrunk.rounds).toBeGreaterThan(shrunk.history.length);
    await q.release();
    await sys.shutdown({ graceful: false });
  });

  it("an agents' base refused by the quota grows it: the next scale-up fits", async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 8_192 },
      pools: { code: { ...pool, min: 1, max: 4, agentResources: { memoryMb: 1_024 } } },
      resourceScaling: {
        intervalMs: INTERVAL,
        pools: { code: { memoryMb: { min: 1_024, max: 4_096, step: 1_024 } } },
      },
    });
    await sys.start();
    // A round on demand: the agent's 1,024 fill the quota (100 % > 85 %) → 1,024 / 0.7 → 2,048.
    const first = await sys.runResourceScaling();
    expect(first).toMatchObject({ rounds: 1, quotas: { code: { memoryMb: 2_048 } } });
    // Two more agents need 2,048; the quota has 1,024 left: one starts, one is refused by the quota.
    const r = await sys.scalePool('code', 3, 'burst');
    expect(r).toMatchObject({
      status: 'partial',
      actualDelta: 1,
      refused: { resource: 'memoryMb', scope: 'quota', available: 0 },
    });
    expect(r!.error).toContain('pool code quota');
    // 2,048 held + 1,024 refused → 3,072 / 0.7 → 5,120, capped at max 4,096.
    const view = await sys.runResourceScaling();
    expect(view!.quotas.code!.memoryMb).toBe(4_096);
    expect(view!.rounds).toBe(2);
    await expect(sys.scalePool('code', 3, 'again')).resolves.toMatchObject({ status: 'completed' });
    expect(sys.resourceScaling()!.held.code!.memoryMb).toBe(3_072);
    await sys.shutdown({ graceful: false });
  });

  it('applies each decision on its own: a lowering below what is held is refused, the others apply, growth is cut to the global limit', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 4_096, cpuCores: 8 },
      pools: { a: { ...pool, min: 1, max: 1 }, b: { ...pool, min: 1, max: 1 } },
      resourceScaling: {
        // Long interval: the test drives the decisions itself.
        intervalMs: 3_600_000,
        pools: {
          a: { memoryMb: { min: 2_048, max: 4_096, step: 512 }, cpuCores: { min: 2, max: 8, step: 1 } },
          b: { memoryMb: { min: 1_024, max: 4_096, step: 512 } },
        },
      },
    });
    await sys.start();
    const lease = await sys.acquire('a', { cycleId: 'a', requirements: { memoryMb: 1_024 } });
    const scaling = new ResourceScaling(sys.config.resourceScaling!, sys.allocator!, clock);
    const outcomes = scaling.apply([
      // Below the 1,024 a holds: refused, nothing changed.
      {
        pool: 'a',
        resource: 'memoryMb',
        from: 2_048,
        to: 512,
        reason: 'utilization-below-threshold',
        utilization: 0.5,
        cappedByGlobalLimit: false,
      },
      {
        pool: 'a',
        resource: 'cpuCores',
        from: 2,
        to: 4,
        reason: 'utilization-above-threshold',
        utilization: 0.9,
        cappedByGlobalLimit: false,
      },
      // 2,048 + 3,072 > 4,096 (the refused shrink freed nothing): cut to 2,048.
      {
        pool: 'b',
        resource: 'memoryMb',
        from: 1_024,
        to: 3_072,
        reason: 'utilization-above-threshold',
        utilization: 0.9,
        cappedByGlobalLimit: false,
      },
    ]);
    expect(outcomes).toEqual([
      expect.objectContaining({ pool: 'a', resource: 'memoryMb', ok: false, applied: 2_048 }),
      expect.objectContaining({ pool: 'a', resource: 'cpuCores', ok: true, applied: 4 }),
      expect.objectContaining({ pool: 'b', resource: 'memoryMb', ok: true, applied: 2_048 }),
    ]);
    expect(outcomes[0]!.error).toContain('holds 1024 memoryMb');
    expect(outcomes[2]!.error).toContain('global limit');
    expect(sys.resourceScaling()!.quotas).toEqual({
      a: { memoryMb: 2_048, cpuCores: 4 },
      b: { memoryMb: 2_048 },
    });
    await lease.release();
    await sys.shutdown({ graceful: false });
  });

  it('bad options are config errors naming the path', () => {
    const limits = { memoryMb: 4_096 };
    const pools = { code: { agent } };
    configErrorOf(
      () => createAgentPoolSystem({ limits, pools, resourceScaling: { pools: {}, every: 1 } as never }),
      'resourceScaling.every',
    );
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits,
          pools,
          resourceScaling: { pools: { nope: { memoryMb: { max: 1, step: 1 } } } },
        }),
      'resourceScaling.pools.nope',
    );
    // No global limit on the scaled resource: the quotas would have no total to share.
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits,
          pools,
          resourceScaling: { pools: { code: { cpuCores: { max: 4, step: 1 } } } },
        }),
      'resourceScaling.pools.code.cpuCores',
    );
    // The starting quota must hold the pool's min agents' base.
    configErrorOf(
      () =>
        createAgentPoolSystem({
          limits,
          pools: { code: { agent, min: 2, agentResources: { memoryMb: 1_024 } } },
          resourceScaling: { pools: { code: { memoryMb: { min: 1_024, max: 4_096, step: 512 } } } },
        }),
      'resourceScaling.pools.code.memoryMb.min',
    );
  });
});
