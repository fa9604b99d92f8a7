import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { PoolMetrics, type PoolMetricsSnapshot } from '../../src/metrics/pool-metrics.js';
import {
  analysePools,
  applyRecommendations,
  erlangC,
  mmcWaitQuantile,
  type Recommendation,
  type RecommendationKind,
} from '../../src/policies/optimizers.js';

// Independent Erlang C from the textbook sum formula (fine for the small c used here).
function erlangCDirect(c: number, a: number): number {
  let sum = 0;
  let term = 1; // a^k / k!
  for (let k = 0; k < c; k++) {
    sum += term;
    term = (term * a) / (k + 1);
  }
  const top = term * (c / (c - a)); // term is now a^c / c!
  return top / (sum + top);
}

function p99Direct(c: number, lambda: number, s: number): number {
  const a = lambda * s;
  if (c <= a) return Infinity;
  const pw = erlangCDirect(c, a);
  return pw <= 0.01 ? 0 : Math.log(pw / 0.01) / (c / s - lambda);
}

type Overrides = Partial<Omit<PoolMetricsSnapshot, 'pool'>>;

/** A healthy idle-ish base snapshot from the real collector, with fields overridden. */
function snap(pool: string, o: Overrides = {}): PoolMetricsSnapshot {
  const base = new PoolMetrics({ pool }).snapshot(0);
  return {
    ...base,
    agents: { total: 4, available: 1, busy: 3, starting: 0 },
    utilization: 0.75,
    requestRatePerMin: 12,
    completionRatePerMin: 12,
    outcomeRatePerMin: { success: 12, error: 0, timeout: 0 },
    service: { count: 100, sum: 1500, p50: 12, p90: 30, p99: 60, max: 80 },
    wait: { count: 100, sum: 50, p50: 0, p90: 1, p99: 3, max: 5 },
    ...o,
  };
}

describe('Erlang C / M/M/c', () => {
  it('matches closed forms', () => {
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12); // M/M/1: P(wait) = ρ
    expect(erlangC(3, 3)).toBe(1);
    expect(erlangC(3, 0)).toBe(0);
    expect(mmcWaitQuantile(2, 0.5, 1, 0.99)).toBeCloseTo(Math.log(10) / 1.5, 12);
    expect(mmcWaitQuantile(2, 2, 1, 0.99)).toBe(Infinity);
  });

  it('agrees with the textbook formula and decreases with more servers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.01, max: 59, noNaN: true }), (c, a) => {
        fc.pre(a < c);
        const v = erlangC(c, a);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        expect(v).toBeCloseTo(erlangCDirect(c, a), 9);
        expect(erlangC(c + 1, a)).toBeLessThanOrEqual(v + 1e-12);
        expect(mmcWaitQuantile(c + 1, a / 10, 10, 0.99)).toBeLessThanOrEqual(
          mmcWaitQuantile(c, a / 10, 10, 0.99),
        );
      }),
      { numRuns: 300 },
    );
  });
});

const kinds = (recs: Recommendation[]) => recs.map((r) => r.kind);

