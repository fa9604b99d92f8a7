/**
 * "Token reservations never leak": a task that reserved tokens and then ended without settling them —
 * it threw, timed out, was aborted, or its worker died — gives them back when it ends, at every level
 * (cycle, pool, system), so the cycle's budget is whole again for the next task. Inline agents run on
 * a ManualClock; thread agents (test/fixtures/reliability-tokens.agent.ts) too, so a timeout fires
 * only once the reservation was seen — their real work is only awaited with liveness bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/index.js';
import { type AgentPoolSystem, createAgentPoolSystem } from '../../src/index.js';
import { ManualClock } from '../../src/core/clock.js';
import tokensAgent from '../fixtures/reliability-tokens.agent.js';
import { fastTimings, fixture, until, useThreadSystems } from '../helpers/agents.js';

const CYCLE_BUDGET = 10_000;
const POOL = 'llm';

/** Timings for inline agents on a ManualClock (health checks off: an idle agent owns no timer). */
const inlineTimings = { ...fastTimings, startTimeoutMs: 1_000, abortGraceMs: 100, stopGraceMs: 200 };

const systems = useThreadSystems();

type HostKind = 'inline' | 'thread';

async function startSystem(host: HostKind): Promise<{ sys: AgentPoolSystem; clock: ManualClock }> {
  const clock = new ManualClock();
  const sys = createAgentPoolSystem({
    clock,
    pools: {
      [POOL]: {
        ...(host === 'thread'
          ? { agent: fixture('reliability-tokens'), host: 'thread' as const }
          : { agent: tokensAgent, host: 'inline' as const }),
        min: 1,
        max: 1,
        concurrency: 2,
        maxFailures: 100,
        healthCheckIntervalMs: 0,
        timings: host === 'thread' ? fastTimings : inlineTimings,
      },
    },
    budgets: { defaultCycle: CYCLE_BUDGET },
    metricsIntervalMs: 0,
  });
  systems.push(sys);
  await sys.start();
  return { sys, clock };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  throw new Error('expected a rejection, got a value');
}

/** Wait until `pred` holds: virtual time (inline; a few promise turns) or real time (threads, bounded). */
async function eventually(host: HostKind, clock: ManualClock, pred: () => boolean, what: string) {
  if (host === 'thread') return until(pred, 10_000, what);
  for (let i = 0; i < 10 && !pred(); i++) await clock.advanceAsync(0);
  expect(pred(), what).toBe(true);
}

function reserved(sys: AgentPoolSystem, cycle: string): { system: number; pool: number; cycle: number } {
  const u = sys.tokenUsage();
  return {
    system: u.system.reserved,
    pool: u.pools[POOL]?.reserved ?? Number.NaN,
    cycle: u.cycles[cycle]?.reserved ?? Number.NaN,
  };
}

const NONE = { system: 0, pool: 0, cycle: 0 };
const HELD = { system: 8_000, pool: 8_000, cycle: 8_000 };

/** After the failed task: nothing reserved anywhere, and a healthy 8 000-token task fits the cycle. */
async function expectBudgetWhole(sys: AgentPoolSystem, cycle: string): Promise<void> {
  expect(reserved(sys, cycle)).toEqual(NONE);
  expect(sys.tokenUsage().cycles[cycle]).toMatchObject({ used: 0, limit: CYCLE_BUDGET });
  const lease = await sys.acquire(POOL, { cycleId: cycle, timeoutMs: 10_000 });
  try {
    await expect(lease.run('healthy', { n: 8_000, actual: 7_500 })).resolves.toBe(7_500);
  } finally {
    await lease.release();
  }
  expect(reserved(sys, cycle)).toEqual(NONE);
  expect(sys.tokenUsage().cycles[cycle]).toMatchObject({ used: 7_500, reserved: 0 });
  expect(sys.tokenUsage().system).toMatchObject({ used: 7_500, reserved: 0 });
}

