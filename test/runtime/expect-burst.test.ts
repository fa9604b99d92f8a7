/**
 * `system.expect(type, { at, tasks })`: a known upcoming burst feeds the live scaler, which grows the
 * pool before `at`; forecaster options from pool config are validated with typed errors.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { createAgentPoolSystem } from '../../src/index.js';
import { testTimings } from './helpers.js';

const MIN = 60_000;

async function autoscaled(clock: ManualClock, autoscale: Record<string, unknown> = {}) {
  const sys = createAgentPoolSystem({
    clock,
    pools: {
      code: {
        agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
        min: 1,
        max: 20,
        timings: testTimings,
        healthCheckIntervalMs: 0,
        autoscale: { intervalMs: 5_000, forecastHorizonMs: 60_000, ...autoscale },
      },
    },
  });
  await sys.start();
  return sys;
}

describe('system.expect: announced bursts pre-scale the live pool', () => {
  it('the pool grows to about the announced tasks before `at`, and not without the announcement', async () => {
    const run = async (announce: boolean) => {
      const clock = new ManualClock();
      const sys = await autoscaled(clock, { forecast: { detect: false } });
      const at = clock.now() + 10 * MIN;
      if (announce) sys.expect('code', { at, tasks: 12 });
      let before = 0;
      let earliest: number | undefined;
      while (clock.now() < at - 1_000) {
        await clock.advanceAsync(1_000);
        const size = sys.pool('code').size;
        if (size > 1 && earliest === undefined) earliest = clock.now();
        before = Math.max(before, size);
      }
      const reasons = sys
        .pool('code')
        .scalerHistory()
        .map((d) => d.reason);
      await sys.shutdown({ graceful: false });
      return { before, earliest, at, reasons };
    };
    const told = await run(true);
    const untold = await run(false);
    expect(told.before).toBeGreaterThanOrEqual(12);
    expect(told.before).toBeLessThanOrEqual(20);
    // not long before: within the forecast horizon plus one interval
    expect(told.earliest).toBeGreaterThanOrEqual(told.at - 60_000 - 5_000);
    expect(told.reasons).toContain('forecast-peak');
    expect(untold.before).toBe(1);
  });

  it('rejects a bad burst, an unknown pool and a pool without autoscale with typed errors', async () => {
    const clock = new ManualClock();
    const sys = await autoscaled(clock);
    expect(() => sys.expect('code', { at: Number.NaN, tasks: 3 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('burst.at') }),
    );
    expect(() => sys.expect('code', { at: 1, tasks: 0 })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringContaining('burst.tasks'),
      }),
    );
    expect(() => sys.expect('code', { at: 1, tasks: 2, when: 3 } as never)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('burst.when') }),
    );
    expect(() => sys.expect('nope', { at: 1, tasks: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_POOL' }),
    );
    await sys.shutdown({ graceful: false });
    const fixed = createAgentPoolSystem({
      clock,
      pools: {
        qa: {
          agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
          min: 1,
          max: 2,
          timings: testTimings,
        },
      },
    });
    await fixed.start();
    expect(() => fixed.expect('qa', { at: 1, tasks: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    await fixed.shutdown({ graceful: false });
  });

  it('autoscale.forecast options are validated at creation, naming the path', () => {
    const clock = new ManualClock();
    const make = (forecast: unknown) => () =>
      createAgentPoolSystem({
        clock,
        pools: {
          code: {
            agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
            min: 1,
            max: 4,
            autoscale: { forecast } as never,
          },
        },
      });
    expect(make({ binMs: 5 })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('pools.code.autoscale.forecast.binMs'),
      }),
    );
    expect(make({ bogus: 1 })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('pools.code.autoscale.forecast.bogus') }),
    );
    expect(make({ periodMs: 1_800_000, slotMs: 60_000, detect: false })).not.toThrow();
  });
});
