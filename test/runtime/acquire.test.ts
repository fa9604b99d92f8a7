/**
 * acquire() on inline pools in virtual time: the fast path, waiting, the timeout → scale-up → retry
 * path, exhaustion at 1.5 × the timeout, abort, release, and requests that can never fit.
 */
import type { ConfigError } from '../../src/core/errors.js';
import { describe, expect, it } from 'vitest';
import { CountingGate, flakyAgent, rejection, startSystem, track } from './helpers.js';

describe('acquire: fast path and waiting', () => {
  it('grants an idle agent at once, without waiting or creating an acquisition actor', async () => {
    const { sys, clock } = await startSystem({ code: { min: 2, max: 2 } });
    const t0 = clock.now();
    const lease = await sys.acquire('code', { cycleId: 'story-1', timeoutMs: 1_000 });
    expect(clock.now()).toBe(t0);
    expect(lease.waitedMs).toBe(0);
    expect(lease.cycleId).toBe('story-1');
    expect(
      sys
        .pool('code')
        .agentList()
        .map((a) => a.id),
    ).toContain(lease.agentId);
    await expect(lease.run('echo', { n: 7 })).resolves.toEqual({ n: 7 });
    const s = sys.status().pools.code!;
    expect(s.counters.grantedImmediately).toBe(1);
    expect(s.leased).toBe(1);
    expect(s.available).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('hands out the agent idle longest first (FIFO over the free index)', async () => {
    const { sys } = await startSystem({ code: { min: 3, max: 3 } });
    const ids = sys
      .pool('code')
      .agentList()
      .map((a) => a.id);
    const a = await sys.acquire('code', { cycleId: 'a' });
    const b = await sys.acquire('code', { cycleId: 'b' });
    await a.release();
    const c = await sys.acquire('code', { cycleId: 'c' });
    const d = await sys.acquire('code', { cycleId: 'd' });
    // a's agent went to the back of the free set: the third (never used) agent comes first.
    const third = ids.find((id) => id !== a.agentId && id !== b.agentId);
    expect(c.agentId).toBe(third);
    expect(d.agentId).toBe(a.agentId);
    await sys.shutdown({ graceful: false });
  });

  it('a waiter below max gets a newly created agent (acquire demand), with no timeout involved', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 2 } });
    const first = await sys.acquire('code', { cycleId: 'a', timeoutMs: 1_000 });
    const second = track(sys.acquire('code', { cycleId: 'b', timeoutMs: 1_000 }), clock);
    await clock.advanceAsync(0);
    expect(second.state).toBe('fulfilled');
    expect(second.at).toBe(0);
    expect(second.value!.agentId).not.toBe(first.agentId);
    const h = sys.status().pools.code!.history;
    expect(h.at(-1)).toMatchObject({
      current: 1,
      target: 2,
      delta: 1,
      actualDelta: 1,
      reason: 'acquire demand',
      status: 'completed',
    });
    await sys.shutdown({ graceful: false });
  });

  it('waiting → timeout → scale-up by one → granted (the agent started on demand failed to come up)', async () => {
    const flaky = flakyAgent();
    const { sys, clock } = await startSystem({
      code: { agent: flaky.agent, min: 1, max: 3, timings: { backoffBaseMs: 10_000, backoffMaxMs: 10_000 } },
    });
    const held = await sys.acquire('code', { cycleId: 'a' });
    flaky.failNextStarts(1);
    const p = track(sys.acquire('code', { cycleId: 'b', timeoutMs: 1_000 }), clock);
    await clock.advanceAsync(999);
    expect(p.state).toBe('pending');
    expect(sys.status().pools.code!.waiting).toBe(1);
    expect(sys.status().pools.code!.agents).toEqual({ idle: 1, restarting: 1 });
    await clock.advanceAsync(1);
    expect(p.state).toBe('fulfilled');
    expect(p.at).toBe(1_000);
    expect(p.value!.waitedMs).toBe(1_000);
    const s = sys.status().pools.code!;
    expect(s.counters.scaleUpsOnTimeout).toBe(1);
    expect(s.counters.grantedAfterWait).toBe(1);
    expect(s.waiting).toBe(0);
    expect(s.history.map((r) => [r.reason, r.status, r.actualDelta])).toEqual([
      ['min size', 'completed', 1],
      ['acquire demand', 'failed', 0],
      ['acquire timeout', 'completed', 1],
    ]);
    expect(p.value!.agentId).not.toBe(held.agentId);
    await sys.shutdown({ graceful: false });
    expect(clock.pending).toBe(0);
  });

  it('at max: no scale-up, ERR_POOL_EXHAUSTED at the first timeout (the seed rule), 1.5× with retryAtMax', async () => {
    for (const retryAtMax of [false, true]) {
      const { sys, clock } = await startSystem({ code: { min: 2, max: 2, retryAtMax } });
      await sys.acquire('code', { cycleId: 'a' });
      await sys.acquire('code', { cycleId: 'b' });
      const p = track(sys.acquire('code', { cycleId: 'c', timeoutMs: 2_000 }), clock);
      const failsAt = retryAtMax ? 3_000 : 2_000;
      await clock.advanceAsync(failsAt - 1);
      expect(p.state).toBe('pending');
      await clock.advanceAsync(1);
      expect(p.state).toBe('rejected');
      expect(p.at).toBe(failsAt);
      expect(p.error!.code).toBe('ERR_POOL_EXHAUSTED');
      expect(p.error!.message).toContain(retryAtMax ? 'none within 1000 ms more' : 'at max 2');
      expect(p.error!.details).toMatchObject({
        pool: 'code',
        scaledUp: false,
        size: 2,
        max: 2,
        timeoutMs: 2_000,
      });
      const s = sys.status().pools.code!;
      expect(s.counters.exhausted).toBe(1);
      expect(s.counters.scaleUpsOnTimeout).toBe(0);
      expect(s.waiting).toBe(0);
      expect(s.size).toBe(2);
      await sys.shutdown({ graceful: false });
    }
  });

  it('a release while waiting grants the oldest waiter (FIFO)', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    const held = await sys.acquire('code', { cycleId: 'a' });
    const w1 = track(sys.acquire('code', { cycleId: 'w1', timeoutMs: 5_000 }), clock);
    const w2 = track(sys.acquire('code', { cycleId: 'w2', timeoutMs: 5_000 }), clock);
    await clock.advanceAsync(100);
    await held.release();
    await clock.advanceAsync(0);
    expect(w1.state).toBe('fulfilled');
    expect(w2.state).toBe('pending');
    expect(w1.value!.waitedMs).toBe(100);
    await w1.value!.release();
    await clock.advanceAsync(0);
    expect(w2.state).toBe('fulfilled');
    await sys.shutdown({ graceful: false });
  });
});

