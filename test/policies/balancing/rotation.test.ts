import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoundRobinStrategy } from '../../../src/policies/balancing/round-robin.js';
import { SmoothWeightedStrategy } from '../../../src/policies/balancing/smooth-weighted.js';
import { createRng } from '../../../src/core/random.js';
import { agent, tally } from './helpers.js';

const rng = createRng(1);

describe('round-robin', () => {
  it('visits every candidate exactly once per n picks, whatever order the candidates arrive in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        (n, shuffles) => {
          const agents = Array.from({ length: n }, (_, i) => agent(`a${i}`));
          const rr = new RoundRobinStrategy();
          const picked: string[] = [];
          for (const s of shuffles) {
            // A different candidate order on every pick: a rotation of the array by s.
            const order = agents.map((_, i) => agents[(i + s) % n]!);
            picked.push(rr.pick(order)!.id);
          }
          for (let start = 0; start + n <= picked.length; start += n) {
            expect(new Set(picked.slice(start, start + n)).size).toBe(n);
          }
          expect(rr.probes).toBe(0);
        },
      ),
    );
  });

  it('stays in turn when agents join and leave: a leaving agent is skipped, a joining one gets its turn', () => {
    const rr = new RoundRobinStrategy();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => agent(id));
    const pick = (cands: (typeof a)[]) => rr.pick(cands as never)!.id;
    expect([pick([a!, b!, c!]), pick([a!, b!, c!])]).toEqual(['a', 'b']);
    // b and c not eligible now: a plain i % n counter would also have lost its place here.
    expect(pick([a!])).toBe('a');
    // c is next after a in stable order; d (new) comes after everyone seen before it.
    expect([pick([a!, b!, c!, d!]), pick([a!, b!, c!, d!]), pick([d!, c!, b!, a!])]).toEqual(['b', 'c', 'd']);
    expect(pick([c!, a!])).toBe('a');
    expect(rr.pick([])).toBeUndefined();
  });
});

describe('smooth-weighted (nginx)', () => {
  it('weights 2:1 give A, B, A', () => {
    const s = new SmoothWeightedStrategy();
    const cands = [agent('A', { weight: 2 }), agent('B', { weight: 1 })];
    expect([1, 2, 3, 4, 5, 6].map(() => s.pick(cands)!.id)).toEqual(['A', 'B', 'A', 'A', 'B', 'A']);
  });

  it('weights 5:1:1 give the nginx sequence a a b a c a a', () => {
    const s = new SmoothWeightedStrategy();
    const cands = [agent('a', { weight: 5 }), agent('b', { weight: 1 }), agent('c', { weight: 1 })];
    expect(Array.from({ length: 7 }, () => s.pick(cands)!.id).join(' ')).toBe('a a b a c a a');
  });

  it('gives each agent exactly its weight per full cycle, and stays within 1.5 picks of its share at every step', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 1, max: 4 }),
        (weights, cycles) => {
          const total = weights.reduce((x, y) => x + y, 0);
          const cands = weights.map((w, i) => agent(`a${i}`, { weight: w }));
          const s = new SmoothWeightedStrategy();
          const counts = weights.map(() => 0);
          for (let c = 0; c < cycles; c++) {
            const cycle: string[] = [];
            for (let k = 1; k <= total; k++) {
              const id = s.pick(cands)!.id;
              cycle.push(id);
              const i = Number(id.slice(1));
              counts[i] = counts[i]! + 1;
              const picks = c * total + k;
              weights.forEach((w, j) => {
                // Not 1: smooth weighted round robin can run slightly past one pick between cycle ends
                // (fast-check found weights 1,1,1,1,9,1,9 at 1.043; 20,000 random weight sets peaked at 1.034).
                expect(Math.abs(counts[j]! - (picks * w) / total)).toBeLessThanOrEqual(1.5);
              });
            }
            const t = tally(cycle);
            for (const [i, w] of weights.entries()) expect(t[`a${i}`] ?? 0).toBe(w);
          }
        },
      ),
    );
  });

  it('does not depend on candidate order, and never picks a zero-weight agent while others exist', () => {
    const s1 = new SmoothWeightedStrategy();
    const s2 = new SmoothWeightedStrategy();
    const fwd = [agent('x', { weight: 3 }), agent('y', { weight: 2 }), agent('z', { weight: 0 })];
    const rev = [...fwd].reverse();
    // Same first-seen order for both instances, then different candidate orders.
    s2.pick(fwd);
    s1.pick(fwd);
    for (let k = 0; k < 20; k++) {
      const a = s1.pick(fwd)!.id;
      expect(s2.pick(rev)!.id).toBe(a);
      expect(a).not.toBe('z');
    }
    expect(s1.pick([], {}, rng)).toBeUndefined();
  });
});
