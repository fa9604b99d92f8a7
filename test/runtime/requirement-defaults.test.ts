/**
 * Pool option `requirementDefaults` (issue 19 item 7): a request that names no value for a numeric
 * resource reserves the pool's default — `'seed'` gives the seed's AgentRequirements (1,024 MB, 1 core,
 * 50,000 tokens, 500 MB disk, 10 Mbps). Through the public API, on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { configErrorOf } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ echo: (x: unknown) => x });

describe('requirementDefaults', () => {
  it("'seed': a lease with no requirements holds the seed's amounts in the ledger; given values win", async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      allocation: false,
      limits: { memoryMb: 2_048, tokens: 1_000_000 },
      pools: {
        w: {
          agent,
          min: 3,
          max: 3,
          requirementDefaults: 'seed',
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    const a = await sys.acquire('w', { cycleId: 'a' });
    expect(a.allocation?.amounts).toMatchObject({
      memoryMb: 1_024,
      cpuCores: 1,
      tokens: 50_000,
      diskMb: 500,
      networkMbps: 10,
    });
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(1_024);
    const b = await sys.acquire('w', { cycleId: 'b', requirements: { memoryMb: 512 } });
    expect(b.allocation?.amounts.memoryMb).toBe(512);
    expect(b.allocation?.amounts.tokens).toBe(50_000);
    // 1,024 + 512 held of 2,048: a third default lease does not fit the global limit.
    await expect(sys.acquire('w', { cycleId: 'c', timeoutMs: 100 })).rejects.toMatchObject({
      code: 'ERR_RESOURCE_EXHAUSTED',
    });
    await a.release();
    await b.release();
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(0);
    // Submitted tasks take the defaults too.
    await expect(sys.submit({ type: 'w', task: 'echo', input: 1 })).resolves.toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('without the option a request reserves only what it names', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      limits: { memoryMb: 2_048 },
      pools: { w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, timings: testTimings } },
    });
    await sys.start();
    const a = await sys.acquire('w', { cycleId: 'a' });
    expect(a.allocation).toBeUndefined();
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(0);
    await a.release();
    await sys.shutdown({ graceful: false });
  });

  it('bad values and defaults no agent could serve are config errors naming the path', () => {
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent, requirementDefaults: 'huge' as never } } }),
      'pools.w.requirementDefaults',
    );
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent, requirementDefaults: { memMb: 1 } as never } } }),
      'pools.w.requirementDefaults.memMb',
    );
    configErrorOf(
      () =>
        createAgentPoolSystem({
          pools: { w: { agent, capacity: { memoryMb: 512 }, requirementDefaults: 'seed' } },
        }),
      'pools.w.requirementDefaults.memoryMb',
    );
  });
});
