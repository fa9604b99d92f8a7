/**
 * Warm standby (pool option `standby`, issue 19 item 8): a pool keeps that many started agents with
 * no lease beyond demand, within max, so a burst is served without waiting for a start-up. Inline
 * agents whose start-up takes 1 s of ManualClock time make the difference visible.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { sleep } from '../../src/core/clock.js';
import { configErrorOf } from '../helpers/config-error.js';
import { testTimings } from './helpers.js';

const systems: AgentPoolSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ graceful: false });
});

async function start(standby: number, extra: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const agent = defineAgent({ echo: (x: unknown) => x }, { setup: () => sleep(clock, 1_000) });
  const sys = createAgentPoolSystem({
    clock,
    pools: {
      w: {
        agent,
        min: 1,
        max: 6,
        standby,
        healthCheckIntervalMs: 0,
        timings: { ...testTimings, startTimeoutMs: 5_000 },
        ...extra,
      },
    },
  });
  systems.push(sys);
  const started = sys.start();
  await clock.advanceAsync(1_000);
  await started;
  return { sys, clock };
}

/** Acquire `n` leases and report when each was granted (virtual ms after the burst began). */
async function burst(sys: AgentPoolSystem, clock: ManualClock, n: number) {
  const t0 = clock.now();
  const at: number[] = [];
  const leases = Array.from({ length: n }, (_, i) =>
    sys.acquire('w', { cycleId: `c${i}`, timeoutMs: 60_000 }).then((l) => {
      at.push(clock.now() - t0);
      return l;
    }),
  );
  await clock.advanceAsync(0);
  for (let i = 0; i < 10 && at.length < n; i++) await clock.advanceAsync(500);
  return { at, leases: await Promise.all(leases) };
}

describe('warm standby', () => {
  it('starts min + standby agents and keeps standby idle ones after every grant', async () => {
    const { sys, clock } = await start(2);
    expect(sys.status().pools.w).toMatchObject({ size: 2, standby: { target: 2, ready: 2 } });
    const first = await burst(sys, clock, 2);
    // Both served at once by the warm agents; the pool then started two more to stay warm.
    expect(first.at).toEqual([0, 0]);
    await clock.advanceAsync(1_000);
    expect(sys.status().pools.w).toMatchObject({ size: 4, standby: { target: 2, ready: 2 } });
    expect(sys.metricsText()).toContain('agentpool_agents_warm{pool="w"} 2\n');
    const second = await burst(sys, clock, 2);
    expect(second.at).toEqual([0, 0]);
    for (const l of [...first.leases, ...second.leases]) await l.release();
  });

  it('without standby a burst beyond the idle agents waits for a start-up', async () => {
    const { sys, clock } = await start(0);
    expect(sys.status().pools.w?.size).toBe(1);
    expect(sys.status().pools.w?.standby).toBeUndefined();
    const b = await burst(sys, clock, 2);
    expect(b.at[0]).toBe(0);
    expect(b.at[1]).toBeGreaterThanOrEqual(1_000); // the second waited for an agent to start
    for (const l of b.leases) await l.release();
  });

  it('is capped by max and validated', async () => {
    const { sys, clock } = await start(10);
    expect(sys.status().pools.w?.size).toBe(6);
    const b = await burst(sys, clock, 6);
    expect(b.at.every((t) => t === 0)).toBe(true);
    expect(sys.status().pools.w?.size).toBe(6);
    for (const l of b.leases) await l.release();
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent: defineAgent({}), standby: -1 } } }),
      'pools.w.standby',
    );
  });

  it('the scaler shrinks an idle pool only down to the busy agents plus the standby', async () => {
    const { sys, clock } = await start(2, {
      autoscale: { intervalMs: 1_000, stabilisationWindowMs: 2_000, scaleDownCooldownMs: 1_000 },
    });
    const scaled = sys.scalePool('w', 6, 'test');
    await clock.advanceAsync(1_000); // the new agents' start-up
    await scaled;
    const lease = await sys.acquire('w', { cycleId: 'busy' });
    // A long quiet spell: the scaler takes the pool down, but not below 1 busy + 2 standby.
    let low = 6;
    for (let t = 0; t < 120; t++) {
      await clock.advanceAsync(1_000);
      low = Math.min(low, sys.pool('w').size);
    }
    expect(low).toBe(3);
    // The scaler did shrink the pool, and none of its decisions went below the floor.
    const autoscaled = sys.status().pools.w!.history.filter((h) => h.reason.startsWith('autoscale'));
    expect(autoscaled.some((h) => h.target < 6)).toBe(true);
    for (const h of autoscaled) expect(h.target).toBeGreaterThanOrEqual(3);
    expect(sys.status().pools.w?.standby).toEqual({ target: 2, ready: 2 });
    await lease.release();
  });
});
