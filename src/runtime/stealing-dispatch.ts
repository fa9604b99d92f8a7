/**
 * The `dispatch: 'work-stealing'` placement of `submit()` tasks: one {@link WorkStealingScheduler}
 * per pool type that uses the mode, kept in step with the pool's live agents.
 *
 * - A submitted task is bound at once to one agent's local queue (the pool's balancing strategy,
 *   else least-loaded; an agent with a free slot and nothing queued is preferred so a task never
 *   waits behind a busy agent while another one idles) up to {@link StealingOptions.localDepth};
 *   beyond that it goes to the global queue.
 * - Each agent with a free slot takes `next(agentId)`: its newest local task (LIFO), the global
 *   queue every 61st pick (never starved), else the oldest half of the busiest queue.
 * - An agent that stops accepting work (crashed, restarting, retiring, gone) is dropped from the
 *   scheduler on the next placement; its local tasks go to the front of the global queue.
 *
 * Tasks are opaque here (`J`); the dispatcher owns their lifecycle (timers, signals, results).
 */
import { WorkStealingScheduler } from '../structures/work-stealing.js';
import type { AcquireRequest, Pool } from './pool.js';

/** Counters of one work-stealing pool type. */
export interface StealStats {
  /** Tasks bound to an agent's local queue at submit (or re-queue) time. */
  bound: number;
  /** Tasks put on the global queue at submit time because the chosen local queue was full. */
  injected: number;
  /** Tasks started from the agent's own local queue. */
  fromLocal: number;
  /** Tasks started from the global queue. */
  fromGlobal: number;
  /** Tasks started right after being stolen. */
  fromSteal: number;
  /** Steal operations (each moves half of the victim's queue). */
  steals: number;
  /** Tasks moved by steals (including the ones started at once). */
  stolen: number;
  /** Queued tasks moved to the global queue because their agent stopped accepting work. */
  orphaned: number;
}

/** Options of {@link StealingQueues}. */
export interface StealingOptions {
  /**
   * Tasks bound to one agent's local queue at submit time; more go to the global queue. Small on
   * purpose: early binding only pays while the agent will reach the task soon.
   * @default 8
   */
  localDepth?: number;
  /** Only local queues holding at least this many tasks are stolen from. @default 1 */
  stealThreshold?: number;
}

/** What a task must expose to be leased. */
export interface Placeable {
  req: AcquireRequest;
  /** When the task was queued: the lease's wait counts from here. */
  queuedAt: number;
}

/** Per-type local/global queues for the work-stealing mode. */
export class StealingQueues<J extends Placeable> {
  private readonly schedulers = new Map<string, WorkStealingScheduler<J>>();
  private readonly counters = new Map<string, StealStats>();
  /** Every queued task, for O(1) membership (the dispatcher asks "is it still queued?" often). */
  private readonly queued = new Set<J>();
  private readonly localDepth: number;
  private readonly stealThreshold: number;
  /** Per-type steal thresholds (pool option `stealThreshold`). */
  private readonly thresholds = new Map<string, number>();

  constructor(options: StealingOptions = {}) {
    this.localDepth = options.localDepth ?? 8;
    this.stealThreshold = options.stealThreshold ?? 1;
  }

  /**
   * Start handling `type` (idempotent). `stealThreshold`: the pool's own (option `stealThreshold`),
   * else the dispatcher's default.
   */
  register(type: string, stealThreshold?: number): void {
    if (this.schedulers.has(type)) return;
    // A threshold of 1 lets an idle agent take even a lone task queued behind a busy one: with
    // early binding, leaving it there would idle the thief while the task waits.
    if (stealThreshold !== undefined) this.thresholds.set(type, stealThreshold);
    this.schedulers.set(type, this.fresh(type));
    this.counters.set(type, zero());
  }

  /** True when `type` uses this mode. */
  handles(type: string): boolean {
    return this.schedulers.has(type);
  }

  /** Types handled. */
  types(): string[] {
    return [...this.schedulers.keys()];
  }

  /** Queued tasks over every type. */
  get size(): number {
    return this.queued.size;
  }

  /** Queued tasks of one type. */
  sizeOf(type: string): number {
    return this.schedulers.get(type)?.size ?? 0;
  }

  /** Whether the task is queued (not running, not settled). */
  has(job: J): boolean {
    return this.queued.has(job);
  }

  /** Counters of one type (a copy). */
  stats(type: string): StealStats | undefined {
    const c = this.counters.get(type);
    return c ? { ...c } : undefined;
  }

  /** Local queue lengths per agent and the global queue length, for inspection and tests. */
  layout(type: string): { global: number; locals: Record<string, number> } | undefined {
    const s = this.schedulers.get(type);
    if (!s) return undefined;
    const snap = s.snapshot();
    const locals: Record<string, number> = {};
    for (const [id, q] of Object.entries(snap.locals)) locals[id] = q.length;
    return { global: snap.global.length, locals };
  }

