/**
 * Pool size has one definition — agents starting or up, not being retired — read by the pool
 * machine, the runtime, the scaler's observation and metrics alike; and every scalePool() settles.
 *
 * Regressions, each failing on the old main:
 * - with 4 agents of which one is retiring while leased, a scale to 2 left 1 working agent (the
 *   machine counted 4 and retired two more), and a scale to 4 was dropped while the history said
 *   "applied";
 * - scalePool(4) twice while agents start, or scalePool(8) during on-demand growth to 8, never settled.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/index.js';
import { createAgentPoolSystem, ManualClock } from '../../src/index.js';
import { sleep } from '../../src/core/clock.js';
import { flakyAgent, startSystem, testTimings, track } from '../runtime/helpers.js';

/** Views of the size that must agree. */
function sizes(sys: Awaited<ReturnType<typeof startSystem>>['sys'], type = 'w') {
  const pool = sys.pool(type);
  return {
    runtime: pool.size,
    machine: pool.actor.getSnapshot().context.size,
    scaler: pool.observe().size,
    metrics: sys.metrics().find((m) => m.pool === type)!.agents.total,
    status: sys.status().pools[type]!.size,
  };
}

const agreeOn = (n: number) => ({ runtime: n, machine: n, scaler: n, metrics: n, status: n });

describe('one size while an agent retires', () => {
  it('4 agents, one retiring while leased: a scale to 2 leaves 2 working agents', async () => {
    const { sys, clock } = await startSystem({ w: { min: 1, max: 4 } });
    await sys.scalePool('w', 4);
    const leases = await Promise.all(['a', 'b', 'c', 'd'].map((c) => sys.acquire('w', { cycleId: c })));
    // All four leased: the scale-down to 3 retires a leased agent, which stays until released.
    await sys.scalePool('w', 3);
    for (const l of leases.slice(1)) await l.release();
    await clock.advanceAsync(0);
    expect(sizes(sys)).toEqual(agreeOn(3));
    expect(sys.pool('w').agentList()).toHaveLength(4);
    // The scaler sees 3 and asks for 2: exactly one more agent retires.
    const r = await sys.scalePool('w', 2, 'scaler');
    expect(r).toMatchObject({ current: 3, target: 2, actualDelta: -1, status: 'completed' });
    await leases[0]!.release();
    await clock.advanceAsync(5_000);
    expect(sizes(sys)).toEqual(agreeOn(2));
    expect(
      sys
        .pool('w')
        .agentList()
        .filter((a) => a.accepting),
    ).toHaveLength(2);
    await sys.shutdown({ graceful: false });
  });

  it('4 agents, one retiring while leased: a scale to 4 starts one', async () => {
    const { sys, clock } = await startSystem({ w: { min: 1, max: 4 } });
    await sys.scalePool('w', 4);
    const leases = await Promise.all(['a', 'b', 'c', 'd'].map((c) => sys.acquire('w', { cycleId: c })));
    await sys.scalePool('w', 3);
    const r = await sys.scalePool('w', 4, 'scaler');
    expect(r).toMatchObject({ current: 3, target: 4, actualDelta: 1, status: 'completed' });
    for (const l of leases) await l.release();
    await clock.advanceAsync(5_000);
    expect(sizes(sys)).toEqual(agreeOn(4));
    await sys.shutdown({ graceful: false });
  });
});

describe('scalePool settles', () => {
  const slowStart = (clock: ManualClock) =>
    defineAgent({ echo: (x: unknown) => x }, { setup: () => sleep(clock, 300) });

  it('the same target twice while agents start: both resolve with the one record', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      pools: {
        w: { agent: slowStart(clock), min: 0, max: 8, healthCheckIntervalMs: 0, timings: testTimings },
      },
    });
    await sys.start();
    const first = track(sys.scalePool('w', 4), clock);
    const second = track(sys.scalePool('w', 4), clock);
    await clock.advanceAsync(300);
    expect(first.state).toBe('fulfilled');
    expect(second.state).toBe('fulfilled');
    expect(second.value).toEqual(first.value);
    expect(first.value).toMatchObject({ target: 4, actualDelta: 4, status: 'completed' });
    expect(sys.pool('w').actor.getSnapshot().context.queued).toBeUndefined();
    await sys.shutdown({ graceful: false });
  });

  it('a target the pool is growing to on demand resolves once it is reached', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      pools: {
        w: { agent: slowStart(clock), min: 0, max: 8, healthCheckIntervalMs: 0, timings: testTimings },
      },
    });
    await sys.start();
    const acquires = Array.from({ length: 8 }, (_, i) => sys.acquire('w', { cycleId: `c${i}` }));
    await clock.advanceAsync(0);
    const scaled = track(sys.scalePool('w', 8), clock);
    await clock.advanceAsync(300);
    const leases = await Promise.all(acquires);
    await clock.advanceAsync(0);
    expect(scaled.state).toBe('fulfilled');
    expect(sys.pool('w').size).toBe(8);
    // No stale target left to fire when an agent goes.
    for (const l of leases) await l.release();
    await sys.scalePool('w', 6);
    await clock.advanceAsync(1_000);
    expect(sys.pool('w').size).toBe(6);
    expect(sys.pool('w').actor.getSnapshot().context.queued).toBeUndefined();
    await sys.shutdown({ graceful: false });
  });
});

describe('a pool that gave up starting agents', () => {
  it('scalePool() retries it: the next start succeeds and the pool serves again', async () => {
    const flaky = flakyAgent();
    flaky.failNextStarts(2);
    const { sys, clock } = await startSystem({ w: { agent: flaky.agent, min: 0, max: 1, maxFailures: 2 } });
    const first = track(sys.acquire('w', { cycleId: 'a', timeoutMs: 60_000 }), clock);
    await clock.advanceAsync(5_000);
    expect(first.state).toBe('rejected');
    expect(first.error!.code).toBe('ERR_AGENT_START_FAILED');
    expect(sys.status().pools.w!.lastError).toMatchObject({ failed: true });
    // The cause is fixed (no more failing starts): an explicit scalePool() tries again.
    const r = await sys.scalePool('w', 1, 'retry after fix');
    expect(r).toMatchObject({ target: 1, actualDelta: 1, status: 'completed' });
    const lease = await sys.acquire('w', { cycleId: 'b' });
    await expect(lease.run('echo', 'back')).resolves.toBe('back');
    await lease.release();
    expect(sys.status().pools.w!.lastError).toBeUndefined();
    await sys.shutdown({ graceful: false });
  });
});
