/**
 * Task outcomes are recorded per task run, not per lease (issue 12's first bug: after 4 handler
 * errors and 1 timeout the old main reported `{ success: 5, error: 0, timeout: 0 }`): 3 failing,
 * 1 timed-out and 2 succeeded tasks, on a lease and via submit(), give exactly those counts in
 * `metrics()` and in `metricsText()`, with their run times.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { sleep } from '../../src/core/clock.js';
import { testTimings } from '../runtime/helpers.js';

describe('task outcomes', () => {
  it('are counted per run: succeeded, failed, timed_out, cancelled, lost', async () => {
    const clock = new ManualClock();
    const agent = defineAgent({
      ok: async () => {
        await sleep(clock, 2_000);
        return 'ok';
      },
      boom: () => {
        throw new Error('model said no');
      },
      // Runs until aborted (a timeout or a cancel sends the abort signal), then lets go.
      slow: (_input: unknown, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
    });
    const sys = createAgentPoolSystem({
      clock,
      pools: { w: { agent, min: 1, max: 1, concurrency: 4, healthCheckIntervalMs: 0, timings: testTimings } },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    const runs = [
      settle(lease.run('ok')),
      settle(lease.run('boom')),
      settle(lease.run('boom')),
      settle(lease.run('slow', null, { timeoutMs: 1_000 })),
      settle(sys.submit({ type: 'w', task: 'ok' })),
      settle(sys.submit({ type: 'w', task: 'boom' })),
    ];
    const cancel = new AbortController();
    const cancelled = settle(lease.run('slow', null, { signal: cancel.signal }));
    await clock.advanceAsync(500);
    cancel.abort();
    await clock.advanceAsync(2_000);
    expect(await Promise.all(runs)).toEqual([
      'ok',
      'ERR_TASK_ERROR',
      'ERR_TASK_ERROR',
      'ERR_TASK_TIMEOUT',
      'ok',
      'ERR_TASK_ERROR',
    ]);
    expect(await cancelled).toBe('ERR_ABORTED');
    await lease.release();
    const m = sys.metrics()[0]!;
    expect(m.tasks).toEqual({ succeeded: 2, failed: 3, timed_out: 1, cancelled: 1, lost: 0, retried: 0 });
    expect(m.taskRun.count).toBe(7);
    expect(m.taskRun.max).toBeGreaterThanOrEqual(2); // the two `ok` runs took 2 s of clock time
    const text = sys.metricsText();
    expect(text).toContain('# TYPE agentpool_tasks_total counter');
    for (const [outcome, n] of [
      ['succeeded', 2],
      ['failed', 3],
      ['timed_out', 1],
      ['cancelled', 1],
      ['lost', 0],
      ['retried', 0],
    ] as const)
      expect(text).toContain(`agentpool_tasks_total{pool="w",outcome="${outcome}"} ${n}\n`);
    expect(text).toMatch(/agentpool_task_run_seconds_count\{pool="w"\} 7\n/);
    await sys.shutdown({ graceful: false });
  });
});

describe('allocated resources', () => {
  it('come from the live leases: a lease holding 64 MB shows 64 MB allocated, 0 after release', async () => {
    const clock = new ManualClock();
    const sys = createAgentPoolSystem({
      clock,
      limits: { memoryMb: 10_000 },
      allocation: false,
      pools: {
        w: {
          agent: defineAgent({ ok: () => 1 }),
          min: 1,
          max: 1,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 64 } });
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(64);
    expect(sys.metricsText()).toContain(`agentpool_memory_allocated_bytes{pool="w"} ${64 * 2 ** 20}\n`);
    await lease.release();
    expect(sys.metrics()[0]!.allocated.memoryMb).toBe(0);
    await sys.shutdown({ graceful: false });
  });
});
