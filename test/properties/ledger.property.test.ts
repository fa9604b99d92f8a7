/**
 * System-level properties of the resource layer, explored with fast-check's scheduler: every operation
 * (reserve, release, resize, expire, agent crash, rebalance) crosses an async boundary the scheduler
 * controls, so the allocator sees the requests in adversarial orders.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, fromPromise, sendTo } from 'xstate';
import { allocationMachine } from '../../machines/allocation.machine.js';
import {
  type AllocatorEmitted,
  type AllocatorResult,
  allocatorMachine,
} from '../../machines/allocator.machine.js';
import { type RebalanceObservations, rebalancerMachine } from '../../machines/rebalancer.machine.js';
import { applyOpportunities } from '../../src/policies/rebalancing.js';
import { ManualClock } from '../../src/core/clock.js';
import { TokenBudgets } from '../../src/structures/budget.js';
import { LEDGER_EPSILON, Ledger } from '../../src/structures/ledger.js';

const LIMITS = { memoryMb: 1000, cpuCores: 16 };
const OWNERS = ['agent-0', 'agent-1', 'agent-2'];
const TTL = 1000;

type Lease = Actor<typeof allocationMachine>;

/** The real system under test: one allocator, one lease actor per granted allocation, one rebalancer. */
class World {
  readonly clock = new ManualClock();
  readonly ledger = new Ledger({
    limits: LIMITS,
    perAgentMax: { memoryMb: 600, cpuCores: 4 },
    perAgentMin: { memoryMb: 10 },
  });
  readonly allocator = createActor(allocatorMachine, { input: { ledger: this.ledger }, clock: this.clock });
  readonly results = new Map<string, AllocatorResult>();
  readonly leases = new Map<string, Lease>();
  /** Allocator-level releases per allocation id. */
  readonly released = new Map<string, number>();
  /** Lease-level release actions per allocation id. */
  readonly leaseReleases = new Map<string, number>();
  readonly granted: string[] = [];
  readonly violations: string[] = [];
  readonly rebalancer;
  usageFractions: number[] = [0.5];
  private seq = 0;

  constructor(readonly s: fc.Scheduler) {
    this.allocator.on('*', (e: AllocatorEmitted) => {
      if (e.type === 'allocator.result') this.results.set(e.requestId, e);
      else {
        this.released.set(e.allocationId, (this.released.get(e.allocationId) ?? 0) + 1);
        if (this.released.get(e.allocationId)! > 1) this.violations.push(`released twice: ${e.allocationId}`);
      }
    });
    // Checked after every allocator event: no limit is ever exceeded, not even transiently.
    this.allocator.subscribe(() => this.checkLimits());
    this.allocator.start();
    this.rebalancer = createActor(
      rebalancerMachine.provide({
        actors: {
          collectObservations: fromPromise<RebalanceObservations, void>(async () => {
            await s.schedule(Promise.resolve('rebalance:collect'));
            const observations = this.ledger.allocations().map((a, i) => {
              const f = this.usageFractions[i % this.usageFractions.length]!;
              return {
                allocationId: a.id,
                allocated: a.amounts,
                used: { memoryMb: (a.amounts.memoryMb ?? 0) * f, cpuCores: (a.amounts.cpuCores ?? 0) * f },
              };
            });
            return {
              observations,
              limits: {
                available: this.ledger.available(),
                perAgentMax: this.ledger.perAgentMax(),
                perAgentMin: this.ledger.perAgentMin(),
              },
            };
          }),
          // Applied after another scheduling point: the plan may be stale, the allocator re-checks.
          applyOpportunities: fromPromise(async ({ input }) => {
            await s.schedule(Promise.resolve('rebalance:apply'));
            return applyOpportunities(input.opportunities, (id, delta) => {
              const before = this.ledger.get(id);
              const r = this.send({ type: 'RESIZE', allocationId: id, change: { delta } });
              if (!r?.ok || before === undefined || !('allocation' in r))
                return { ok: false, error: 'refused' };
              const key = Object.keys(delta)[0]!;
              return { ok: true, before: before.amounts[key]!, after: r.allocation.amounts[key]! };
            });
          }),
        },
      }),
      { input: { intervalMs: 1e12 }, clock: this.clock },
    ).start();
  }

