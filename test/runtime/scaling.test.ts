/**
 * scalePool and agent loss: decision history (with partial success and failure), clamping to
 * [min, max], idle-first graceful scale-down, and automatic lease release + replacement on a crash.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { flakyAgent, rejection, startSystem, testTimings, track } from './helpers.js';

describe('scalePool', () => {
  it('records current, target, delta, actualDelta, reason and status; clamps to [min, max]', async () => {
    const { sys } = await startSystem({ code: { min: 1, max: 4 } });
    const up = await sys.scalePool('code', 3, 'burst');
    expect(up).toMatchObject({
      current: 1,
      target: 3,
      delta: 2,
      actualDelta: 2,
      reason: 'burst',
      status: 'completed',
    });
    expect(up!.error).toBeUndefined();
    expect(sys.pool('code').size).toBe(3);
    const capped = await sys.scalePool('code', 99, 'way too many');
    expect(capped).toMatchObject({ current: 3, target: 4, delta: 1, actualDelta: 1, status: 'completed' });
    const floor = await sys.scalePool('code', 0, 'quiet');
    expect(floor).toMatchObject({ current: 4, target: 1, delta: -3, actualDelta: -3, status: 'completed' });
    // No change in size: no decision recorded.
    const before = sys.status().pools.code!.history.length;
    expect(await sys.scalePool('code', 1, 'noop')).toBeUndefined();
    expect(sys.status().pools.code!.history.length).toBe(before);
    await sys.shutdown({ graceful: false });
  });

  it('partial success: agents that fail to start are recorded, the rest serve', async () => {
    const flaky = flakyAgent();
    const { sys } = await startSystem({ code: { agent: flaky.agent, min: 1, max: 5, maxFailures: 1 } });
    flaky.failNextStarts(1);
    const r = await sys.scalePool('code', 4, 'burst');
    expect(r).toMatchObject({
      current: 1,
      target: 4,
      delta: 3,
      actualDelta: 2,
      status: 'partial',
      error: '1 of 3 agents failed to start',
    });
    const s = sys.status().pools.code!;
    expect(s.size).toBe(3);
    expect(s.counters.agentsLost).toBe(1);
    expect(s.available).toBe(3);
    await sys.shutdown({ graceful: false });
  });

  it('total failure is recorded as failed, with the error', async () => {
    const flaky = flakyAgent();
    const { sys } = await startSystem({ code: { agent: flaky.agent, min: 1, max: 5, maxFailures: 1 } });
    flaky.failNextStarts(2);
    const r = await sys.scalePool('code', 3, 'burst');
    expect(r).toMatchObject({
      delta: 2,
      actualDelta: 0,
      status: 'failed',
      error: '2 of 2 agents failed to start',
    });
    expect(sys.pool('code').size).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('a higher target during a scale-up starts the extra agents at once, in the same record', async () => {
    const clock = new ManualClock();
    let warm = false;
    const agent = defineAgent({ x: () => 1 }, { setup: () => (warm ? sleep(clock, 30_000) : undefined) });
    const sys = new AgentPoolSystem({
      clock,
      pools: { code: { agent, min: 1, max: 8, timings: { ...testTimings, startTimeoutMs: 60_000 } } },
    });
    await sys.start();
    warm = true;
    await clock.advanceAsync(5_000);
    const decidedAt = clock.now();
    const first = sys.scalePool('code', 3, 'burst');
    await clock.advanceAsync(10_000); // 2 agents 10 s into a 30 s start-up
    const second = sys.scalePool('code', 6, 'bigger burst');
    await clock.advanceAsync(0);
    const pool = sys.pool('code');
    expect(pool.size).toBe(6); // the 3 extra agents started now, not after the first 2 are ready
    await clock.advanceAsync(30_000);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({
      current: 1,
      target: 6,
      delta: 5,
      actualDelta: 5,
      status: 'completed',
      reason: 'burst; bigger burst',
      at: decidedAt, // when the decision was taken, not when it completed
    });
    expect(pool.status().history.map((h) => h.reason)).toEqual(['min size', 'burst; bigger burst']);
    // A lower target while scaling up is not an extension: it is queued and applied afterwards.
    const third = sys.scalePool('code', 8, 'again');
    await clock.advanceAsync(5_000);
    const lower = sys.scalePool('code', 7, 'lower');
    await clock.advanceAsync(60_000);
    await third;
    expect(await lower).toMatchObject({ current: 8, target: 7, status: 'completed' });
    expect(pool.size).toBe(7);
    await sys.shutdown({ graceful: false });
  });

  it('bad targets are typed errors naming the value; nothing changes', async () => {
    const { sys } = await startSystem({ code: { min: 1, max: 4 } });
    for (const t of [-1, 1.5, Number.NaN, '3']) {
      const e = await rejection(sys.scalePool('code', t as number));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.details).toMatchObject({ path: 'target' });
    }
    expect((await rejection(sys.scalePool('nope', 2))).code).toBe('ERR_UNKNOWN_POOL');
    expect(sys.status().pools.code!.history).toHaveLength(1);
    await sys.shutdown({ graceful: false });
  });

  it('scale-down stops idle agents first and leaves leased agents serving', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 4 } });
    await sys.scalePool('code', 4, 'up');
    const a = await sys.acquire('code', { cycleId: 'a' });
    const b = await sys.acquire('code', { cycleId: 'b' });
    const r = await sys.scalePool('code', 2, 'down');
    expect(r).toMatchObject({ current: 4, target: 2, actualDelta: -2, status: 'completed' });
    await clock.advanceAsync(0); // the retired idle agents finish stopping (no clock time needed)
    const ids = sys
      .pool('code')
      .agentList()
      .map((x) => x.id)
      .sort();
    expect(ids).toEqual([a.agentId, b.agentId].sort());
    await expect(a.run('echo', 'still mine')).resolves.toBe('still mine');
    expect(a.released).toBe(false);
    await sys.shutdown({ graceful: false });
  });

  it('scale-down below the idle count retires leased agents gracefully: they stop after release', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 3 } });
    await sys.scalePool('code', 3, 'up');
    const leases = await Promise.all(['a', 'b', 'c'].map((c) => sys.acquire('code', { cycleId: c })));
    const r = await sys.scalePool('code', 1, 'down');
    expect(r).toMatchObject({ current: 3, target: 1, actualDelta: -2, status: 'completed' });
    // Nobody lost a lease: every task still runs.
    await clock.advanceAsync(1_000);
    // Size counts the agents that stay (one definition: the scaler, the machine and metrics agree);
    // the two retiring agents are still there until their leases end.
    expect(sys.pool('code').size).toBe(1);
    expect(sys.pool('code').agentList()).toHaveLength(3);
    // The two retiring agents are held but take no new work: standby, not in the total.
    expect(sys.metrics()[0]!.agents).toMatchObject({ total: 1, standby: 2 });
    expect(sys.metricsText()).toMatch(/agentpool_agents_standby\{pool="code"\} 2/);
    for (const l of leases) await expect(l.run('echo', l.cycleId)).resolves.toBe(l.cycleId);
    for (const l of leases) await l.release();
    await clock.advanceAsync(1_000);
    const s = sys.status().pools.code!;
    expect(s.size).toBe(1);
    expect(s.counters.agentsLost).toBe(0);
    expect(sys.metrics()[0]!.agents).toMatchObject({ total: 1, standby: 0 });
    // The survivor is one of the three and takes work again.
    const again = await sys.acquire('code', { cycleId: 'd' });
    expect(leases.map((l) => l.agentId)).toContain(again.agentId);
    await sys.shutdown({ graceful: false });
  });
});

describe('agent loss', () => {
  it("a crashed agent's lease is released automatically; the agent restarts and serves again", async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    const lease = await sys.acquire('code', { cycleId: 'a', concurrencyKey: 'repo' });
    const agent = sys.pool('code').agentList()[0]!;
    const waiter = track(
      sys.acquire('code', { cycleId: 'b', concurrencyKey: 'repo', timeoutMs: 5_000 }),
      clock,
    );
    agent.actor.send({ type: 'HOST_EXITED', error: 'segfault' });
    await clock.advanceAsync(0);
    expect(lease.released).toBe(true);
    expect(lease.lostReason).toBe('agent failed');
    expect((await rejection(lease.run('echo', 1))).code).toBe('ERR_LEASE_RELEASED');
    // After the backoff the same agent is back and the waiter (same key: it was released) gets it.
    await clock.advanceAsync(100);
    expect(waiter.state).toBe('fulfilled');
    expect(waiter.value!.agentId).toBe(agent.id);
    expect(agent.actor.getSnapshot().context.restarts).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('an evicted agent is replaced: min is restored and the decision recorded', async () => {
    const { sys, clock } = await startSystem({ code: { min: 2, max: 3, maxFailures: 1 } });
    const lease = await sys.acquire('code', { cycleId: 'a' });
    const victim = sys
      .pool('code')
      .agentList()
      .find((a) => a.id === lease.agentId)!;
    victim.actor.send({ type: 'HOST_EXITED', error: 'oom' });
    await clock.advanceAsync(0);
    expect(lease.released).toBe(true);
    expect(victim.actor.getSnapshot().value).toBe('evicted');
    const s = sys.status().pools.code!;
    expect(s.size).toBe(2);
    expect(s.counters.agentsLost).toBe(1);
    expect(
      sys
        .pool('code')
        .agentList()
        .map((a) => a.id),
    ).not.toContain(victim.id);
    expect(s.history.at(-1)).toMatchObject({
      current: 1,
      target: 2,
      reason: 'replace lost agent',
      status: 'completed',
    });
    expect(s.leased).toBe(0);
    await sys.shutdown({ graceful: false });
  });
});