describe('analysePools', () => {
  it('says nothing about a healthy pool', () => {
    expect(analysePools([snap('ok')])).toEqual([]);
  });

  it('high wait → scale to the smallest M/M/c size meeting the p99 SLO', () => {
    // λ = 1/s, E[S] = 20 s → a = 20; 22 agents; observed p99 wait 90 s.
    const s = snap('hot', {
      agents: { total: 22, available: 0, busy: 22, starting: 0 },
      utilization: 1,
      queueDepth: 7,
      requestRatePerMin: 60,
      completionRatePerMin: 60,
      outcomeRatePerMin: { success: 60, error: 0, timeout: 0 },
      service: { count: 50, sum: 1000, p50: 15, p90: 40, p99: 90, max: 120 },
      wait: { count: 50, sum: 900, p50: 10, p90: 40, p99: 90, max: 100 },
    });
    let expected = 22;
    while (p99Direct(expected, 1, 20) > 30) expected++;
    expected = Math.max(23, expected);
    const [rec, ...rest] = analysePools([s]);
    expect(rest.filter((r) => r.kind === 'high-wait')).toEqual([]);
    expect(rec?.kind).toBe('high-wait');
    expect(rec?.action).toEqual({ type: 'scale', target: expected });
    expect(rec?.severity).toBe('critical'); // 90 / 30 = 3 times the SLO
    expect(rec?.expectedImpact.value).toBeCloseTo(90 - p99Direct(expected, 1, 20), 9);
    expect(rec?.expectedImpact.unit).toBe('s');
    expect(rec?.evidence.waitP99S).toBe(90);
  });

  it('low utilization → Little-law size that still meets the wait SLO', () => {
    // λ = 0.1/s, E[S] = 20 s → a = 2; Little at 0.75 → ceil(2.67) = 3.
    const s = snap('cold', {
      agents: { total: 25, available: 22, busy: 3, starting: 0 },
      utilization: 3 / 25,
      requestRatePerMin: 6,
      completionRatePerMin: 6,
      outcomeRatePerMin: { success: 6, error: 0, timeout: 0 },
      service: { count: 10, sum: 200, p50: 15, p90: 30, p99: 40, max: 40 },
    });
    let expected = Math.ceil((0.1 * 20) / 0.75);
    while (p99Direct(expected, 0.1, 20) > 30) expected++;
    const recs = analysePools([s]);
    expect(kinds(recs)).toEqual(['low-utilization']);
    expect(recs[0]?.action).toEqual({ type: 'scale', target: expected });
    expect(recs[0]?.expectedImpact).toMatchObject({ value: 25 - expected, unit: 'agents' });
    expect(recs[0]?.severity).toBe('warning'); // 0.3 / 0.12 = 2.5 (warning from 1.5, critical from 3)
  });

  it('resource waste → resize quotas to used / targetEfficiency', () => {
    const s = snap('fat', {
      allocated: { memoryMb: 4096, cpuCores: 4, tokens: 0 },
      used: { memoryMb: 1000, cpuCores: 0.3, tokens: 0 },
    });
    const recs = analysePools([s]);
    const byRes = Object.fromEntries(
      recs.map((r) => [r.action.type === 'resize-quota' ? r.action.resource : '', r]),
    ) as Record<string, Recommendation>;
    expect(Object.keys(byRes).sort()).toEqual(['cpuCores', 'memoryMb']);
    expect(byRes.memoryMb?.action).toEqual({
      type: 'resize-quota',
      resource: 'memoryMb',
      to: Math.ceil(1000 / 0.8),
    });
    expect(byRes.memoryMb?.expectedImpact.value).toBe(4096 - Math.ceil(1000 / 0.8));
    expect(byRes.cpuCores?.action).toMatchObject({ to: 0.4 }); // 0.3 / 0.8 = 0.375 → 0.4 cores
    expect(byRes.cpuCores?.evidence.efficiency).toBeCloseTo(0.3 / 4, 12);
  });

  it('poor throughput → investigate the main loss', () => {
    const s = snap('flaky', {
      requestRatePerMin: 100,
      completionRatePerMin: 85,
      outcomeRatePerMin: { success: 50, error: 30, timeout: 5 },
    });
    const recs = analysePools([s]);
    expect(kinds(recs)).toEqual(['poor-throughput']);
    expect(recs[0]?.action).toEqual({ type: 'investigate', cause: 'error' });
    expect(recs[0]?.expectedImpact.value).toBe(100 - 50);
    expect(recs[0]?.evidence.goodputRatio).toBe(0.5);
    const timeouts = analysePools([
      snap('slow', {
        requestRatePerMin: 100,
        completionRatePerMin: 90,
        outcomeRatePerMin: { success: 40, error: 10, timeout: 40 },
      }),
    ]);
    expect(timeouts[0]?.action).toEqual({ type: 'investigate', cause: 'timeout' });
  });

  it('uneven CPU and task imbalance from per-agent samples', () => {
    const cpu = [0.9, 0.1, 0.1, 0.1];
    const tasks = [8, 1, 1, 2];
    const recs = analysePools([snap('p')], {
      agentLoad: { p: cpu.map((c, i) => ({ agent: `a${i}`, cpu: c, tasks: tasks[i] ?? 0 })) },
    });
    expect(kinds(recs).sort()).toEqual(['task-imbalance', 'uneven-cpu']);
    const mean = cpu.reduce((a, b) => a + b) / cpu.length;
    const sd = Math.sqrt(cpu.reduce((a, b) => a + (b - mean) ** 2, 0) / cpu.length);
    const uneven = recs.find((r) => r.kind === 'uneven-cpu');
    expect(uneven?.evidence.cpuCv).toBeCloseTo(sd / mean, 12);
    expect(uneven?.expectedImpact.value).toBeCloseTo(0.9 - mean, 12);
    expect(uneven?.action).toEqual({
      type: 'set-balancing',
      strategy: 'resource-aware',
      workStealing: false,
    });
    const imb = recs.find((r) => r.kind === 'task-imbalance');
    expect(imb?.action).toEqual({ type: 'set-balancing', strategy: 'least-connections', workStealing: true });
    expect(imb?.evidence.imbalance).toBeCloseTo(8 / 3, 12);
    expect(imb?.expectedImpact.value).toBeCloseTo(8 - 3, 12);
    // Even load: nothing.
    const even = analysePools([snap('p')], {
      agentLoad: { p: [0, 1, 2].map((i) => ({ agent: `a${i}`, cpu: 0.5, tasks: 2 })) },
    });
    expect(even).toEqual([]);
  });

  it('unused capabilities', () => {
    const recs = analysePools([snap('p')], {
      capabilities: { p: { configured: ['ts', 'py', 'go', 'rust'], requested: { ts: 40, py: 0, rust: 3 } } },
    });
    expect(kinds(recs)).toEqual(['unused-capabilities']);
    expect(recs[0]?.action).toEqual({ type: 'remove-capabilities', capabilities: ['go', 'py'] });
    expect(recs[0]?.expectedImpact.value).toBe(2 / 4);
  });

  it('sorts by severity, then pool', () => {
    const recs = analysePools([
      snap('b', {
        utilization: 0.25,
        agents: { total: 10, available: 8, busy: 2, starting: 0 },
        requestRatePerMin: 6,
      }),
      snap('a', { wait: { count: 1, sum: 200, p50: 100, p90: 200, p99: 200, max: 200 } }),
    ]);
    expect(recs.map((r) => [r.pool, r.severity])).toEqual([
      ['a', 'critical'],
      ['b', 'info'],
    ]);
  });

  it('rejects bad options with typed errors', () => {
    const bad = (o: unknown) =>
      expect(() => analysePools([snap('p')], o as never)).toThrow(InvalidArgumentError);
    bad({ maxWaitP99: 3 });
    bad({ lowUtilization: 2 });
    bad({ maxWaitP99S: 0 });
    bad({ minEfficiency: 0.9, targetEfficiency: 0.8 });
    bad({ agentLoad: { other: [] } });
    bad({ agentLoad: { p: [{ agent: 'x', cpu: -1, tasks: 0 }] } });
    bad({ capabilities: { p: { configured: 'ts', requested: {} } } });
    expect(() => analysePools('x' as never)).toThrow(InvalidArgumentError);
  });
});

