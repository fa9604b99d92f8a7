import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoSet } from '../../src/structures/fifo-set.js';

type Op = { op: 'add' | 'delete' | 'takeFirst'; v: number } | { op: 'clear' };

describe('FifoSet', () => {
  it('behaves like an insertion-ordered Set under any sequence of adds, deletes and takes', () => {
    const ops = fc.array(
      fc.oneof(
        {
          weight: 10,
          arbitrary: fc.record({ op: fc.constant('add' as const), v: fc.integer({ min: 0, max: 20 }) }),
        },
        {
          weight: 6,
          arbitrary: fc.record({ op: fc.constant('delete' as const), v: fc.integer({ min: 0, max: 20 }) }),
        },
        { weight: 4, arbitrary: fc.record({ op: fc.constant('takeFirst' as const), v: fc.constant(0) }) },
        { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
      ),
      { maxLength: 200 },
    );
    fc.assert(
      fc.property(ops, (list: Op[]) => {
        const s = new FifoSet<number>();
        const model = new Set<number>(); // JS Sets iterate in insertion order: the reference
        for (const o of list) {
          if (o.op === 'add') {
            s.add(o.v);
            model.add(o.v);
          } else if (o.op === 'delete') {
            expect(s.delete(o.v)).toBe(model.delete(o.v));
          } else if (o.op === 'takeFirst') {
            const first = s.first();
            expect(first).toBe(model.values().next().value);
            if (first !== undefined) {
              s.delete(first);
              model.delete(first);
            }
          } else {
            s.clear();
            model.clear();
          }
          expect(s.size).toBe(model.size);
          expect([...s]).toEqual([...model]);
          for (let v = 0; v <= 20; v++) expect(s.has(v)).toBe(model.has(v));
        }
      }),
    );
  });

  it('re-adding a present value keeps its place; deleting the entry a loop is at is safe', () => {
    const s = new FifoSet<string>();
    s.add('a').add('b').add('c').add('a');
    expect([...s]).toEqual(['a', 'b', 'c']);
    const seen: string[] = [];
    for (const v of s) {
      seen.push(v);
      s.delete(v);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(s.size).toBe(0);
    expect(s.first()).toBeUndefined();
  });

  it('keeps FIFO order through heavy front-to-back churn (the free index of 10,000 agents)', () => {
    // The speed is measured in bench/acquire.ts; this pins the order after 100,000 take-and-re-add rounds.
    const s = new FifoSet<number>();
    for (let i = 0; i < 10_000; i++) s.add(i);
    for (let r = 0; r < 100_000; r++) {
      const v = s.first()!;
      s.delete(v);
      s.add(v);
    }
    expect(s.first()).toBe(100_000 % 10_000);
    expect(s.size).toBe(10_000);
  });
});
