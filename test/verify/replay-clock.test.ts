import { describe, expect, it } from 'vitest';
import { ReplayClock } from '../../src/verify/replay-clock.js';

/** A fake scheduler view: the clock reads the most recently scheduled event from it. */
function withScheduler(clock: ReplayClock) {
  const scheduled: Record<string, { event: { type: string } }> = {};
  clock.system = { getSnapshot: () => ({ _scheduledEvents: { ...scheduled } }) };
  return (type: string, ms: number, fn: () => void) => {
    scheduled[type] = { event: { type } };
    return clock.setTimeout(fn, ms);
  };
}

describe('ReplayClock', () => {
  it('fires the timer for the requested event at its due time, leaving earlier timers pending', () => {
    const clock = new ReplayClock();
    const schedule = withScheduler(clock);
    const fired: string[] = [];
    schedule('fast', 100, () => fired.push('fast'));
    schedule('slow', 5000, () => fired.push('slow'));
    expect(clock.fire('slow')).toBe(true);
    expect(fired).toEqual(['slow']);
    expect(clock.now()).toBe(5000);
    expect(clock.pendingTypes()).toEqual(['fast']);
    // Time never moves backwards when an overdue timer fires later.
    expect(clock.fire('fast')).toBe(true);
    expect(clock.now()).toBe(5000);
    expect(fired).toEqual(['slow', 'fast']);
  });

  it('returns false for an event with no pending timer, and after clearTimeout', () => {
    const clock = new ReplayClock();
    const schedule = withScheduler(clock);
    const h = schedule('t', 10, () => {});
    expect(clock.fire('other')).toBe(false);
    clock.clearTimeout(h);
    expect(clock.fire('t')).toBe(false);
    expect(clock.now()).toBe(0);
  });

  it('picks the earliest of several timers for the same event type', () => {
    const clock = new ReplayClock();
    const schedule = withScheduler(clock);
    const order: number[] = [];
    schedule('t', 300, () => order.push(300));
    schedule('t', 200, () => order.push(200));
    clock.fire('t');
    expect(order).toEqual([200]);
    expect(clock.now()).toBe(200);
  });
});