  /** Send a request to the allocator and read its answer (synchronous: sent from outside any actor). */
  send(
    e:
      | { type: 'RESERVE'; owner: string; request: Record<string, number> }
      | { type: 'RESIZE'; allocationId: string; change: { delta: Record<string, number> } },
  ) {
    const requestId = `q${++this.seq}`;
    this.allocator.send({ ...e, requestId });
    return this.results.get(requestId);
  }

  reserve(owner: string, request: Record<string, number>): void {
    const r = this.send({ type: 'RESERVE', owner, request });
    if (!r?.ok || !('allocation' in r)) return;
    const id = r.allocation.id;
    this.granted.push(id);
    const lease = createActor(
      allocationMachine.provide({
        actions: {
          // The recommended wiring: a built-in `sendTo`, delivered after the lease's transition, so the
          // allocator never runs nested inside another actor's action.
          releaseAllocation: sendTo(this.allocator, ({ context }) => {
            this.leaseReleases.set(
              context.allocationId,
              (this.leaseReleases.get(context.allocationId) ?? 0) + 1,
            );
            return {
              type: context.releaseCause === 'expired' ? 'EXPIRE' : 'RELEASE',
              allocationId: context.allocationId,
            };
          }),
        },
        actors: {
          resizeAllocation: fromPromise(async ({ input }) => {
            await this.s.schedule(Promise.resolve(`resize:${input.allocationId}`));
            const res = this.send({
              type: 'RESIZE',
              allocationId: input.allocationId,
              change: input.change as { delta: Record<string, number> },
            });
            if (!res?.ok || !('allocation' in res)) throw new Error('resize refused');
            return res.allocation.amounts;
          }),
        },
      }),
      { input: { allocationId: id, owner, amounts: r.allocation.amounts, ttlMs: TTL }, clock: this.clock },
    );
    this.leases.set(id, lease);
    lease.start();
    lease.send({ type: 'ACTIVATE' });
  }

  /** A live lease (events to released leases are dropped by XState; the unit tests cover them). */
  pick(i: number): Lease | undefined {
    const live = [...this.leases.values()].filter((l) => l.getSnapshot().status === 'active');
    return live.length === 0 ? undefined : live[i % live.length];
  }

  crash(owner: string): void {
    // The runtime tells both: the allocator frees by owner, the leases converge on `released`.
    this.allocator.send({ type: 'AGENT_LOST', owner });
    for (const lease of this.leases.values()) {
      const snap = lease.getSnapshot();
      if (snap.status === 'active' && snap.context.owner === owner) lease.send({ type: 'AGENT_LOST' });
    }
  }

  checkLimits(): void {
    const used = this.ledger.usage();
    for (const [k, lim] of Object.entries(LIMITS)) {
      if ((used[k] ?? 0) > lim + LEDGER_EPSILON) this.violations.push(`${k} ${used[k]} > ${lim}`);
    }
  }
}

type Cmd = fc.AsyncCommand<object, World>;

/** Every command only *schedules* its operation: the scheduler decides when it reaches the allocator. */
function later(w: World, label: string, op: () => void): void {
  void w.s.schedule(Promise.resolve(label)).then(op);
}

const cmd = (name: string, op: (w: World) => void): Cmd => ({
  check: () => true,
  run: async (_m, w) => later(w, name, () => op(w)),
  toString: () => name,
});

const reserveCmd = fc
  .record({
    owner: fc.constantFrom(...OWNERS),
    // Mostly valid sizes; sometimes above the per-agent max or negative (answered as error results).
    mem: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 0, max: 450 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 700) },
    ),
    cpu: fc.integer({ min: 0, max: 8 }),
  })
  .map(({ owner, mem, cpu }) =>
    cmd(`reserve(${owner},${mem},${cpu / 4})`, (w) => {
      // Sizes above the per-agent max throw inside the allocator and come back as error results.
      w.reserve(owner, { memoryMb: mem, cpuCores: cpu / 4 });
    }),
  );

