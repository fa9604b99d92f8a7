/**
 * Concurrency keys: at most `concurrencyLimit` leases per key at once, across pools; a waiter blocked
 * by its key never blocks waiters behind it.
 */
import { describe, expect, it } from 'vitest';
import { startSystem, track } from './helpers.js';

describe('concurrency keys', () => {
  it('one writer per key; other keys and keyless requests proceed at once', async () => {
    const { sys, clock } = await startSystem({ code: { min: 4, max: 4 } });
    const w1 = await sys.acquire('code', { cycleId: 's1', concurrencyKey: 'repo-a' });
    const w2 = track(
      sys.acquire('code', { cycleId: 's2', concurrencyKey: 'repo-a', timeoutMs: 10_000 }),
      clock,
    );
    const b = track(sys.acquire('code', { cycleId: 's3', concurrencyKey: 'repo-b' }), clock);
    const free = track(sys.acquire('code', { cycleId: 's4' }), clock);
    await clock.advanceAsync(0);
    expect(w2.state).toBe('pending');
    expect(b.state).toBe('fulfilled');
    expect(free.state).toBe('fulfilled');
    // An agent is free, yet the second writer of repo-a waits for the key, not for an agent.
    expect(sys.status().pools.code!).toMatchObject({ waiting: 1, available: 1 });
    await clock.advanceAsync(500);
    await w1.release();
    await clock.advanceAsync(0);
    expect(w2.state).toBe('fulfilled');
    expect(w2.value!.waitedMs).toBe(500);
    expect(w2.value!.concurrencyKey).toBe('repo-a');
    await sys.shutdown({ graceful: false });
  });

  it('a waiter blocked by its key does not block the waiters behind it', async () => {
    const { sys, clock } = await startSystem({ code: { min: 2, max: 2 } });
    const keyed = await sys.acquire('code', { cycleId: 'k', concurrencyKey: 'k' });
    const plain = await sys.acquire('code', { cycleId: 'p' });
    const first = track(
      sys.acquire('code', { cycleId: 'w1', concurrencyKey: 'k', timeoutMs: 10_000 }),
      clock,
    );
    const second = track(
      sys.acquire('code', { cycleId: 'w2', concurrencyKey: 'j', timeoutMs: 10_000 }),
      clock,
    );
    await clock.advanceAsync(0);
    expect(sys.status().pools.code!.waiting).toBe(2);
    await plain.release();
    await clock.advanceAsync(0);
    expect(first.state).toBe('pending');
    expect(second.state).toBe('fulfilled');
    expect(second.value!.agentId).toBe(plain.agentId);
    await keyed.release();
    await clock.advanceAsync(0);
    expect(first.state).toBe('fulfilled');
    expect(first.value!.agentId).toBe(keyed.agentId);
    await sys.shutdown({ graceful: false });
  });

  it('two agents freed in the same turn do not both go to waiters of the same key', async () => {
    const { sys, clock } = await startSystem({ code: { min: 2, max: 2 } });
    const l1 = await sys.acquire('code', { cycleId: 'a' });
    const l2 = await sys.acquire('code', { cycleId: 'b' });
    const w1 = track(sys.acquire('code', { cycleId: 'w1', concurrencyKey: 'k', timeoutMs: 10_000 }), clock);
    const w2 = track(sys.acquire('code', { cycleId: 'w2', concurrencyKey: 'k', timeoutMs: 10_000 }), clock);
    await clock.advanceAsync(0);
    // Both releases before any promise callback runs: the first offer is still in flight for the second.
    void l1.release();
    void l2.release();
    await clock.advanceAsync(0);
    expect([w1.state, w2.state]).toEqual(['fulfilled', 'pending']);
    await w1.value!.release();
    await clock.advanceAsync(0);
    expect(w2.state).toBe('fulfilled');
    await sys.shutdown({ graceful: false });
  });

  it('concurrencyLimit N admits N holders of a key, the next one waits', async () => {
    const { sys, clock } = await startSystem({ code: { min: 4, max: 4 } });
    const opts = { concurrencyKey: 'readers', concurrencyLimit: 3, timeoutMs: 10_000 };
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await sys.acquire('code', { cycleId: `r${i}`, ...opts }));
    const fourth = track(sys.acquire('code', { cycleId: 'r3', ...opts }), clock);
    await clock.advanceAsync(100);
    expect(fourth.state).toBe('pending');
    await held[1]!.release();
    await clock.advanceAsync(0);
    expect(fourth.state).toBe('fulfilled');
    await sys.shutdown({ graceful: false });
  });

  it('keys hold across pools, and a release in one pool wakes a waiter in another', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 }, qa: { min: 1, max: 1 } });
    const writer = await sys.acquire('code', { cycleId: 'c', concurrencyKey: 'repo' });
    const tester = track(
      sys.acquire('qa', { cycleId: 'q', concurrencyKey: 'repo', timeoutMs: 10_000 }),
      clock,
    );
    await clock.advanceAsync(100);
    expect(tester.state).toBe('pending');
    await writer.release();
    await clock.advanceAsync(0);
    expect(tester.state).toBe('fulfilled');
    expect(tester.value!.waitedMs).toBe(100);
    await sys.shutdown({ graceful: false });
  });

  it('a key whose holder times out as a waiter is not left taken', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1 } });
    const held = await sys.acquire('code', { cycleId: 'a' });
    const p = track(sys.acquire('code', { cycleId: 'b', concurrencyKey: 'repo', timeoutMs: 100 }), clock);
    await clock.advanceAsync(150);
    expect(p.state).toBe('rejected');
    expect(p.error!.code).toBe('ERR_POOL_EXHAUSTED');
    await held.release();
    const a = await sys.acquire('code', { cycleId: 'c', concurrencyKey: 'repo' });
    expect(a.concurrencyKey).toBe('repo');
    await sys.shutdown({ graceful: false });
  });
});