describe('applyRecommendations', () => {
  const recs = analysePools([snap('p')], {
    agentLoad: {
      p: [
        { agent: 'a', cpu: 0.9, tasks: 8 },
        { agent: 'b', cpu: 0.1, tasks: 1 },
      ],
    },
    capabilities: { p: { configured: ['x'], requested: {} } },
  });

  it('applies only the configured kinds, through the matching applier', async () => {
    expect(kinds(recs).sort()).toEqual(['task-imbalance', 'uneven-cpu', 'unused-capabilities']);
    const calls: [string, string][] = [];
    const r = await applyRecommendations(
      recs,
      { auto: new Set<RecommendationKind>(['task-imbalance']) },
      {
        'set-balancing': (pool, a) => {
          calls.push([pool, a.strategy]);
        },
      },
    );
    expect(calls).toEqual([['p', 'least-connections']]);
    expect(kinds(r.applied)).toEqual(['task-imbalance']);
    expect(r.skipped.map((s) => s.reason).sort()).toEqual(['not-auto', 'not-auto']);
  });

  it('applies nothing by default, reports missing appliers and failures', async () => {
    const none = await applyRecommendations(
      recs,
      { auto: new Set() },
      {
        'set-balancing': () => {
          throw new Error('no');
        },
      },
    );
    expect(none.applied).toEqual([]);
    expect(none.skipped).toHaveLength(recs.length);
    const all = new Set<RecommendationKind>(['task-imbalance', 'uneven-cpu', 'unused-capabilities']);
    const r = await applyRecommendations(
      recs,
      { auto: all },
      {
        'set-balancing': async (_pool, a) => {
          if (a.strategy === 'resource-aware') throw new Error('boom');
        },
      },
    );
    expect(kinds(r.applied)).toEqual(['task-imbalance']);
    expect(r.failed.map((f) => f.rec.kind)).toEqual(['uneven-cpu']);
    expect(r.skipped).toEqual([
      { rec: recs.find((x) => x.kind === 'unused-capabilities'), reason: 'no-applier' },
    ]);
  });

  it('rejects a bad auto set before applying anything', async () => {
    let called = 0;
    const appliers = { 'set-balancing': () => void called++ };
    await expect(applyRecommendations(recs, { auto: ['task-imbalance'] } as never, appliers)).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(applyRecommendations(recs, { auto: new Set(['nope']) } as never, appliers)).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(called).toBe(0);
  });
});
