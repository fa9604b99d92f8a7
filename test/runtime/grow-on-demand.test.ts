/**
 * Pool option `growOnDemand`: without autoscale a waiter starts an agent at once (below max); with
 * autoscale the scaler owns the size — waiters do not spawn agents except in an empty pool (scale from
 * zero) — unless `growOnDemand: true` is set explicitly.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ConfigError } from '../../src/core/errors.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { testTimings } from './helpers.js';

const slowScaler = { intervalMs: 60_000, maxAcceptableWaitMs: 100, shortWaitMs: 50 };

async function run(pool: Record<string, unknown>) {
  const clock = new ManualClock();
  const sys = new AgentPoolSystem({
    clock,
    pools: {
      w: {
        agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
        max: 6,
        acquireTimeoutMs: 600_000,
        timings: testTimings,
        ...pool,
      },
    },
  });
  await sys.start();
  const tasks = Array.from({ length: 4 }, () => sys.submit({ type: 'w', task: 'hold', input: 10_000 }));
  await clock.advanceAsync(1_000); // well inside the scaler's first interval
  const size = sys.pool('w').size;
  const reasons = sys
    .pool('w')
    .status()
    .history.map((h) => h.reason);
  await sys.shutdown({ graceful: false });
  await Promise.allSettled(tasks);
  return { size, reasons };
}

describe('growOnDemand', () => {
  it('default without autoscale: queued work starts agents at once, up to max', async () => {
    const r = await run({ min: 1 });
    expect(r.size).toBe(4);
    expect(r.reasons.slice(1).every((x) => x.startsWith('acquire demand'))).toBe(true);
  });

  it('default with autoscale: the scaler owns the size; waiters do not spawn agents', async () => {
    const r = await run({ min: 1, autoscale: slowScaler });
    expect(r.size).toBe(1);
    expect(r.reasons.some((x) => x.startsWith('acquire demand'))).toBe(false);
  });

  it('with autoscale and an empty pool (min 0): the first waiter starts one agent (scale from zero)', async () => {
    const r = await run({ min: 0, autoscale: slowScaler });
    expect(r.size).toBe(1);
    expect(r.reasons).toContain('acquire demand (empty pool)');
  });

  it('growOnDemand: true with autoscale restores growth on every waiter', async () => {
    const r = await run({ min: 1, autoscale: slowScaler, growOnDemand: true });
    expect(r.size).toBe(4);
  });

  it('the autoscaled pool still grows — through its scaler — when waits persist', async () => {
    const clock = new ManualClock();
    const sys = new AgentPoolSystem({
      clock,
      pools: {
        w: {
          agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
          min: 1,
          max: 6,
          timings: testTimings,
          autoscale: { intervalMs: 1_000, maxAcceptableWaitMs: 100, shortWaitMs: 50 },
        },
      },
    });
    await sys.start();
    const tasks = Array.from({ length: 8 }, () => sys.submit({ type: 'w', task: 'hold', input: 20_000 }));
    for (let i = 0; i < 10; i++) await clock.advanceAsync(1_000);
    expect(sys.pool('w').size).toBeGreaterThan(1);
    expect(
      sys
        .pool('w')
        .status()
        .history.some((h) => h.reason.startsWith('autoscale')),
    ).toBe(true);
    await sys.shutdown({ graceful: false });
    await Promise.allSettled(tasks);
  });

  it('a non-boolean is a ConfigError naming the path', () => {
    expect(
      () =>
        new AgentPoolSystem({
          pools: { w: { agent: defineAgent({ x: () => 1 }), growOnDemand: 'yes' as never } },
        }),
    ).toThrow(ConfigError);
    try {
      new AgentPoolSystem({ pools: { w: { agent: defineAgent({ x: () => 1 }), growOnDemand: 1 as never } } });
    } catch (e) {
      expect(e).toMatchObject({ path: 'pools.w.growOnDemand', received: 1 });
    }
  });
});
