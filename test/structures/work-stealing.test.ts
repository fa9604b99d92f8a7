import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../src/core/errors.js';
import { Deque, WorkStealingScheduler } from '../../src/structures/work-stealing.js';

describe('Deque', () => {
  it('behaves like an array: push at the end, pop from either end (model test)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('push', 'popBottom', 'popTop'), { maxLength: 300, size: 'max' }),
        (ops) => {
          const d = new Deque<number>();
          const model: number[] = [];
          let n = 0;
          for (const op of ops) {
            if (op === 'push') {
              d.pushBottom(n);
              model.push(n++);
            } else if (op === 'popBottom') expect(d.popBottom()).toBe(model.pop());
            else expect(d.popTop()).toBe(model.shift());
            expect(d.size).toBe(model.length);
          }
          expect(d.toArray()).toEqual(model);
        },
      ),
    );
  });

  it('stealHalf moves the oldest ceil(n/2) items in order', () => {
    for (let n = 0; n < 20; n++) {
      const victim = new Deque<number>();
      for (let i = 0; i < n; i++) victim.pushBottom(i);
      const thief = new Deque<number>();
      thief.pushBottom(-1);
      const moved = thief.stealHalf(victim);
      const k = Math.ceil(n / 2);
      expect(moved).toBe(k);
      expect(thief.toArray()).toEqual([-1, ...Array.from({ length: k }, (_, i) => i)]);
      expect(victim.toArray()).toEqual(Array.from({ length: n - k }, (_, i) => i + k));
    }
  });

  it('removeWhere removes one item anywhere and keeps the order of the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), fc.nat(), (n, pops, pick) => {
        const d = new Deque<number>();
        const model: number[] = [];
        for (let i = 0; i < n; i++) {
          d.pushBottom(i);
          model.push(i);
          // Interleave pops from the top so the ring buffer wraps.
          if (i % 3 === 2 && pops % 2 === 0) expect(d.popTop()).toBe(model.shift());
        }
        if (model.length === 0) return;
        const victim = model[pick % model.length]!;
        expect(d.removeWhere((x) => x === victim)).toBe(victim);
        expect(d.toArray()).toEqual(model.filter((x) => x !== victim));
        expect(d.removeWhere((x) => x === victim)).toBeUndefined();
      }),
    );
  });
});