const commands = fc.commands(
  [
    // Reserve weighted ×4 so runs build up enough live allocations to contend.
    reserveCmd,
    reserveCmd,
    reserveCmd,
    reserveCmd,
    fc.nat().map((i) => cmd(`release(${i})`, (w) => w.pick(i)?.send({ type: 'RELEASE' }))),
    fc.nat().map((i) => cmd(`expire(${i})`, (w) => w.pick(i)?.send({ type: 'EXPIRE' }))),
    fc.integer({ min: 0, max: TTL }).map((ms) => cmd(`advance(${ms})`, (w) => w.clock.advance(ms))),
    fc
      .tuple(fc.nat(), fc.integer({ min: -300, max: 300 }))
      .map(([i, d]) =>
        cmd(`resize(${i},${d})`, (w) =>
          w.pick(i)?.send({ type: 'RESIZE', change: { delta: { memoryMb: d } } }),
        ),
      ),
    fc.nat().map((i) => cmd(`renew(${i})`, (w) => w.pick(i)?.send({ type: 'RENEW' }))),
    fc.constantFrom(...OWNERS).map((o) => cmd(`crash(${o})`, (w) => w.crash(o))),
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }).map((fr) =>
      cmd(`rebalance(${fr.map((x) => x.toFixed(2))})`, (w) => {
        w.usageFractions = fr;
        w.rebalancer.send({ type: 'TRIGGER' });
      }),
    ),
  ],
  { maxCommands: 40, size: '+1' },
);

