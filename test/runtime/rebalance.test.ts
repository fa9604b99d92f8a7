/**
 * System option `rebalance`: the rebalancer machine on the system's ManualClock, reading lease usage
 * (`lease.reportUsage`) and resizing lease allocations through the allocator actor.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import type { RebalanceOptions } from '../../src/runtime/config.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { echoAgent, testTimings } from './helpers.js';

const INTERVAL = 1_000;

async function start(limits: { memoryMb?: number; cpuCores?: number }, rebalance: RebalanceOptions = {}) {
  const clock = new ManualClock();
  const sys = new AgentPoolSystem({
    clock,
    limits,
    allocation: false, // exact grants: the rebalancer's resizes are what these tests measure
    rebalance: { intervalMs: INTERVAL, minSamples: 1, ...rebalance },
    pools: {
      work: {
        agent: echoAgent(),
        min: 2,
        max: 2,
        healthCheckIntervalMs: 0,
        timings: testTimings,
        capacity: { memoryMb: 8_192, cpuCores: 8 },
      },
    },
  });
  await sys.start();
  await clock.advanceAsync(0);
  return { sys, clock, used: () => sys.allocator!.usage().used };
}

function configError(fn: () => unknown): AgentPoolError {
  try {
    fn();
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a ConfigError');
}

describe('rebalance: wired to the runtime', () => {
  it('an allocation using < 30 % of its memory gives back 40 % through the allocator', async () => {
    const { sys, clock, used } = await start({ memoryMb: 4_096 });
    const mem = 1_000;
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: mem } });
    expect(used().memoryMb).toBe(mem);
    lease.reportUsage({ memoryMb: 0.2 * mem });
    await clock.advanceAsync(INTERVAL);
    const give = Math.floor(0.4 * mem);
    expect(used().memoryMb).toBe(mem - give);
    const h = sys.rebalanceHistory();
    expect(h).toHaveLength(1);
    expect(h[0]).toMatchObject({ applied: true, freed: give, granted: 0 });
    expect(h[0]!.opportunity).toMatchObject({ kind: 'shrink-memory', delta: -give });
    // Releasing the lease gives back what the allocation holds now: the ledger returns to zero.
    await lease.release();
    expect(used().memoryMb).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('an allocation above 90 % grows by 50 % when the ledger allows', async () => {
    const { sys, clock, used } = await start({ memoryMb: 4_096 });
    const mem = 1_000;
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: mem } });
    lease.reportUsage({ memoryMb: 0.5 * mem });
    lease.reportUsage({ memoryMb: 0.95 * mem }); // the peak counts
    await clock.advanceAsync(INTERVAL);
    const grow = Math.floor(0.5 * mem);
    expect(used().memoryMb).toBe(mem + grow);
    expect(sys.rebalanceHistory()[0]).toMatchObject({ applied: true, granted: grow, freed: 0 });
    await sys.shutdown({ graceful: false });
  });

  it('a grow the ledger cannot fit is refused by the allocator and recorded; nothing changes', async () => {
    const limit = 1_200;
    const { sys, clock, used } = await start({ memoryMb: limit });
    const mem = 1_000;
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: mem } });
    lease.reportUsage({ memoryMb: 0.99 * mem });
    await clock.advanceAsync(INTERVAL);
    expect(used().memoryMb).toBe(mem);
    const [o] = sys.rebalanceHistory();
    expect(o).toMatchObject({ applied: false, freed: 0, granted: 0 });
    expect(o!.opportunity).toMatchObject({ kind: 'grow-memory', delta: Math.floor(0.5 * mem) });
    expect(o!.error).toContain('memoryMb');
    expect(o!.error).toContain(String(limit - mem)); // what was available
    await sys.shutdown({ graceful: false });
  });

  it('only leases that reported use are touched, each round looks at its own interval', async () => {
    const { sys, clock, used } = await start({ memoryMb: 4_096, cpuCores: 8 });
    const quiet = await sys.acquire('work', { cycleId: 'q', requirements: { memoryMb: 1_000 } });
    const busy = await sys.acquire('work', { cycleId: 'b', requirements: { memoryMb: 1_000, cpuCores: 2 } });
    // Only CPU reported: memory is unknown, not unused — it must not be shrunk.
    busy.reportUsage({ cpuCores: 0.2 });
    await clock.advanceAsync(INTERVAL);
    expect(used().memoryMb).toBe(2_000);
    expect(used().cpuCores).toBe(2 - Math.floor(2 * 0.3 * 100) / 100);
    expect(sys.rebalanceHistory().map((o) => o.opportunity.kind)).toEqual(['shrink-cpu']);
    // No new report in the next interval: no new outcome.
    await clock.advanceAsync(INTERVAL);
    expect(sys.rebalanceHistory()).toHaveLength(1);
    expect(quiet.released).toBe(false);
    await sys.shutdown({ graceful: false });
  });

  it('system.rebalancer.trigger() runs a round now, not at the next interval', async () => {
    const { sys, clock, used } = await start({ memoryMb: 4_096 }, { intervalMs: 60_000 });
    const mem = 1_000;
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: mem } });
    lease.reportUsage({ memoryMb: 0.2 * mem });
    await clock.advanceAsync(INTERVAL); // far from the 60 s interval: no round yet
    expect(sys.rebalanceHistory()).toEqual([]);
    sys.rebalancer!.trigger();
    await clock.advanceAsync(0);
    expect(sys.rebalanceHistory()).toHaveLength(1);
    expect(used().memoryMb).toBe(mem - Math.floor(0.4 * mem));
    // After shutdown it is a no-op, never an error.
    await sys.shutdown({ graceful: false });
    expect(() => sys.rebalancer!.trigger()).not.toThrow();
  });

  it('stops with the system: no rounds after shutdown', async () => {
    const { sys, clock } = await start({ memoryMb: 4_096 });
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: 1_000 } });
    lease.reportUsage({ memoryMb: 10 });
    await sys.shutdown({ graceful: false });
    expect(sys.actor.getSnapshot().children.rebalancer).toBeUndefined();
    await clock.advanceAsync(10 * INTERVAL);
    expect(sys.rebalanceHistory()).toEqual([]);
  });

  it('lease.reportUsage validates its argument (typed error, nothing recorded)', async () => {
    const { sys, clock, used } = await start({ memoryMb: 4_096 });
    const lease = await sys.acquire('work', { cycleId: 's1', requirements: { memoryMb: 1_000 } });
    for (const bad of [{ memoryMb: -1 }, { memoryMb: Number.NaN }, { gpu: 1 }]) {
      expect(() => lease.reportUsage(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
    await clock.advanceAsync(INTERVAL);
    expect(sys.rebalanceHistory()).toEqual([]);
    expect(used().memoryMb).toBe(1_000);
    await sys.shutdown({ graceful: false });
  });
});

describe('rebalance: configuration', () => {
  const pools = { work: { agent: echoAgent() } };
  it('is off by default', () => {
    const sys = new AgentPoolSystem({ pools, limits: { memoryMb: 1_000 } });
    expect(sys.rebalancer).toBeUndefined();
    expect(sys.rebalanceHistory()).toEqual([]);
  });

  it('bad options are ConfigErrors naming the path', () => {
    const cases: [unknown, string][] = [
      [{ intervalMs: 0 }, 'rebalance.intervalMs'],
      [{ memoryUnderuse: 2 }, 'rebalance.memoryUnderuse'],
      [{ bogus: 1 }, 'bogus'],
      ['often', 'rebalance'],
    ];
    for (const [rebalance, path] of cases) {
      const e = configError(
        () =>
          new AgentPoolSystem({
            pools,
            limits: { memoryMb: 1_000 },
            rebalance: rebalance as RebalanceOptions,
          }),
      );
      expect(e.code).toBe('ERR_INVALID_CONFIG');
      expect(e.message).toContain(path);
    }
  });

  it('needs global limits (the allocator owns the ledger it resizes)', () => {
    const e = configError(() => new AgentPoolSystem({ pools, rebalance: true }));
    expect(e.code).toBe('ERR_INVALID_CONFIG');
    expect(e.message).toMatch(/^rebalance: /);
  });
});
