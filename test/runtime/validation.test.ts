/**
 * Validation gaps closed: the clock, logger, inspector and budgets options, `lease.run` options and
 * `defineAgent` arguments are checked at the boundary, and a bad one is a typed error (`ERR_…`) naming
 * the option path and the value received — never an untyped TypeError, never silently accepted.
 */
import type { InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { AgentPoolError, ConfigError, InvalidArgumentError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import { TDD_POOL_SIZES, tddPool } from '../../src/runtime/config.js';
import { createAgentPoolSystem } from '../../src/runtime/system.js';
import { rejection, startSystem } from './helpers.js';

const agent = defineAgent({ t: async () => 1 });

function configError(options: Record<string, unknown>): ConfigError {
  try {
    createAgentPoolSystem({ pools: { w: { agent } }, ...options } as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function argumentError(f: () => unknown): InvalidArgumentError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('clock, logger and budgets options', () => {
  const noop = () => {};
  const clockLike = { now: () => 0, setTimeout: () => 1, clearTimeout: noop };
  const loggerLike = { debug: noop, info: noop, warn: noop, error: noop };
  const cases: [string, Record<string, unknown>, string, unknown][] = [
    ['clock: 5', { clock: 5 }, 'clock', 5],
    ['clock: null', { clock: null }, 'clock', null],
    ['clock: a string', { clock: 'real' }, 'clock', 'real'],
    ['clock without now', { clock: { ...clockLike, now: undefined } }, 'clock.now', undefined],
    [
      'clock with a non-function setTimeout',
      { clock: { ...clockLike, setTimeout: 1 } },
      'clock.setTimeout',
      1,
    ],
    [
      'clock without clearTimeout',
      { clock: { now: () => 0, setTimeout: noop } },
      'clock.clearTimeout',
      undefined,
    ],
    ['logger: 5', { logger: 5 }, 'logger', 5],
    ['logger: true', { logger: true }, 'logger', true],
    ['logger without warn', { logger: { ...loggerLike, warn: undefined } }, 'logger.warn', undefined],
    ['logger with a non-function debug', { logger: { ...loggerLike, debug: 'x' } }, 'logger.debug', 'x'],
    ['budgets: 5', { budgets: 5 }, 'budgets', 5],
    ['budgets.pools: 5', { budgets: { pools: 5 } }, 'budgets.pools', 5],
    [
      'budget of an unknown pool',
      { budgets: { pools: { w: 10, nope: 1_000 } } },
      'budgets.pools.nope',
      1_000,
    ],
  ];
  for (const [what, options, path, received] of cases) {
    it(`${what}: ERR_INVALID_CONFIG at ${path}`, () => {
      const e = configError(options);
      expect(e.code).toBe('ERR_INVALID_CONFIG');
      expect(e.path).toBe(path);
      expect(e.received).toEqual(received);
      expect(e.message.startsWith(`${path}:`)).toBe(true);
    });
  }

  it('the unknown-budget-pool error lists the known pools', () => {
    const e = configError({
      pools: { code: { agent }, qa: { agent } },
      budgets: { pools: { review: 1_000 } },
    });
    expect(e.path).toBe('budgets.pools.review');
    expect(e.message).toContain('code');
    expect(e.message).toContain('qa');
  });

  it('a ManualClock, a clock-like object, console and a pino-like logger are accepted', () => {
    for (const clock of [new ManualClock(), clockLike]) {
      for (const logger of [loggerLike, console, { ...loggerLike, child: () => loggerLike }]) {
        const sys = createAgentPoolSystem({ clock, logger, pools: { w: { agent } } } as never);
        expect(sys.state).toBe('idle');
      }
    }
  });

  it('budgets of known pools are accepted', () => {
    const sys = createAgentPoolSystem({
      clock: new ManualClock(),
      pools: { w: { agent } },
      budgets: { system: 10_000, pools: { w: 5_000 }, defaultCycle: 1_000 },
    });
    expect(sys.tokenUsage()).toBeDefined();
  });
});

describe('inspect accepts an XState inspector: an observer object or a function', () => {
  async function runWith(inspect: unknown): Promise<void> {
    const sys = createAgentPoolSystem({
      inspect: inspect as never,
      pools: { w: { agent: defineAgent({ t: async () => 1 }), min: 1, max: 1, healthCheckIntervalMs: 0 } },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c1' });
    await expect(lease.run('t')).resolves.toBe(1);
    await lease.release();
    await sys.shutdown({ graceful: true });
    expect(sys.state).toBe('stopped');
  }

  it('an observer object { next } gets @xstate.snapshot events', async () => {
    const types = new Set<string>();
    await runWith({
      next(e: InspectionEvent) {
        types.add(e.type);
      },
    });
    expect(types.has('@xstate.snapshot')).toBe(true);
    expect(types.has('@xstate.actor')).toBe(true);
  });

  it('an observer with next/error/complete (as @statelyai/inspect gives) works', async () => {
    let snapshots = 0;
    await runWith({
      next: (e: InspectionEvent) => {
        if (e.type === '@xstate.snapshot') snapshots++;
      },
      error: () => {},
      complete: () => {},
    });
    expect(snapshots).toBeGreaterThan(0);
  });

  it('a function works too', async () => {
    let snapshots = 0;
    await runWith((e: InspectionEvent) => {
      if (e.type === '@xstate.snapshot') snapshots++;
    });
    expect(snapshots).toBeGreaterThan(0);
  });

  const bad: [string, unknown, string][] = [
    ['inspect: 5', 5, 'inspect'],
    ['inspect: a string', 'on', 'inspect'],
    ['inspect: null', null, 'inspect'],
    ['inspect: an object without next/error/complete', { nxt: () => {} }, 'inspect'],
    ['inspect.next not a function', { next: 5 }, 'inspect.next'],
    ['inspect.error not a function', { next: () => {}, error: 'x' }, 'inspect.error'],
  ];
  for (const [what, value, path] of bad) {
    it(`${what}: ERR_INVALID_CONFIG at ${path}`, () => {
      const e = configError({ clock: new ManualClock(), inspect: value });
      expect(e.code).toBe('ERR_INVALID_CONFIG');
      expect(e.path).toBe(path);
    });
  }
});

describe('lease.run options are validated before anything is sent', () => {
  async function leased() {
    let calls = 0;
    const a = defineAgent({
      t: () => {
        calls++;
        return 'ok';
      },
    });
    const { sys } = await startSystem({ w: { agent: a, min: 1, max: 1 } });
    const lease = await sys.acquire('w', { cycleId: 'c' });
    return { sys, lease, calls: () => calls };
  }

  const cases: [string, unknown, string, unknown][] = [
    ['negative timeoutMs', { timeoutMs: -5 }, 'options.timeoutMs', -5],
    ['zero timeoutMs', { timeoutMs: 0 }, 'options.timeoutMs', 0],
    ['string timeoutMs', { timeoutMs: 'soon' }, 'options.timeoutMs', 'soon'],
    ['NaN timeoutMs', { timeoutMs: Number.NaN }, 'options.timeoutMs', Number.NaN],
    ['timeoutMs beyond the timer range', { timeoutMs: 1e12 }, 'options.timeoutMs', 1e12],
    ['signal not an AbortSignal', { signal: 'x' }, 'options.signal', 'x'],
    ['unknown key', { retries: 2 }, 'options.retries', 2],
    ['options not an object', 5, 'options', 5],
  ];
  for (const [what, opts, path, received] of cases) {
    it(`${what}: ERR_INVALID_ARGUMENT at ${path}`, async () => {
      const { sys, lease, calls } = await leased();
      const e = await rejection(lease.run('t', undefined, opts as never));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect((e as InvalidArgumentError).path).toBe(path);
      expect((e as InvalidArgumentError).received).toEqual(received);
      expect(calls()).toBe(0);
      // The lease is untouched and still works.
      await expect(lease.run('t', undefined, { timeoutMs: 1_000 })).resolves.toBe('ok');
      expect(calls()).toBe(1);
      await lease.release();
      await sys.shutdown({ graceful: false });
    });
  }

  it('valid options (timeoutMs, signal, none) still run', async () => {
    const { sys, lease } = await leased();
    await expect(lease.run('t')).resolves.toBe('ok');
    await expect(lease.run('t', 1, {})).resolves.toBe('ok');
    await expect(lease.run('t', 1, { timeoutMs: 500, signal: new AbortController().signal })).resolves.toBe(
      'ok',
    );
    await lease.release();
    await sys.shutdown({ graceful: false });
  });
});

describe('defineAgent arguments', () => {
  const cases: [string, () => unknown, string, unknown][] = [
    ['null handlers', () => defineAgent(null as never), 'handlers', null],
    ['a function as handlers', () => defineAgent((() => 1) as never), 'handlers', undefined],
    ['an array as handlers', () => defineAgent([] as never), 'handlers', []],
    ['a non-function handler', () => defineAgent({ t: 5 } as never), 'handlers.t', 5],
    ['null options', () => defineAgent({ t: () => 1 }, null as never), 'options', null],
    ['setup not a function', () => defineAgent({ t: () => 1 }, { setup: 5 as never }), 'options.setup', 5],
    ['unknown option', () => defineAgent({ t: () => 1 }, { init: 1 } as never), 'options.init', 1],
  ];
  for (const [what, f, path, received] of cases) {
    it(`${what}: ERR_INVALID_ARGUMENT at ${path}`, () => {
      const e = argumentError(f);
      expect(e).toBeInstanceOf(AgentPoolError);
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.path).toBe(path);
      if (received !== undefined) expect(e.received).toEqual(received);
      expect(e.message.startsWith(`${path}:`)).toBe(true);
    });
  }
});

describe('pool sizes do not depend on the pool name; the TDD sizes are an explicit preset', () => {
  it('every pool without min/max gets 1–3, whatever its name', () => {
    const sys = createAgentPoolSystem({
      clock: new ManualClock(),
      pools: { design: { agent }, code: { agent }, qa: { agent }, data: { agent }, review: { agent } },
    });
    const sizes = Object.fromEntries([...sys.config.pools].map(([t, p]) => [t, [p.min, p.max]]));
    expect(sizes).toEqual({ design: [1, 3], code: [1, 3], qa: [1, 3], data: [1, 3], review: [1, 3] });
  });

  it('tddPool(type) spreads the preset sizes into a pool, and explicit values still win', () => {
    const sys = createAgentPoolSystem({
      clock: new ManualClock(),
      pools: {
        design: { ...tddPool('design'), agent },
        code: { ...tddPool('code'), agent },
        qa: { ...tddPool('qa'), agent },
        data: { ...tddPool('data'), agent, max: 4 },
      },
    });
    const sizes = Object.fromEntries([...sys.config.pools].map(([t, p]) => [t, [p.min, p.max]]));
    expect(sizes).toEqual({ design: [1, 3], code: [2, 5], qa: [1, 3], data: [1, 4] });
    expect(TDD_POOL_SIZES.code).toEqual({ min: 2, max: 5 });
  });

  it('tddPool returns a copy (the preset cannot be changed through it)', () => {
    const p = tddPool('code');
    p.min = 9;
    expect(tddPool('code').min).toBe(2);
    expect(Object.isFrozen(TDD_POOL_SIZES)).toBe(true);
  });

  it('tddPool of an unknown type is ERR_INVALID_ARGUMENT', () => {
    const e = argumentError(() => tddPool('review' as never));
    expect(e.path).toBe('type');
  });
});
