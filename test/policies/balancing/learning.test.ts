import { describe, expect, it } from 'vitest';
import { AdaptiveStrategy } from '../../../src/policies/balancing/adaptive.js';
import { expectedCompletion, PredictiveStrategy } from '../../../src/policies/balancing/predictive.js';
import type { AgentView, BalancingStrategy, TaskView } from '../../../src/policies/balancing/types.js';
import {
  loadScore,
  specializationScore,
  WorkloadAwareStrategy,
} from '../../../src/policies/balancing/workload-aware.js';
import { createRng } from '../../../src/core/random.js';
import { agent, tally } from './helpers.js';

const ok = (serviceTime: number) => ({ ok: true, serviceTime, waitTime: 0 });

describe('workload-aware', () => {
  it('computes each component as documented', () => {
    const s = new WorkloadAwareStrategy();
    const a = agent('a', {
      active: 2,
      capacity: 2,
      specializations: ['code'],
      free: { memoryMb: 250 },
      capacityTotal: { memoryMb: 1000 },
    });
    s.onDispatch('a', { affinityKey: 'story-1' });
    const c = s.components(a, { specialization: 'code', affinityKey: 'story-1' }, 1);
    expect(c).toEqual({
      load: 1 / (1 + 2 / 2),
      specialization: 1,
      resources: 0.25,
      performance: 1,
      affinity: 1,
    });
    expect(specializationScore(agent('g'), 'code')).toBe(0.5); // generalist
    expect(specializationScore(agent('q', { specializations: ['qa'] }), 'code')).toBe(0);
    expect(specializationScore(agent('q', { specializations: ['qa'] }), undefined)).toBe(1);
    expect(loadScore(agent('idle'))).toBe(1);
  });

  it('uses the documented weights: a specialisation match (0.25) outweighs one task of load (0.30 × ½)', () => {
    const s = new WorkloadAwareStrategy();
    const rng = createRng(1);
    const specialist = agent('spec', { active: 1, specializations: ['code'] });
    const other = agent('other', { active: 0, specializations: ['qa'] });
    // spec: 0.3 × ½ + 0.25 = 0.40 (+ equal terms); other: 0.3 × 1 + 0 = 0.30.
    expect(s.pick([other, specialist], { specialization: 'code' }, rng)!.id).toBe('spec');
    // With two tasks queued the specialist falls to 0.3 × ⅓ + 0.25 = 0.35 > 0.30: still preferred;
    // with four, 0.3 × ⅕ + 0.25 = 0.31; with five, 0.30 tie; with six, 0.29 < 0.30.
    expect(
      s.pick(
        [other, agent('spec', { active: 6, specializations: ['code'] })],
        { specialization: 'code' },
        rng,
      )!.id,
    ).toBe('other');
  });

  it('sends a task back to the agent that ran its affinity key, all else equal', () => {
    const s = new WorkloadAwareStrategy();
    const rng = createRng(2);
    const cands = [agent('a'), agent('b'), agent('c')];
    s.onDispatch('b', { affinityKey: 'k' });
    for (let i = 0; i < 20; i++) expect(s.pick(cands, { affinityKey: 'k' }, rng)!.id).toBe('b');
  });

  it('learns that an agent is slow and prefers the fast one at equal load', () => {
    const s = new WorkloadAwareStrategy();
    const rng = createRng(3);
    for (let i = 0; i < 50; i++) {
      s.onComplete('slow', {}, ok(4));
      s.onComplete('fast', {}, ok(1));
    }
    const t = tally(Array.from({ length: 100 }, () => s.pick([agent('slow'), agent('fast')], {}, rng)!.id));
    expect(t.fast).toBe(100);
  });

  it('forgets affinity keys beyond maxAffinityKeys, oldest first', () => {
    const s = new WorkloadAwareStrategy({ maxAffinityKeys: 2 });
    const rng = createRng(4);
    s.onDispatch('x', { affinityKey: 'k1' });
    s.onDispatch('x', { affinityKey: 'k2' });
    s.onDispatch('x', { affinityKey: 'k3' }); // evicts k1
    expect(s.components(agent('x'), { affinityKey: 'k1' }, 1).affinity).toBe(0);
    expect(s.components(agent('x'), { affinityKey: 'k3' }, 1).affinity).toBe(1);
    expect(s.pick([], {}, rng)).toBeUndefined();
  });
});