for (const host of ['inline', 'thread'] as const) {
  describe(`token reservations never leak (${host} host)`, () => {
    it('reserve 8 000 then throw: released; the next 8 000 fits the 10 000 cycle', async () => {
      const { sys } = await startSystem(host);
      const lease = await sys.acquire(POOL, { cycleId: 'throws' });
      expect(await codeOf(lease.run('reserveThenThrow', { n: 8_000 }))).toBe('ERR_TASK_ERROR');
      await lease.release();
      await expectBudgetWhole(sys, 'throws');
      await sys.shutdown({ graceful: false });
    });

    it('reserve 8 000 then time out (lease.run timeoutMs): released once the task let go', async () => {
      const { sys, clock } = await startSystem(host);
      const lease = await sys.acquire(POOL, { cycleId: 'times-out' });
      const code = codeOf(lease.run('reserveThenWait', { n: 8_000 }, { timeoutMs: 1_000 }));
      await eventually(host, clock, () => sys.tokenUsage().system.reserved === 8_000, 'reservation held');
      expect(reserved(sys, 'times-out')).toEqual(HELD);
      await clock.advanceAsync(1_000);
      expect(await code).toBe('ERR_TASK_TIMEOUT');
      await eventually(host, clock, () => sys.tokenUsage().system.reserved === 0, 'reservation released');
      await lease.release();
      await expectBudgetWhole(sys, 'times-out');
      await sys.shutdown({ graceful: false });
    });

    it('reserve 8 000 then get aborted by the signal: released once the task let go', async () => {
      const { sys, clock } = await startSystem(host);
      const lease = await sys.acquire(POOL, { cycleId: 'aborted' });
      const ctrl = new AbortController();
      const code = codeOf(lease.run('reserveThenWait', { n: 8_000 }, { signal: ctrl.signal }));
      await eventually(host, clock, () => sys.tokenUsage().system.reserved === 8_000, 'reservation held');
      ctrl.abort(new Error('caller gave up'));
      expect(await code).toBe('ERR_ABORTED');
      await eventually(host, clock, () => sys.tokenUsage().system.reserved === 0, 'reservation released');
      await lease.release();
      await expectBudgetWhole(sys, 'aborted');
      await sys.shutdown({ graceful: false });
    });

    if (host === 'thread') {
      it('reserve 8 000 then the worker exits: released; the restarted agent gets the whole cycle', async () => {
        const { sys, clock } = await startSystem(host);
        const lease = await sys.acquire(POOL, { cycleId: 'crashes' });
        expect(await codeOf(lease.run('reserveThenExit', { n: 8_000 }))).toBe('ERR_AGENT_CRASHED');
        await until(() => sys.tokenUsage().system.reserved === 0, 10_000, 'reservation released');
        // The agent restarts after its backoff (on the ManualClock), then boots a new worker.
        await clock.advanceAsync(fastTimings.backoffMaxMs);
        await expectBudgetWhole(sys, 'crashes');
        await sys.shutdown({ graceful: false });
        expect(sys.status().threads).toBe(0);
      });
    }
  });
}

describe('token reservations: a settle releases its own reservation', () => {
  // A task holding two reservations settles the second (small) one; the first (big) one is still held
  // and must still count, else the cycle admits more than its budget. (Known bug, see the report:
  // the system's settle hook releases the task's OLDEST reservation, whichever one was settled.)
  it('reserve 8 000 and 1 000, settle the 1 000: the 8 000 stays reserved', async () => {
    const clock = new ManualClock();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sys = createAgentPoolSystem({
      clock,
      pools: {
        [POOL]: {
          agent: defineAgent({
            async two(_input: unknown, ctx) {
              const big = await ctx.tokens.reserve(8_000);
              const small = await ctx.tokens.reserve(1_000);
              small.settle(1_000);
              await gate;
              big.settle(8_000);
            },
            healthy: tokensAgent.handlers.healthy,
          }),
          min: 1,
          max: 1,
          concurrency: 2,
          healthCheckIntervalMs: 0,
          timings: inlineTimings,
        },
      },
      budgets: { defaultCycle: CYCLE_BUDGET },
      metricsIntervalMs: 0,
    });
    systems.push(sys);
    try {
      await sys.start();
      const a = await sys.acquire(POOL, { cycleId: 'two' });
      const run = a.run('two');
      await clock.advanceAsync(0);
      const during = sys.tokenUsage().cycles.two;
      const b = await sys.acquire(POOL, { cycleId: 'two' });
      // 1 000 used + 8 000 reserved: only 1 000 left, so 8 000 more must be refused.
      const second = await codeOf(b.run('healthy', { n: 8_000, actual: 8_000 })).catch(() => 'resolved');
      release();
      await run;
      expect({ during, second }).toEqual({
        during: expect.objectContaining({ used: 1_000, reserved: 8_000 }),
        second: 'ERR_BUDGET_EXHAUSTED',
      });
    } finally {
      release();
      await sys.shutdown({ graceful: false });
    }
  });
});

