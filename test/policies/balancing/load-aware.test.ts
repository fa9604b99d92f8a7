import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsqStrategy } from '../../../src/policies/balancing/jsq.js';
import { LeastConnectionsStrategy } from '../../../src/policies/balancing/least-connections.js';
import { P2cStrategy } from '../../../src/policies/balancing/p2c.js';
import { RandomStrategy } from '../../../src/policies/balancing/random.js';
import { ResourceAwareStrategy, resourceScore } from '../../../src/policies/balancing/resource-aware.js';
import type { AgentView } from '../../../src/policies/balancing/types.js';
import { createRng } from '../../../src/core/random.js';
import { agent, tally } from './helpers.js';

const loads = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 12 });

describe('jsq', () => {
  it('picks an agent with the fewest active tasks and reads all of them', () => {
    fc.assert(
      fc.property(loads, fc.integer(), (actives, seed) => {
        const cands = actives.map((a, i) => agent(`a${i}`, { active: a }));
        const s = new JsqStrategy();
        const got = s.pick(cands, {}, createRng(seed))!;
        expect(got.active).toBe(Math.min(...actives));
        expect(s.probes).toBe(cands.length);
      }),
    );
  });

  it('breaks ties at random rather than always taking the first', () => {
    const s = new JsqStrategy();
    const rng = createRng(7);
    const cands = [agent('a'), agent('b'), agent('c'), agent('busy', { active: 1 })];
    const t = tally(Array.from({ length: 3000 }, () => s.pick(cands, {}, rng)!.id));
    expect(t.busy).toBeUndefined();
    for (const id of ['a', 'b', 'c']) expect(t[id]).toBeGreaterThan(850); // 1000 expected each
  });
});

describe('least-connections', () => {
  it('picks the smallest active / weight', () => {
    fc.assert(
      fc.property(
        loads,
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 12, maxLength: 12 }),
        (actives, ws) => {
          const cands = actives.map((a, i) => agent(`a${i}`, { active: a, weight: ws[i]! }));
          const got = new LeastConnectionsStrategy().pick(cands, {}, createRng(1))!;
          const best = Math.min(...cands.map((c) => c.active / c.weight));
          expect(got.active / got.weight).toBe(best);
        },
      ),
    );
  });

  it('lets a weight-2 agent carry twice the tasks', () => {
    const s = new LeastConnectionsStrategy();
    const big = agent('big', { weight: 2, active: 3 });
    const small = agent('small', { weight: 1, active: 2 });
    expect(s.pick([small, big], {}, createRng(1))!.id).toBe('big'); // 1.5 < 2
  });
});

describe('p2c', () => {
  it('with two candidates always takes the less loaded one (both are sampled)', () => {
    const s = new P2cStrategy();
    const rng = createRng(3);
    for (let k = 0; k < 50; k++) {
      expect(s.pick([agent('busy', { active: 4 }), agent('idle')], {}, rng)!.id).toBe('idle');
      expect(s.probes).toBe(2);
    }
  });

  it('scores weight / (active + 1)^bias (Envoy)', () => {
    const s = new P2cStrategy({ bias: 1 });
    // heavy: 4 / (3 + 1) = 1; light: 1 / (0 + 1) = 1 → tie; make light slightly busier: 1 / 2.
    const heavy = agent('heavy', { weight: 4, active: 3 });
    const light = agent('light', { weight: 1, active: 1 });
    expect(s.pick([light, heavy], {}, createRng(1))!.id).toBe('heavy');
    // bias 0 ignores load entirely: pure weight.
    const w = new P2cStrategy({ bias: 0 });
    expect(
      w.pick([agent('x', { weight: 1 }), agent('y', { weight: 2, active: 50 })], {}, createRng(1))!.id,
    ).toBe('y');
  });

  it('takes the least loaded of d distinct samples: at least d − 1 other agents are as loaded or more', () => {
    fc.assert(
      fc.property(loads, fc.integer({ min: 1, max: 4 }), fc.integer(), (actives, d, seed) => {
        const cands = actives.map((a, i) => agent(`a${i}`, { active: a }));
        const s = new P2cStrategy({ choices: d });
        const got = s.pick(cands, {}, createRng(seed))!;
        const k = Math.min(d, cands.length);
        expect(s.probes).toBe(k);
        const asLoadedOrMore = cands.filter((c) => c !== got && c.active >= got.active).length;
        expect(asLoadedOrMore).toBeGreaterThanOrEqual(k - 1);
        if (k === cands.length) expect(got.active).toBe(Math.min(...actives));
      }),
    );
  });

  it('picks roughly uniformly among identical agents', () => {
    const s = new P2cStrategy();
    const rng = createRng(11);
    const cands = Array.from({ length: 5 }, (_, i) => agent(`a${i}`));
    const t = tally(Array.from({ length: 5000 }, () => s.pick(cands, {}, rng)!.id));
    for (let i = 0; i < 5; i++) expect(t[`a${i}`]).toBeGreaterThan(850);
  });
});

describe('random', () => {
  it('is uniform over the candidates and reads no load', () => {
    const s = new RandomStrategy();
    const rng = createRng(5);
    const cands = Array.from({ length: 4 }, (_, i) => agent(`a${i}`, { active: i * 10 }));
    const t = tally(Array.from({ length: 8000 }, () => s.pick(cands, {}, rng)!.id));
    for (let i = 0; i < 4; i++) expect(Math.abs(t[`a${i}`]! - 2000)).toBeLessThan(200);
    expect(s.probes).toBe(0);
    expect(s.pick([], {}, rng)).toBeUndefined();
  });
});

describe('resource-aware', () => {
  const mk = (id: string, memFree: number, tokFree: number, utilization: number, active = 0): AgentView =>
    agent(id, {
      free: { memoryMb: memFree, tokens: tokFree },
      capacityTotal: { memoryMb: 1000, tokens: 100 },
      utilization,
      active,
    });

  it('scores free fraction × (1 − utilization), over the resources the task asks for', () => {
    const a = mk('a', 500, 100, 0.5);
    expect(resourceScore(a, {})).toBeCloseTo(((0.5 + 1) / 2) * 0.5, 12);
    expect(resourceScore(a, { requirements: { memoryMb: 100 } })).toBeCloseTo(0.5 * 0.5, 12);
    expect(resourceScore(a, { requirements: { tokens: 10 } })).toBeCloseTo(1 * 0.5, 12);
    // No resource information at all: only utilization counts.
    expect(resourceScore(agent('x', { utilization: 0.25 }), {})).toBeCloseTo(0.75, 12);
  });

  it('picks the highest score; on a tie, the agent with fewer active tasks per slot', () => {
    const s = new ResourceAwareStrategy();
    const rng = createRng(1);
    const memoryTask = { requirements: { memoryMb: 100 } };
    const roomy = mk('roomy', 900, 10, 0.1); // memory score 0.9 × 0.9 = 0.81
    const tokenRich = mk('tokenRich', 300, 100, 0.1); // memory score 0.3 × 0.9 = 0.27
    expect(s.pick([tokenRich, roomy], memoryTask, rng)!.id).toBe('roomy');
    expect(s.pick([tokenRich, roomy], { requirements: { tokens: 1 } }, rng)!.id).toBe('tokenRich');
    const busyA = mk('busyA', 0, 0, 1, 3);
    const busyB = mk('busyB', 0, 0, 1, 1);
    expect(s.pick([busyA, busyB], {}, rng)!.id).toBe('busyB');
    expect(s.probes).toBe(2);
  });
});