describe('predictive', () => {
  it('expected completion = service × (1 + tasks ahead / capacity)', () => {
    expect(expectedCompletion(agent('a', { active: 0 }), 2)).toBe(2);
    expect(expectedCompletion(agent('a', { active: 3 }), 2)).toBe(2 * 4);
    // 4 slots, 2 busy: starts at once.
    expect(expectedCompletion(agent('a', { active: 2, capacity: 4 }), 2)).toBe(2);
    // 4 slots, 5 active: 2 ahead of it spread over 4 slots.
    expect(expectedCompletion(agent('a', { active: 5, capacity: 4 }), 2)).toBe(2 * (1 + 2 / 4));
  });

  it('learns service time (geometric mean, prior = pool) and success rate online', () => {
    const s = new PredictiveStrategy({ alpha: 0.5 });
    s.onComplete('a', {}, ok(4), 0);
    expect(s.serviceEstimate('a')).toBeCloseTo(4, 12); // first completion in the pool sets the prior
    s.onComplete('a', {}, ok(1), 0);
    expect(s.serviceEstimate('a')).toBeCloseTo(Math.sqrt(4 * 1), 12); // e^(½ ln 4 + ½ ln 1)
    // A new agent starts from the pool's typical time, and its first sample moves it by alpha.
    s.onComplete('b', {}, ok(16), 0);
    const pool = Math.exp(0.5 * Math.log(4) + 0.5 * Math.log(1)); // the pool's log-EWMA after a's two samples
    expect(s.serviceEstimate('b')).toBeCloseTo(Math.exp(0.5 * Math.log(pool) + 0.5 * Math.log(16)), 10);
    s.onComplete('b', {}, { ok: false, serviceTime: 0.001, waitTime: 0 }, 0);
    expect(s.successEstimate('b')).toBeCloseTo(0.5, 12); // prior 1, one failure at alpha ½
    expect(s.serviceEstimate('b')).toBeCloseTo(Math.exp(0.5 * Math.log(pool) + 0.5 * Math.log(16)), 10); // failures do not teach speed
    expect(s.successEstimate('never-seen')).toBe(1);
  });

  it('prefers an idle slow agent over a fast one with a long queue, and the fast one when both are idle', () => {
    const s = new PredictiveStrategy({ alpha: 1 });
    const rng = createRng(1);
    s.onComplete('fast', {}, ok(1), 0);
    s.onComplete('slow', {}, ok(2), 0);
    expect(s.pick([agent('slow'), agent('fast')], {}, rng)!.id).toBe('fast');
    // fast with 3 tasks: completion 1 × 4 = 4 > slow 2 → slow wins on completion and goodput.
    expect(s.pick([agent('slow'), agent('fast', { active: 3 })], {}, rng)!.id).toBe('slow');
  });

  it('avoids a flaky agent when speeds are equal', () => {
    const s = new PredictiveStrategy({ alpha: 0.2 });
    const rng = createRng(1);
    for (let i = 0; i < 30; i++) {
      s.onComplete('flaky', {}, { ok: i % 2 === 0, serviceTime: 1, waitTime: 0 }, i);
      s.onComplete('steady', {}, ok(1), i);
    }
    expect(s.pick([agent('flaky'), agent('steady')], {}, rng)!.id).toBe('steady');
  });
});

/** A child whose picks are recorded, with a fixed response time per outcome reported by the test. */
function fixed(name: string): BalancingStrategy & { picks: number } {
  return {
    name,
    probes: 1,
    picks: 0,
    pick(c: readonly AgentView[]) {
      this.picks++;
      return c[0];
    },
  };
}

describe('adaptive', () => {
  function drive(adaptive: AdaptiveStrategy, n: number, responseOf: (child: string) => number, seed = 1) {
    const rng = createRng(seed);
    const cands = [agent('x')];
    const chosen: string[] = [];
    const children = (adaptive as unknown as { children: (BalancingStrategy & { picks: number })[] })
      .children;
    for (let i = 0; i < n; i++) {
      const before = children.map((c) => c.picks);
      const task: TaskView = { id: `t${i}` };
      adaptive.pick(cands, task, rng);
      const idx = children.findIndex((c, j) => c.picks !== before[j]);
      const name = children[idx]!.name;
      chosen.push(name);
      adaptive.onDispatch('x', task, i);
      adaptive.onComplete('x', task, { ok: true, serviceTime: 1, waitTime: responseOf(name) - 1 }, i);
    }
    return chosen;
  }

  it('warms every child up, then routes almost everything through the best one', () => {
    const good = fixed('good');
    const bad = fixed('bad');
    const s = new AdaptiveStrategy([bad, good], { exploration: 0.05, minSamples: 20 });
    const chosen = drive(s, 2000, (c) => (c === 'good' ? 1.2 : 3));
    expect(tally(chosen.slice(0, 40))).toEqual({ bad: 20, good: 20 });
    const after = tally(chosen.slice(200));
    // ε = 0.05 split over 2 children: about 2.5 % of picks go to the bad one.
    expect(after.bad ?? 0).toBeLessThan(0.05 * 1800);
    expect(after.bad ?? 0).toBeGreaterThan(0);
    expect(s.current).toBe('good');
    const scores = s.scores();
    expect(scores.find((x) => x.name === 'good')!.meanResponseTime).toBeCloseTo(1.2, 12);
    expect(scores.find((x) => x.name === 'bad')!.meanResponseTime).toBeCloseTo(3, 12);
    // Score = 0.5 × (best rt / rt) + 0.2 × (tp / best tp) + 0.3 × (1 − error rate).
    expect(scores.find((x) => x.name === 'bad')!.score).toBeCloseTo(0.5 * (1.2 / 3) + 0.2 + 0.3, 12);
  });

  it('switches when the environment changes (scored on the recent window only)', () => {
    const a = fixed('a');
    const b = fixed('b');
    const s = new AdaptiveStrategy([a, b], { exploration: 0.1, window: 50, minSamples: 10 });
    drive(s, 1500, (c) => (c === 'a' ? 1 : 2));
    expect(s.current).toBe('a');
    drive(s, 3000, (c) => (c === 'a' ? 5 : 2), 2);
    expect(s.current).toBe('b');
  });

  it('is deterministic given the rng', () => {
    const run = () =>
      drive(new AdaptiveStrategy([fixed('p'), fixed('q')], {}), 500, (c) => (c === 'p' ? 1 : 1.1), 9);
    expect(run()).toEqual(run());
  });

  it('counts an error rate: a child whose tasks fail loses even when faster', () => {
    const fast = fixed('fastButFailing');
    const slow = fixed('slowButOk');
    const s = new AdaptiveStrategy([fast, slow], { exploration: 0.1, minSamples: 10 });
    const rng = createRng(3);
    for (let i = 0; i < 2000; i++) {
      const before = fast.picks;
      const task = { id: `t${i}` };
      s.pick([agent('x')], task, rng);
      const wasFast = fast.picks !== before;
      s.onComplete('x', task, { ok: !wasFast, serviceTime: 1, waitTime: wasFast ? 0 : 0.3 }, i);
    }
    expect(s.current).toBe('slowButOk');
  });
});