  /** Queue a task of a handled type: bind it to an agent's local queue, or the global queue. */
  enqueue(type: string, pool: Pool, job: J): void {
    const s = this.scheduler(type);
    const c = this.counters.get(type) as StealStats;
    this.sync(type, pool);
    const load = (id: string) => s.localSize(id);
    const idle = (id: string) => pool.hasFreeSlot(id) && s.localSize(id) === 0;
    const id = pool.chooseAgent(load, idle) ?? pool.chooseAgent(load);
    if (id !== undefined && s.localSize(id) < this.localDepth) {
      s.pushLocal(id, job);
      c.bound++;
    } else {
      s.inject(job);
      c.injected++;
    }
    this.queued.add(job);
  }

  /** Take a queued task out (deadline, cancellation). False when it was not queued. */
  remove(job: J): boolean {
    if (!this.queued.delete(job)) return false;
    for (const s of this.schedulers.values()) if (s.remove((t) => t === job) !== undefined) return true;
    return true;
  }

  /** Remove and return every queued task of one type (its pool gave up starting agents). */
  takeType(type: string): J[] {
    const s = this.schedulers.get(type);
    if (!s) return [];
    const out: J[] = [];
    for (let t = s.remove(() => true); t !== undefined; t = s.remove(() => true)) {
      this.queued.delete(t);
      out.push(t);
    }
    return out;
  }

  /** Remove and return every queued task (shutdown). */
  takeAll(): J[] {
    const out = [...this.queued];
    this.queued.clear();
    for (const type of [...this.schedulers.keys()]) this.schedulers.set(type, this.fresh(type));
    return out;
  }

  /**
   * Start every task of `type` that can start now: each agent with a free slot takes `next()`, in
   * rounds (one task per agent per round) so agents share the work evenly. A task whose lease is
   * refused (concurrency key, global limits) goes back to the bottom of that agent's queue, where
   * it is the agent's next pick, and the agent is skipped for this call.
   * @returns how many tasks remain queued for the type
   */
  place(
    type: string,
    pool: Pool,
    start: (job: J, lease: NonNullable<ReturnType<Pool['tryLease']>>) => void,
    onSteal?: (count: number) => void,
  ): number {
    const s = this.scheduler(type);
    const c = this.counters.get(type) as StealStats;
    this.sync(type, pool);
    const refused = new Set<string>();
    let progress = true;
    while (progress && s.size > 0) {
      progress = false;
      for (const id of s.agents()) {
        if (refused.has(id) || !pool.hasFreeSlot(id)) continue;
        const n = s.next(id);
        if (!n) continue;
        if (n.source === 'stolen') {
          c.steals++;
          c.stolen += n.stolen ?? 1;
          onSteal?.(n.stolen ?? 1);
        }
        const lease = pool.tryLeaseAgent(id, n.task.req, n.task.queuedAt);
        if (!lease) {
          s.pushLocal(id, n.task);
          refused.add(id);
          continue;
        }
        this.queued.delete(n.task);
        if (n.source === 'local') c.fromLocal++;
        else if (n.source === 'global') c.fromGlobal++;
        else c.fromSteal++;
        start(n.task, lease);
        progress = true;
      }
    }
    return s.size;
  }

  /** Match the scheduler's agents to the pool's accepting agents; orphaned tasks go global. */
  private sync(type: string, pool: Pool): void {
    const s = this.scheduler(type);
    const c = this.counters.get(type) as StealStats;
    const live = pool.acceptingAgentIds();
    const alive = new Set(live);
    for (const id of s.agents()) if (!alive.has(id)) c.orphaned += s.removeAgent(id).length;
    for (const id of live) s.addAgent(id);
  }

  /** Callers check {@link handles} first; an unregistered type gets an empty scheduler (never thrown). */
  private scheduler(type: string): WorkStealingScheduler<J> {
    if (!this.schedulers.has(type)) this.register(type);
    return this.schedulers.get(type) as WorkStealingScheduler<J>;
  }

  private fresh(type: string): WorkStealingScheduler<J> {
    // Hoarding guard of the scheduler itself, above the binding depth (re-queues may push past it).
    return new WorkStealingScheduler<J>({
      stealThreshold: this.thresholds.get(type) ?? this.stealThreshold,
      localCapacity: this.localDepth * 4,
    });
  }
}

function zero(): StealStats {
  return {
    bound: 0,
    injected: 0,
    fromLocal: 0,
    fromGlobal: 0,
    fromSteal: 0,
    steals: 0,
    stolen: 0,
    orphaned: 0,
  };
}
