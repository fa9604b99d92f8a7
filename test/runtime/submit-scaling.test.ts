/**
 * submit() work is demand the scaler sees: its arrivals count in the pool's arrival rate (Little's
 * law), its queued tasks count as waiters (no scale-down while they wait) with their age as a wait, and
 * the waits recorded in metrics run from submission to start — on a ManualClock, both dispatch modes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { Backlog } from '../../src/runtime/backlog.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { testTimings } from './helpers.js';

function system(
  clock: ManualClock,
  dispatch: 'central' | 'work-stealing',
  extra: Record<string, unknown> = {},
) {
  return new AgentPoolSystem({
    clock,
    pools: {
      work: {
        agent: defineAgent({ hold: (ms: number) => sleep(clock, ms) }),
        min: 2,
        max: 2,
        timings: testTimings,
        dispatch,
        ...extra,
      },
    },
  });
}

describe.each(['central', 'work-stealing'] as const)(
  'submit() demand seen by the scaler (%s)',
  (dispatch) => {
    it('queued tasks are waiters, their age is the wait, their arrivals are the rate', async () => {
      const clock = new ManualClock();
      const sys = system(clock, dispatch);
      await sys.start();
      const pool = sys.pool('work');
      pool.observe(); // reset the observation window
      const ps = Array.from({ length: 6 }, () => sys.submit({ type: 'work', task: 'hold', input: 1_000 }));
      await clock.advanceAsync(400);
      const obs = pool.observe();
      expect(obs.busy).toBe(2);
      expect(obs.waiters).toBe(4); // 6 submitted, 2 running
      expect(obs.waitMs).toBeGreaterThanOrEqual(400); // the oldest queued task's age
      expect(obs.arrivalRatePerS).toBeGreaterThan(0);
      expect(sys.metrics()[0]?.queueDepth).toBe(4);
      await clock.advanceAsync(3_000);
      await Promise.all(ps);
      expect(pool.observe().waiters).toBe(0);
      // Waits run from submission: the last two started after 2 × 1 s.
      const m = sys.metrics()[0]!;
      expect(m.wait.count).toBe(6);
      expect(m.wait.sum).toBeCloseTo(0 + 0 + 1 + 1 + 2 + 2, 3);
      await sys.shutdown({ graceful: false });
    });

    it("an autoscaled pool fed only through submit() gets Little's-law recommendations in its first minute", async () => {
      const clock = new ManualClock();
      const sys = system(clock, dispatch, {
        min: 1,
        max: 8,
        autoscale: {
          intervalMs: 1_000,
          maxAcceptableWaitMs: 100,
          shortWaitMs: 50,
          stabilisationWindowMs: 2_000,
          // Little's law alone: this test is about the rate seen, not the √R staffing margin
          staffingBeta: 0,
        },
      });
      await sys.start();
      const pool = sys.pool('work');
      const ps: Promise<unknown>[] = [];
      // 4 tasks/s of 1 s each for 20 s: λ·S / 0.75 = 5.33 → 6 agents (a full-window rate would say 2).
      for (let t = 0; t < 40; t++) {
        for (let k = 0; k < 2; k++) ps.push(sys.submit({ type: 'work', task: 'hold', input: 1_000 }));
        await clock.advanceAsync(500);
      }
      expect(pool.scalerHistory().at(-1)?.recommendation).toBe(6);
      expect(pool.observe().arrivalRatePerS).toBeCloseTo(4, 5);
      await clock.advanceAsync(5_000);
      await Promise.all(ps);
      await sys.shutdown({ graceful: false });
    });
  },
);

describe('Backlog', () => {
  it('property: read() gives the true oldest queued time and memory stays O(queued)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constant('add' as const), fc.nat({ max: 50 }), fc.constant('requeue' as const)),
          {
            maxLength: 400,
          },
        ),
        (ops) => {
          type J = { id: number; queuedAt: number };
          const queued = new Set<J>();
          const b = new Backlog<J>(
            (j) => queued.has(j),
            () => queued.size,
          );
          let now = 0;
          let id = 0;
          for (const op of ops) {
            now++;
            if (op === 'add') {
              const j = { id: id++, queuedAt: now };
              queued.add(j);
              b.add(j);
            } else if (op === 'requeue') {
              const j = [...queued][0];
              if (j) {
                j.queuedAt = now;
                b.add(j);
              }
            } else {
              const j = [...queued][op % Math.max(1, queued.size)];
              if (j) queued.delete(j);
            }
            const expected = queued.size === 0 ? undefined : Math.min(...[...queued].map((j) => j.queuedAt));
            expect(b.read()).toEqual({ count: queued.size, oldestAt: expected });
            expect((b as unknown as { entries: { size: number } }).entries.size).toBeLessThanOrEqual(
              Math.max(65, 2 * queued.size + 1),
            );
          }
        },
      ),
    );
  });
});
