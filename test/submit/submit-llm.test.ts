/**
 * submit() for LLM workloads (issue 16), through the public API on a ManualClock: backpressure,
 * retries with backoff, rate limits, delays, progress, priority aging.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock, sleep } from '../../src/core/clock.js';
import type { AgentPoolError, TaskFailedError } from '../../src/core/errors.js';
import type { AgentContext } from '../../src/agent/define.js';
import { failure, onePool, outcome } from './helpers.js';

describe('backpressure: maxQueue', () => {
  it('ERR_QUEUE_FULL at the limit (details pool/queued/limit), nothing lost below it', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, { work: async (x: number) => (await sleep(clock, 10), x) }, { maxQueue: 3 });
    await sys.start();
    const running = sys.submit({ type: 'w', task: 'work', input: 0 }); // on the agent, not queued
    const queued = [1, 2, 3].map((i) => sys.submit({ type: 'w', task: 'work', input: i }));
    expect(sys.pool('w').queued).toBe(3);
    const err = (await sys.submit({ type: 'w', task: 'work', input: 4 }).catch((e) => e)) as AgentPoolError;
    expect(err.code).toBe('ERR_QUEUE_FULL');
    expect(err.details).toEqual({ pool: 'w', queued: 3, limit: 3 });
    expect(sys.pool('w').queued).toBe(3); // the refused one queued nothing
    await clock.advanceAsync(100);
    expect(await Promise.all([running, ...queued])).toEqual([0, 1, 2, 3]);
    expect(sys.pool('w').queued).toBe(0);
    expect(sys.status().tasks.rejectedFull).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('queueTimeoutMs: a task not started in time rejects ERR_DEADLINE_EXCEEDED', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, { work: async () => sleep(clock, 1_000) }, { queueTimeoutMs: 500 });
    await sys.start();
    const first = outcome(sys.submit({ type: 'w', task: 'work' }));
    const second = outcome(sys.submit({ type: 'w', task: 'work' }));
    await clock.advanceAsync(2_000);
    expect([await first, await second]).toEqual(['ok:undefined', 'ERR_DEADLINE_EXCEEDED']);
    await sys.shutdown({ graceful: false });
  });
});

describe('retries on handler errors', () => {
  it('a handler failing twice then succeeding with attempts: 3 resolves, after the two backoff gaps', async () => {
    const clock = new ManualClock();
    const runsAt: number[] = [];
    const sys = onePool(clock, {
      flaky: () => {
        runsAt.push(clock.now());
        if (runsAt.length < 3) throw new Error('429 too many requests');
        return 'ok';
      },
    });
    await sys.start();
    const p = sys.submit({
      type: 'w',
      task: 'flaky',
      priority: 'high',
      retry: { attempts: 3, backoff: 'exponential', baseMs: 1_000 },
    });
    await clock.advanceAsync(10_000);
    expect(await p).toBe('ok');
    expect(runsAt).toEqual([0, 1_000, 3_000]); // gaps 1 s then 2 s
    expect(sys.status().tasks.retried).toBe(2);
    expect(sys.metrics()[0]!.tasks.retried).toBe(2);
    expect(sys.metricsText()).toContain('agentpool_tasks_total{pool="w",outcome="retried"} 2\n');
    await sys.shutdown({ graceful: false });
  });

  it('after the last attempt: ERR_TASK_FAILED carrying every cause; fixed backoff; pool default', async () => {
    const clock = new ManualClock();
    const runsAt: number[] = [];
    let n = 0;
    const sys = onePool(
      clock,
      {
        fail: () => {
          runsAt.push(clock.now());
          throw new Error(`503 #${++n}`);
        },
      },
      { retry: { attempts: 3, backoff: 'fixed', baseMs: 500 } },
    );
    await sys.start();
    const err = failure<TaskFailedError>(sys.submit({ type: 'w', task: 'fail' }));
    await clock.advanceAsync(5_000);
    const e = await err;
    expect(e.code).toBe('ERR_TASK_FAILED');
    expect(e.causes.map((c) => ((c as AgentPoolError).cause as Error).message)).toEqual([
      '503 #1',
      '503 #2',
      '503 #3',
    ]);
    expect(runsAt).toEqual([0, 500, 1_000]);
    await sys.shutdown({ graceful: false });
  });

  it('an error marked retryable: false is not retried; nor a budget refusal', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const sys = onePool(
      clock,
      {
        final: () => {
          runs++;
          throw Object.assign(new Error('bad prompt'), { retryable: false });
        },
        broke: async (_: unknown, ctx: AgentContext) => {
          runs++;
          await ctx.tokens.reserve(1_000);
        },
      },
      {},
      { budgets: { defaultCycle: 10 } },
    );
    await sys.start();
    const retry = { attempts: 5, baseMs: 10 };
    const a = failure(sys.submit({ type: 'w', task: 'final', retry }));
    await clock.advanceAsync(1_000);
    expect((await a).code).toBe('ERR_TASK_ERROR');
    expect(runs).toBe(1);
    const b = failure(sys.submit({ type: 'w', task: 'broke', retry }));
    await clock.advanceAsync(1_000);
    expect((await b).code).toBe('ERR_BUDGET_EXHAUSTED');
    expect(runs).toBe(2);
    expect(sys.status().tasks.retried).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('a retry that could not start before the deadline is not attempted', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const sys = onePool(clock, {
      fail: () => {
        runs++;
        throw new Error('500');
      },
    });
    await sys.start();
    const p = failure(
      sys.submit({ type: 'w', task: 'fail', deadlineMs: 500, retry: { attempts: 3, baseMs: 1_000 } }),
    );
    await clock.advanceAsync(5_000);
    expect((await p).code).toBe('ERR_TASK_ERROR');
    expect(runs).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('a cancellation during the backoff rejects ERR_ABORTED and runs nothing more', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const sys = onePool(clock, {
      fail: () => {
        runs++;
        throw new Error('500');
      },
    });
    await sys.start();
    const ac = new AbortController();
    const p = outcome(
      sys.submit({ type: 'w', task: 'fail', signal: ac.signal, retry: { attempts: 5, baseMs: 1_000 } }),
    );
    await clock.advanceAsync(10);
    expect(sys.status().tasks.sleeping).toBe(1);
    ac.abort();
    await clock.advanceAsync(60_000);
    expect(await p).toBe('ERR_ABORTED');
    expect(runs).toBe(1);
    expect(sys.status().tasks.sleeping).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('bad retry options are typed errors naming the path', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, { t: () => 1 });
    await sys.start();
    const e = (await sys
      .submit({ type: 'w', task: 't', retry: { attempts: 0 } })
      .catch((x) => x)) as AgentPoolError;
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toContain('submit.retry.attempts');
    const k = (await sys
      .submit({ type: 'w', task: 't', retry: { attempts: 2, backof: 'fixed' } as never })
      .catch((x) => x)) as AgentPoolError;
    expect(k.message).toContain('submit.retry');
    await sys.shutdown({ graceful: false });
  });
});

describe('rate limits', () => {
  it('20 tasks under requestsPerMinute: 600 take >= 1.9 s of clock time and none fail', async () => {
    const clock = new ManualClock();
    const startedAt: number[] = [];
    const sys = onePool(
      clock,
      { call: () => startedAt.push(clock.now()) },
      { rateLimit: { requestsPerMinute: 600 } },
      {},
      4,
    );
    await sys.start();
    const ps = Array.from({ length: 20 }, () => outcome(sys.submit({ type: 'w', task: 'call' })));
    await clock.advanceAsync(5_000);
    const out = await Promise.all(ps);
    expect(out.every((o) => o.startsWith('ok:'))).toBe(true);
    expect(startedAt.length).toBe(20);
    expect(startedAt[19]! - startedAt[0]!).toBeGreaterThanOrEqual(1_900);
    // evenly spaced: one every 100 ms
    expect(startedAt.slice(0, 4)).toEqual([0, 100, 200, 300]);
    await sys.shutdown({ graceful: false });
  });

  it('the scaler sees rate-limited waiting as not helped by more agents (reason recorded)', async () => {
    const clock = new ManualClock();
    const sys = onePool(
      clock,
      { call: () => 1 },
      {
        min: 1,
        max: 5,
        rateLimit: { requestsPerMinute: 6 },
        autoscale: { intervalMs: 1_000, maxAcceptableWaitMs: 100, shortWaitMs: 50, scaleUpCooldownMs: 0 },
      },
    );
    await sys.start();
    for (let i = 0; i < 10; i++) void sys.submit({ type: 'w', task: 'call' }).catch(() => {});
    await clock.advanceAsync(5_500);
    const decisions = sys.pool('w').scalerHistory();
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.some((d) => d.reason === 'rate-limited')).toBe(true);
    expect(decisions.every((d) => d.direction !== 'up')).toBe(true);
    expect(sys.pool('w').size).toBe(1);
    await sys.shutdown({ graceful: false });
  });

  it('token reservations over tokensPerMinute wait for the next window; settle refunds the rest', async () => {
    const clock = new ManualClock();
    const grantedAt: number[] = [];
    const sys = onePool(
      clock,
      {
        call: async (n: number, ctx: AgentContext) => {
          const r = await ctx.tokens.reserve(n);
          grantedAt.push(clock.now());
          r.settle(n);
          return n;
        },
      },
      { rateLimit: { tokensPerMinute: 1_000 } },
      {},
      3,
    );
    await sys.start();
    const ps = [600, 600, 300].map((n) => outcome(sys.submit({ type: 'w', task: 'call', input: n })));
    await clock.advanceAsync(1_000);
    // The second 600 waits; the 300 would fit, but waiters are served in order (none overtaken forever).
    expect(grantedAt).toEqual([0]);
    expect(sys.rateUsage()['pools.w']).toEqual({ requests: 0, tokens: 600, waiting: 2 });
    await clock.advanceAsync(60_000);
    expect(grantedAt).toEqual([0, 60_000, 60_000]); // the first 600 left the window
    expect(await Promise.all(ps)).toEqual(['ok:600', 'ok:600', 'ok:300']);
    await clock.advanceAsync(60_000);
    expect(sys.rateUsage()['pools.w']).toEqual({ requests: 0, tokens: 0, waiting: 0 });
    await sys.shutdown({ graceful: false });
  });

  it('a reservation larger than tokensPerMinute fails at once; a wait ends with the task (timeout)', async () => {
    const clock = new ManualClock();
    const sys = onePool(
      clock,
      { call: async (n: number, ctx: AgentContext) => (await ctx.tokens.reserve(n)).amount },
      { rateLimit: { tokensPerMinute: 100 } },
      {},
      2,
    );
    await sys.start();
    const big = failure(sys.submit({ type: 'w', task: 'call', input: 101 }));
    await clock.advanceAsync(1);
    expect(((await big).cause as AgentPoolError).code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect(await sys.submit({ type: 'w', task: 'call', input: 100 })).toBe(100);
    const late = outcome(sys.submit({ type: 'w', task: 'call', input: 50, timeoutMs: 5_000 }));
    await clock.advanceAsync(6_000);
    expect(await late).toBe('ERR_TASK_TIMEOUT');
    expect(sys.rateUsage()['pools.w']!.waiting).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('pools naming one system rateLimits entry share it', async () => {
    const clock = new ManualClock();
    const { defineAgent } = await import('../../src/agent/define.js');
    const { AgentPoolSystem } = await import('../../src/runtime/system.js');
    const startedAt: number[] = [];
    const agent = defineAgent({ call: () => startedAt.push(clock.now()) });
    const pool = { agent, min: 1, max: 1, healthCheckIntervalMs: 0, rateLimit: 'api' };
    const sys = new AgentPoolSystem({
      clock,
      rateLimits: { api: { requestsPerMinute: 60 } },
      pools: { a: pool, b: pool },
    });
    await sys.start();
    const ps = ['a', 'b', 'a', 'b'].map((type) => sys.submit({ type, task: 'call' }));
    await clock.advanceAsync(5_000);
    await Promise.all(ps);
    expect(startedAt).toEqual([0, 1_000, 2_000, 3_000]);
    await sys.shutdown({ graceful: false });
  });
});

describe('delayed tasks', () => {
  it('delayMs is honoured; cancellable while delayed; survives a scale-down', async () => {
    const clock = new ManualClock();
    const ranAt: number[] = [];
    const sys = onePool(clock, { t: () => ranAt.push(clock.now()) }, { min: 0, max: 2 });
    await sys.start();
    await sys.scalePool('w', 2);
    const p = sys.submit({ type: 'w', task: 't', delayMs: 5_000 });
    const ac = new AbortController();
    const cancelled = outcome(sys.submit({ type: 'w', task: 't', delayMs: 5_000, signal: ac.signal }));
    expect(sys.pool('w').queued).toBe(2);
    expect(sys.status().tasks.sleeping).toBe(2);
    await clock.advanceAsync(1_000);
    ac.abort();
    expect(await cancelled).toBe('ERR_ABORTED');
    await sys.scalePool('w', 0); // no agent left while it waits
    await clock.advanceAsync(3_000);
    expect(ranAt).toEqual([]);
    await clock.advanceAsync(2_000);
    await p;
    expect(ranAt).toEqual([5_000]); // the pool grew again for it
    await sys.shutdown({ graceful: false });
  });

  it('notBefore is absolute; a deadline before it is refused', async () => {
    const clock = new ManualClock(1_000);
    const ranAt: number[] = [];
    const sys = onePool(clock, { t: () => ranAt.push(clock.now()) });
    await sys.start();
    const p = sys.submit({ type: 'w', task: 't', notBefore: 4_000 });
    await clock.advanceAsync(5_000);
    await p;
    expect(ranAt).toEqual([4_000]);
    const e = (await sys
      .submit({ type: 'w', task: 't', delayMs: 1_000, deadlineMs: 500 })
      .catch((x) => x)) as AgentPoolError;
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    await sys.shutdown({ graceful: false });
  });

  it('shutdown rejects delayed tasks with ERR_SHUTTING_DOWN', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, { t: () => 1 });
    await sys.start();
    const p = outcome(sys.submit({ type: 'w', task: 't', delayMs: 60_000 }));
    await sys.shutdown({ graceful: false });
    expect(await p).toBe('ERR_SHUTTING_DOWN');
  });
});

describe('progress', () => {
  it('ctx.progress reaches onProgress and the task.progress event in order, and resets the heartbeat', async () => {
    const clock = new ManualClock();
    const sys = onePool(
      clock,
      {
        long: async (_: unknown, ctx: AgentContext) => {
          for (let i = 1; i <= 5; i++) {
            await sleep(clock, 400);
            ctx.progress({ done: i, of: 5 });
          }
          return 'done';
        },
      },
      { timings: { heartbeatTimeoutMs: 500, backoffBaseMs: 1, backoffMaxMs: 1 } },
    );
    await sys.start();
    const seen: unknown[] = [];
    const events: unknown[] = [];
    const off = sys.on('task.progress', (e) => events.push(e.value));
    const p = sys.submit({ type: 'w', task: 'long', onProgress: (v) => seen.push(v) });
    await clock.advanceAsync(3_000);
    expect(await p).toBe('done'); // 2 s of work under a 500 ms heartbeat: progress kept it alive
    const expected = [1, 2, 3, 4, 5].map((done) => ({ done, of: 5 }));
    expect(seen).toEqual(expected);
    expect(events).toEqual(expected);
    off();
    await sys.shutdown({ graceful: false });
  });
});

describe('progress on a lease', () => {
  it('lease.run(…, { onProgress }) gets the same values; a non-function is refused', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, {
      steps: (n: number, ctx: AgentContext) => {
        for (let i = 0; i < n; i++) ctx.progress(i);
        return n;
      },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const seen: unknown[] = [];
    expect(await lease.run('steps', 3, { onProgress: (v) => seen.push(v) })).toBe(3);
    expect(seen).toEqual([0, 1, 2]);
    const e = await failure(lease.run('steps', 1, { onProgress: 'x' as never }));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    await lease.release();
    await sys.shutdown({ graceful: false });
  });
});

describe('priority aging', () => {
  it('property: under a constant high-priority load a low task waits at most 2·agingMs plus the high work queued ahead', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }), // high tasks kept queued
        fc.integer({ min: 50, max: 300 }), // service time of one task (ms)
        fc.integer({ min: 500, max: 3_000 }), // agingMs
        async (depth, serviceMs, agingMs) => {
          const clock = new ManualClock();
          const sys = onePool(clock, { t: () => sleep(clock, serviceMs) }, { agingMs });
          await sys.start();
          let stop = false;
          const feed = () => {
            if (!stop) void sys.submit({ type: 'w', task: 't', priority: 'high' }).then(feed, () => {});
          };
          for (let i = 0; i <= depth; i++) feed();
          let doneAt: number | undefined;
          void sys.submit({ type: 'w', task: 't', priority: 'low' }).then(() => (doneAt = clock.now()));
          // low → medium → high takes 2 steps; the sweep runs every agingMs; then the high tasks
          // queued ahead of it (depth) and the running one finish first.
          const bound = 3 * agingMs + (depth + 2) * serviceMs;
          for (let t = 0; t < bound + serviceMs && doneAt === undefined; t += 50)
            await clock.advanceAsync(50);
          stop = true;
          expect(doneAt).toBeDefined();
          expect(doneAt!).toBeLessThanOrEqual(bound);
          await sys.shutdown({ graceful: false });
        },
      ),
      { numRuns: 15 },
    );
  });

  it('without aging (the default) the low task starves under the same load', async () => {
    const clock = new ManualClock();
    const sys = onePool(clock, { t: () => sleep(clock, 100) });
    await sys.start();
    let stop = false;
    const feed = () => {
      if (!stop) void sys.submit({ type: 'w', task: 't', priority: 'high' }).then(feed, () => {});
    };
    feed();
    feed();
    let done = false;
    void sys.submit({ type: 'w', task: 't', priority: 'low' }).then(
      () => (done = true),
      () => {},
    );
    for (let t = 0; t < 20_000; t += 100) await clock.advanceAsync(100);
    expect(done).toBe(false);
    stop = true;
    await sys.shutdown({ graceful: false });
  });
});

describe('pause / resume', () => {
  it('queued work waits, running work finishes, acquires wait and fail by their timeout; resume serves them', async () => {
    const clock = new ManualClock();
    const done: string[] = [];
    const sys = onePool(
      clock,
      {
        t: async (id: string) => {
          await sleep(clock, 100);
          done.push(id);
          return id;
        },
      },
      { min: 1, max: 3 },
    );
    await sys.start();
    const pool = sys.pool('w');
    const running = sys.submit({ type: 'w', task: 't', input: 'running' });
    pool.pause();
    expect(pool.status().intake).toBe('paused');
    expect(pool.actor.getSnapshot().matches({ active: { intake: 'paused' } })).toBe(true);
    const queued = sys.submit({ type: 'w', task: 't', input: 'queued' });
    const timedOut = outcome(sys.acquire('w', { cycleId: 'c', timeoutMs: 1_000 }));
    await clock.advanceAsync(5_000);
    expect(done).toEqual(['running']); // the running task finished; nothing new started
    expect(await timedOut).toBe('ERR_POOL_EXHAUSTED');
    expect(pool.size).toBe(1); // no scale-up for a pause
    expect(pool.queued).toBe(1);
    const waiting = sys.acquire('w', { cycleId: 'c', timeoutMs: 60_000 });
    pool.resume();
    expect(pool.status().intake).toBe('open');
    await clock.advanceAsync(1_000);
    expect(await running).toBe('running');
    expect(await queued).toBe('queued');
    const lease = await waiting;
    await lease.release();
    await sys.shutdown({ graceful: false });
  });
});
