/**
 * The agent actor hears only the edges of its in-flight count (issue 14): a busy spell of many
 * concurrent tasks costs it one TASK_START and one TASK_END (`last: true`), whatever the number of
 * tasks; a task that times out while others run still escalates (TASK_OVERDUE, then its own end is
 * heard), and the agent returns to idle when the last task ends. Sequential tasks (each started as
 * soon as the previous one answered) are one busy spell: the idle edge waits for a 0 ms timer.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock } from '../../src/core/clock.js';
import { createAgentPoolSystem } from '../../src/runtime/system.js';
import { until } from '../helpers/agents.js';
import { rejection, testTimings } from './helpers.js';

function recordAgentEvents() {
  const events: { type: string; last?: boolean; taskId?: string }[] = [];
  const inspect = (ev: { type: string; actorRef: { logic: unknown }; event: { type: string } }) => {
    const id = (ev.actorRef.logic as { id?: string }).id;
    if (ev.type === '@xstate.event' && id === 'agent' && ev.event.type.startsWith('TASK_'))
      events.push(ev.event as (typeof events)[number]);
  };
  return { events, inspect };
}

describe('agent actor events per busy spell', () => {
  it('50 concurrent tasks on one agent: one TASK_START, one TASK_END (last), every result right', async () => {
    const { events, inspect } = recordAgentEvents();
    const gates: (() => void)[] = [];
    const sys = createAgentPoolSystem({
      inspect: inspect as never,
      pools: {
        p: {
          agent: defineAgent({
            hold: (x: number) => new Promise<number>((r) => gates.push(() => r(x * 2))),
          }),
          min: 1,
          max: 1,
          concurrency: 50,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    const lease = await sys.acquire('p', { cycleId: 'c' });
    const runs = Array.from({ length: 50 }, (_, i) => lease.run('hold', i));
    await new Promise((r) => setTimeout(r, 0));
    expect(gates).toHaveLength(50);
    for (const g of gates) g();
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    await until(() => events.length === 2, 5_000, 'the idle edge'); // a 0 ms timer after the last task
    expect(events.map((e) => (e.type === 'TASK_END' ? `TASK_END last=${e.last}` : e.type))).toEqual([
      'TASK_START',
      'TASK_END last=true',
    ]);
    expect(sys.pool('p').status().agents).toEqual({ idle: 1 });
    await lease.release();
    await sys.shutdown();
  });

  it('a task timing out while others run: TASK_OVERDUE, its own end heard, idle after the last', async () => {
    const { events, inspect } = recordAgentEvents();
    const clock = new ManualClock();
    const gates = new Map<number, () => void>();
    const sys = createAgentPoolSystem({
      clock,
      inspect: inspect as never,
      pools: {
        p: {
          agent: defineAgent({
            hold: (x: number) => new Promise<number>((r) => gates.set(x, () => r(x))),
          }),
          min: 1,
          max: 1,
          healthCheckIntervalMs: 0,
          timings: { ...testTimings, abortGraceMs: 1_000 },
        },
      },
    });
    await sys.start();
    const lease = await sys.acquire('p', { cycleId: 'c' });
    const slow = lease.run('hold', 1, { timeoutMs: 100 });
    const others = [lease.run('hold', 2), lease.run('hold', 3)];
    await clock.advanceAsync(100);
    expect((await rejection(slow)).code).toBe('ERR_TASK_TIMEOUT');
    gates.get(1)!(); // the overdue task lets go while 2 and 3 still run
    await clock.advanceAsync(0);
    gates.get(2)!();
    gates.get(3)!();
    expect(await Promise.all(others)).toEqual([2, 3]);
    await clock.advanceAsync(0);
    expect(
      events.map(
        (e) => `${e.type}${e.type === 'TASK_END' ? ` ${e.taskId?.split('#')[1]} last=${e.last}` : ''}`,
      ),
    ).toEqual(['TASK_START', 'TASK_OVERDUE', 'TASK_END 1 last=false', 'TASK_END 3 last=true']);
    expect(sys.pool('p').status().agents).toEqual({ idle: 1 });
    await lease.release();
    await sys.shutdown();
  });

  it('sequential tasks are one busy spell: the idle edge waits for a 0 ms timer (not with heartbeats)', async () => {
    for (const heartbeat of [false, true]) {
      const { events, inspect } = recordAgentEvents();
      const clock = new ManualClock();
      const sys = createAgentPoolSystem({
        clock,
        inspect: inspect as never,
        pools: {
          p: {
            agent: defineAgent({ echo: (x: number) => x }),
            min: 1,
            max: 1,
            healthCheckIntervalMs: 0,
            timings: { ...testTimings, heartbeatTimeoutMs: heartbeat ? 10_000 : 0 },
          },
        },
      });
      await sys.start();
      const lease = await sys.acquire('p', { cycleId: 'c' });
      for (let i = 0; i < 20; i++) expect(await lease.run('echo', i)).toBe(i);
      const spells = events.filter((e) => e.type === 'TASK_START').length;
      if (heartbeat) {
        // Each task re-arms the heartbeat deadline on busy entry: every task is its own spell.
        expect(spells).toBe(20);
      } else {
        expect(events.map((e) => e.type)).toEqual(['TASK_START']);
        expect(sys.pool('p').status().agents).toEqual({ busy: 1 });
        await clock.advanceAsync(0); // the timer fires: busy → idle
        expect(events.map((e) => (e.type === 'TASK_END' ? `TASK_END last=${e.last}` : e.type))).toEqual([
          'TASK_START',
          'TASK_END last=true',
        ]);
      }
      await clock.advanceAsync(0);
      expect(sys.pool('p').status().agents).toEqual({ idle: 1 });
      await lease.release();
      await sys.shutdown();
    }
  });
});