type Op =
  | { kind: 'add'; agent: number }
  | { kind: 'removeAgent'; agent: number }
  | { kind: 'inject' }
  | { kind: 'local'; agent: number }
  | { kind: 'next'; agent: number }
  | { kind: 'cancel'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), agent: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('removeAgent' as const), agent: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('inject' as const) }),
  fc.record({ kind: fc.constant('local' as const), agent: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('next' as const), agent: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
);

describe('WorkStealingScheduler', () => {
  it('never loses or duplicates a task across random push/pop/steal/agent-loss sequences', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (ops, interval, threshold, capacity) => {
          const ws = new WorkStealingScheduler<number>({
            globalCheckInterval: interval,
            stealThreshold: threshold,
            localCapacity: capacity,
          });
          const created: number[] = [];
          const taken: number[] = [];
          const queued = new Set<number>();
          let n = 0;
          for (const op of ops) {
            const id = `a${'agent' in op ? op.agent : 0}`;
            const known = ws.agents().includes(id);
            switch (op.kind) {
              case 'add':
                ws.addAgent(id);
                break;
              case 'removeAgent':
                ws.removeAgent(id);
                break;
              case 'inject':
                ws.inject(n);
                created.push(n);
                queued.add(n++);
                break;
              case 'local':
                if (!known) {
                  expect(() => ws.pushLocal(id, n)).toThrow(InvalidArgumentError);
                  break;
                }
                ws.pushLocal(id, n);
                created.push(n);
                queued.add(n++);
                break;
              case 'next': {
                if (!known) break;
                const got = ws.next(id);
                if (got) {
                  taken.push(got.task);
                  queued.delete(got.task);
                } else {
                  // Nothing for this agent: own queue and global empty, no other queue worth stealing.
                  const snap = ws.snapshot();
                  expect(snap.global).toEqual([]);
                  for (const [other, q] of Object.entries(snap.locals)) {
                    expect(q.length).toBeLessThan(other === id ? 1 : threshold);
                  }
                }
                break;
              }
              case 'cancel': {
                const list = [...queued];
                if (list.length === 0) break;
                const victim = list[op.pick % list.length]!;
                expect(ws.remove((t) => t === victim)).toBe(victim);
                queued.delete(victim);
                taken.push(victim);
                break;
              }
            }
            expect(ws.size).toBe(queued.size);
          }
          // Drain: every agent pops until no agent gets anything; everything comes out exactly once.
          ws.addAgent('drain');
          for (let progress = true; progress;) {
            progress = false;
            for (const id of ws.agents()) {
              for (let got = ws.next(id); got; got = ws.next(id)) {
                taken.push(got.task);
                progress = true;
              }
            }
          }
          expect(ws.size).toBe(0);
          expect(new Set(taken).size).toBe(taken.length);
          expect([...taken].sort((a, b) => a - b)).toEqual(created);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('owner takes newest, a thief steals half of the busiest queue oldest-first', () => {
    const ws = new WorkStealingScheduler<string>({ stealThreshold: 2 });
    ws.addAgent('a');
    ws.addAgent('b');
    ws.addAgent('c');
    for (const t of ['a1', 'a2', 'a3', 'a4', 'a5']) ws.pushLocal('a', t);
    ws.pushLocal('b', 'b1');
    ws.pushLocal('b', 'b2');
    expect(ws.next('a')).toEqual({ task: 'a5', source: 'local' });
    // a holds 4 (busiest), b holds 2: c steals ceil(4/2) = 2 oldest from a and runs the oldest.
    expect(ws.next('c')).toEqual({ task: 'a1', source: 'stolen', from: 'a', stolen: 2 });
    expect(ws.snapshot().locals).toEqual({ a: ['a3', 'a4'], b: ['b1', 'b2'], c: ['a2'] });
  });

  it('does not steal from queues below the threshold', () => {
    const ws = new WorkStealingScheduler<string>({ stealThreshold: 3 });
    ws.addAgent('a');
    ws.addAgent('b');
    ws.pushLocal('a', 'x');
    ws.pushLocal('a', 'y');
    expect(ws.next('b')).toBeUndefined();
    ws.pushLocal('a', 'z');
    expect(ws.next('b')?.source).toBe('stolen');
  });

  it('never starves the global queue: a busy agent takes a global task within the check interval', () => {
    for (const interval of [1, 7, 61]) {
      const ws = new WorkStealingScheduler<string>({ globalCheckInterval: interval, localCapacity: 10_000 });
      ws.addAgent('a');
      for (let i = 0; i < 500; i++) ws.pushLocal('a', `local${i}`);
      ws.inject('global');
      let pops = 0;
      for (;;) {
        const got = ws.next('a');
        pops++;
        if (got?.source === 'global') break;
      }
      expect(pops).toBeLessThanOrEqual(interval);
    }
  });

  it('a full local queue overflows its older half to the global queue', () => {
    const ws = new WorkStealingScheduler<number>({ localCapacity: 4 });
    ws.addAgent('a');
    for (let i = 0; i < 5; i++) ws.pushLocal('a', i);
    expect(ws.snapshot()).toEqual({ global: [0, 1], locals: { a: [2, 3, 4] } });
  });

  it('re-queues a removed agent’s tasks ahead of later global work', () => {
    const ws = new WorkStealingScheduler<string>();
    ws.addAgent('a');
    ws.addAgent('b');
    ws.inject('g1');
    ws.pushLocal('a', 'x');
    ws.pushLocal('a', 'y');
    expect(ws.removeAgent('a')).toEqual(['x', 'y']);
    expect(ws.snapshot().global).toEqual(['x', 'y', 'g1']);
  });

  it('rejects unknown and out-of-range options with ConfigError', () => {
    expect(() => new WorkStealingScheduler({ globalCheckInterval: 0 })).toThrow(ConfigError);
    expect(() => new WorkStealingScheduler({ stealThreshold: 1.5 })).toThrow(/workStealing\.stealThreshold/);
    expect(() => new WorkStealingScheduler({ steal: 2 } as never)).toThrow(/workStealing\.steal/);
  });
});
