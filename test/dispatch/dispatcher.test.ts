/**
 * submit(): ordering, per-type independence, re-queue on agent loss, idempotency, deadlines,
 * cancellation, and bad submissions — on inline agents and a ManualClock (deterministic).
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { noTaskLostUnderCrashes, twoPools } from './helpers.js';

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: AgentPoolError) => e.code,
  );

const system = twoPools;

describe('dispatcher', () => {
  it('runs by priority, then deadline, then FIFO', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    const sys = system(clock, {
      work: async (x: { id: string; ms: number }) => {
        await sleep(clock, x.ms);
        order.push(x.id);
        return x.id;
      },
    });
    await sys.start();
    const ps = [
      sys.submit({ type: 'a', task: 'work', input: { id: 'first', ms: 10 } }), // takes the only agent
      sys.submit({ type: 'a', task: 'work', input: { id: 'low', ms: 1 }, priority: 'low' }),
      sys.submit({ type: 'a', task: 'work', input: { id: 'med-late', ms: 1 }, deadline: 1_000 }),
      sys.submit({ type: 'a', task: 'work', input: { id: 'med-soon', ms: 1 }, deadline: 500 }),
      sys.submit({ type: 'a', task: 'work', input: { id: 'med-none-1', ms: 1 } }),
      sys.submit({ type: 'a', task: 'work', input: { id: 'med-none-2', ms: 1 } }),
      sys.submit({ type: 'a', task: 'work', input: { id: 'critical', ms: 1 }, priority: 'critical' }),
    ];
    await clock.advanceAsync(100);
    await Promise.all(ps);
    expect(order).toEqual(['first', 'critical', 'med-soon', 'med-late', 'med-none-1', 'med-none-2', 'low']);
    await sys.shutdown({ graceful: false });
  });

  it('a type that cannot be placed never delays another type', async () => {
    const clock = new ManualClock();
    const sys = system(clock, {
      block: () => new Promise(() => {}), // a's only agent never frees up
      quick: () => 'done',
    });
    await sys.start();
    void sys.submit({ type: 'a', task: 'block' }).catch(() => {});
    const starved = Array.from({ length: 5 }, () =>
      sys.submit({ type: 'a', task: 'quick' }).catch((e) => e.code),
    );
    const other = await Promise.all(
      Array.from({ length: 5 }, () => sys.submit({ type: 'b', task: 'quick' })),
    );
    expect(other).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(sys.status().tasks.queued).toBe(5); // the a-tasks still wait
    await sys.shutdown({ graceful: false });
    expect(await Promise.all(starved)).toEqual(Array(5).fill('ERR_SHUTTING_DOWN'));
  });

  it('idempotency key returns the first result instead of running twice', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const sys = system(clock, { once: () => ++runs });
    await sys.start();
    const a = sys.submit({ type: 'a', task: 'once', idempotencyKey: 'k1' });
    const b = sys.submit({ type: 'a', task: 'once', idempotencyKey: 'k1' });
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    expect(await sys.submit({ type: 'a', task: 'once', idempotencyKey: 'k1' })).toBe(1);
    expect(runs).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('deadline passing while queued rejects ERR_DEADLINE_EXCEEDED; signal cancels queued and running', async () => {
    const clock = new ManualClock();
    const sys = system(clock, {
      hold: (ms: number) => sleep(clock, ms),
      waitAbort: (_: unknown, ctx) =>
        new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('x')))),
    });
    await sys.start();
    const busy = sys.submit({ type: 'a', task: 'hold', input: 100 });
    const late = sys.submit({ type: 'a', task: 'hold', input: 1, deadline: 50 });
    const ac = new AbortController();
    const cancelled = sys.submit({ type: 'a', task: 'hold', input: 1, signal: ac.signal });
    ac.abort();
    await clock.advanceAsync(60);
    expect(await code(late)).toBe('ERR_DEADLINE_EXCEEDED');
    expect(await code(cancelled)).toBe('ERR_ABORTED');
    await clock.advanceAsync(100);
    await busy;
    const ac2 = new AbortController();
    const running = sys.submit({ type: 'b', task: 'waitAbort', signal: ac2.signal });
    await clock.advanceAsync(1);
    ac2.abort();
    expect(await code(running)).toBe('ERR_ABORTED');
    expect(sys.status().tasks).toMatchObject({ queued: 0, expired: 1, cancelled: 1 });
    await sys.shutdown({ graceful: false });
  });

  it('bad submissions get typed errors and leave the queue unchanged', async () => {
    const clock = new ManualClock(1_000);
    const sys = system(clock, { block: () => new Promise(() => {}), quick: () => 1 });
    await sys.start();
    void sys.submit({ type: 'a', task: 'block' }).catch(() => {});
    void sys.submit({ type: 'a', task: 'quick' }).catch(() => {});
    const before = sys.status().tasks;
    const bad: [unknown, string, string | undefined][] = [
      [{ type: 'zzz', task: 'quick' }, 'ERR_UNKNOWN_POOL', undefined],
      [{ type: 'a', task: 'quick', priority: 'urgent' }, 'ERR_INVALID_ARGUMENT', 'submit.priority'],
      [{ type: 'a', task: 'quick', deadline: 999 }, 'ERR_DEADLINE_EXCEEDED', undefined],
      [{ type: 'a', task: 'quick', deadline: Number.NaN }, 'ERR_INVALID_ARGUMENT', 'submit.deadline'],
      [{ type: 'a', task: 'quick', bogus: 1 }, 'ERR_INVALID_ARGUMENT', 'submit.bogus'],
      [
        { type: 'a', task: 'quick', requirements: { memoryMb: -1 } },
        'ERR_INVALID_ARGUMENT',
        'submit.requirements.memoryMb',
      ],
      [{ type: 'a', task: 'quick', capabilities: ['gpu'] }, 'ERR_INVALID_ARGUMENT', 'submit.capabilities'],
      [{ type: 'a', task: 'quick', requirements: { memoryMb: 1e9 } }, 'ERR_RESOURCE_EXHAUSTED', undefined],
    ];
    for (const [opts, c, path] of bad) {
      const e = (await sys.submit(opts as never).catch((x) => x)) as AgentPoolError & { path?: string };
      expect(e.code, JSON.stringify(opts)).toBe(c);
      if (path) expect(e.path).toBe(path);
    }
    expect(sys.status().tasks).toEqual(before);
    await sys.shutdown({ graceful: false });
  });

  it('property: under random agent crashes no task is lost and none is answered twice', () =>
    noTaskLostUnderCrashes(system, { a: 2, b: 1 }));
});
