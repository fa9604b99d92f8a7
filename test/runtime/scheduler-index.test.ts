/**
 * The scheduler index (src/runtime/scheduler-index.ts) keeps XState's timers exact: delayed events
 * still fire on the system's clock, cancelling one (a state exit) or stopping an actor cancels exactly
 * its own, and an index entry never outlives its timer.
 */
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { ManualClock } from '../../src/core/clock.js';
import { indexScheduler } from '../../src/runtime/scheduler-index.js';

const ticker = setup({ delays: { d: 1_000 } }).createMachine({
  id: 'ticker',
  context: { ticks: 0 },
  initial: 'waiting',
  states: {
    waiting: {
      after: {
        d: {
          target: 'waiting',
          reenter: true,
          actions: assign({ ticks: ({ context }) => context.ticks + 1 }),
        },
      },
      on: { PAUSE: 'paused' },
    },
    paused: { on: { RESUME: 'waiting' } },
  },
});

describe('indexScheduler', () => {
  it('timers fire, exits cancel them, stopping an actor cancels only its own', () => {
    const clock = new ManualClock();
    const a = createActor(ticker, { clock });
    expect(indexScheduler(a.system)).toBe(true);
    expect(indexScheduler(a.system)).toBe(true); // idempotent
    a.start();
    const b = createActor(ticker, { clock });
    // A second root has its own system: index it too, then run both on one clock.
    indexScheduler(b.system);
    b.start();
    clock.advance(3_000);
    expect([a.getSnapshot().context.ticks, b.getSnapshot().context.ticks]).toEqual([3, 3]);
    a.send({ type: 'PAUSE' }); // exit cancels a's pending timer
    clock.advance(2_000);
    expect([a.getSnapshot().context.ticks, b.getSnapshot().context.ticks]).toEqual([3, 5]);
    a.send({ type: 'RESUME' });
    b.stop(); // cancels b's timer only
    clock.advance(1_000);
    expect([a.getSnapshot().context.ticks, b.getSnapshot().context.ticks]).toEqual([4, 5]);
    a.stop();
    expect(clock.pending).toBe(0);
  });

  it('a scheduler of another shape is left alone', () => {
    expect(indexScheduler({ scheduler: {} } as never)).toBe(false);
  });
});
