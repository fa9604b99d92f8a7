/**
 * Optimisation at run time (issue 19 item 5): `system.optimize()` applies the allowed kinds through
 * the system's own actions (scale, set-balancing), skips the rest, and keeps each round with the pool
 * figures before and after; system option `optimize` runs rounds on the clock. ManualClock, inline agents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { configErrorOf } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ echo: (x: unknown) => x });
const systems: AgentPoolSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ graceful: false });
});

async function idlePool(extra: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const sys = createAgentPoolSystem({
    clock,
    pools: { w: { agent, min: 1, max: 6, healthCheckIntervalMs: 0, timings: testTimings } },
    ...extra,
  });
  systems.push(sys);
  await sys.start();
  await sys.scalePool('w', 5, 'test');
  return { sys, clock };
}

describe('optimisation rounds', () => {
  it('an allowed kind is applied (an idle pool is scaled down); other kinds are only reported', async () => {
    const { sys } = await idlePool();
    const advisory = await sys.optimize();
    expect(advisory.applied).toEqual([]);
    expect(advisory.skipped.map((s) => [s.rec.kind, s.reason])).toContainEqual([
      'low-utilization',
      'not-auto',
    ]);
    expect(sys.pool('w').size).toBe(5);
    const r = await sys.optimize({ auto: ['low-utilization'] });
    expect(r.applied.map((x) => x.kind)).toEqual(['low-utilization']);
    expect(r.before.w).toMatchObject({ agents: 5, utilization: 0 });
    expect(sys.pool('w').size).toBeLessThan(5);
    // The next round records what the last one led to.
    await sys.optimize();
    const h = sys.optimizationHistory();
    expect(h).toHaveLength(3);
    expect(h[1]?.after?.w?.agents).toBe(sys.pool('w').size);
    expect(h[2]?.after).toBeUndefined();
    await expect(sys.optimize({ auto: ['nonsense' as never] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'options.auto[0]',
    });
  });

  it('setBalancing replaces the strategy at run time; an unknown name is a typed error', async () => {
    const { sys } = await idlePool();
    expect(sys.status().pools.w?.balancing).toBeUndefined();
    sys.setBalancing('w', 'least-connections');
    expect(sys.status().pools.w?.balancing).toBe('least-connections');
    const l = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 64 } });
    sys.setBalancing('w', undefined); // switched while a lease holds resources: released cleanly
    await l.release();
    expect(sys.status().pools.w?.balancing).toBeUndefined();
    expect(() => sys.setBalancing('w', 'fastest' as never)).toThrow(/strategy/);
  });

  it('system option optimize runs rounds on the clock and stops with the system', async () => {
    const { sys, clock } = await idlePool({ optimize: { intervalMs: 10_000, auto: ['low-utilization'] } });
    expect(sys.optimizationHistory()).toHaveLength(0);
    await clock.advanceAsync(10_000);
    expect(sys.optimizationHistory()).toHaveLength(1);
    expect(sys.pool('w').size).toBeLessThan(5);
    await clock.advanceAsync(10_000);
    expect(sys.optimizationHistory()).toHaveLength(2);
    await sys.shutdown({ graceful: false });
    await clock.advanceAsync(30_000);
    expect(sys.optimizationHistory()).toHaveLength(2);
    expect(clock.pending).toBe(0);
    configErrorOf(
      () =>
        createAgentPoolSystem({
          pools: { w: { agent } },
          optimize: { intervalMs: 1_000, auto: ['x' as never] },
        }),
      'optimize.auto[0]',
    );
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent } }, optimize: { intervalMs: 0 } }),
      'optimize.intervalMs',
    );
  });
});