type Kind = 'settle' | 'throw' | 'timeout' | 'abort';
interface Spec {
  cycle: number;
  n: number;
  kind: Kind;
  actual: number;
  /** timeout: the run's timeoutMs; abort: ms after the run starts that its signal fires. */
  after: number;
}

const spec: fc.Arbitrary<Spec> = fc.record({
  cycle: fc.integer({ min: 0, max: 2 }),
  n: fc.integer({ min: 0, max: 5_000 }),
  kind: fc.constantFrom<Kind>('settle', 'throw', 'timeout', 'abort'),
  actual: fc.integer({ min: 0, max: 6_000 }),
  after: fc.integer({ min: 1, max: 400 }),
});

const EXPECTED: Record<Kind, string> = {
  settle: 'resolved',
  throw: 'ERR_TASK_ERROR',
  timeout: 'ERR_TASK_TIMEOUT',
  abort: 'ERR_ABORTED',
};

describe('token reservations never leak: property (inline, ManualClock)', () => {
  it('any mix of settle / throw / timeout / abort: reserved 0 everywhere, used = Σ settled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 12 }), async (specs) => {
        const clock = new ManualClock();
        // What the handlers really did: granted reservations and settled amounts (per cycle).
        const settled = [0, 0, 0];
        let active = 0;
        const refused = new Set<number>();
        const agent = defineAgent({
          async task(input: { i: number }, ctx) {
            const s = specs[input.i]!;
            active++;
            try {
              let r;
              try {
                r = await ctx.tokens.reserve(s.n);
              } catch (e) {
                refused.add(input.i);
                throw e;
              }
              if (s.kind === 'settle') {
                r.settle(s.actual);
                settled[s.cycle]! += s.actual;
                return s.actual;
              }
              if (s.kind === 'throw') throw new Error('model call failed');
              // timeout / abort: hang until the task's signal fires.
              await new Promise((_, reject) => {
                if (ctx.signal.aborted) reject(new Error('aborted'));
                ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
              });
              return undefined;
            } finally {
              active--;
            }
          },
        });
        const sys = createAgentPoolSystem({
          clock,
          pools: {
            [POOL]: {
              agent,
              min: 2,
              max: 2,
              concurrency: 3,
              healthCheckIntervalMs: 0,
              timings: inlineTimings,
            },
          },
          budgets: { defaultCycle: CYCLE_BUDGET, system: 25_000 },
          metricsIntervalMs: 0,
        });
        try {
          await sys.start();
          const outcomes: (string | undefined)[] = specs.map(() => undefined);
          const runs = specs.map(async (s, i) => {
            const lease = await sys.acquire(POOL, { cycleId: `c${s.cycle}`, timeoutMs: 1_000_000 });
            try {
              const opts: { timeoutMs?: number; signal?: AbortSignal } = {};
              if (s.kind === 'timeout') opts.timeoutMs = s.after;
              if (s.kind === 'abort') {
                const ctrl = new AbortController();
                clock.setTimeout(() => ctrl.abort(new Error('caller gave up')), s.after);
                opts.signal = ctrl.signal;
              }
              outcomes[i] = await lease.run('task', { i }, opts).then(
                () => 'resolved',
                (e: { code?: string }) => e.code ?? String(e),
              );
            } finally {
              await lease.release();
            }
          });
          let done = false;
          void Promise.all(runs).then(() => (done = true));
          for (let step = 0; step < 1_000 && !(done && active === 0); step++) await clock.advanceAsync(10);
          expect({ done, active }, 'every task ended (caller and handler)').toEqual({
            done: true,
            active: 0,
          });
          for (const [i, s] of specs.entries()) {
            const allowed = refused.has(i) ? [EXPECTED[s.kind], 'ERR_BUDGET_EXHAUSTED'] : [EXPECTED[s.kind]];
            expect(allowed, `task ${i} (${s.kind})`).toContain(outcomes[i]);
          }
          const u = sys.tokenUsage();
          expect(u.system.reserved).toBe(0);
          for (const p of Object.values(u.pools)) expect(p.reserved).toBe(0);
          for (const c of Object.values(u.cycles)) expect(c.reserved).toBe(0);
          const total = settled.reduce((a, b) => a + b, 0);
          expect(u.system.used).toBe(total);
          expect(u.pools[POOL]?.used ?? 0).toBe(total);
          for (const c of [0, 1, 2]) expect(u.cycles[`c${c}`]?.used ?? 0).toBe(settled[c]);
        } finally {
          await sys.shutdown({ graceful: false });
        }
      }),
      { numRuns: 50 },
    );
  }, 60_000);
});
