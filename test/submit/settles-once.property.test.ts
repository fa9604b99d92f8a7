/**
 * Property (issue 16): under random retries, rate limits (requests and tokens), delays, agent crashes
 * and cancellations, every submit() settles exactly once, with an expected outcome, and the accounting
 * returns to zero — token budgets reserve nothing, the rate windows are empty a minute later, the
 * resource ledger holds nothing, the dispatcher holds no task.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineAgent, type AgentContext } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

interface Plan {
  delayMs: number;
  priority: 'critical' | 'high' | 'medium' | 'low';
  attempts: number;
  /** Runs that throw before one succeeds. */
  fails: number;
  finalError: boolean;
  tokens: number;
  workMs: number;
  cancelAt: number | undefined;
}

const plan = fc.record({
  delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_000 })),
  priority: fc.constantFrom('critical', 'high', 'medium', 'low'),
  attempts: fc.integer({ min: 1, max: 3 }),
  fails: fc.integer({ min: 0, max: 3 }),
  finalError: fc.boolean(),
  tokens: fc.integer({ min: 0, max: 600 }),
  workMs: fc.integer({ min: 1, max: 500 }),
  cancelAt: fc.option(fc.integer({ min: 0, max: 4_000 }), { nil: undefined }),
}) as fc.Arbitrary<Plan>;

const EXPECTED = new Set([
  'ok',
  'ERR_TASK_ERROR',
  'ERR_TASK_FAILED',
  'ERR_ABORTED',
  'ERR_AGENT_CRASHED',
  'ERR_BUDGET_EXHAUSTED',
]);

describe('submit() accounting', () => {
  it('property: every submit settles exactly once and budgets, rate windows and the ledger return to zero', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(plan, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 6_000 }), { maxLength: 4 }), // crash times
        async (plans, crashes) => {
          const clock = new ManualClock();
          const runs = new Map<number, number>();
          const agent = defineAgent({
            work: async (x: { id: number }, ctx: AgentContext) => {
              const p = plans[x.id]!;
              const n = (runs.get(x.id) ?? 0) + 1;
              runs.set(x.id, n);
              const r = p.tokens > 0 ? await ctx.tokens.reserve(p.tokens) : undefined;
              await sleep(clock, p.workMs);
              r?.settle(Math.floor(p.tokens / 2));
              if (n <= p.fails)
                throw Object.assign(new Error(`fail ${n}`), p.finalError ? { retryable: false } : {});
              return x.id;
            },
          });
          const sys = new AgentPoolSystem({
            clock,
            limits: { memoryMb: 1_024 },
            budgets: { system: 1_000_000, defaultCycle: 2_000 },
            pools: {
              w: {
                agent,
                min: 2,
                max: 2,
                healthCheckIntervalMs: 0,
                rateLimit: { requestsPerMinute: 1_200, tokensPerMinute: 1_500 },
                timings: { backoffBaseMs: 10, backoffMaxMs: 10, stopGraceMs: 10, abortGraceMs: 10 },
              },
            },
          });
          await sys.start();
          const settled = new Map<number, number>();
          const outcomes = plans.map((p, id) => {
            const ac = new AbortController();
            if (p.cancelAt !== undefined) clock.setTimeout(() => ac.abort(), p.cancelAt);
            return sys
              .submit({
                type: 'w',
                task: 'work',
                input: { id },
                priority: p.priority,
                requirements: { memoryMb: 64 },
                cycleId: `c${id}`,
                signal: ac.signal,
                maxAttempts: 2,
                ...(p.delayMs > 0 ? { delayMs: p.delayMs } : {}),
                retry: { attempts: p.attempts, baseMs: 200, jitter: 0.5 },
              })
              .then(
                (v) => {
                  settled.set(id, (settled.get(id) ?? 0) + 1);
                  expect(v).toBe(id);
                  return 'ok';
                },
                (e: AgentPoolError) => {
                  settled.set(id, (settled.get(id) ?? 0) + 1);
                  return e.code;
                },
              );
          });
          for (const at of crashes)
            clock.setTimeout(() => {
              const victim = sys
                .pool('w')
                .agentList()
                .find((a) => a.accepting);
              victim?.actor.send({ type: 'HOST_EXITED', error: 'chaos' });
            }, at);
          for (let t = 0; t < 300_000 && settled.size < plans.length; t += 100) await clock.advanceAsync(100);
          const codes = await Promise.all(outcomes);
          expect(settled.size).toBe(plans.length); // none lost
          for (const n of settled.values()) expect(n).toBe(1); // none answered twice
          for (const c of codes) expect(EXPECTED).toContain(c);
          // A task that was never cancelled and whose handler eventually succeeds within its attempts
          // (and is not marked final) must succeed unless an agent crashed under it.
          plans.forEach((p, id) => {
            if (p.cancelAt === undefined && p.fails === 0 && crashes.length === 0)
              expect(codes[id]).toBe('ok');
          });
          await clock.advanceAsync(61_000); // the rate windows empty
          const st = sys.status().tasks;
          expect(st.queued + st.sleeping + st.running).toBe(0);
          expect(sys.pool('w').queued).toBe(0);
          expect(sys.rateUsage()['pools.w']).toEqual({ requests: 0, tokens: 0, waiting: 0 });
          expect(sys.tokenUsage().system.reserved).toBe(0);
          expect(sys.allocator!.usage().used.memoryMb ?? 0).toBe(0);
          await sys.shutdown({ graceful: false });
        },
      ),
      { numRuns: 30 },
    );
  });
});
