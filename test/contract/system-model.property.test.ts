/**
 * Model-based test of the REAL system (createAgentPoolSystem, inline agents, ManualClock): fast-check
 * generates sequences of acquire / release / run / crash / scalePool / submit / clock advance /
 * shutdown, runs them one after the other, and after EVERY command checks what the charts promise:
 *
 * - size: never above max; at least min whenever the pool machine is `active.steady` with nothing
 *   queued (below min is only allowed while a scale-up is being applied or queued, or once the pool
 *   left `active` for shutdown);
 * - one size: `pool.size`, the pool actor's `context.size` and `pool.observe().size` agree;
 * - leases: no agent holds more than its pool's concurrency, nor fewer than the live leases the test
 *   holds on it; a live lease's agent is still one of its pool's agents; the pools' lease count =
 *   the agents' = the test's live leases + running submitted tasks;
 * - waiting: `status().waiting` = the test's pending acquires = the pool's acquisition actors;
 * - the tree: a pool's live child actors are exactly its agents, waiting acquisitions and the
 *   allocation actors of its live leases;
 * - the allocator's ledger: used memory = the memory granted to live leases (`lease.allocation`:
 *   the allocation optimiser grants 0.8–1.5 × `requirements.memoryMb`, which is checked too);
 * - every promise settles by its deadline on the clock — acquire: 1.5 × its timeout (first wait +
 *   half of it after the scale-up); run: its timeoutMs (+ the abort grace); submit: its start
 *   deadline + maxAttempts × timeoutMs; shutdown: its drain deadline + abort grace + the stop margin;
 * - at the end (after a shutdown): everything settled, `status()` reports no agent, lease or waiter,
 *   the ledger is empty, no actor is left active and the root actor is done; and XState printed no
 *   warning.
 *
 * After a shutdown command only clock advances (and the checks) run. A last test replays, as a known
 * gap, the minimal sequence that breaks the min rule (it needs a pool of min 2).
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { testTimings } from '../runtime/helpers.js';
import type { AnyActorRef, InspectionEvent, StateNode } from 'xstate';
import { STOP_MARGIN_MS } from '../../machines/agent.machine.js';
import { poolMachine } from '../../machines/pool.machine.js';
import {
  type AgentPoolSystem,
  type Clock,
  createAgentPoolSystem,
  defineAgent,
  type Lease,
  ManualClock,
} from '../../src/index.js';
import { stateNodes } from './helpers.js';

/** Runs per property; CONTRACT_RUNS=500 for a deeper search. */
const RUNS = Number(process.env.CONTRACT_RUNS ?? 30);
const MAX_COMMANDS = 25;

const TIMINGS = { ...testTimings, startTimeoutMs: 3_000 };
const POOLS = ['a', 'b'] as const;
type PoolName = (typeof POOLS)[number];
const CONCURRENCY: Record<PoolName, number> = { a: 1, b: 2 };
const MAX = 3;
const ACQUIRE_TIMEOUT_MS = 1_000; // the pools' acquireTimeoutMs: acquires that pass none wait this
const LIMIT_MB = 1_000;
const MAX_ATTEMPTS = 3; // submit's default
/** Virtual-time slack on every deadline (all timers are exact on a ManualClock). */
const MARGIN_MS = 5;
type Task = 'echo' | 'slow' | 'boom' | 'hang';

/**
 * The runtime clock module's `sleep(clock, ms)` (src/runtime/clock.ts, being moved to src/core): a
 * promise resolved after `ms` on `clock`. Inlined so this file only depends on the public entry.
 */
