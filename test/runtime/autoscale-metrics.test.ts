/**
 * The pool's scaler actor, metrics and balancing option, wired end to end on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { startSystem, testTimings } from './helpers.js';

describe('autoscaling, metrics and balancing through the system', () => {
  it('the scaler grows a loaded pool within max and shrinks it back to min when idle', async () => {
    const { sys, clock } = await startSystem({
      code: {
        min: 1,
        max: 6,
        acquireTimeoutMs: 600_000,
        autoscale: {
          intervalMs: 1_000,
          maxAcceptableWaitMs: 100,
          shortWaitMs: 50,
          stabilisationWindowMs: 5_000,
        },
      },
    });
    const pool = sys.pool('code');
    // 20 long acquisitions: one runs, the rest wait; the scaler must add agents.
    const held = Array.from({ length: 20 }, (_, i) =>
      sys.acquire('code', { cycleId: `c${i}` }).then(async (lease) => {
        await sleep(clock, 5_000);
        await lease.release();
      }),
    );
    let peak = 0;
    for (let t = 0; t < 120 && peak < 6; t++) {
      await clock.advanceAsync(500);
      peak = Math.max(peak, pool.size);
      expect(pool.size).toBeLessThanOrEqual(6);
    }
    expect(peak).toBeGreaterThan(1);
    await Promise.all([...held, clock.advanceAsync(200_000)]);
    // idle: back to min after the stabilisation window and cooldowns
    for (let t = 0; t < 200 && pool.size > 1; t++) await clock.advanceAsync(5_000);
    expect(pool.size).toBe(1);
    const reasons = pool.status().history.map((h) => h.reason);
    expect(reasons.some((r) => r.startsWith('autoscale'))).toBe(true);
    expect(pool.scalerHistory().length).toBeGreaterThan(0);
    await sys.shutdown({ graceful: false });
  });

  it('metricsHistory(): one sample per metricsIntervalMs into a time-series ring; off at 0; stops at shutdown', async () => {
    const clock = new ManualClock();
    const sys = new AgentPoolSystem({
      clock,
      metricsIntervalMs: 1_000,
      pools: {
        qa: {
          agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
          min: 2,
          max: 2,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    // Interval 1: 3 tasks of 400 ms; interval 2: 1 task; interval 3: nothing.
    const first = [1, 2, 3].map(() => sys.submit({ type: 'qa', task: 'hold', input: 400 }));
    await clock.advanceAsync(1_000);
    await Promise.all(first);
    const second = sys.submit({ type: 'qa', task: 'hold', input: 100 });
    await clock.advanceAsync(1_000);
    await second;
    await clock.advanceAsync(1_000);
    const h = sys.metricsHistory('qa');
    expect(h.map((x) => x.at)).toEqual([1_000, 2_000, 3_000]);
    expect(h.map((x) => x.requests)).toEqual([3, 1, 0]);
    expect(h.map((x) => x.completions)).toEqual([3, 1, 0]); // 2 agents: 0–400, 0–400, then 400–800
    expect(h[0]!.wait.count).toBe(3);
    expect(h[0]!.agents.total).toBe(2);
    await sys.shutdown({ graceful: false });
    expect(clock.pending).toBe(0);
    const off = new AgentPoolSystem({
      clock,
      metricsIntervalMs: 0,
      pools: { qa: { agent: defineAgent({ x: () => 1 }), min: 1, max: 1, timings: testTimings } },
    });
    await off.start();
    await clock.advanceAsync(120_000);
    expect(off.metricsHistory('qa')).toEqual([]);
    await off.shutdown({ graceful: false });
    expect(
      () =>
        new AgentPoolSystem({ metricsIntervalMs: -1, pools: { qa: { agent: defineAgent({ x: () => 1 }) } } }),
    ).toThrow(/metricsIntervalMs/);
  });

  it('metrics() and metricsText() report requests, waits and completions with pool/type labels', async () => {
    const { sys, clock } = await startSystem({ qa: { min: 2, max: 2 } });
    for (let i = 0; i < 5; i++) {
      const l = await sys.acquire('qa', { cycleId: `c${i}` });
      await clock.advanceAsync(100);
      await l.release();
    }
    const [m] = sys.metrics();
    expect(m!.pool).toBe('qa');
    expect(m!.outcomes.success).toBe(5);
    expect(m!.service.count).toBe(5);
    expect(m!.service.sum / m!.service.count).toBeCloseTo(0.1, 5);
    const text = sys.metricsText();
    expect(text).toMatch(/# TYPE \S+ histogram/);
    expect(text).toMatch(/\{[^}]*pool="qa"[^}]*\}/);
    expect(text).not.toMatch(/cycle|agentId/); // low-cardinality labels only
    await sys.shutdown({ graceful: false });
  });

  it('balancing: least-connections spreads leases over agents; the default fills the idle-longest agent first', async () => {
    const agentsOf = async (balancing?: 'least-connections') => {
      const { sys } = await startSystem({
        code: {
          min: 2,
          max: 2,
          concurrency: 3,
          ...(balancing ? { balancing } : {}),
          agent: defineAgent({ x: () => 1 }),
        },
      });
      const leases = [];
      for (let i = 0; i < 4; i++) leases.push(await sys.acquire('code', { cycleId: `c${i}` }));
      const ids = leases.map((l) => l.agentId);
      await sys.shutdown({ graceful: false });
      return new Set(ids.slice(0, 2)).size;
    };
    expect(await agentsOf('least-connections')).toBe(2); // first two leases on different agents
    expect(await agentsOf()).toBe(1); // FIFO free set: the same agent until its slots are full
  });

  it('recommendations(): long waits on a small pool produce a high-wait recommendation to scale up', async () => {
    const { sys, clock } = await startSystem({ code: { min: 1, max: 1, acquireTimeoutMs: 600_000 } });
    const done = Array.from({ length: 6 }, (_, i) =>
      sys.acquire('code', { cycleId: `c${i}` }).then(async (l) => {
        await sleep(clock, 20_000);
        await l.release();
      }),
    );
    await Promise.all([...done, clock.advanceAsync(200_000)]);
    const recs = sys.recommendations({ maxWaitP99S: 30 });
    const high = recs.find((r) => r.kind === 'high-wait');
    expect(high?.pool).toBe('code');
    expect(high?.action).toMatchObject({ type: 'scale' });
    await sys.shutdown({ graceful: false });
  });
});
