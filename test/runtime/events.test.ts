/**
 * system.on(): the lifecycle events come from the machines (emit), the rest from the runtime; typed,
 * with an unsubscribe, and a listener that throws changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import type { Logger } from '../../src/core/logger.js';
import type { SystemEvent } from '../../src/runtime/events.js';
import { flakyAgent, testTimings } from './helpers.js';

describe('system.on', () => {
  it('agent started / crashed / restarting / evicted, scale decided / applied, in order', async () => {
    const clock = new ManualClock();
    const flaky = flakyAgent();
    const sys = createAgentPoolSystem({
      clock,
      pools: {
        w: {
          agent: flaky.agent,
          min: 1,
          max: 2,
          maxFailures: 2,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    const seen: SystemEvent[] = [];
    const off = sys.on('*', (e) => seen.push(e));
    sys.on('agent.crashed', () => {
      throw new Error('a broken listener'); // logged, harmless
    });
    await sys.start();
    flaky.failNextStarts(2);
    await sys.scalePool('w', 2, 'more');
    await clock.advanceAsync(5_000);
    const types = seen.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['scale.decided', 'agent.started', 'scale.applied']);
    // The second agent fails twice: crashed → restarting → crashed → evicted.
    expect(types).toEqual(expect.arrayContaining(['agent.crashed', 'agent.restarting', 'agent.evicted']));
    // One occurrence, one event: one eviction, two crashes (two failed starts), one restart between them.
    expect(types.filter((t) => t === 'agent.evicted')).toHaveLength(1);
    expect(types.filter((t) => t === 'agent.crashed')).toHaveLength(2);
    expect(types.filter((t) => t === 'agent.restarting')).toHaveLength(1);
    expect(types.filter((t) => t === 'scale.decided')).toHaveLength(
      types.filter((t) => t === 'scale.applied').length,
    );
    const evicted = seen.find((e) => e.type === 'agent.evicted');
    expect(evicted).toMatchObject({ pool: 'w', failures: 2 });
    const applied = seen.filter((e) => e.type === 'scale.applied');
    expect(applied[1]).toMatchObject({ pool: 'w', record: { target: 2, reason: 'more' } });
    // The same incidents are counted per pool (metrics and Prometheus `_total` counters).
    const crashes = types.filter((t) => t === 'agent.crashed').length;
    expect(sys.metrics()[0]!.incidents).toMatchObject({ crashes, evictions: 1, restarts: crashes - 1 });
    expect(sys.metricsText()).toContain(`agentpool_agent_crashes_total{pool="w"} ${crashes}\n`);
    expect(sys.metricsText()).toContain('agentpool_agent_evictions_total{pool="w"} 1\n');
    off();
    const before = seen.length;
    await sys.shutdown({ graceful: false });
    expect(seen.length).toBe(before); // unsubscribed
  });

  it('task.finished with its outcome, lease.lost, lease.expired and budget.refused from the runtime', async () => {
    const clock = new ManualClock();
    const agent = defineAgent({
      ok: () => 'ok',
      boom: () => {
        throw new Error('no');
      },
      spend: async (_i: unknown, ctx) => {
        await ctx.tokens.reserve(5_000);
        return 'spent';
      },
    });
    const sys = createAgentPoolSystem({
      clock,
      limits: { memoryMb: 1_000 },
      budgets: { defaultCycle: 1_000 },
      pools: { w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, timings: testTimings } },
    });
    const seen: SystemEvent[] = [];
    sys.on('*', (e) => seen.push(e));
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 100 }, ttlMs: 1_000 });
    await lease.run('ok');
    await lease.run('boom').catch(() => {});
    await lease.run('spend').catch(() => {});
    await clock.advanceAsync(1_000); // the TTL passes
    const finished = seen
      .filter((e) => e.type === 'task.finished')
      .map((e) => ('outcome' in e ? e.outcome : ''));
    expect(finished).toEqual(['succeeded', 'failed', 'failed']);
    expect(seen.find((e) => e.type === 'budget.refused')).toMatchObject({
      pool: 'w',
      cycleId: 'c',
      amount: 5_000,
    });
    expect(seen.find((e) => e.type === 'lease.expired')).toMatchObject({ pool: 'w', leaseId: lease.id });
    // A lease still held when the pool stops is lost.
    const held = await sys.acquire('w', { cycleId: 'd', timeoutMs: 5_000 });
    await sys.shutdown({ graceful: false });
    expect(seen.find((e) => e.type === 'lease.lost')).toMatchObject({
      leaseId: held.id,
      reason: 'pool stopped',
    });
  });

  it('rejects an unknown type or a non-function listener with ERR_INVALID_ARGUMENT', () => {
    const sys = createAgentPoolSystem({ pools: { w: { agent: defineAgent({ ok: () => 1 }), min: 0 } } });
    expect(() => sys.on('agent.crashd' as never, () => {})).toThrow(/^type: expected one of agent\.started/);
    expect(() => sys.on('agent.crashed', 5 as never)).toThrow(/^listener: /);
  });
});

describe('logs', () => {
  it('warn on crash and eviction with the cause, info on scale changes, per-pool child loggers, nothing per task at info', async () => {
    const lines: {
      level: string;
      bindings: Record<string, unknown>;
      obj: Record<string, unknown>;
      msg?: string;
    }[] = [];
    const make = (bindings: Record<string, unknown>): Logger => ({
      debug: (obj, msg) =>
        lines.push({
          level: 'debug',
          bindings,
          obj: obj as Record<string, unknown>,
          ...(msg ? { msg } : {}),
        }),
      info: (obj, msg) =>
        lines.push({ level: 'info', bindings, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) }),
      warn: (obj, msg) =>
        lines.push({ level: 'warn', bindings, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) }),
      error: (obj, msg) =>
        lines.push({
          level: 'error',
          bindings,
          obj: obj as Record<string, unknown>,
          ...(msg ? { msg } : {}),
        }),
      child: (b) => make({ ...bindings, ...b }),
    });
    const clock = new ManualClock();
    const flaky = flakyAgent();
    const sys = createAgentPoolSystem({
      clock,
      logger: make({}),
      pools: {
        w: {
          agent: flaky.agent,
          min: 1,
          max: 2,
          maxFailures: 2,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c' });
    await lease.run('echo', 1);
    await lease.release();
    flaky.failNextStarts(2);
    await sys.scalePool('w', 2);
    await clock.advanceAsync(5_000);
    await sys.shutdown({ graceful: false });
    const warn = lines.filter((l) => l.level === 'warn' && l.bindings.pool === 'w');
    expect(warn.some((l) => /crashed/.test(l.msg ?? '') && typeof l.obj.cause === 'string')).toBe(true);
    expect(warn.some((l) => /evicted after 2 failures/.test(l.msg ?? ''))).toBe(true);
    const info = lines.filter((l) => l.level === 'info' && l.bindings.pool === 'w');
    expect(info.some((l) => /1 → 2 agents|0 → 1 agents/.test(l.msg ?? ''))).toBe(true);
    // The task ran, but nothing about it is logged above debug.
    expect(lines.filter((l) => l.level !== 'debug' && /task/.test(l.msg ?? ''))).toEqual([]);
  });
});