describe('acquire: abort and release', () => {
  it('abort while waiting rejects ERR_ABORTED and leaves nothing reserved or queued', async () => {
    const gate = new CountingGate();
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } }, { gate });
    const held = await sys.acquire('code', { cycleId: 'a', requirements: { memoryMb: 100 } });
    expect(gate.total('memoryMb')).toBe(100);
    const ac = new AbortController();
    const p = track(
      sys.acquire('code', {
        cycleId: 'b',
        requirements: { memoryMb: 200 },
        timeoutMs: 5_000,
        signal: ac.signal,
        concurrencyKey: 'repo',
      }),
      clock,
    );
    await clock.advanceAsync(10);
    ac.abort(new Error('user gave up'));
    await clock.advanceAsync(0);
    expect(p.state).toBe('rejected');
    expect(p.error!.code).toBe('ERR_ABORTED');
    expect(sys.status().pools.code!.waiting).toBe(0);
    expect(gate.total('memoryMb')).toBe(100);
    // The aborted waiter neither got the agent later nor left its timers behind.
    await held.release();
    expect(gate.total('memoryMb')).toBe(0);
    expect(gate.reservations).toBe(0);
    expect(sys.status().pools.code!.available).toBe(1);
    // Its concurrency key is free: a new holder of 'repo' is granted at once.
    const again = await sys.acquire('code', { cycleId: 'c', concurrencyKey: 'repo' });
    expect(again.released).toBe(false);
    await sys.shutdown({ graceful: false });
    expect(clock.pending).toBe(0);
  });

  it('an already-aborted signal rejects at once and queues nothing', async () => {
    const { sys } = await startSystem({ code: { min: 1, max: 1 } });
    const ac = new AbortController();
    ac.abort();
    const e = await rejection(sys.acquire('code', { cycleId: 'x', signal: ac.signal }));
    expect(e.code).toBe('ERR_ABORTED');
    expect(sys.status().pools.code!).toMatchObject({ waiting: 0, leased: 0, available: 1 });
    await sys.shutdown({ graceful: false });
  });

  it('release is idempotent: the slot and the reservation come back exactly once', async () => {
    const gate = new CountingGate();
    const { sys } = await startSystem({ code: { min: 1, max: 1, concurrency: 2 } }, { gate });
    const a = await sys.acquire('code', { cycleId: 'a', requirements: { tokens: 10 } });
    const b = await sys.acquire('code', { cycleId: 'b', requirements: { tokens: 5 } });
    expect(a.agentId).toBe(b.agentId);
    expect(sys.status().pools.code!.available).toBe(0);
    await a.release();
    await a.release();
    await a.release();
    expect(a.released).toBe(true);
    expect(gate.total('tokens')).toBe(5);
    expect(sys.status().pools.code!).toMatchObject({ leased: 1, available: 1 });
    expect(sys.pool('code').agentList()[0]!.leases).toBe(1);
    const e = await rejection(a.run('echo', 1));
    expect(e.code).toBe('ERR_LEASE_RELEASED');
    await expect(b.run('echo', 2)).resolves.toBe(2);
    await sys.shutdown({ graceful: false });
  });
});

