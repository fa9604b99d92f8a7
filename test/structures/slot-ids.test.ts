import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotIds } from '../../src/structures/slot-ids.js';

describe('SlotIds', () => {
  it('slots in use are distinct, and every slot handed out is ≤ the peak held at once', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (takes) => {
        const ids = new SlotIds();
        const held: number[] = [];
        let peak = 0;
        for (const take of takes) {
          if (take || held.length === 0) held.push(ids.take());
          else ids.give(held.splice(held.length >> 1, 1)[0]!);
          peak = Math.max(peak, held.length);
          expect(new Set(held).size).toBe(held.length);
          expect(ids.inUse).toBe(held.length);
        }
        expect(ids.highest).toBeLessThanOrEqual(peak);
        for (const s of held) expect(s).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
