/**
 * Issue 18 through the public API: a live autoscaled pool sizes steady demand with the square-root
 * margin (R + β·√R, not Little's R / ρ alone — `staffingBeta: 0` gives Little's size), and sheds its
 * agents within a minute or two once the demand stops, not a stabilisation window later.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { createAgentPoolSystem } from '../../src/index.js';
import { testTimings } from './helpers.js';

const MIN = 60_000;

/** 0.5 tasks/s of 20 s each (R = 10 busy) for `minutes`, then nothing; the pool size over time. */
async function run(autoscale: Record<string, unknown>, minutes: number) {
  const clock = new ManualClock();
  const sys = createAgentPoolSystem({
    clock,
    pools: {
      code: {
        agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
        min: 1,
        max: 40,
        timings: testTimings,
        healthCheckIntervalMs: 0,
        autoscale: { forecast: { detect: false }, ...autoscale },
      },
    },
  });
  await sys.start();
  const sizes: number[] = []; // one per second
  const end = minutes * MIN;
  const tasks: Promise<unknown>[] = [];
  for (let t = 0; t < end + 6 * MIN; t += 1_000) {
    if (t < end && t % 2_000 === 0) tasks.push(sys.submit({ type: 'code', task: 'hold', input: 20_000 }));
    await clock.advanceAsync(1_000);
    sizes.push(sys.pool('code').size);
  }
  await Promise.allSettled(tasks);
  await sys.shutdown({ graceful: false });
  return { sizes, endS: end / 1000 };
}

describe('live scaler sizing (issue 18)', () => {
  it('holds R + β·√R agents for steady demand, Little alone with staffingBeta: 0', async () => {
    const sqrt = await run({}, 12);
    const little = await run({ staffingBeta: 0 }, 12);
    const at = (r: { sizes: number[]; endS: number }) => r.sizes[r.endS - 1] ?? 0;
    // R = 10: 10 + 3.5·√10 = 21.1 → 22, and Little's 10 / 0.75 = 13.3 → 14 (± a waiter's worth)
    expect(at(sqrt)).toBeGreaterThanOrEqual(20);
    expect(at(sqrt)).toBeLessThanOrEqual(24);
    expect(at(little)).toBeGreaterThanOrEqual(13);
    expect(at(little)).toBeLessThanOrEqual(16);
  }, 60_000);

  it('sheds the agents within two minutes after the demand stops, not a window later', async () => {
    const r = await run({}, 12);
    // rateSmoothingMs: 0 sizes on the observed rate as it is: no change detection, no burst end
    const plain = await run({ rateSmoothingMs: 0 }, 12);
    const before = r.sizes[r.endS - 1] ?? 0;
    // the last tasks finish ~20 s after the end; the end is confirmed by a second 30 s window and the
    // pool is sized for an upper bound of what is left (R ≈ 1.3 → 6 agents)
    expect(before).toBeGreaterThan(15);
    expect(r.sizes[r.endS + 120]).toBeLessThanOrEqual(6);
    // without it the stabilisation window keeps the pool for its whole 5 minutes
    expect(plain.sizes[plain.endS + 120]).toBeGreaterThan(15);
  }, 60_000);
});