const sleep = (clock: Clock, ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
/** Ids of the pool chart's own invoked actors (applyScale, drainPool, stopAgents): children while their state is. */
const POOL_INVOKES = new Set(
  stateNodes(poolMachine).flatMap((n) => (n as unknown as StateNode).invoke.map((i) => i.id)),
);

interface Tracked {
  what: string;
  /** The pool, for an acquire. */
  acquire?: PoolName;
  startedAt: number;
  deadline: number;
  state: 'pending' | 'fulfilled' | 'rejected';
  settledAt?: number;
  code?: string;
}

interface Real {
  sys: AgentPoolSystem;
  /** Every actor of the system's tree, as its inspector saw them created. */
  actors: AnyActorRef[];
  clock: ManualClock;
  min: Record<PoolName, number>;
  leases: Lease[];
  tracked: Tracked[];
  shutdown: Tracked | undefined;
  seq: number;
}

interface Model {
  shutdown: boolean;
}

function track<T>(r: Real, what: string, deadline: number, p: Promise<T>): Tracked {
  const t: Tracked = { what, startedAt: r.clock.now(), deadline, state: 'pending' };
  r.tracked.push(t);
  p.then(
    () => {
      t.state = 'fulfilled';
      t.settledAt = r.clock.now();
    },
    (e: { code?: string }) => {
      t.state = 'rejected';
      t.settledAt = r.clock.now();
      if (e?.code !== undefined) t.code = e.code;
    },
  );
  return t;
}

const live = (r: Real) => r.leases.filter((l) => !l.released);

/**
 * The memory a lease holds in the ledger: what its allocation was granted (the allocation optimiser
 * may grant more or less than asked: `lease.allocation.amounts`), or nothing without an allocation.
 */
const grantedMb = (l: Lease) => l.allocation?.amounts.memoryMb ?? 0;

/** Let every queued promise callback and microtask run (a macrotask turn). */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The invariants, after a command. Throws (so fast-check shrinks) on the first violation. */
async function check(r: Real, after: string): Promise<void> {
  await drain();
  await drain();
  const now = r.clock.now();
  const fail = (msg: string): never => {
    throw new Error(`after ${after} (t=${now}): ${msg}`);
  };
  for (const t of r.tracked) {
    if (t.state === 'pending' && now > t.deadline)
      fail(`${t.what} (started t=${t.startedAt}) still pending past its deadline t=${t.deadline}`);
    // Settled, but late (the clock jumped past the deadline before it settled).
    if (t.settledAt !== undefined && t.settledAt > t.deadline)
      fail(
        `${t.what} (started t=${t.startedAt}) settled at t=${t.settledAt}, after its deadline t=${t.deadline}`,
      );
  }

  const held = live(r);
  for (const type of POOLS) {
    const pool = r.sys.pool(type);
    const snap = pool.actor.getSnapshot();
    if (pool.size > MAX) fail(`pool ${type}: size ${pool.size} > max ${MAX}`);
    if (snap.status === 'active') {
      const views = { size: pool.size, context: snap.context.size, observe: pool.observe().size };
      if (views.size !== views.context || views.size !== views.observe)
        fail(`pool ${type}: the three sizes disagree ${JSON.stringify(views)}`);
      if (snap.context.size > MAX) fail(`pool ${type}: context.size ${snap.context.size} > max`);
      const settled = snap.matches({ active: { sizing: 'steady' } }) && snap.context.queued === undefined;
      if (settled && pool.size < r.min[type])
        fail(
          `pool ${type}: size ${pool.size} < min ${r.min[type]} while steady with nothing queued ` +
            `(history: ${JSON.stringify(snap.context.history.slice(-3))})`,
        );
    }
    const agents = pool.agentList();
    for (const a of agents) {
      if (a.leases > CONCURRENCY[type])
        fail(`agent ${a.id}: ${a.leases} leases > concurrency ${CONCURRENCY[type]}`);
      const mine = held.filter((l) => l.agent === a).length;
      if (a.leases < mine) fail(`agent ${a.id}: counts ${a.leases} leases, the test holds ${mine} on it`);
    }
    for (const l of held)
      if (l.type === type && !agents.includes(l.agent))
        fail(`lease ${l.id} is live but its agent ${l.agentId} is no longer in pool ${type}`);

    // One count of waiting acquires: the test's pending ones, the pool's waiters, its acquisition actors.
    const pendingAcquires = r.tracked.filter((t) => t.state === 'pending' && t.acquire === type).length;
    const status = pool.status();
    if (status.waiting !== pendingAcquires)
      fail(`pool ${type}: status().waiting ${status.waiting}, but ${pendingAcquires} acquires are pending`);
    if (snap.status === 'active') {
      // The pool actor's subtree (every live actor whose parent is the pool or one of its two child
      // groups, src/runtime/child-group.ts, however it was created) is exactly its agents, its
      // waiting acquisitions and the allocation actors of its live leases.
      // By the runtime's ids: agent and allocation actors have recycled actor ids
      // (src/structures/slot-ids.ts) and carry the agent's or allocation's id in their context.
      const groups = new Set([`${type}-waiting`, `${type}-leases`]);
      const children = r.actors
        .filter(
          (a) =>
            a.getSnapshot().status === 'active' &&
            (a._parent === pool.actor || (a._parent?._parent === pool.actor && groups.has(a._parent.id))) &&
            !(a._parent === pool.actor && groups.has(a.id)),
        )
        .map((a) => {
          const c = a.getSnapshot().context as { agentId?: string; allocationId?: string } | undefined;
          return c?.agentId ?? c?.allocationId ?? a.id;
        });
      const agentIds = new Set(agents.map((a) => a.id));
      const acquisitions = children.filter((id) => id.startsWith(`${type}-acq-`));
      const allocations = new Set(held.filter((l) => l.type === type).flatMap((l) => l.allocation?.id ?? []));
      const unexpected = children.filter(
        (id) =>
          !agentIds.has(id) && !acquisitions.includes(id) && !allocations.has(id) && !POOL_INVOKES.has(id),
      );
      const missing = [...agentIds, ...allocations].filter((id) => !children.includes(id));
      if (unexpected.length > 0 || missing.length > 0)
        fail(`pool ${type}: children ${JSON.stringify({ unexpected, missing })}`);
      if (acquisitions.length !== pendingAcquires)
        fail(`pool ${type}: ${acquisitions.length} acquisition actors, ${pendingAcquires} acquires pending`);
    }
  }
  // One count of leases: the pools' and the agents' counts are the test's live leases plus the
  // leases of running submitted tasks.
  const tasks = r.sys.status().tasks.running;
  const leased = POOLS.reduce((n, t) => n + r.sys.pool(t).status().leased, 0);
  const onAgents = POOLS.reduce(
    (n, t) =>
      n +
      r.sys
        .pool(t)
        .agentList()
        .reduce((m, a) => m + a.leases, 0),
    0,
  );
  if (leased !== held.length + tasks || onAgents !== leased)
    fail(`leases: pools ${leased}, agents ${onAgents}, test ${held.length} + running tasks ${tasks}`);
  const used = r.sys.allocator?.usage().used.memoryMb ?? 0;
  const expected = held.reduce((s, l) => s + grantedMb(l), 0);
  if (used !== expected)
    fail(
      `ledger uses ${used} MB, live leases hold ${expected} MB ` +
        `(${held.map((l) => `${l.id}: asked ${l.requirements.memoryMb ?? 0}, granted ${grantedMb(l)}`).join('; ')})`,
    );
  // Each grant within the optimiser's documented range (SystemOptions.allocation): 0.8× to 1.5× the request.
  for (const l of held) {
    const asked = l.requirements.memoryMb ?? 0;
    const got = grantedMb(l);
    if (asked === 0 ? got !== 0 : got < 0.8 * asked || got > 1.5 * asked)
      fail(`lease ${l.id} asked for ${asked} MB and holds ${got} MB`);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;
const running = (m: Readonly<Model>) => !m.shutdown;

class Acquire implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly timeoutMs: number | undefined,
    readonly memoryMb: number | undefined,
    readonly ttlMs: number | undefined,
  ) {}
  check = running;
  async run(_: Model, r: Real) {
    const n = ++r.seq;
    const wait = this.timeoutMs ?? ACQUIRE_TIMEOUT_MS;
    const p = r.sys.acquire(this.pool, {
      cycleId: `c${n}`,
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
      ...(this.memoryMb !== undefined ? { requirements: { memoryMb: this.memoryMb } } : {}),
      ...(this.ttlMs !== undefined ? { ttlMs: this.ttlMs } : {}),
    });
    p.then(
      (lease) => void r.leases.push(lease),
      () => {},
    );
    track(r, `#${n} ${this}`, r.clock.now() + 1.5 * wait + MARGIN_MS, p).acquire = this.pool;
    await check(r, String(this));
  }
  toString = () =>
    `acquire(${this.pool}, timeoutMs=${this.timeoutMs ?? '-'}, memoryMb=${this.memoryMb ?? '-'}, ttlMs=${this.ttlMs ?? '-'})`;
}

class Release implements Cmd {
  constructor(readonly i: number) {}
  check = running;
  async run(_: Model, r: Real) {
    const held = live(r);
    await held[this.i % Math.max(1, held.length)]?.release();
    await check(r, String(this));
  }
  toString = () => `release(${this.i})`;
}

class Run implements Cmd {
  constructor(
    readonly i: number,
    readonly task: Task,
    readonly timeoutMs: number,
    readonly ms: number,
  ) {}
  check = running;
  async run(_: Model, r: Real) {
    const held = live(r);
    const lease = held[this.i % Math.max(1, held.length)];
    if (lease) {
      const n = ++r.seq;
      const input = this.task === 'slow' ? this.ms : n;
      track(
        r,
        `#${n} ${this} on ${lease.agentId}`,
        r.clock.now() + this.timeoutMs + TIMINGS.abortGraceMs + MARGIN_MS,
        lease.run(this.task, input, { timeoutMs: this.timeoutMs }),
      );
    }
    await check(r, String(this));
  }
  toString = () =>
    `run(${this.i}, ${this.task}${this.task === 'slow' ? ` ${this.ms}ms` : ''}, timeoutMs=${this.timeoutMs})`;
}

class Crash implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly i: number,
  ) {}
  check = running;
  async run(_: Model, r: Real) {
    const agents = r.sys.pool(this.pool).agentList();
    const a = agents[this.i % Math.max(1, agents.length)];
    if (a?.actor && a.actor.getSnapshot().status === 'active')
      a.actor.send({ type: 'HOST_EXITED', error: 'model crash' });
    await check(r, String(this));
  }
  toString = () => `crash(${this.pool}, ${this.i})`;
}