describe('allocator under scheduler interleavings', () => {
  it('never exceeds a limit, matches live allocations at quiescence, releases each allocation exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), commands, async (s, cmds) => {
        const w = new World(s);
        await s.waitFor(fc.asyncModelRun(() => ({ model: {}, real: w }), cmds));
        await s.waitIdle();

        // Quiescent: the ledger is exactly the sum of the allocations it says are live…
        const live = w.ledger.allocations();
        const sum: Record<string, number> = {};
        for (const a of live) for (const [k, v] of Object.entries(a.amounts)) sum[k] = (sum[k] ?? 0) + v;
        for (const [k, v] of Object.entries(w.ledger.usage())) expect(v).toBeCloseTo(sum[k] ?? 0, 6);
        // …and those are exactly the leases still live (every other lease has released its allocation).
        const liveLeases = [...w.leases]
          .filter(([, l]) => l.getSnapshot().status === 'active')
          .map(([id]) => id);
        expect(live.map((a) => a.id).sort()).toEqual(liveLeases.sort());

        // Release everything still held; then every granted allocation has been released exactly once.
        for (const l of w.leases.values())
          if (l.getSnapshot().status === 'active') l.send({ type: 'RELEASE' });
        await s.waitIdle();
        w.rebalancer.stop();
        expect(w.violations).toEqual([]);
        for (const id of w.granted) {
          expect(w.released.get(id), id).toBe(1);
          expect(w.leaseReleases.get(id), id).toBe(1);
        }
        expect(w.ledger.size).toBe(0);
        for (const v of Object.values(w.ledger.usage())) expect(v).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe('token budgets under concurrent calls', () => {
  /**
   * The guarantee of src/structures/budget.ts, checked literally: at every level,
   * committed ≤ budget + Σ overshoot of the reservations that were outstanding the last time the level
   * was within budget (and have settled since).
   */
  it('usage never exceeds a level by more than the overshoot of the calls in flight when it was last within budget', async () => {
    const call = fc.record({
      cycle: fc.constantFrom('c1', 'c2', 'c3'),
      reserve: fc.integer({ min: 0, max: 400 }),
      ratio: fc.double({ min: 0, max: 2.5, noNaN: true }),
    });
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(call, { maxLength: 30 }), async (s, calls) => {
        const limits = { system: 1000, pool: 800, cycle: 500 };
        const b = new TokenBudgets({
          system: limits.system,
          defaultPool: limits.pool,
          defaultCycle: limits.cycle,
        });
        const poolOf = (c: string) => (c === 'c3' ? 'p2' : 'p1');
        type Level = { key: string; limit: number; usage: () => { used: number; reserved: number } };
        const levels: Level[] = [
          { key: 'system', limit: limits.system, usage: () => b.systemUsage() },
          { key: 'p1', limit: limits.pool, usage: () => b.poolUsage('p1') },
          { key: 'p2', limit: limits.pool, usage: () => b.poolUsage('p2') },
          ...['c1', 'c2', 'c3'].map((c) => ({
            key: c,
            limit: limits.cycle,
            usage: () => b.cycleUsage(c) ?? { used: 0, reserved: 0 },
          })),
        ];
        const outstanding = new Map<string, { keys: string[] }>();
        const overshoot = new Map<string, number>();
        const okSet = new Map<string, Set<string>>(levels.map((l) => [l.key, new Set()]));
        const failures: string[] = [];
        const check = () => {
          for (const l of levels) {
            const u = l.usage();
            const committed = u.used + u.reserved;
            if (committed <= l.limit) {
              okSet.set(
                l.key,
                new Set([...outstanding].filter(([, o]) => o.keys.includes(l.key)).map(([id]) => id)),
              );
              continue;
            }
            let bound = l.limit;
            for (const id of okSet.get(l.key)!) bound += overshoot.get(id) ?? 0;
            if (committed > bound + 1e-6) failures.push(`${l.key}: ${committed} > ${bound}`);
          }
        };
        const tasks = calls.map(async (c, i) => {
          await s.schedule(Promise.resolve(`reserve#${i}`));
          let r: ReturnType<TokenBudgets['reserve']>;
          try {
            r = b.reserve({ cycle: c.cycle, pool: poolOf(c.cycle) }, c.reserve);
          } catch (e) {
            expect((e as { code: string }).code).toBe('ERR_BUDGET_EXHAUSTED');
            check();
            return;
          }
          outstanding.set(r.id, { keys: ['system', poolOf(c.cycle), c.cycle] });
          check();
          await s.schedule(Promise.resolve(`settle#${i}`)); // the model call
          const actual = Math.round(c.reserve * c.ratio);
          const res = b.settle(r.id, actual);
          expect(res.overshoot).toBe(Math.max(0, actual - c.reserve));
          overshoot.set(r.id, res.overshoot);
          outstanding.delete(r.id);
          check();
        });
        await s.waitFor(Promise.all(tasks));
        expect(failures).toEqual([]);
        expect(b.outstanding).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('one call at a time: usage exceeds a budget by at most the last settled overshoot', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            // 0-token calls are frequent on purpose: over budget they must be refused too.
            fc.oneof(
              { arbitrary: fc.constant(0), weight: 1 },
              { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 3 },
            ),
            fc.double({ min: 0, max: 3, noNaN: true }),
          ),
          {
            maxLength: 40,
          },
        ),
        (calls) => {
          const budget = 1000;
          const b = new TokenBudgets({ defaultCycle: budget });
          let lastOvershoot = 0;
          for (const [n, ratio] of calls) {
            let r: ReturnType<TokenBudgets['reserve']>;
            try {
              r = b.reserve({ cycle: 'c', pool: 'p' }, n);
            } catch {
              continue;
            }
            lastOvershoot = b.settle(r.id, Math.round(n * ratio)).overshoot;
            expect(b.cycleUsage('c')!.used).toBeLessThanOrEqual(budget + lastOvershoot);
          }
        },
      ),
      // Cheap per run; enough runs that an over-budget 0-token call (a past bug) is always found.
      { numRuns: 5_000 },
    );
  });
});
