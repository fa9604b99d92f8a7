/**
 * shutdown(): graceful (drain leases to the deadline) and forced. Afterwards: no agent, no timer on the
 * clock, pending acquires rejected with ERR_SHUTTING_DOWN, new acquires refused.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolSystem } from '../../src/runtime/system.js';
import { flakyAgent, rejection, startSystem, track } from './helpers.js';

function nothingLeft(sys: AgentPoolSystem): void {
  for (const t of sys.poolTypes()) {
    const p = sys.pool(t);
    expect(p.size).toBe(0);
    expect(p.actor.getSnapshot().status).toBe('done');
    expect(p.status()).toMatchObject({ leased: 0, waiting: 0, available: 0 });
  }
  expect(sys.state).toBe('stopped');
}

describe('shutdown', () => {
  it('graceful: waiters rejected at once, leases finish, then every agent stops and no timer is left', async () => {
    const { sys, clock } = await startSystem({ code: { min: 2, max: 2 }, qa: { min: 1, max: 2 } });
    const agents = [...sys.pool('code').agentList(), ...sys.pool('qa').agentList()];
    const a = await sys.acquire('code', { cycleId: 'a' });
    await sys.acquire('code', { cycleId: 'b' }).then((l) => l.release());
    const b = await sys.acquire('code', { cycleId: 'b2' });
    const waiter = track(sys.acquire('code', { cycleId: 'c', timeoutMs: 60_000 }), clock);
    const done = track(sys.shutdown({ graceful: true, deadlineMs: 10_000 }), clock);
    await clock.advanceAsync(0);
    expect(waiter.state).toBe('rejected');
    expect(waiter.error!.code).toBe('ERR_SHUTTING_DOWN');
    expect((await rejection(sys.acquire('qa', { cycleId: 'late' }))).code).toBe('ERR_SHUTTING_DOWN');
    // Leases are still good while draining.
    await expect(a.run('echo', 'finishing')).resolves.toBe('finishing');
    await clock.advanceAsync(5_000);
    expect(done.state).toBe('pending');
    await a.release();
    await b.release();
    await clock.advanceAsync(1_000);
    expect(done.state).toBe('fulfilled');
    expect(done.at).toBeLessThan(10_000);
    nothingLeft(sys);
    for (const ag of agents) expect(ag.actor.getSnapshot().status).toBe('done');
    expect(clock.pending).toBe(0);
  });

  it('graceful: a lease held past the deadline is taken back and the agents stop anyway', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    const a = await sys.acquire('code', { cycleId: 'a' });
    const done = track(sys.shutdown({ graceful: true, deadlineMs: 2_000 }), clock);
    await clock.advanceAsync(1_999);
    expect(done.state).toBe('pending');
    expect(a.released).toBe(false);
    await clock.advanceAsync(2_000);
    expect(done.state).toBe('fulfilled');
    expect(a.released).toBe(true);
    expect((await rejection(a.run('echo', 1))).code).toBe('ERR_LEASE_RELEASED');
    nothingLeft(sys);
    expect(clock.pending).toBe(0);
  });

  it('forced: leases lost, waiters rejected ERR_SHUTTING_DOWN, nothing left', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    const a = await sys.acquire('code', { cycleId: 'a' });
    const waiter = track(sys.acquire('code', { cycleId: 'b', timeoutMs: 60_000 }), clock);
    await clock.advanceAsync(0);
    await sys.shutdown({ graceful: false });
    await clock.advanceAsync(0);
    expect(waiter.state).toBe('rejected');
    expect(waiter.error!.code).toBe('ERR_SHUTTING_DOWN');
    expect(a.released).toBe(true);
    nothingLeft(sys);
    expect(clock.pending).toBe(0);
  });

  it('forced while a scale-up is queued: no agent is started after the stop', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 6 } });
    const first = sys.scalePool('code', 3, 'one');
    const queued = sys.scalePool('code', 6, 'queued behind the first');
    await sys.shutdown({ graceful: false });
    await Promise.all([first, queued]);
    await clock.advanceAsync(5_000);
    nothingLeft(sys);
    expect(clock.pending).toBe(0);
  });

  it('forced while an agent is restarting after a failed start: nothing left', async () => {
    const flaky = flakyAgent();
    const { sys, clock } = await startSystem({ code: { agent: flaky.agent, min: 1, max: 3 } });
    flaky.failNextStarts(1);
    await sys.scalePool('code', 2, 'up');
    expect(sys.status().pools.code!.agents).toMatchObject({ restarting: 1 });
    await sys.shutdown({ graceful: false });
    await clock.advanceAsync(1_000);
    nothingLeft(sys);
    expect(clock.pending).toBe(0);
  });

  it('shutdown before start, and twice, is harmless', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    await sys.shutdown();
    await sys.shutdown();
    nothingLeft(sys);
    expect(clock.pending).toBe(0);
    expect((await rejection(sys.acquire('code', { cycleId: 'x' }))).code).toBe('ERR_SHUTTING_DOWN');
    const e = await sys
      .shutdown({ bogus: true } as never)
      .catch((x: unknown) => x as { code: string; path: string });
    expect(e).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'options.bogus' });
  });
});
