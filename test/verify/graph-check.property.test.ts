/**
 * Property: on random small state graphs, the checker's deadlock and liveness findings equal an
 * independent computation on the graph itself (forward search from every state, not the checker's
 * reverse search), and every finding's path really leads to its state on a live actor.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { checkMachine } from '../../src/verify/graph-check.js';

const EVENTS = ['A', 'B', 'C'] as const;

interface Graph {
  n: number;
  finals: Set<number>;
  /** edges[from][event] = to (one target per state and event). */
  edges: Map<number, Map<string, number>>;
}

const graphArb = fc
  .record({
    n: fc.integer({ min: 2, max: 7 }),
    rawEdges: fc.array(fc.tuple(fc.nat(6), fc.nat(6), fc.constantFrom(...EVENTS)), { maxLength: 16 }),
    rawFinals: fc.array(fc.nat(6), { maxLength: 2 }),
  })
  .map(({ n, rawEdges, rawFinals }): Graph => {
    const finals = new Set(rawFinals.map((f) => f % n).filter((f) => f !== 0));
    const edges = new Map<number, Map<string, number>>();
    for (const [f, t, e] of rawEdges) {
      const from = f % n;
      if (finals.has(from)) continue; // final states take no transitions
      const m = edges.get(from) ?? new Map<string, number>();
      if (!m.has(e)) m.set(e, t % n);
      edges.set(from, m);
    }
    return { n, finals, edges };
  });

function toMachine(g: Graph) {
  const states: Record<string, object> = {};
  for (let i = 0; i < g.n; i++) {
    if (g.finals.has(i)) states[`s${i}`] = { type: 'final' };
    else {
      const on: Record<string, string> = {};
      for (const [e, t] of g.edges.get(i) ?? []) on[e] = `s${t}`;
      states[`s${i}`] = { on };
    }
  }
  return createMachine({ id: 'g', initial: 's0', states });
}

function forward(g: Graph, from: number): Set<number> {
  const seen = new Set([from]);
  const stack = [from];
  while (stack.length) {
    const x = stack.pop() as number;
    for (const t of g.edges.get(x)?.values() ?? []) {
      if (!seen.has(t)) {
        seen.add(t);
        stack.push(t);
      }
    }
  }
  return seen;
}

describe('checkMachine on random graphs', () => {
  it('matches an independent deadlock/liveness computation; finding paths lead to their states', () => {
    fc.assert(
      fc.property(graphArb, (g) => {
        const machine = toMachine(g);
        const report = checkMachine({ name: 'g', machine, events: [], isHome: (s) => s.value === 's0' });
        const reachable = forward(g, 0);
        const expectedDeadlocked = [...reachable].filter(
          (s) => !g.finals.has(s) && [...(g.edges.get(s)?.values() ?? [])].every((t) => t === s),
        );
        const expectedTrapped = [...reachable].filter((s) => {
          const r = forward(g, s);
          return !r.has(0) && ![...r].some((x) => g.finals.has(x));
        });
        const names = (xs: number[]) => xs.map((x) => `s${x}`).sort();
        expect(report.states).toBe(reachable.size);
        expect(report.deadlocked.map((f) => f.state).sort()).toEqual(names(expectedDeadlocked));
        expect(report.cannotReachIdle.map((f) => f.state).sort()).toEqual(names(expectedTrapped));
        expect(report.replayFailures).toEqual([]);
        expect(report.paths).toBe(reachable.size);
        for (const f of [...report.deadlocked, ...report.cannotReachIdle]) {
          const actor = createActor(machine).start();
          for (const e of f.path) actor.send({ type: e });
          expect(actor.getSnapshot().value).toBe(f.state);
          actor.stop();
        }
      }),
      { numRuns: 200 },
    );
  });
});
