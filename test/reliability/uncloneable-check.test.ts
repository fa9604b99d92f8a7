/**
 * findUncloneable (the check submit() runs on every thread-pool input) answers exactly as
 * structuredClone would — its plain-data walk (issue 14: no full clone for JSON-like inputs) only
 * short-cuts the answer — and still names the first property at fault.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findUncloneable } from '../../src/core/errors.js';

const clones = (v: unknown) => {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
};

describe('findUncloneable', () => {
  it('is undefined exactly when structuredClone succeeds (random values, functions and symbols mixed in)', () => {
    const leaf = fc.oneof(
      fc.anything(),
      fc.constant(() => 1),
      fc.constant(Symbol('s')),
      fc.date(),
      fc.constant(new Map([['f', () => 1]])),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(findUncloneable(v, 'input') === undefined).toBe(clones(v));
      }),
      { numRuns: 500 },
    );
  });

  it('the cases a plain-data walk could get wrong fall back to structuredClone', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const extra = Object.assign([1, 2], { f: () => 1 });
    const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const nullProto = Object.assign(Object.create(null) as object, { a: { b: [1, 'x', null] } });
    const wide = { list: Array.from({ length: 20_000 }, (_, i) => ({ i })) };
    for (const [i, v] of [
      cyclic,
      extra,
      holey,
      nullProto,
      wide,
      new Proxy({}, {}),
      { p: new Proxy([], {}) },
      new Date(0),
      new Uint8Array(4),
      { big: 10n, u: undefined, n: Number.NaN },
    ].entries()) {
      expect(findUncloneable(v, 'input') === undefined, `case ${i}`).toBe(clones(v));
    }
  });

  it('names the property at fault', () => {
    expect(findUncloneable({ a: [{ ok: 1 }, { f: function notify() {} }] }, 'submit.input')).toEqual({
      path: 'submit.input.a[1].f',
      value: expect.any(Function),
    });
  });
});
