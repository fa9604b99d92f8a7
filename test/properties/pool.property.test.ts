/**
 * Random interleavings of acquire / release / abort / agent crash / task runs / timeouts (clock
 * advances) / scalePool / shutdown on inline pools in virtual time, with fast-check's scheduler
 * deciding the order in which operations take effect and tasks complete.
 *
 * Properties: every acquire settles (granted, rejected or cancelled, with an expected code); no agent
 * ever holds more than `concurrency` live leases; a concurrency key never has more live holders than
 * its limit; pool size stays within [min, max] (at most max always, at least min once quiet); after
 * shutdown no agent, lease, waiter or timer is left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Lease } from '../../src/runtime/lease.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

const POOLS = {
  code: { min: 1, max: 3, concurrency: 2 },
  qa: { min: 0, max: 2, concurrency: 1 },
} as const;
type PoolName = keyof typeof POOLS;
const KEYS = { k1: 1, k2: 2 } as const;
type KeyName = keyof typeof KEYS;

const timings = {
  startTimeoutMs: 500,
  abortGraceMs: 50,
  heartbeatTimeoutMs: 0,
  healthIntervalMs: 0,
  healthTimeoutMs: 50,
  stopGraceMs: 100,
  drainTimeoutMs: 500,
  backoffBaseMs: 20,
  backoffMaxMs: 100,
};

interface Acq {
  pool: PoolName;
  key: KeyName | undefined;
  ctrl: AbortController;
  state: 'pending' | 'granted' | 'rejected';
  lease?: Lease;
  code?: string;
}

interface Real {
  sys: AgentPoolSystem;
  clock: ManualClock;
  s: fc.Scheduler;
  acqs: Acq[];
  shutdown: Promise<void> | undefined;
  advancing: Promise<void>;
  violations: string[];
}

// ERR_AGENT_START_FAILED: a crash command can hit agents while they start; `maxFailures` failed starts
// in a row and the pool gives up (its machine's `failed` state), failing what waits with the start error.
const SETTLE_CODES = new Set([
  'ERR_POOL_EXHAUSTED',
  'ERR_ABORTED',
  'ERR_SHUTTING_DOWN',
  'ERR_AGENT_START_FAILED',
]);

/** Invariants that must hold at every moment. */
function checkAlways(r: Real, when: string): void {
  const live = r.acqs.filter((a) => a.state === 'granted' && a.lease && !a.lease.released);
  const perAgent = new Map<string, number>();
  const perKey = new Map<string, number>();
  for (const a of live) {
    perAgent.set(a.lease!.agentId, (perAgent.get(a.lease!.agentId) ?? 0) + 1);
    if (a.key) perKey.set(a.key, (perKey.get(a.key) ?? 0) + 1);
  }
  for (const [id, n] of perAgent) {
    const pool = id.startsWith('code-') ? 'code' : 'qa';
    if (n > POOLS[pool].concurrency) r.violations.push(`${when}: agent ${id} holds ${n} leases`);
  }
  for (const [k, n] of perKey) {
    if (n > KEYS[k as KeyName]) r.violations.push(`${when}: key ${k} held by ${n}`);
  }
  for (const t of Object.keys(POOLS) as PoolName[]) {
    const size = r.sys.pool(t).size;
    if (size > POOLS[t].max) r.violations.push(`${when}: pool ${t} size ${size} > max`);
  }
}

type Cmd = fc.AsyncCommand<object, Real>;

/**
 * Run `effect` when the scheduler says so: this is where interleavings come from. Effects pick their
 * target (which lease, which agent) when they run, not when the command was generated.
 */
function later(r: Real, label: string, effect: () => void | Promise<void>): void {
  void r.s.schedule(Promise.resolve(label), label).then(async () => {
    await effect();
    checkAlways(r, label);
  });
}