class Scale implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly target: number,
  ) {}
  check = running;
  async run(_: Model, r: Real) {
    const n = ++r.seq;
    // No deadline of its own (it waits for agent starts and for decisions queued before it): it must
    // settle by the end of the run.
    track(r, `#${n} ${this}`, Number.POSITIVE_INFINITY, r.sys.scalePool(this.pool, this.target, 'model'));
    await check(r, String(this));
  }
  toString = () => `scalePool(${this.pool}, ${this.target})`;
}

class Submit implements Cmd {
  constructor(
    readonly pool: PoolName,
    readonly task: Task,
    readonly timeoutMs: number,
    readonly deadlineMs: number,
    readonly ms: number,
  ) {}
  check = running;
  async run(_: Model, r: Real) {
    const n = ++r.seq;
    const p = r.sys.submit({
      type: this.pool,
      task: this.task,
      input: this.task === 'slow' ? this.ms : n,
      timeoutMs: this.timeoutMs,
      deadlineMs: this.deadlineMs,
    });
    // Queued time ends by the start deadline; each of at most MAX_ATTEMPTS runs by its timeout.
    const deadline = r.clock.now() + this.deadlineMs + MAX_ATTEMPTS * this.timeoutMs + MARGIN_MS;
    track(r, `#${n} ${this}`, deadline, p);
    await check(r, String(this));
  }
  toString = () =>
    `submit(${this.pool}, ${this.task}${this.task === 'slow' ? ` ${this.ms}ms` : ''}, timeoutMs=${this.timeoutMs}, deadlineMs=${this.deadlineMs})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_: Model, r: Real) {
    await r.clock.advanceAsync(this.ms);
    await check(r, String(this));
  }
  toString = () => `advance(${this.ms})`;
}

class Shutdown implements Cmd {
  constructor(
    readonly graceful: boolean,
    readonly deadlineMs: number,
  ) {}
  check = running;
  async run(m: Model, r: Real) {
    m.shutdown = true;
    r.shutdown = shutdown(r, this.graceful, this.deadlineMs);
    await check(r, String(this));
  }
  toString = () => `shutdown(graceful=${this.graceful}, deadlineMs=${this.deadlineMs})`;
}

/** Documented bound: the drain deadline (graceful), then the abort grace, then about 2 s of stop margins. */
function shutdown(r: Real, graceful: boolean, deadlineMs: number): Tracked {
  const bound = (graceful ? deadlineMs : 0) + TIMINGS.abortGraceMs + 2 * STOP_MARGIN_MS + MARGIN_MS;
  return track(
    r,
    `shutdown(graceful=${graceful}, deadlineMs=${deadlineMs})`,
    r.clock.now() + bound,
    r.sys.shutdown({ graceful, deadlineMs }),
  );
}

const pool = fc.constantFrom<PoolName>('a', 'a', 'b');
const task = fc.constantFrom<Task>('echo', 'echo', 'slow', 'slow', 'boom', 'hang');
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const commands = fc.commands(
  [
    fc.oneof(
      w(
        12,
        fc
          .tuple(
            pool,
            fc.option(fc.integer({ min: 20, max: 400 }), { nil: undefined }),
            fc.constantFrom<number | undefined>(
              undefined,
              undefined,
              undefined,
              undefined,
              100,
              200,
              300,
              1_500,
            ),
            // A lease with requirements owns an allocation actor whose TTL ends it (ERR_LEASE_EXPIRED).
            fc.option(fc.integer({ min: 50, max: 1_500 }), { nil: undefined, freq: 3 }),
          )
          .map(([p, t, mb, ttl]): Cmd => new Acquire(p, t, mb, ttl)),
      ),
      w(
        2,
        fc.nat(10).map((i): Cmd => new Release(i)),
      ),
      w(
        4,
        fc
          .tuple(fc.nat(10), task, fc.integer({ min: 20, max: 400 }), fc.integer({ min: 0, max: 600 }))
          .map(([i, t, to, ms]): Cmd => new Run(i, t, to, ms)),
      ),
      w(
        3,
        fc.tuple(pool, fc.nat(3)).map(([p, i]): Cmd => new Crash(p, i)),
      ),
      w(
        2,
        fc.tuple(pool, fc.integer({ min: 0, max: 4 })).map(([p, t]): Cmd => new Scale(p, t)),
      ),
      w(
        3,
        fc
          .tuple(
            pool,
            task,
            fc.integer({ min: 20, max: 400 }),
            fc.integer({ min: 10, max: 800 }),
            fc.integer({ min: 0, max: 600 }),
          )
          .map(([p, t, to, dl, ms]): Cmd => new Submit(p, t, to, dl, ms)),
      ),
      w(
        5,
        fc.integer({ min: 0, max: 700 }).map((ms): Cmd => new Advance(ms)),
      ),
      w(
        1,
        fc.tuple(fc.boolean(), fc.integer({ min: 50, max: 600 })).map(([g, d]): Cmd => new Shutdown(g, d)),
      ),
    ),
  ],
  { maxCommands: MAX_COMMANDS, size: 'max' },
);

/** One run's system: the pools' minimum sizes, the agents' start-up time, their circuit breaker. */
interface RunConfig {
  min: Record<PoolName, number>;
  startupMs: number;
  /** Consecutive failures that evict an agent. @default 3 */
  maxFailures?: number;
}

async function setup(cfg: RunConfig): Promise<Real> {
  const clock = new ManualClock();
  const agent = defineAgent(
    {
      echo: (x: unknown) => x,
      slow: async (ms: number) => {
        await sleep(clock, ms); // ignores its abort signal: an overdue slow task is escalated
        return ms;
      },
      boom: () => {
        throw new Error('boom');
      },
      hang: (_: unknown, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('hang aborted')), { once: true }),
        ),
    },
    // A start-up that takes virtual time: scale-ups stay in flight across commands.
    cfg.startupMs > 0 ? { setup: () => sleep(clock, cfg.startupMs) } : {},
  );
  const common = {
    agent,
    max: MAX,
    healthCheckIntervalMs: 0,
    acquireTimeoutMs: ACQUIRE_TIMEOUT_MS,
    timings: TIMINGS,
    ...(cfg.maxFailures !== undefined ? { maxFailures: cfg.maxFailures } : {}),
  };
  const actors: AnyActorRef[] = [];
  const sys = createAgentPoolSystem({
    clock,
    inspect: (e: InspectionEvent) => {
      if (e.type === '@xstate.actor') actors.push(e.actorRef as AnyActorRef);
    },
    limits: { memoryMb: LIMIT_MB },
    pools: {
      a: { ...common, min: cfg.min.a, concurrency: CONCURRENCY.a },
      // Pool b's agents differ (variants): requests over 1,024 MB fit only its big agents, so waits,
      // offers and scale-ups must pick the right kind and still settle every acquire.
      b: {
        ...common,
        min: cfg.min.b,
        concurrency: CONCURRENCY.b,
        variants: { std: { share: 2 }, big: { capacity: { memoryMb: 2_048 } } },
      },
    },
  });
  const started = sys.start();
  await clock.advanceAsync(cfg.startupMs);
  await started;
  return { sys, actors, clock, min: cfg.min, leases: [], tracked: [], shutdown: undefined, seq: 0 };
}

/** Run commands against a fresh system, checking after each; then shut down and check it left nothing. */
async function runModel(cfg: RunConfig, cmds: Iterable<Cmd>): Promise<void> {
  const r = await setup(cfg);
  await check(r, 'start');
  await fc.asyncModelRun(() => ({ model: { shutdown: false }, real: r }), cmds);

  // The end: shut down (gracefully, if no command did) and let time pass until it resolves.
  r.shutdown ??= shutdown(r, true, 500);
  for (let i = 0; i < 200 && r.shutdown.state === 'pending'; i++) {
    await r.clock.advanceAsync(100);
    await check(r, 'final advance(100)');
  }
  await r.clock.advanceAsync(1_000);
  await check(r, 'final advance(1000)');
  const pending = r.tracked.filter((t) => t.state === 'pending').map((t) => t.what);
  expect(pending, 'promises still pending after shutdown').toEqual([]);
  expect(r.shutdown.state).toBe('fulfilled');
  const status = r.sys.status();
  expect(status.state).toBe('stopped');
  for (const type of POOLS) {
    expect(status.pools[type], `pool ${type} after shutdown`).toMatchObject({
      size: 0,
      agents: {},
      leased: 0,
      waiting: 0,
    });
    expect(r.sys.pool(type).agentList(), `pool ${type}: no agent left`).toEqual([]);
  }
  expect(live(r), 'no lease is live after shutdown').toEqual([]);
  expect(r.sys.allocator?.usage().used.memoryMb ?? 0, 'ledger after shutdown').toBe(0);
  expect(r.sys.actor.getSnapshot().status, 'root actor').toBe('done');
  const alive = r.actors.filter((a) => a.getSnapshot().status === 'active').map((a) => a.id);
  expect(alive, 'actors still active after shutdown').toEqual([]);
}

/**
 * XState's development warnings (an event sent to a stopped actor, a built-in action called inside a
 * custom one, …) are the runtime driving actors in ways the charts do not model: collected, and
 * required to be none.
 */
async function collectingWarnings<T>(run: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const spies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')].map((spy) =>
    spy.mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' '))),
  );
  try {
    return { value: await run(), warnings };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('the real system against its model', () => {
  it(`${RUNS} runs of ≤ ${MAX_COMMANDS} commands: sizes, leases, ledger, deadlines; shutdown leaves nothing`, async () => {
    const { warnings } = await collectingWarnings(() =>
      fc.assert(
        fc.asyncProperty(
          fc.record({ a: fc.integer({ min: 0, max: 1 }), b: fc.integer({ min: 0, max: 1 }) }),
          fc.constantFrom(0, 0, 200, 1_000),
          commands,
          (min, startupMs, cmds) => runModel({ min, startupMs }, cmds),
        ),
        { numRuns: RUNS },
      ),
    );
    expect([...new Set(warnings)], 'XState warnings while the model ran').toEqual([]);
  }, 120_000);

  /**
   * KNOWN GAP (pool-min-after-loss), marked `it.fails` until fixed — then make it `it`. Minimal
   * sequence (found outside the generated range: it needs min ≥ 2): pool `a` of min 2 with agents
   * that take 1 s to start and are evicted on their first failure. Crashing one agent starts its
   * replacement (`replace lost agent`: a scale-up 1 → 2 in flight); crashing the other while that
   * replacement starts drops the size to 1 and asks for 2 again, which the pool chart's
   * `matchesInFlight` guard (machines/pool.machine.ts, `active.scaling` SCALE_TO) and Pool.scaleTo's
   * mirror of it (src/runtime/pool.ts) answer with the in-flight record — which only starts one
   * agent. The scale-up completes, the pool is `active.steady` with nothing queued, and stays at
   * size 1 < min 2 until something else asks for agents.
   */
  it('a pool restores its minimum after losing agents while a replacement starts', async () => {
    await runModel({ min: { a: 2, b: 0 }, startupMs: 1_000, maxFailures: 1 }, [
      new Crash('a', 1),
      new Crash('a', 0),
      new Advance(1_000),
    ]);
  });
});
