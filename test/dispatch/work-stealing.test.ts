/**
 * Pool option `dispatch: 'work-stealing'` on the submit() path: tasks bound early to per-agent local
 * queues, stolen by idle agents, a global queue that is never starved, local tasks of a crashed agent
 * re-queued (none lost, none answered twice), and the submit contract (deadline, signal,
 * idempotency, ERR_TASK_FAILED) unchanged — on inline agents and a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { type AgentContext, defineAgent } from '../../src/agent/define.js';
import { type AgentPoolError, ConfigError } from '../../src/core/errors.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import type { DispatchMode } from '../../src/runtime/config.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { noTaskLostUnderCrashes, twoPools } from './helpers.js';

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: AgentPoolError) => e.code,
  );

const system = (
  clock: ManualClock,
  handlers: Parameters<typeof defineAgent>[0],
  sizes: { a: number; b: number } = { a: 1, b: 1 },
  extra: Record<string, unknown> = {},
) => twoPools(clock, handlers, sizes, { dispatch: 'work-stealing' as DispatchMode, ...extra });

describe("dispatch: 'work-stealing'", () => {
  it('spreads tasks over local queues; idle agents steal from a slow one; every result arrives', async () => {
    const clock = new ManualClock();
    const ranOn = new Map<number, string>();
    const sys = system(
      clock,
      {
        work: async (x: { id: number; ms: number }, ctx: AgentContext) => {
          ranOn.set(x.id, ctx.agentId);
          await sleep(clock, x.ms);
          return x.id * 10;
        },
      },
      { a: 3, b: 1 },
    );
    await sys.start();
    // Task 0 holds one agent for a long time; the 23 short ones are bound while all three are busy.
    const slow = sys.submit({ type: 'a', task: 'work', input: { id: 0, ms: 1_000 } });
    const quick = Array.from({ length: 23 }, (_, k) =>
      sys.submit({ type: 'a', task: 'work', input: { id: k + 1, ms: 10 } }),
    );
    const layout = sys.dispatcher.stealingStatus('a');
    expect(layout).toBeDefined();
    const slowAgent = ranOn.get(0);
    expect(slowAgent).toBeDefined();
    // Bound early: several agents hold queued tasks locally, including the slow one.
    const nonEmpty = Object.values(layout?.locals ?? {}).filter((n) => n > 0);
    expect(nonEmpty.length).toBeGreaterThanOrEqual(2);
    expect(layout?.locals[slowAgent as string] ?? 0).toBeGreaterThan(0);
    const queuedOnSlow = layout?.locals[slowAgent as string] ?? 0;

    await clock.advanceAsync(400); // the quick agents finish their own queues and steal the slow one's
    expect(sys.status().tasks.completed).toBe(23);
    const results = await Promise.all(quick);
    expect(results).toEqual(Array.from({ length: 23 }, (_, k) => (k + 1) * 10));
    const st = sys.dispatcher.stealingStatus('a');
    expect(st?.stats.steals).toBeGreaterThan(0);
    expect(st?.stats.fromSteal).toBeGreaterThan(0);
    // Every steal was also an explicit transition of the dispatcher actor.
    expect(sys.dispatcher.actor.getSnapshot().context.steals).toBe(st?.stats.steals);
    // Everything that was queued behind the slow agent ran elsewhere, before the slow task ended.
    const onSlow = [...ranOn.entries()].filter(([id, ag]) => id !== 0 && ag === slowAgent).length;
    expect(onSlow).toBeLessThan(queuedOnSlow);
    await clock.advanceAsync(1_000);
    expect(await slow).toBe(0);
    expect(sys.status().tasks).toMatchObject({ completed: 24, queued: 0, running: 0 });
    await sys.shutdown({ graceful: false });
  });

  it('the global queue is not starved by an agent that always has local work', async () => {
    const clock = new ManualClock();
    const order: { id: string; localWaiting: number }[] = [];
    const feeders: Promise<unknown>[] = [];
    let fed = 0;
    const sys: AgentPoolSystem = system(clock, {
      work: async (x: { id: string }) => {
        await sleep(clock, 1);
        const st = sys.dispatcher.stealingStatus('a');
        order.push({ id: x.id, localWaiting: Object.values(st?.locals ?? {}).reduce((a, b) => a + b, 0) });
        // Local work keeps arriving: each local task queues another one (bound to the only agent).
        if (x.id.startsWith('L') && fed < 200) {
          fed++;
          feeders.push(sys.submit({ type: 'a', task: 'work', input: { id: `L${fed}` } }));
        }
        return x.id;
      },
    });
    await sys.start();
    // One agent, local depth 8: the first 9 are bound (1 runs at once), the rest overflow to global.
    const first = Array.from({ length: 9 }, (_, k) =>
      sys.submit({ type: 'a', task: 'work', input: { id: `L-${k}` } }),
    );
    const globals = Array.from({ length: 3 }, (_, k) =>
      sys.submit({ type: 'a', task: 'work', input: { id: `G${k}` } }),
    );
    expect(sys.dispatcher.stealingStatus('a')?.global).toBe(3);
    for (let i = 0; i < 300 && order.filter((o) => o.id.startsWith('G')).length < 3; i++)
      await clock.advanceAsync(1);
    expect(await Promise.all(globals)).toEqual(['G0', 'G1', 'G2']);
    const gRuns = order.filter((o) => o.id.startsWith('G'));
    // Each global task ran while local work was still waiting: the periodic global check, not an empty local queue.
    for (const g of gRuns) expect(g.localWaiting).toBeGreaterThan(0);
    expect(sys.dispatcher.stealingStatus('a')?.stats.fromGlobal).toBe(3);
    await sys.shutdown({ graceful: false });
    await Promise.allSettled([...first, ...feeders]);
  });

  it("a crashed agent's local tasks go back to the global queue and run elsewhere", async () => {
    const clock = new ManualClock();
    const runs = new Map<number, number>();
    const sys = system(
      clock,
      {
        work: async (x: { id: number; ms: number }) => {
          runs.set(x.id, (runs.get(x.id) ?? 0) + 1);
          await sleep(clock, x.ms);
          return x.id;
        },
      },
      { a: 2, b: 1 },
    );
    await sys.start();
    const ps = Array.from({ length: 10 }, (_, id) =>
      sys.submit({ type: 'a', task: 'work', input: { id, ms: id < 2 ? 100 : 5 }, maxAttempts: 3 }),
    );
    const layout = sys.dispatcher.stealingStatus('a');
    const [victimId] = Object.entries(layout?.locals ?? {}).find(([, n]) => n > 0) ?? [];
    expect(victimId).toBeDefined();
    const queuedOnVictim = layout?.locals[victimId as string] ?? 0;
    sys
      .pool('a')
      .agentList()
      .find((a) => a.id === victimId)
      ?.actor.send({ type: 'HOST_EXITED', error: 'chaos' });
    for (let i = 0; i < 100 && sys.status().tasks.completed < 10; i++) await clock.advanceAsync(5);
    expect(await Promise.all(ps)).toEqual(Array.from({ length: 10 }, (_, id) => id));
    const st = sys.dispatcher.stealingStatus('a');
    expect(st?.stats.orphaned).toBeGreaterThanOrEqual(queuedOnVictim);
    // Only the task running on the crashed agent ran twice.
    expect([...runs.values()].filter((n) => n > 1).length).toBe(1);
    expect(sys.status().tasks).toMatchObject({ completed: 10, requeued: 1, queued: 0, running: 0 });
    await sys.shutdown({ graceful: false });
  });

  it('deadline, signal, idempotency and ERR_TASK_FAILED keep working', async () => {
    const clock = new ManualClock();
    let onceRuns = 0;
    const sys = system(clock, {
      hold: (ms: number) => sleep(clock, ms),
      once: () => ++onceRuns,
      crash: (_: unknown, ctx: AgentContext) => {
        // Kill the agent under the task, every attempt.
        queueMicrotask(() =>
          sys
            .pool('b')
            .agentList()
            .find((a) => a.id === ctx.agentId)
            ?.actor.send({ type: 'HOST_EXITED', error: 'boom' }),
        );
        return new Promise(() => {});
      },
    });
    await sys.start();
    const busy = sys.submit({ type: 'a', task: 'hold', input: 100 });
    const late = sys.submit({ type: 'a', task: 'hold', input: 1, deadline: 50 });
    const ac = new AbortController();
    const cancelled = sys.submit({ type: 'a', task: 'hold', input: 1, signal: ac.signal });
    ac.abort();
    const k1 = sys.submit({ type: 'a', task: 'once', idempotencyKey: 'k' });
    const k2 = sys.submit({ type: 'a', task: 'once', idempotencyKey: 'k' });
    await clock.advanceAsync(60);
    expect(await code(late)).toBe('ERR_DEADLINE_EXCEEDED');
    expect(await code(cancelled)).toBe('ERR_ABORTED');
    await clock.advanceAsync(100);
    await busy;
    expect([await k1, await k2]).toEqual([1, 1]);
    expect(onceRuns).toBe(1);
    const failed = sys.submit({ type: 'b', task: 'crash', maxAttempts: 2 });
    for (let i = 0; i < 50 && sys.status().tasks.failed === 0; i++) await clock.advanceAsync(5);
    const e = (await failed.catch((x) => x)) as AgentPoolError & { causes?: unknown[] };
    expect(e.code).toBe('ERR_TASK_FAILED');
    expect(sys.status().tasks).toMatchObject({ queued: 0, expired: 1, cancelled: 1, requeued: 1, failed: 1 });
    await sys.shutdown({ graceful: false });
  });

  it('queued tasks are rejected ERR_SHUTTING_DOWN on shutdown', async () => {
    const clock = new ManualClock();
    const sys = system(clock, { block: () => new Promise(() => {}) }, { a: 2, b: 1 });
    await sys.start();
    const ps = Array.from({ length: 6 }, () => code(sys.submit({ type: 'a', task: 'block' })));
    expect(sys.status().tasks).toMatchObject({ queued: 4, running: 2 });
    await sys.shutdown({ graceful: false });
    const codes = await Promise.all(ps);
    expect(codes.filter((c) => c === 'ERR_SHUTTING_DOWN').length).toBeGreaterThanOrEqual(4);
  });

  it('an unknown dispatch mode is a ConfigError naming the path and the value', () => {
    let err: unknown;
    try {
      new AgentPoolSystem({
        pools: { work: { agent: defineAgent({ x: () => 1 }), dispatch: 'stealing' as DispatchMode } },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      path: 'pools.work.dispatch',
      received: 'stealing',
    });
  });

  it('property: under random agent crashes no task is lost and none is answered twice', () =>
    noTaskLostUnderCrashes(system, { a: 3, b: 1 }));

  it('stealThreshold: an idle agent steals only from a queue at least that long (seed rule: 3)', async () => {
    const run = async (stealThreshold: number | undefined) => {
      const clock = new ManualClock();
      const sys = system(
        clock,
        { work: async (x: { ms: number }) => sleep(clock, x.ms) },
        { a: 2, b: 1 },
        stealThreshold === undefined ? {} : { stealThreshold },
      );
      await sys.start();
      // One long task per agent, then two short ones bound behind whichever agents are picked.
      const all = [
        sys.submit({ type: 'a', task: 'work', input: { ms: 1_000 } }),
        sys.submit({ type: 'a', task: 'work', input: { ms: 10 } }),
        sys.submit({ type: 'a', task: 'work', input: { ms: 10 } }),
        sys.submit({ type: 'a', task: 'work', input: { ms: 10 } }),
      ];
      await clock.advanceAsync(2_000);
      await Promise.all(all);
      const steals = sys.dispatcher.stealingStatus('a')?.stats.steals ?? 0;
      await sys.shutdown({ graceful: false });
      return steals;
    };
    expect(await run(undefined)).toBeGreaterThan(0);
    expect(await run(3)).toBe(0);
    expect(() => system(new ManualClock(), { work: () => 1 }, { a: 1, b: 1 }, { stealThreshold: 0 })).toThrow(
      ConfigError,
    );
  });
});