class AcquireCmd implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly key: KeyName | undefined,
    readonly timeoutMs: number,
  ) {}
  check = () => true;
  async run(_: object, r: Real) {
    const a: Acq = { pool: this.pool, key: this.key, ctrl: new AbortController(), state: 'pending' };
    r.acqs.push(a);
    later(r, `acquire ${this.pool}`, () => {
      r.sys
        .acquire(this.pool, {
          cycleId: `c${r.acqs.length}`,
          timeoutMs: this.timeoutMs,
          signal: a.ctrl.signal,
          ...(this.key ? { concurrencyKey: this.key, concurrencyLimit: KEYS[this.key] } : {}),
        })
        .then(
          (lease) => {
            a.state = 'granted';
            a.lease = lease;
            checkAlways(r, 'grant');
          },
          (e: AgentPoolError) => {
            a.state = 'rejected';
            a.code = e.code;
          },
        );
    });
  }
  toString = () => `acquire(${this.pool}, ${this.key ?? '-'}, ${this.timeoutMs})`;
}

class ReleaseCmd implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  async run(_: object, r: Real) {
    later(r, 'release', () => {
      const held = r.acqs.filter((a) => a.state === 'granted');
      void held[this.i % Math.max(1, held.length)]?.lease?.release();
    });
  }
  toString = () => `release(${this.i})`;
}

class RunTaskCmd implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  async run(_: object, r: Real) {
    // The task's completion is scheduled too; it may fail (agent crashed, lease lost): that is fine.
    later(r, 'run', () => {
      const held = r.acqs.filter((a) => a.state === 'granted' && !a.lease!.released);
      held[this.i % Math.max(1, held.length)]?.lease?.run('work', null).catch(() => {});
    });
  }
  toString = () => `run(${this.i})`;
}

class AbortCmd implements Cmd {
  constructor(readonly i: number) {}
  check = () => true;
  async run(_: object, r: Real) {
    later(r, 'abort', () => r.acqs[this.i % Math.max(1, r.acqs.length)]?.ctrl.abort());
  }
  toString = () => `abort(${this.i})`;
}

class CrashCmd implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly i: number,
  ) {}
  check = () => true;
  async run(_: object, r: Real) {
    later(r, 'crash', () => {
      const agents = r.sys.pool(this.pool).agentList();
      agents[this.i % Math.max(1, agents.length)]?.actor.send({
        type: 'HOST_EXITED',
        error: 'property crash',
      });
    });
  }
  toString = () => `crash(${this.pool}, ${this.i})`;
}

class AdvanceCmd implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_: object, r: Real) {
    // Clock advances are serialised (one at a time) but interleave with everything else.
    later(r, 'advance', () => {
      r.advancing = r.advancing.then(() => r.clock.advanceAsync(this.ms));
      return r.advancing;
    });
  }
  toString = () => `advance(${this.ms})`;
}

class ScaleCmd implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly target: number,
  ) {}
  check = () => true;
  async run(_: object, r: Real) {
    later(r, 'scale', () => void r.sys.scalePool(this.pool, this.target, 'property'));
  }
  toString = () => `scalePool(${this.pool}, ${this.target})`;
}

class ShutdownCmd implements Cmd {
  constructor(readonly graceful: boolean) {}
  check = () => true;
  async run(_: object, r: Real) {
    later(r, 'shutdown', () => {
      r.shutdown ??= r.sys.shutdown({ graceful: this.graceful, deadlineMs: 300 });
    });
  }
  toString = () => `shutdown(${this.graceful})`;
}

