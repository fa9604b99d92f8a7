/**
 * Durations beyond the timer range. Node caps timers at 2^31−1 ms and fires a larger one after 1 ms, so
 * every duration option is validated at the boundary (finite, >= 0, <= MAX_DURATION_MS) with a typed
 * error naming its path and the value received, and the clocks themselves never hand Node (or their
 * own heap) an out-of-range delay.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ConfigError, InvalidArgumentError } from '../../src/core/errors.js';
import { duration } from '../../src/core/validate.js';
import { ManualClock, MAX_DURATION_MS, realClock } from '../../src/core/clock.js';
import { DEFAULT_TIMINGS } from '../../src/runtime/config.js';
import { parseTimeout } from '../../src/runtime/requirements.js';
import { createAgentPoolSystem } from '../../src/runtime/system.js';
import { startSystem } from './helpers.js';

const agent = defineAgent({ t: async () => 1 });

function configError(options: Record<string, unknown>): ConfigError {
  try {
    createAgentPoolSystem({ clock: new ManualClock(), ...options } as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const pool = (extra: Record<string, unknown>) => ({ pools: { w: { agent, ...extra } } });
const autoscale = (extra: Record<string, unknown>) => pool({ autoscale: extra });
const rebalance = (extra: Record<string, unknown>) => ({
  ...pool({}),
  limits: { memoryMb: 4096 },
  rebalance: extra,
});

describe('MAX_DURATION_MS', () => {
  it('is the largest delay a Node timer honours', () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
  });
});

describe('duration options are validated at the boundary', () => {
  // [path, options builder]
  const durations: [string, (v: unknown) => Record<string, unknown>][] = [
    ['metricsIntervalMs', (v) => ({ ...pool({}), metricsIntervalMs: v })],
    ['shutdownDeadlineMs', (v) => ({ ...pool({}), shutdownDeadlineMs: v })],
    ['pools.w.healthCheckIntervalMs', (v) => pool({ healthCheckIntervalMs: v })],
    ['pools.w.acquireTimeoutMs', (v) => pool({ acquireTimeoutMs: v })],
    ['pools.w.cooldownMs', (v) => pool({ cooldownMs: v })],
    ['pools.w.scaleDownGraceMs', (v) => pool({ scaleDownGraceMs: v })],
    ...Object.keys(DEFAULT_TIMINGS).map((k): [string, (v: unknown) => Record<string, unknown>] => [
      `pools.w.timings.${k}`,
      (v) => pool({ timings: { [k]: v } }),
    ]),
    ...[
      'intervalMs',
      'maxAcceptableWaitMs',
      'shortWaitMs',
      'stabilisationWindowMs',
      'scaleUpCooldownMs',
      'scaleDownCooldownMs',
      'backlogDrainMs',
      'forecastHorizonMs',
      'applyTimeoutMs',
    ].map((k): [string, (v: unknown) => Record<string, unknown>] => [
      `pools.w.autoscale.${k}`,
      (v) => autoscale({ [k]: v }),
    ]),
    ['rebalance.intervalMs', (v) => rebalance({ intervalMs: v })],
    ['rebalance.stepTimeoutMs', (v) => rebalance({ stepTimeoutMs: v })],
  ];

  for (const [path, build] of durations) {
    for (const bad of [1e12, 1e15, MAX_DURATION_MS + 1, Number.POSITIVE_INFINITY, Number.NaN, -1, '5']) {
      const label = typeof bad === 'string' ? JSON.stringify(bad) : String(bad);
      it(`${path} = ${label} is ERR_INVALID_CONFIG at ${path}`, () => {
        const e = configError(build(bad));
        expect(e.code).toBe('ERR_INVALID_CONFIG');
        expect(e.path).toBe(path);
        expect(e.received).toEqual(bad);
        expect(e.message.startsWith(`${path}:`)).toBe(true);
      });
    }
    it(`${path} = MAX_DURATION_MS is accepted`, () => {
      // shortWaitMs must stay <= maxAcceptableWaitMs: raise that one too.
      const opts = path.endsWith('.shortWaitMs')
        ? autoscale({ shortWaitMs: MAX_DURATION_MS, maxAcceptableWaitMs: MAX_DURATION_MS })
        : build(MAX_DURATION_MS);
      expect(() => createAgentPoolSystem({ clock: new ManualClock(), ...opts } as never)).not.toThrow();
    });
  }

  it('the error says what the maximum is', () => {
    const e = configError(pool({ timings: { startTimeoutMs: 1e12 } }));
    expect(e.message).toContain('2147483647');
    expect(e.message).toContain('1000000000000');
  });

  it('a pool acquireTimeoutMs beyond the range is refused at its own path, not at the acquire', () => {
    const e = configError(pool({ acquireTimeoutMs: 1e12 }));
    expect(e.path).toBe('pools.w.acquireTimeoutMs');
  });
});

describe('duration()', () => {
  it('returns the fallback when undefined and the value when in range', () => {
    expect(duration('config', 'x', undefined, 7)).toBe(7);
    expect(duration('config', 'x', 0, 7)).toBe(0);
    expect(duration('config', 'x', MAX_DURATION_MS, 7)).toBe(MAX_DURATION_MS);
  });
  it('throws the error class of its kind', () => {
    expect(() => duration('config', 'a.b', 1e12, 7)).toThrow(ConfigError);
    try {
      duration('argument', 'options.timeoutMs', -5, 7);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((e as InvalidArgumentError).path).toBe('options.timeoutMs');
      expect((e as InvalidArgumentError).received).toBe(-5);
    }
  });
  it('positive: 0 is refused', () => {
    expect(() => duration('config', 'x', 0, 7, { positive: true })).toThrow(/x: expected/);
  });
});

describe('acquire timeouts', () => {
  it('parseTimeout: in range, positive; the fallback is the default', () => {
    expect(parseTimeout(undefined, 'options.timeoutMs', 5_000)).toBe(5_000);
    expect(parseTimeout(MAX_DURATION_MS, 'options.timeoutMs', 5_000)).toBe(MAX_DURATION_MS);
    for (const bad of [0, -5, 'soon', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 1e12]) {
      try {
        parseTimeout(bad, 'options.timeoutMs', 5_000);
        throw new Error(`accepted ${String(bad)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect((e as InvalidArgumentError).path).toBe('options.timeoutMs');
        expect((e as InvalidArgumentError).received).toEqual(bad);
      }
    }
  });

  it('system.acquire refuses options.timeoutMs beyond the range', async () => {
    const { sys } = await startSystem({ w: { min: 1, max: 1 } });
    const e = await sys.acquire('w', { cycleId: 'c', timeoutMs: 1e12 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).path).toBe('options.timeoutMs');
    await sys.shutdown({ graceful: false });
  });
});

describe('realClock never hands Node an out-of-range delay', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const realWait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  for (const ms of [2 ** 31, 1e12, Number.POSITIVE_INFINITY]) {
    it(`a ${String(ms)} ms timer has not fired after a short real wait`, async () => {
      let fired = false;
      const h = realClock.setTimeout(() => {
        fired = true;
      }, ms);
      // Unchunked, Node fires an overflowing timer after 1 ms.
      await realWait(50);
      expect(fired).toBe(false);
      realClock.clearTimeout(h);
    });
  }

  for (const ms of [Number.NaN, -5]) {
    it(`a ${String(ms)} ms timer fires at once`, async () => {
      let fired = false;
      realClock.setTimeout(() => {
        fired = true;
      }, ms);
      await realWait(20);
      expect(fired).toBe(true);
    });
  }

  it('a long timer re-arms in chunks, fires once when due, and every delay given to Node is in range', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let fired = 0;
    const due = 3 * MAX_DURATION_MS + 1_000;
    realClock.setTimeout(() => fired++, due);
    vi.advanceTimersByTime(due - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10 * MAX_DURATION_MS);
    expect(fired).toBe(1);
    expect(spy.mock.calls.length).toBeGreaterThan(1);
    for (const call of spy.mock.calls) {
      const delay = call[1] as number;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(MAX_DURATION_MS);
    }
  });

  it('clearTimeout cancels a long timer after it has re-armed', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    let fired = 0;
    const h = realClock.setTimeout(() => fired++, 2 * MAX_DURATION_MS + 10);
    vi.advanceTimersByTime(MAX_DURATION_MS + 5); // past the first chunk: re-armed
    realClock.clearTimeout(h);
    vi.advanceTimersByTime(3 * MAX_DURATION_MS);
    expect(fired).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('short timers are unchanged: fire when due, cancel with clearTimeout', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    let a = 0;
    let b = 0;
    realClock.setTimeout(() => a++, 100);
    const hb = realClock.setTimeout(() => b++, 100);
    realClock.clearTimeout(hb);
    vi.advanceTimersByTime(100);
    expect([a, b]).toEqual([1, 0]);
  });
});

describe('ManualClock with out-of-range delays', () => {
  it('an Infinity delay never fires, however far time moves, but is pending until cleared', () => {
    const clock = new ManualClock();
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, Number.POSITIVE_INFINITY);
    expect(clock.nextAt()).toBeUndefined();
    clock.advance(Number.MAX_VALUE);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(h);
    expect(clock.pending).toBe(0);
  });

  it('an Infinity delay does not fire on advance(Infinity) either', async () => {
    const clock = new ManualClock();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, Number.POSITIVE_INFINITY);
    let finite = false;
    clock.setTimeout(() => {
      finite = true;
    }, 1e300);
    await clock.advanceAsync(Number.POSITIVE_INFINITY);
    expect(finite).toBe(true);
    expect(fired).toBe(false);
  });

  it('a NaN or negative delay fires now, in order with other timers', () => {
    const clock = new ManualClock(100);
    const order: string[] = [];
    clock.setTimeout(() => order.push('later'), 10);
    clock.setTimeout(() => order.push('nan'), Number.NaN);
    clock.setTimeout(() => order.push('negative'), -5);
    clock.advance(0);
    expect(order).toEqual(['nan', 'negative']);
    expect(clock.now()).toBe(100);
    clock.advance(10);
    expect(order).toEqual(['nan', 'negative', 'later']);
  });

  it('advance(NaN) or a negative advance moves nothing and fires nothing', () => {
    const clock = new ManualClock(5);
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.advance(Number.NaN);
    clock.advance(-3);
    expect(fired).toBe(false);
    expect(clock.now()).toBe(5);
    expect(clock.nextAt()).toBe(15);
  });
});
