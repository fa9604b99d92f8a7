/**
 * Resources end to end: global limits through the allocator actor, token budgets enforced inside a
 * real worker thread, and a thread agent killed by its memory allocation while the pool keeps serving.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolError, BudgetExhaustedError } from '../../src/core/errors.js';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { fixture, until } from '../helpers/agents.js';

const fast = {
  startTimeoutMs: 10_000,
  backoffBaseMs: 10,
  backoffMaxMs: 50,
  stopGraceMs: 200,
  abortGraceMs: 200,
};

describe('resources', () => {
  it('global limits: the allocator refuses what does not fit, names the resource, and the ledger is unchanged', async () => {
    const sys = new AgentPoolSystem({
      pools: { code: { agent: fixture('echo'), min: 3, max: 3, capacity: { memoryMb: 800 }, timings: fast } },
      limits: { memoryMb: 1_000 },
      allocation: false,
    });
    await sys.start();
    const a = await sys.acquire('code', { cycleId: 'c1', requirements: { memoryMb: 600 } });
    const before = sys.allocator!.usage();
    expect(before.used.memoryMb).toBe(600);
    const err = (await sys
      .acquire('code', { cycleId: 'c2', requirements: { memoryMb: 600 } })
      .catch((e) => e)) as AgentPoolError;
    expect(err.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(err.details).toMatchObject({ resource: 'memoryMb', requested: 600, available: 400 });
    expect(sys.allocator!.usage()).toEqual(before);
    await a.release();
    await a.release(); // idempotent: released exactly once
    expect(sys.allocator!.usage().used.memoryMb).toBe(0);
    const b = await sys.acquire('code', { cycleId: 'c2', requirements: { memoryMb: 600 } });
    expect(await b.run('add', { a: 1, b: 2 })).toBe(3);
    await sys.shutdown({ graceful: false });
  });

  it('token budgets are enforced before the model call; the task ends ERR_BUDGET_EXHAUSTED with its partial output', async () => {
    const sys = new AgentPoolSystem({
      pools: { code: { agent: fixture('echo'), min: 1, max: 1, timings: fast } },
      budgets: { defaultCycle: 2_500, system: 1_000_000 },
    });
    await sys.start();
    const lease = await sys.acquire('code', { cycleId: 'story-1' });
    const err = (await lease
      .run('spendTokens', { tokens: 1_000, calls: 5 })
      .catch((e) => e)) as BudgetExhaustedError;
    expect(err.code).toBe('ERR_BUDGET_EXHAUSTED');
    expect(err.partial).toEqual([0, 1]); // two calls fitted in 2,500
    const usage = sys.tokenUsage();
    expect(usage.cycles['story-1']).toMatchObject({ used: 2_000, reserved: 0 });
    expect(usage.system.used).toBe(2_000);
    // another cycle has its own budget
    await lease.release();
    const other = await sys.acquire('code', { cycleId: 'story-2' });
    expect(await other.run('spendTokens', { tokens: 1_000, calls: 2 })).toEqual([0, 1]);
    await sys.shutdown({ graceful: false });
  });

  it('a thread agent past its hard memory cap (capacity.memoryMb) is stopped; its lease is lost; the pool keeps serving', async () => {
    const sys = new AgentPoolSystem({
      pools: { data: { agent: fixture('oom'), min: 2, max: 2, capacity: { memoryMb: 32 }, timings: fast } },
    });
    await sys.start();
    const hog = await sys.acquire('data', { cycleId: 'c1' });
    const err = (await hog.run('hog', null).catch((e) => e)) as AgentPoolError;
    expect(err.code).toBe('ERR_AGENT_OUT_OF_MEMORY');
    expect(hog.released).toBe(true);
    expect(hog.lostReason).toBeDefined();
    const ok = await sys.acquire('data', { cycleId: 'c2', timeoutMs: 5_000 });
    expect(await ok.run('ok', null)).toBe('fine');
    await ok.release();
    await until(() => sys.status().pools.data!.available === 2, 10_000, 'the crashed agent restarted');
    await sys.shutdown({ graceful: true, deadlineMs: 1_000 });
    await until(() => ThreadHost.live === 0, 5_000, 'no worker left');
  });

  it('a task whose heap stays above its lease allocation is stopped (below the hard cap); within it, it runs', async () => {
    const sys = new AgentPoolSystem({
      pools: {
        data: { agent: fixture('grows'), min: 2, max: 2, capacity: { memoryMb: 512 }, timings: fast },
      },
    });
    await sys.start();
    const probe = await sys.acquire('data', { cycleId: 'probe' });
    const baseline = (await probe.run('heapMb', null)) as number;
    await probe.release();
    const allocation = baseline + 48;
    // Within the allocation: 16 MB more than the baseline.
    const fits = await sys.acquire('data', { cycleId: 'c1', requirements: { memoryMb: allocation } });
    expect(await fits.run('grow', { mb: 16 })).toBe(4);
    await fits.release();
    // Past it: 160 MB, far below the 512 MB hard cap — stopped by the allocation.
    const hog = await sys.acquire('data', { cycleId: 'c2', requirements: { memoryMb: allocation } });
    const err = (await hog.run('grow', { mb: 160 }).catch((e) => e)) as AgentPoolError;
    expect(err.code).toBe('ERR_AGENT_OUT_OF_MEMORY');
    expect(err.message).toMatch(new RegExp(`memory allocation of ${allocation} MB`));
    expect(hog.released).toBe(true);
    // Without an allocation the same task runs: the hard cap is the only limit.
    const free = await sys.acquire('data', { cycleId: 'c3', timeoutMs: 5_000 });
    expect(await free.run('grow', { mb: 160 })).toBe(40);
    await free.release();
    await until(() => sys.status().pools.data!.available === 2, 10_000, 'the stopped agent restarted');
    await sys.shutdown({ graceful: true, deadlineMs: 1_000 });
    await until(() => ThreadHost.live === 0, 5_000, 'no worker left');
  });
});
