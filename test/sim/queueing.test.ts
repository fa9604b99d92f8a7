import { describe, expect, it } from 'vitest';
import { createStrategy } from '../../src/policies/balancing/index.js';
import { agentSpeeds, simulateQueueing, streamSeed } from '../../src/sim/queueing.js';
import {
  erlangC,
  mm1TimeInSystem,
  mmcTimeInSystem,
  roundRobinTimeInSystem,
  supermarketTimeInSystem,
} from '../../src/sim/queueing-theory.js';

describe('queueing theory helpers', () => {
  it('match textbook values', () => {
    expect(mm1TimeInSystem(0.9)).toBeCloseTo(10, 12);
    // Supermarket d=2 at λ = 0.9: Mitzenmacher's table gives 2.61 (and 3.38 at 0.95).
    expect(supermarketTimeInSystem(0.9, 2)).toBeCloseTo(2.61, 2);
    expect(supermarketTimeInSystem(0.95, 2)).toBeCloseTo(3.38, 2);
    expect(supermarketTimeInSystem(0.9, 3)).toBeCloseTo(2.03, 2);
    // Erlang C for c = 1 is ρ (M/M/1 waits with probability ρ).
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 12);
    expect(mmcTimeInSystem(1, 0.5)).toBeCloseTo(2, 12);
    // One server round robin is M/M/1 (Erlang-1 = exponential arrivals).
    expect(roundRobinTimeInSystem(1, 0.5)).toBeCloseTo(2, 9);
  });
});

describe('simulateQueueing', () => {
  it('reproduces M/M/1 theory: mean time in system 1 / (μ − λ) = 2 at ρ = 0.5', () => {
    const r = simulateQueueing({
      agents: 1,
      load: 0.5,
      tasks: 200_000,
      seed: 1,
      strategy: createStrategy('random'),
    });
    expect(Math.abs(r.meanTimeInSystem - 2) / 2).toBeLessThan(0.03);
    // Mean wait ρ / (μ − λ) = 1.
    expect(Math.abs(r.meanWait - 1)).toBeLessThan(0.04);
    expect(r.drift).toBeGreaterThan(0.9);
    expect(r.drift).toBeLessThan(1.1);
  });

  it('matches round robin (E_n/M/1) theory with 10 agents at ρ = 0.8', () => {
    const r = simulateQueueing({
      agents: 10,
      load: 0.8,
      tasks: 200_000,
      seed: 2,
      strategy: createStrategy('round-robin'),
    });
    const theory = roundRobinTimeInSystem(10, 0.8);
    expect(Math.abs(r.meanTimeInSystem - theory) / theory).toBeLessThan(0.05);
  });

  it('orders the baselines JSQ < p2c < round robin < random on identical traffic', () => {
    const run = (name: string) =>
      simulateQueueing({ agents: 20, load: 0.9, tasks: 40_000, seed: 3, strategy: createStrategy(name) });
    const [jsq, p2c, rr, random] = ['jsq', 'p2c', 'round-robin', 'random'].map(run);
    expect(jsq!.meanTimeInSystem).toBeLessThan(p2c!.meanTimeInSystem);
    expect(p2c!.meanTimeInSystem).toBeLessThan(rr!.meanTimeInSystem);
    expect(rr!.meanTimeInSystem).toBeLessThan(random!.meanTimeInSystem);
    expect(jsq!.probesPerDispatch).toBe(20);
    expect(p2c!.probesPerDispatch).toBe(2);
    expect(random!.probesPerDispatch).toBe(0);
    expect(jsq!.p99Wait).toBeLessThan(p2c!.p99Wait);
  });

  it('is deterministic, and the traffic does not depend on the strategy', () => {
    const opts = { agents: 5, load: 0.7, tasks: 5_000, seed: 42 };
    const a = simulateQueueing({ ...opts, strategy: createStrategy('p2c') });
    const b = simulateQueueing({ ...opts, strategy: createStrategy('p2c') });
    expect(a).toEqual(b);
    // Round robin and random see the same arrivals: with 1 agent both are that agent, so equal.
    const one = { agents: 1, load: 0.7, tasks: 5_000, seed: 42 };
    const rr = simulateQueueing({ ...one, strategy: createStrategy('round-robin') });
    const rnd = simulateQueueing({ ...one, strategy: createStrategy('random') });
    expect(rr.meanTimeInSystem).toBe(rnd.meanTimeInSystem);
    expect(rr.p99Wait).toBe(rnd.p99Wait);
  });

  it('keeps load relative to real capacity with slow agents, and flags unweighted dispatch as unstable', () => {
    const speeds = agentSpeeds(10, 0.2, 2);
    expect([...speeds].filter((s) => s === 0.5).length).toBe(2);
    const base = { agents: 10, load: 0.9, slowFraction: 0.2, slowFactor: 2, tasks: 60_000, seed: 5 };
    const jsq = simulateQueueing({ ...base, strategy: createStrategy('jsq') });
    expect(jsq.arrivalRate).toBeCloseTo(0.9 * (8 + 2 * 0.5), 12);
    expect(jsq.drift).toBeLessThan(1.3);
    // Random sends 0.81 tasks per unit time to agents that serve 0.5: their queues grow forever.
    const random = simulateQueueing({ ...base, strategy: createStrategy('random') });
    expect(random.drift).toBeGreaterThan(1.5);
    // Smooth weighted round robin uses the weights (= speeds) and stays stable.
    const swrr = simulateQueueing({ ...base, strategy: createStrategy('smooth-weighted') });
    expect(swrr.drift).toBeLessThan(1.3);
  });

  it('derives distinct stream seeds', () => {
    const seeds = new Set([1, 2, 3].flatMap((s) => [1, 2, 3].map((k) => streamSeed(s, k))));
    expect(seeds.size).toBe(9);
  });

  it('rejects an unstable or empty configuration', () => {
    const strategy = createStrategy('jsq');
    expect(() => simulateQueueing({ agents: 0, load: 0.5, tasks: 10, seed: 1, strategy })).toThrow(
      RangeError,
    );
    expect(() => simulateQueueing({ agents: 2, load: 1, tasks: 10, seed: 1, strategy })).toThrow(RangeError);
  });
});

