/**
 * Shared by the dispatch tests: a two-pool system factory, and the delivery property of both modes: under random agent crashes interleaved with the
 * work by `fc.scheduler()`, every submitted task settles exactly once (a result or ERR_TASK_FAILED),
 * and nothing is left queued or running.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

/** Builds a system with pools `a` and `b` of the given sizes running `handlers`. */
export type SystemFactory = (
  clock: ManualClock,
  handlers: Parameters<typeof defineAgent>[0],
  sizes: { a: number; b: number },
) => AgentPoolSystem;

/**
 * Pools `a` and `b` of inline agents running `handlers`, fixed at `sizes`, with fast restarts; `extra`
 * is merged into both pools' options (e.g. `{ dispatch: 'work-stealing' }`).
 */
export function twoPools(
  clock: ManualClock,
  handlers: Parameters<typeof defineAgent>[0],
  sizes: { a: number; b: number } = { a: 1, b: 1 },
  extra: Record<string, unknown> = {},
): AgentPoolSystem {
  const agent = defineAgent(handlers);
  const pool = (n: number) => ({
    agent,
    min: n,
    max: n,
    healthCheckIntervalMs: 0,
    timings: { backoffBaseMs: 1, backoffMaxMs: 1, stopGraceMs: 10, abortGraceMs: 10 },
    ...extra,
  });
  return new AgentPoolSystem({ clock, pools: { a: pool(sizes.a), b: pool(sizes.b) } });
}

/** Run the property (40 runs) against systems made by `system`. */
export async function noTaskLostUnderCrashes(
  system: SystemFactory,
  sizes: { a: number; b: number },
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.record({ type: fc.constantFrom('a', 'b'), crash: fc.boolean() }), {
        minLength: 1,
        maxLength: 25,
      }),
      async (s, plan) => {
        const clock = new ManualClock();
        const sys = system(
          clock,
          {
            work: async (x: { id: number }) => {
              await s.schedule(Promise.resolve(), `work ${x.id}`);
              return x.id;
            },
          },
          sizes,
        );
        await sys.start();
        const settled = new Map<number, number>();
        const outcomes = plan.map((p, id) =>
          sys.submit({ type: p.type, task: 'work', input: { id }, maxAttempts: 4 }).then(
            (v) => {
              settled.set(id, (settled.get(id) ?? 0) + 1);
              expect(v).toBe(id);
              return 'ok';
            },
            (e: AgentPoolError) => {
              settled.set(id, (settled.get(id) ?? 0) + 1);
              return e.code;
            },
          ),
        );
        // crashes interleaved with the work, at points the scheduler picks
        plan.forEach((p, i) => {
          if (!p.crash) return;
          void s.scheduleFunction(async () => {
            const pool = sys.pool(p.type);
            const victims = pool.agentList().filter((a) => a.accepting);
            victims[i % Math.max(1, victims.length)]?.actor.send({ type: 'HOST_EXITED', error: 'chaos' });
          })();
        });
        // drive: scheduled work and virtual time (restart backoff) until everything settled
        for (let round = 0; round < 500 && settled.size < plan.length; round++) {
          if (s.count() > 0) await s.waitOne();
          else await clock.advanceAsync(5);
        }
        const codes = await Promise.all(outcomes);
        expect(settled.size).toBe(plan.length); // none lost
        for (const n of settled.values()) expect(n).toBe(1); // none answered twice
        for (const c of codes) expect(['ok', 'ERR_TASK_FAILED']).toContain(c);
        const st = sys.status().tasks;
        expect(st.completed).toBe(codes.filter((c) => c === 'ok').length);
        expect(st.queued + st.running).toBe(0);
        await sys.shutdown({ graceful: false });
      },
    ),
    { numRuns: 40 },
  );
}
