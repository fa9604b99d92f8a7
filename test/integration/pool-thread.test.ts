/**
 * Pools of real worker-thread agents: the acquire timeout → scale-up path (granted, and impossible),
 * a crash during a lease, abort while waiting, and graceful scale-down of a busy agent. Every system
 * is shut down and no worker thread is left at the end. No wall-clock durations are asserted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { MAX_BATCH_RUNS, ThreadHost } from '../../src/hosts/thread-host.js';
import { type Clock, ManualClock } from '../../src/core/clock.js';
import type { PoolOptions } from '../../src/runtime/config.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { fastTimings, fixture, until } from '../helpers/agents.js';

const systems: AgentPoolSystem[] = [];

async function threadSystem(
  pool: Partial<PoolOptions> & Pick<PoolOptions, 'agent'>,
  clock?: Clock,
): Promise<AgentPoolSystem> {
  const sys = new AgentPoolSystem({
    ...(clock ? { clock } : {}),
    pools: {
      code: {
        host: 'thread',
        healthCheckIntervalMs: 0,
        ...pool,
        timings: { ...fastTimings, ...pool.timings },
      },
    },
  });
  systems.push(sys);
  await sys.start();
  return sys;
}

async function errorOf(p: Promise<unknown>): Promise<AgentPoolError> {
  try {
    await p;
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a rejection');
}

afterAll(async () => {
  await Promise.all(systems.map((s) => s.shutdown({ graceful: false })));
  await until(() => ThreadHost.live === 0, 10_000, 'all workers exited');
  expect(ThreadHost.live).toBe(0);
});

describe('thread pools: acquire timeouts', () => {
  it(`a tick of more runs than one batch holds (${MAX_BATCH_RUNS}): every task runs once and gets its own result`, async () => {
    const sys = await threadSystem({ agent: fixture('echo'), min: 1, max: 1, concurrency: 200 });
    const n = MAX_BATCH_RUNS * 6 + 5;
    // Distinct inputs, submitted in one tick: several `ap:run` messages, each answered in order.
    const out = await Promise.all(
      Array.from({ length: n }, (_, i) => sys.submit({ type: 'code', task: 'echo', input: { i } })),
    );
    expect(out).toEqual(Array.from({ length: n }, (_, i) => ({ i })));
    // And one uncloneable input among them fails alone.
    const mixed = await Promise.allSettled(
      Array.from({ length: MAX_BATCH_RUNS * 2 }, (_, i) =>
        sys.submit({ type: 'code', task: 'echo', input: i === 20 ? { f: () => 1 } : i }),
      ),
    );
    expect(
      mixed.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(['ERR_INVALID_ARGUMENT']);
    expect(mixed.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_BATCH_RUNS * 2 - 1);
  });

  it('timeout → scale up by one → granted (virtual timeout, real thread start)', async () => {
    // The clock only moves when told: the first timeout fires while the demand-started thread is
    // still booting, so the scale-up on timeout really happens; the retry timer never fires.
    const clock = new ManualClock();
    const sys = await threadSystem({ agent: fixture('echo'), min: 1, max: 3 }, clock);
    const held = await sys.acquire('code', { cycleId: 'a' });
    let granted: Awaited<ReturnType<typeof sys.acquire>> | undefined;
    const p = sys.acquire('code', { cycleId: 'b', timeoutMs: 1_000 }).then((l) => {
      granted = l;
    });
    await clock.advanceAsync(1_000);
    expect(granted).toBeUndefined();
    expect(sys.status().pools.code!.counters.scaleUpsOnTimeout).toBe(1);
    await p;
    // The scale-up extends the demand start still in flight (SCALE_EXTENDED): a third agent, one record.
    await until(
      () =>
        sys.pool('code').size === 3 &&
        sys
          .pool('code')
          .actor.getSnapshot()
          .matches({ active: { sizing: 'steady' } }),
      10_000,
    );
    expect(granted!.agentId).not.toBe(held.agentId);
    expect(granted!.waitedMs).toBe(1_000);
    await expect(granted!.run('add', { a: 1, b: 2 })).resolves.toBe(3);
    const reasons = sys.status().pools.code!.history.map((r) => r.reason);
    expect(reasons).toEqual(['min size', 'acquire demand; acquire timeout']);
    await sys.shutdown({ graceful: false });
    expect(clock.pending).toBe(0);
  });

  it('timeout at max → no scale-up possible → ERR_POOL_EXHAUSTED', async () => {
    const sys = await threadSystem({ agent: fixture('echo'), min: 1, max: 1 });
    const held = await sys.acquire('code', { cycleId: 'a' });
    const e = await errorOf(sys.acquire('code', { cycleId: 'b', timeoutMs: 100 }));
    expect(e.code).toBe('ERR_POOL_EXHAUSTED');
    expect(e.details).toMatchObject({ scaledUp: false, size: 1, max: 1, timeoutMs: 100 });
    expect(sys.status().pools.code!.waiting).toBe(0);
    await expect(held.run('echo', 'still served')).resolves.toBe('still served');
    await sys.shutdown({ graceful: false });
  });
});

describe('thread pools: failures and cancellation', () => {
  it('crash during a lease: the task rejects ERR_AGENT_CRASHED, the lease is released, the pool recovers', async () => {
    const sys = await threadSystem({ agent: fixture('exits'), min: 1, max: 1 });
    const lease = await sys.acquire('code', { cycleId: 'a', concurrencyKey: 'repo' });
    const e = await errorOf(lease.run('exitMidTask', { code: 3 }));
    expect(e.code).toBe('ERR_AGENT_CRASHED');
    expect(lease.released).toBe(true);
    expect((await errorOf(lease.run('ok', null))).code).toBe('ERR_LEASE_RELEASED');
    // The agent restarts (backoff) and the key was given back: the same key is granted again.
    const next = await sys.acquire('code', { cycleId: 'b', concurrencyKey: 'repo', timeoutMs: 10_000 });
    await expect(next.run('ok', null)).resolves.toBe('fine');
    expect(sys.status().pools.code!.size).toBe(1);
    await next.release();
    await sys.shutdown({ graceful: false });
  });

  it('abort while waiting: ERR_ABORTED, nothing queued, the agent goes to the next caller', async () => {
    const sys = await threadSystem({ agent: fixture('echo'), min: 1, max: 1 });
    const held = await sys.acquire('code', { cycleId: 'a' });
    const ac = new AbortController();
    const waiting = errorOf(sys.acquire('code', { cycleId: 'b', timeoutMs: 30_000, signal: ac.signal }));
    await until(() => sys.status().pools.code!.waiting === 1, 5_000, 'waiter queued');
    ac.abort();
    expect((await waiting).code).toBe('ERR_ABORTED');
    expect(sys.status().pools.code!.waiting).toBe(0);
    await held.release();
    const next = await sys.acquire('code', { cycleId: 'c', timeoutMs: 1_000 });
    expect(next.agentId).toBe(held.agentId);
    await sys.shutdown({ graceful: false });
  });

  it('graceful scale-down with busy agents: the tasks finish, then the retired agent stops', async () => {
    const sys = await threadSystem({ agent: fixture('slow'), min: 1, max: 2 });
    await sys.scalePool('code', 2, 'up');
    const a = await sys.acquire('code', { cycleId: 'a' });
    const b = await sys.acquire('code', { cycleId: 'b' });
    const work = { ms: 300, step: 10, heartbeat: false };
    const runs = [a.run('work', work), b.run('work', work)];
    const threadsBefore = ThreadHost.live;
    const r = await sys.scalePool('code', 1, 'quiet');
    expect(r).toMatchObject({ current: 2, target: 1, actualDelta: -1, status: 'completed' });
    // Nobody was killed: both tasks complete with their full result.
    await expect(Promise.all(runs)).resolves.toEqual([300, 300]);
    // The retiring agent no longer counts toward the size, but it is still there until released.
    expect(sys.pool('code').size).toBe(1);
    expect(sys.pool('code').agentList()).toHaveLength(2);
    await a.release();
    await b.release();
    await until(() => sys.pool('code').agentList().length === 1, 10_000, 'retired agent stopped');
    await until(() => ThreadHost.live === threadsBefore - 1, 10_000, 'its thread exited');
    expect(sys.status().pools.code!.counters.agentsLost).toBe(0);
    const survivor = await sys.acquire('code', { cycleId: 'c' });
    await expect(survivor.run('ok', null)).resolves.toBe('fine');
    await survivor.release();
    await sys.shutdown({ graceful: true, deadlineMs: 5_000 });
    expect(sys.pool('code').size).toBe(0);
  });
});