describe('balancer benchmark', () => {
  it('produces baselines with computed deviations, the matrix and the goal check (small run)', async () => {
    const { runBalancerBench, renderBalancerMarkdown, PUBLISHED } = await import('../../bench/balancers.js');
    const r = await runBalancerBench({
      tasks: 2_000,
      baselineTasks: 2_000,
      scenarios: ['uniform-0.9'],
      strategies: ['jsq', 'p2c', 'adaptive', 'workload-aware'],
    });
    expect(r.baselines.map((b) => b.strategy)).toEqual(Object.keys(PUBLISHED));
    for (const b of r.baselines) {
      expect(b.deviation).toBeCloseTo((b.meanTimeInSystem - b.published) / b.published, 12);
    }
    expect(r.results).toHaveLength(4);
    expect(r.goal.map((g) => g.strategy)).toEqual(['adaptive', 'workload-aware']);
    const jsq = r.results.find((x) => x.strategy === 'jsq')!;
    const adaptive = r.results.find((x) => x.strategy === 'adaptive')!;
    expect(r.goal[0]!.meanVsJsq).toBeCloseTo(adaptive.meanTimeInSystem / jsq.meanTimeInSystem, 12);
    const md = renderBalancerMarkdown(r);
    expect(md).toContain('### uniform-0.9');
    expect(md).toContain('| jsq |');
  });

  it('rejects unknown scenarios before running anything (flags: test/cli/cli.test.ts)', async () => {
    const { runBalancerBench } = await import('../../bench/balancers.js');
    await expect(runBalancerBench({ scenarios: ['nope'] })).rejects.toThrow(/scenarios\[0\]/);
  });
});
