/**
 * defineAgent's `setup` hook on inline agents and a ManualClock: an agent is not handed work until its
 * setup resolved (acquire waits for it), a failing setup is a failed start (restart with backoff), and
 * a setup longer than `timings.startTimeoutMs` is a start timeout. Bad options are ERR_INVALID_ARGUMENT.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { testTimings } from './helpers.js';

describe('defineAgent setup', () => {
  it('the agent is starting until setup resolves; acquire is granted after it', async () => {
    const clock = new ManualClock();
    const setups: string[] = [];
    const agent = defineAgent(
      { ping: () => 'pong' },
      {
        async setup(ctx) {
          await sleep(clock, 30_000);
          setups.push(ctx.agentId);
        },
      },
    );
    const sys = new AgentPoolSystem({
      clock,
      pools: { w: { agent, min: 1, max: 1, timings: { ...testTimings, startTimeoutMs: 60_000 } } },
    });
    const started = sys.start();
    await clock.advanceAsync(29_999);
    expect(setups).toEqual([]);
    expect(sys.pool('w').agentList()[0]?.accepting).toBe(false);
    await clock.advanceAsync(1);
    await started;
    expect(setups).toHaveLength(1);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    await expect(lease.run('ping', null)).resolves.toBe('pong');
    await lease.release();
    await sys.shutdown({ graceful: false });
  });

  it('a throwing setup fails the start and the agent is restarted until setup succeeds', async () => {
    const clock = new ManualClock();
    let attempts = 0;
    const agent = defineAgent(
      { ping: () => attempts },
      {
        setup() {
          attempts++;
          if (attempts < 3) throw new Error('model endpoint not ready');
        },
      },
    );
    const sys = new AgentPoolSystem({ clock, pools: { w: { agent, min: 1, max: 1, timings: testTimings } } });
    void sys.start();
    for (let i = 0; i < 100 && !sys.pool('w').agentList()[0]?.accepting; i++) await clock.advanceAsync(50);
    expect(attempts).toBe(3);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    await expect(lease.run('ping', null)).resolves.toBe(3);
    await lease.release();
    await sys.shutdown({ graceful: false });
  });

  it('a setup longer than startTimeoutMs is a start timeout (the agent never serves meanwhile)', async () => {
    const clock = new ManualClock();
    const agent = defineAgent({ ping: () => 1 }, { setup: () => sleep(clock, 10_000) });
    const sys = new AgentPoolSystem({
      clock,
      pools: { w: { agent, min: 1, max: 1, timings: { ...testTimings, startTimeoutMs: 1_000 } } },
    });
    const started = sys.start().catch((e: unknown) => e);
    const states = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await clock.advanceAsync(100);
      const a = sys.pool('w').agentList()[0];
      if (a) states.add(a.state);
      expect(a?.accepting ?? false).toBe(false);
    }
    expect([...states].some((s) => s === 'crashed' || s === 'restarting')).toBe(true);
    // Every start timed out (3 in a row): the pool gave up and start() rejected with the cause.
    expect(await started).toMatchObject({
      code: 'ERR_AGENT_START_FAILED',
      cause: { message: 'start timed out' },
    });
    expect(sys.state).toBe('stopped');
    await sys.shutdown({ graceful: false });
  });

  it('bad options are ERR_INVALID_ARGUMENT errors naming the option', () => {
    expect(() => defineAgent({ a: () => 1 }, { setup: 5 as never })).toThrow(/^options\.setup: /);
    expect(() => defineAgent({ a: () => 1 }, { init: () => {} } as never)).toThrow(/^options\.init: /);
  });
});