describe('acquire: requests that can never fit fail fast', () => {
  const pools = {
    code: {
      min: 1,
      max: 2,
      capacity: { memoryMb: 512, tokens: 1_000, tools: ['git', 'npm'], securityLevel: 'medium' as const },
    },
  };

  it('above the per-agent capacity: ERR_RESOURCE_EXHAUSTED naming the resource, at once', async () => {
    const { sys, clock } = await startSystem(pools);
    const e = await rejection(sys.acquire('code', { cycleId: 'x', requirements: { memoryMb: 513 } }));
    expect(e.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(e.details).toMatchObject({ resource: 'memoryMb', requested: 513, available: 512 });
    expect(e.message).toContain('memoryMb');
    expect(clock.now()).toBe(0);
    expect(sys.status().pools.code!.waiting).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('above a global limit: names the resource and the limit', async () => {
    const { sys } = await startSystem(pools, { limits: { tokens: 500 } });
    const e = await rejection(sys.acquire('code', { cycleId: 'x', requirements: { tokens: 600 } }));
    expect(e.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(e.details).toMatchObject({
      resource: 'tokens',
      requested: 600,
      available: 500,
      scope: 'global limit',
    });
    await sys.shutdown({ graceful: false });
  });

  it('tools not granted: names the missing tools', async () => {
    const { sys } = await startSystem(pools);
    const e = await rejection(
      sys.acquire('code', { cycleId: 'x', requirements: { tools: ['git', 'docker', 'kubectl'] } }),
    );
    expect(e.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(e.details).toMatchObject({ resource: 'tools', requested: 'docker,kubectl' });
    await expect(
      sys.acquire('code', { cycleId: 'ok', requirements: { tools: ['npm'] } }),
    ).resolves.toBeDefined();
    await sys.shutdown({ graceful: false });
  });

  it('security level too high: names securityLevel; at or below the clearance is fine', async () => {
    const { sys } = await startSystem(pools);
    const e = await rejection(sys.acquire('code', { cycleId: 'x', requirements: { securityLevel: 'high' } }));
    expect(e.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(e.details).toMatchObject({ resource: 'securityLevel', requested: 'high', available: 'medium' });
    await expect(
      sys.acquire('code', { cycleId: 'ok', requirements: { securityLevel: 'low' } }),
    ).resolves.toBeDefined();
    await sys.shutdown({ graceful: false });
  });

  it("isolation 'process' on an inline pool: ERR_UNENFORCEABLE, never silently ignored", async () => {
    const { sys } = await startSystem(pools);
    for (const isolation of ['process', 'thread'] as const) {
      const e = await rejection(sys.acquire('code', { cycleId: 'x', requirements: { isolation } }));
      expect(e.code).toBe('ERR_UNENFORCEABLE');
      expect(e.details).toMatchObject({
        path: 'requirements.isolation',
        received: isolation,
        offered: 'none',
      });
    }
    await expect(
      sys.acquire('code', { cycleId: 'ok', requirements: { isolation: 'none' } }),
    ).resolves.toBeDefined();
    await sys.shutdown({ graceful: false });
  });

  it('a reservation refused by the ledger at grant time names the resource and holds nothing', async () => {
    const gate = new CountingGate({ memoryMb: 300 });
    const { sys } = await startSystem({ code: { min: 2, max: 2 } }, { gate });
    const a = await sys.acquire('code', { cycleId: 'a', requirements: { memoryMb: 200 } });
    const e = await rejection(sys.acquire('code', { cycleId: 'b', requirements: { memoryMb: 200 } }));
    expect(e.code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(e.details).toMatchObject({ resource: 'memoryMb' });
    expect(sys.status().pools.code!).toMatchObject({ leased: 1, available: 1, waiting: 0 });
    await a.release();
    expect(gate.total('memoryMb')).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('bad arguments are typed errors naming the path and value; unknown pool is ERR_UNKNOWN_POOL', async () => {
    const { sys } = await startSystem({ code: { min: 1, max: 1 } });
    const cases: [unknown, string, unknown][] = [
      [{ cycleId: 'x', bogus: 1 }, 'options.bogus', 1],
      [{ cycleId: 'x', timeoutMs: -5 }, 'options.timeoutMs', -5],
      [{ cycleId: 'x', timeoutMs: '10' }, 'options.timeoutMs', '10'],
      [{ cycleId: 'x', requirements: { memoryMb: -1 } }, 'options.requirements.memoryMb', -1],
      [{ cycleId: 'x', requirements: { gpu: 1 } }, 'options.requirements.gpu', 1],
      [{ cycleId: 'x', concurrencyLimit: 0 }, 'options.concurrencyLimit', 0],
    ];
    for (const [opts, path, received] of cases) {
      const e = (await rejection(sys.acquire('code', opts as never))) as AgentPoolErrorWithPath;
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.path).toBe(path);
      expect(e.received).toEqual(received);
    }
    const u = await rejection(sys.acquire('nope', { cycleId: 'x' }));
    expect(u.code).toBe('ERR_UNKNOWN_POOL');
    expect(u.details).toMatchObject({ type: 'nope', known: ['code'] });
    expect(sys.status().pools.code!).toMatchObject({ waiting: 0, leased: 0, available: 1 });
    await sys.shutdown({ graceful: false });
  });
});

type AgentPoolErrorWithPath = ConfigError;