const poolArb = fc.constantFrom<PoolName>('code', 'qa');
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
// Weighted so that most runs see many overlapping acquires and releases, and a shutdown only sometimes.
const commands = fc.commands(
  [
    fc.oneof(
      w(
        8,
        fc
          .tuple(
            poolArb,
            fc.constantFrom<KeyName | undefined>(undefined, 'k1', 'k1', 'k2'),
            fc.integer({ min: 50, max: 600 }),
          )
          .map(([p, k, t]): Cmd => new AcquireCmd(p, k, t)),
      ),
      w(
        5,
        fc.nat(20).map((i): Cmd => new ReleaseCmd(i)),
      ),
      w(
        2,
        fc.nat(20).map((i): Cmd => new RunTaskCmd(i)),
      ),
      w(
        2,
        fc.nat(20).map((i): Cmd => new AbortCmd(i)),
      ),
      w(
        2,
        fc.tuple(poolArb, fc.nat(5)).map(([p, i]): Cmd => new CrashCmd(p, i)),
      ),
      w(
        3,
        fc.integer({ min: 0, max: 400 }).map((ms): Cmd => new AdvanceCmd(ms)),
      ),
      w(
        2,
        fc
          .tuple(poolArb, fc.integer({ min: -1, max: 5 }))
          .map(([p, t]): Cmd => new ScaleCmd(p, Math.max(0, t))),
      ),
      w(
        1,
        fc.boolean().map((g): Cmd => new ShutdownCmd(g)),
      ),
    ),
  ],
  { maxCommands: 40, size: '+1' },
);

/** Advance virtual time and let scheduled work run until nothing is left to do (bounded). */
async function quiesce(r: Real, rounds = 40): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await r.s.waitAll();
    await r.advancing;
    await r.clock.advanceAsync(250);
    if (r.s.count() === 0 && r.acqs.every((a) => a.state !== 'pending') && r.clock.pending === 0) return;
  }
}

describe('pool properties under random interleavings', () => {
  it('acquires settle; leases, keys and sizes stay within bounds; shutdown leaves nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), commands, async (s, cmds) => {
        const clock = new ManualClock();
        const agent = defineAgent({
          // Task completion is a scheduled promise: the scheduler interleaves it with everything else.
          work: async () => s.schedule(Promise.resolve('done'), 'task'),
        });
        const pools = Object.fromEntries(
          (Object.keys(POOLS) as PoolName[]).map((t) => [
            t,
            { agent, ...POOLS[t], healthCheckIntervalMs: 0, timings },
          ]),
        );
        const sys = new AgentPoolSystem({ clock, pools });
        await sys.start();
        const r: Real = {
          sys,
          clock,
          s,
          acqs: [],
          shutdown: undefined,
          advancing: Promise.resolve(),
          violations: [],
        };
        await s.waitFor(fc.asyncModelRun(() => ({ model: {}, real: r }), cmds));

        // Quiet period without shutdown (if none was issued): everything settles, min is restored.
        await quiesce(r);
        if (r.shutdown === undefined) {
          for (const t of Object.keys(POOLS) as PoolName[]) {
            // A pool that gave up starting agents does not restore min (until scalePool retries it).
            if (sys.pool(t).status().lastError?.failed) continue;
            const size = sys.pool(t).size;
            expect(size, `pool ${t} size at quiescence`).toBeGreaterThanOrEqual(POOLS[t].min);
            expect(size).toBeLessThanOrEqual(POOLS[t].max);
          }
          r.shutdown = sys.shutdown({ graceful: true, deadlineMs: 300 });
        }
        await quiesce(r);
        let stopped = false;
        void r.shutdown.then(() => {
          stopped = true;
        });
        await quiesce(r);

        expect(r.violations).toEqual([]);
        expect(stopped).toBe(true);
        for (const a of r.acqs) {
          expect(a.state, 'every acquire settles').not.toBe('pending');
          if (a.state === 'rejected') expect(SETTLE_CODES).toContain(a.code);
          if (a.state === 'granted') expect(a.lease!.released).toBe(true);
        }
        for (const t of Object.keys(POOLS) as PoolName[]) {
          const p = sys.pool(t);
          expect(p.size).toBe(0);
          expect(p.status()).toMatchObject({ leased: 0, waiting: 0 });
          expect(p.actor.getSnapshot().status).toBe('done');
        }
        expect(sys.state).toBe('stopped');
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
