/**
 * Agent variants: agents of one pool that differ in capacity, tools, weight and specializations
 * (issue 12 item 3, issue 19 item 2). Through the public API, on a ManualClock, with inline agents:
 * shares, placement by fit, agents spawned for the work that waits, a waiter of one kind not blocking
 * another, and strategies that see each agent's own weight and specializations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import type { PoolOptions } from '../../src/runtime/config.js';
import { configErrorOf as expectConfigError } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ echo: (x: unknown) => x });
const systems: AgentPoolSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ graceful: false });
});

async function start(pool: Omit<Partial<PoolOptions>, 'agent'>) {
  const clock = new ManualClock();
  const sys = createAgentPoolSystem({
    clock,
    pools: { w: { agent, healthCheckIntervalMs: 0, timings: testTimings, ...pool } },
  });
  systems.push(sys);
  await sys.start();
  return { sys, clock };
}

const small = { share: 3, capacity: { memoryMb: 1024 } };
const big = { share: 1, capacity: { memoryMb: 4096, tools: ['gpu'] } };

describe('agent variants', () => {
  it('are validated: unknown keys, a share of 0 and an empty map are typed errors naming the path', () => {
    expectConfigError(
      () =>
        createAgentPoolSystem({
          pools: { w: { agent, variants: { fast: { share: 1, speed: 2 } as never } } },
        }),
      'pools.w.variants.fast.speed',
    );
    expectConfigError(
      () => createAgentPoolSystem({ pools: { w: { agent, variants: { fast: { share: 0 } } } } }),
      'pools.w.variants.fast.share',
    );
    expectConfigError(
      () =>
        createAgentPoolSystem({
          pools: { w: { agent, variants: { fast: { capacity: { memoryMb: -1 } } } } },
        }),
      'pools.w.variants.fast.capacity.memoryMb',
    );
    expectConfigError(
      () => createAgentPoolSystem({ pools: { w: { agent, variants: {} } } }),
      'pools.w.variants',
    );
  });

  it('split the pool by share', async () => {
    const { sys } = await start({ min: 4, max: 8, variants: { small, big } });
    expect(sys.status().pools.w?.variants).toEqual({ small: 3, big: 1 });
  });

  it('place a request on an agent whose variant fits it; one no variant fits fails at once', async () => {
    const { sys } = await start({ min: 4, max: 4, variants: { small, big } });
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 2048 } });
    const bigId = lease.agentId;
    await lease.release();
    // Whatever is free, a 2 GB request only ever lands on the one big agent.
    for (let i = 0; i < 5; i++) {
      const l = await sys.acquire('w', { cycleId: `c${i}`, requirements: { memoryMb: 2048 } });
      expect(l.agentId).toBe(bigId);
      await l.release();
    }
    await expect(sys.acquire('w', { cycleId: 'x', requirements: { memoryMb: 8192 } })).rejects.toMatchObject({
      code: 'ERR_RESOURCE_EXHAUSTED',
    });
    await expect(
      sys.submit({ type: 'w', task: 'echo', input: 1, requirements: { tools: ['gpu'] } }),
    ).resolves.toBe(1);
  });

  it('spawn an agent of the kind that waits: a gpu request in a pool of small agents starts a big one', async () => {
    const { sys, clock } = await start({ min: 1, max: 3, variants: { small, big } });
    expect(sys.status().pools.w?.variants).toEqual({ small: 1, big: 0 });
    const p = sys.acquire('w', { cycleId: 'g', requirements: { tools: ['gpu'] }, timeoutMs: 60_000 });
    await clock.advanceAsync(10);
    const lease = await p;
    expect(sys.status().pools.w?.variants).toEqual({ small: 1, big: 1 });
    // The small agent stayed free for work it fits.
    const other = await sys.acquire('w', { cycleId: 's' });
    expect(other.agentId).not.toBe(lease.agentId);
    await Promise.all([lease.release(), other.release()]);
  });

  it('a waiter for one kind does not block a request another free kind can serve', async () => {
    const { sys, clock } = await start({ min: 2, max: 2, variants: { small: { share: 1 }, big } });
    const gpu = await sys.acquire('w', { cycleId: 'g1', requirements: { tools: ['gpu'] } });
    // The only big agent is leased: the next gpu request waits…
    let second: string | undefined;
    const waiting = sys
      .acquire('w', { cycleId: 'g2', requirements: { tools: ['gpu'] }, timeoutMs: 60_000 })
      .then((l) => {
        second = l.agentId;
        return l;
      });
    await clock.advanceAsync(10);
    expect(second).toBeUndefined();
    // …while a plain request behind it gets the free small agent at once.
    const plain = await sys.acquire('w', { cycleId: 'p', timeoutMs: 60_000 });
    expect(plain.agentId).not.toBe(gpu.agentId);
    await gpu.release();
    await clock.advanceAsync(10);
    expect(second).toBe(gpu.agentId);
    await (await waiting).release();
    await plain.release();
  });

  it('smooth-weighted sees per-agent weights: a weight-3 agent gets 3 of every 4 leases', async () => {
    const { sys } = await start({
      min: 2,
      max: 2,
      balancing: 'smooth-weighted',
      variants: { heavy: { capacity: { weight: 3 } }, light: { capacity: { weight: 1 } } },
    });
    const byAgent = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const l = await sys.acquire('w', { cycleId: `c${i}` });
      byAgent.set(l.agentId, (byAgent.get(l.agentId) ?? 0) + 1);
      await l.release();
    }
    expect([...byAgent.values()].sort((a, b) => a - b)).toEqual([10, 30]);
  });

  it('workload-aware sends a specialised task to the agent specialised in it', async () => {
    const { sys } = await start({
      min: 3,
      max: 3,
      balancing: 'workload-aware',
      variants: {
        fe: { capacity: { specializations: ['frontend'] } },
        be: { share: 2, capacity: { specializations: ['backend'] } },
      },
    });
    const picks = new Set<string>();
    let feId: string | undefined;
    for (let i = 0; i < 12; i++) {
      const l = await sys.acquire('w', { cycleId: `c${i}`, requirements: { specialization: 'frontend' } });
      picks.add(l.agentId);
      feId ??= l.agentId;
      await l.release();
    }
    expect(picks.size).toBe(1);
    expect(feId).toBeDefined();
    // Control: backend tasks never go to the frontend agent, and spread over the two backend agents.
    const be = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const l = await sys.acquire('w', { cycleId: `b${i}`, requirements: { specialization: 'backend' } });
      be.add(l.agentId);
      await l.release();
    }
    expect(be.has(feId as string)).toBe(false);
  });
});
