/**
 * `submit()`: hand over a task, get its result. Tasks wait in one priority queue (critical > high >
 * medium > low; earlier deadline first; then FIFO), one heap per pool type, and are placed on a free
 * agent as soon as one exists. A type whose agents are all busy is skipped as a whole, so it never
 * delays another type. A task whose agent dies is re-queued (up to `maxAttempts`, then
 * `ERR_TASK_FAILED` with every cause); an idempotency key returns the first submission's result
 * instead of running twice; `signal` cancels a queued or running task.
 *
 * LLM workloads (docs/guides/submit.md): pool option `maxQueue` bounds what waits (`ERR_QUEUE_FULL`);
 * `retry` re-runs failed handlers after a backoff (src/runtime/retry.ts decides what is retryable);
 * `delayMs`/`notBefore` and backoffs keep a task in `sleeping` (not queued, not demand) until its
 * time; a pool's rate limit (src/runtime/rate-limits.ts) holds queued tasks back without failing
 * them; `agingMs` raises the priority of tasks that waited long; `onProgress` is passed to the run.
 * None of it costs the plain path more than a few field reads: no option, no timer, no closure.
 *
 * Pools with `dispatch: 'work-stealing'` queue their tasks in per-agent local queues plus a global
 * queue instead (src/runtime/stealing-dispatch.ts); everything else above still holds for them
 * except the priority/deadline ordering (local queues are LIFO by design).
 *
 * Large because submit() owns one queue discipline end to end (parse, enqueue, place, re-queue,
 * expire, cancel, drain) over two placements (central heap, work-stealing deques).
 *
 * Over 400 lines because submit's queue, placement, retries and re-queue on agent loss are one owner of
 * the task's fate (no task lost or run twice); work stealing, backlog and rate limits are split out.
 */
import type { ActorRefFrom } from 'xstate';
import { whenDone } from './actor-done.js';
import type { dispatcherMachine } from '../../machines/dispatcher.machine.js';

/** The dispatcher's actor: a child of the system actor. */
export type DispatcherRef = ActorRefFrom<typeof dispatcherMachine>;
import {
  AbortedError,
  AgentPoolError,
  DeadlineExceededError,
  findUncloneable,
  InvalidArgumentError,
  QueueFullError,
  TaskFailedError,
  UnknownPoolError,
} from '../core/errors.js';
import { createRng } from '../core/random.js';
import { backoffMs, isRetryable, parseRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import type { RateLimiter } from './rate-limits.js';
import { duration, knownKeys, num, record, signal as sig, str, strings } from '../core/validate.js';
import { PRIORITIES, type Priority, TaskQueue } from '../structures/task-queue.js';
import { type Clock, MAX_DURATION_MS, type TimerHandle } from '../core/clock.js';
import type { ResourceName } from './config.js';
import type { AcquireRequest, Pool } from './pool.js';
import type { LeaseRunOptions } from './lease.js';
import type { RunReceiver } from './agent-handle.js';
import { amountsOf, neverFits, parseRequirements, poolOffers, type Requirements } from './requirements.js';
import { Backlog } from './backlog.js';
import { type StealStats, StealingQueues } from './stealing-dispatch.js';

/** Options of `system.submit()`. */
export interface SubmitOptions {
  /** Pool type. */
  type: string;
  /** Task (handler) name. */
  task: string;
  /** Task input (structured-cloneable for thread agents; JSON data with durable cluster submits). */
  input?: unknown;
  /** @default 'medium' */
  priority?: Priority;
  /**
   * Absolute deadline (ms on the system's clock, e.g. `Date.now()`-like for the real clock) to *start*
   * by; a task still queued then rejects with `ERR_DEADLINE_EXCEEDED`. Prefer {@link deadlineMs}.
   */
  deadline?: number;
  /** Relative deadline: the task must start within this many ms of `submit()`, else `ERR_DEADLINE_EXCEEDED`. */
  deadlineMs?: number;
  /** Wall-clock limit of one run (each attempt), ms. */
  timeoutMs?: number;
  requirements?: Requirements;
  /** Tools/specialisations the agent must have (⊆ the pool's tools ∪ specialisations). */
  capabilities?: string[];
  /** At most `concurrencyLimit` tasks with this key run at once. */
  concurrencyKey?: string;
  /** @default 1 */
  concurrencyLimit?: number;
  /** A second submit with the same key returns the first one's result instead of running again. */
  idempotencyKey?: string;
  /** Cancels the task, queued or running. */
  signal?: AbortSignal;
  /** Attempts when agents die under the task. @default 3 */
  maxAttempts?: number;
  /** Cycle the task belongs to. @default 'submit' */
  cycleId?: string;
  /**
   * Retry a run whose handler failed (threw, or outlasted `timeoutMs`) after a backoff on the
   * system's clock; errors marked `retryable: false`, budget and rate refusals, cancellations and
   * deadlines are never retried. After the last attempt: `ERR_TASK_FAILED` with every cause.
   * @default the pool's `retry`, else none
   */
  retry?: RetryOptions;
  /** Queue the task now but start it no sooner than this many ms from now. Cancellable by `signal`. */
  delayMs?: number;
  /** Like {@link delayMs}, as an absolute time on the system's clock. */
  notBefore?: number;
  /** Every `ctx.progress(value)` of the running task, in order (not called after the task settled). */
  onProgress?: (value: unknown) => void;
  /**
   * The task's id, known before it is queued (letters, digits, `-`, `_`; at most 128): what
   * `system.enqueue()` returns and `system.attach(id)` takes. A second submit with the same id joins
   * the first (like `idempotencyKey`; not both). Read by the system facade (src/cluster/durable.ts).
   * @default generated
   */
  taskId?: string;
}

const SUBMIT_KEYS = new Set([
  'type',
  'task',
  'input',
  'priority',
  'deadline',
  'deadlineMs',
  'timeoutMs',
  'requirements',
  'capabilities',
  'concurrencyKey',
  'concurrencyLimit',
  'idempotencyKey',
  'signal',
  'maxAttempts',
  'cycleId',
  'retry',
  'delayMs',
  'notBefore',
  'onProgress',
  'taskId',
]);

/** Task names per pool whose plain request is kept (see `Dispatcher.plainRequest`). */
const PLAIN_REQUEST_CACHE = 256;

/** A job's settle functions until submit() sets them (shared: no closure per job). */
const unset = (): void => {};

/** The run options of a task with no timeout, signal or progress callback. */
const NO_RUN_OPTIONS: LeaseRunOptions = Object.freeze({});

/** `o` and every object under it, frozen: a shared value no caller may change. */
function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}

/** Errors that mean "the agent went away", not "the task failed": the task is re-queued. */
const AGENT_LOSS = new Set([
  'ERR_AGENT_CRASHED',
  'ERR_AGENT_OUT_OF_MEMORY',
  'ERR_AGENT_STOPPED',
  'ERR_AGENT_TERMINATED',
  'ERR_AGENT_LOST',
  'ERR_AGENT_UNAVAILABLE',
  'ERR_LEASE_RELEASED',
]);

interface Job {
  id: string;
  type: string;
  task: string;
  input: unknown;
  priority: Priority;
  deadline: number | undefined;
  timeoutMs: number | undefined;
  req: AcquireRequest;
  signal: AbortSignal | undefined;
  maxAttempts: number;
  attempts: number;
  /** When it was last queued (submission or re-queue): its wait counts from here. */
  queuedAt: number;
  causes: unknown[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
  /** The OTel context of its `submit` span (tracing on): the parent of each of its runs. */
  trace?: unknown;
  /** Handler failures are retried under this policy (undefined: not retried). */
  retry: RetryPolicy | undefined;
  /** The submit's start time (`delayMs`/`notBefore`), read once by submit(); `sleeping` owns the rest. */
  notBefore: number | undefined;
  /** The timer that wakes it from sleep (delay or backoff). */
  wake: TimerHandle | undefined;
  onProgress: ((value: unknown) => void) | undefined;
}

/** Counters of the dispatcher. */
export interface DispatcherStats {
  submitted: number;
  completed: number;
  failed: number;
  requeued: number;
  expired: number;
  cancelled: number;
  /**
   * Submits that joined a task already known under their `idempotencyKey` or `taskId`, instead of
   * starting one: in memory, or (cluster durable submits) in the task store.
   */
  deduplicated: number;
  /** Runs that failed and were retried (`retry`). */
  retried: number;
  /** Submits refused at once: the pool's queue was at `maxQueue`. */
  rejectedFull: number;
  queued: number;
  /** Tasks not yet eligible: delayed (`delayMs`/`notBefore`) or backing off before a retry. */
  sleeping: number;
  running: number;
}

/** The submit path. */
export class Dispatcher {
  readonly actor: DispatcherRef;
  private readonly queue = new TaskQueue<Job>();
  /** Tasks of pools with `dispatch: 'work-stealing'`. */
  private readonly stealing = new StealingQueues<Job>();
  private readonly running = new Set<Job>();
  /** Per type: the oldest queued task's age, reported to the pool's scaler. */
  private readonly backlogs = new Map<string, Backlog<Job>>();
  private readonly idempotent = new Map<string, Promise<unknown>>();
  private readonly idempotencyLimit = 10_000;
  /** {@link plainRequest}'s requests, per pool type and task name. */
  private readonly plainRequests = new Map<string, Map<string, AcquireRequest>>();
  /** Delayed and backing-off tasks per type (not queued: not eligible yet, not demand for the scaler). */
  private readonly sleeping = new Map<string, Set<Job>>();
  /** Rate limiters by pool type (pool option `rateLimit`). */
  private readonly rates = new Map<string, RateLimiter>();
  /** Aging sweeps per pool type with `agingMs` (armed while its queue is non-empty). */
  private readonly agingTimers = new Map<string, TimerHandle>();
  /** Jitter of retry backoffs: seeded, so a run on a ManualClock is reproducible. */
  private readonly rng = createRng(0x5eed);
  private seq = 0;
  private assigning = false;
  readonly stats: DispatcherStats = {
    submitted: 0,
    completed: 0,
    failed: 0,
    requeued: 0,
    expired: 0,
    cancelled: 0,
    deduplicated: 0,
    retried: 0,
    rejectedFull: 0,
    queued: 0,
    sleeping: 0,
    running: 0,
  };

  /**
   * @param actor the dispatcher's actor: the system actor's child `dispatcher` (its `assign` and
   *   `rejectQueued` actions are this object's methods, wired in src/runtime/tree.ts)
   */
  constructor(
    private readonly pools: ReadonlyMap<string, Pool>,
    private readonly clock: Clock,
    private readonly limits: Partial<Record<ResourceName, number>>,
    actor: DispatcherRef,
    rates: ReadonlyMap<string, RateLimiter> = new Map(),
  ) {
    this.actor = actor;
    for (const [type, limiter] of rates) this.rates.set(type, limiter);
    for (const [type, pool] of pools) {
      if (pool.config.dispatch === 'work-stealing') this.stealing.register(type, pool.config.stealThreshold);
      const backlog = new Backlog<Job>(
        (job) => this.isQueued(job),
        () => (this.stealing.handles(type) ? this.stealing.sizeOf(type) : this.queue.sizeOf(type)),
      );
      this.backlogs.set(type, backlog);
      const limiter = this.rates.get(type);
      pool.setBacklog(
        limiter
          ? () => {
              // Tasks held back by the rate limit are not demand more agents could serve: the scaler
              // sees them as `rateLimited`, not as waiters (and records why it holds).
              const b = backlog.read();
              // The limit's request rate also caps what the scaler sizes for (decideScaling).
              const rpm = limiter.config.requestsPerMinute;
              const cap = rpm === undefined ? {} : { startRateLimitPerS: rpm / 60 };
              if (b.count === 0 || limiter.allowsRequest(this.clock.now())) return { ...b, ...cap };
              return { count: 0, oldestAt: undefined, rateLimited: b.count, ...cap };
            }
          : () => backlog.read(),
      );
      pool.setQueueLength(() => this.waitingOf(type));
    }
    for (const [type, pool] of pools) pool.onFailed = (err) => this.failType(type, err);
  }

  /** Lifecycle, read from the dispatcher machine: tasks are taken until it drains. */
  private get accepting(): boolean {
    // The state value compared directly: `matches()` allocated about 600 bytes per call, twice per
    // task (issue 14: a sixth of submit()'s garbage).
    const s = this.actor.getSnapshot();
    return s.status === 'active' && (s.value === 'idle' || s.value === 'dispatching');
  }

  /** The pool of `type` gave up starting agents: its queued tasks fail with that error (none run). */
  private failType(type: string, err: Error): void {
    const jobs: Job[] = [];
    for (let t = this.queue.popClass(type); t; t = this.queue.popClass(type)) jobs.push(t.payload);
    if (this.stealing.handles(type)) jobs.push(...this.stealing.takeType(type));
    for (const job of [...(this.sleeping.get(type) ?? [])]) if (this.unsleep(job)) jobs.push(job);
    for (const job of jobs) {
      this.stats.failed++;
      this.drop(job, err);
    }
  }

  /**
   * Validate and queue a task; resolves with its result. Bad input rejects and leaves the queue
   * unchanged. `trace`: the OTel context its runs' spans are children of (the system's submit span).
   */
  submit(raw: SubmitOptions, trace?: unknown): Promise<unknown> {
    let job: Job;
    try {
      if (!this.accepting) throw shuttingDown();
      const o = record('argument', 'submit', raw);
      const key =
        o.idempotencyKey === undefined
          ? undefined
          : str('argument', 'submit.idempotencyKey', o.idempotencyKey, 'k');
      if (key !== undefined) {
        const first = this.idempotent.get(key);
        if (first) {
          this.stats.deduplicated++;
          return first;
        }
      }
      job = this.parse(o);
      if (trace !== undefined) job.trace = trace;
      const limit = this.pools.get(job.type)!.config.maxQueue;
      if (limit !== Number.POSITIVE_INFINITY) {
        const waiting = this.waitingOf(job.type);
        if (waiting >= limit) {
          this.stats.rejectedFull++;
          throw new QueueFullError(job.type, waiting, limit);
        }
      }
      const p = new Promise<unknown>((resolve, reject) => {
        job.resolve = resolve;
        job.reject = reject;
      });
      // A task that can start now starts without the input walk below: its thread host turns a clone
      // error into the same typed error for this task alone (issue 14: the walk was a tenth of
      // submit()'s time at 1 KB). One that must wait is checked here, before it queues.
      const lease = job.notBefore === undefined ? this.leaseNow(job) : undefined;
      if (!lease) this.refuseUncloneable(job);
      if (key !== undefined) this.remember(key, p);
      this.stats.submitted++;
      this.pools.get(job.type)?.noteRequest(job.queuedAt);
      if (lease) this.start(job, lease);
      else if (job.notBefore !== undefined) this.sleep(job, job.notBefore);
      else this.enqueue(job);
      return p;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Remember a keyed submission's promise (`idempotencyKey`); the oldest goes beyond the limit. */
  private remember(key: string, p: Promise<unknown>): void {
    this.idempotent.set(key, p);
    if (this.idempotent.size > this.idempotencyLimit) {
      const oldest = this.idempotent.keys().next().value as string;
      this.idempotent.delete(oldest);
    }
    // A failed submission may be retried under the same key.
    p.catch(() => this.idempotent.delete(key));
  }

  /** A thread pool's task input must cross to a worker: name the property that cannot, not `{}`. */
  private refuseUncloneable(job: Job): void {
    if (job.input === undefined || this.pools.get(job.type)?.config.host !== 'thread') return;
    const bad = findUncloneable(job.input, 'submit.input');
    if (bad)
      throw new InvalidArgumentError(bad.path, bad.value, 'structured-cloneable data for a thread agent');
  }

  /**
   * Every check {@link submit} makes (options, pool, `maxQueue`), without queueing: the durable store
   * (src/cluster/durable.ts) refuses a bad submit before it stores anything.
   */
  validate(raw: SubmitOptions): void {
    const job = this.parse(record('argument', 'submit', raw));
    this.refuseUncloneable(job);
    const limit = this.pools.get(job.type)!.config.maxQueue;
    const waiting = this.waitingOf(job.type);
    if (waiting >= limit) {
      this.stats.rejectedFull++;
      throw new QueueFullError(job.type, waiting, limit);
    }
  }

  private parse(o: Record<string, unknown>): Job {
    knownKeys('argument', 'submit', o, SUBMIT_KEYS);
    const type = str('argument', 'submit.type', o.type, '' as string);
    const pool = this.pools.get(type);
    if (!pool) throw new UnknownPoolError(type, [...this.pools.keys()]);
    const broken = pool.unservable();
    if (broken) throw broken;
    const task = str('argument', 'submit.task', o.task, '' as string);
    if (task === '') throw new InvalidArgumentError('submit.task', o.task, 'a task name');
    const priority = str('argument', 'submit.priority', o.priority, 'medium', PRIORITIES);
    const now = this.clock.now();
    let deadline: number | undefined;
    if (o.deadline !== undefined && o.deadlineMs !== undefined)
      throw new InvalidArgumentError(
        'submit.deadlineMs',
        o.deadlineMs,
        'either deadline or deadlineMs, not both',
      );
    if (o.deadline !== undefined) {
      deadline = num('argument', 'submit.deadline', o.deadline, 0);
      // The timer that expires it must stay within Node's range too.
      if (!(deadline - now <= MAX_DURATION_MS))
        throw new InvalidArgumentError(
          'submit.deadline',
          o.deadline,
          `a clock time at most ${MAX_DURATION_MS} ms ahead (now ${now})`,
        );
      if (deadline <= now) throw new DeadlineExceededError(task, deadline, now);
    } else if (o.deadlineMs !== undefined) {
      deadline = now + duration('argument', 'submit.deadlineMs', o.deadlineMs, 0, { positive: true });
    }
    let notBefore: number | undefined;
    if (o.delayMs !== undefined && o.notBefore !== undefined)
      throw new InvalidArgumentError(
        'submit.notBefore',
        o.notBefore,
        'either delayMs or notBefore, not both',
      );
    if (o.delayMs !== undefined) {
      const d = duration('argument', 'submit.delayMs', o.delayMs, 0);
      if (d > 0) notBefore = now + d;
    } else if (o.notBefore !== undefined) {
      const at = num('argument', 'submit.notBefore', o.notBefore, 0);
      if (!(at - now <= MAX_DURATION_MS))
        throw new InvalidArgumentError(
          'submit.notBefore',
          o.notBefore,
          `a clock time at most ${MAX_DURATION_MS} ms ahead (now ${now})`,
        );
      if (at > now) notBefore = at;
    }
    // The pool's queueTimeoutMs is the default start-by deadline, counted from when the task is eligible.
    if (deadline === undefined && pool.config.queueTimeoutMs !== undefined)
      deadline = (notBefore ?? now) + pool.config.queueTimeoutMs;
    if (deadline !== undefined && notBefore !== undefined && deadline <= notBefore)
      throw new InvalidArgumentError(
        o.deadline !== undefined ? 'submit.deadline' : 'submit.deadlineMs',
        o.deadline ?? o.deadlineMs,
        `a deadline after the task's start time ${notBefore} (delayMs/notBefore)`,
      );
    const retry = o.retry === undefined ? pool.config.retry : parseRetry('argument', 'submit.retry', o.retry);
    if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
      throw new InvalidArgumentError('submit.onProgress', o.onProgress, 'a function');
    // A submit that names no requirements, capabilities, cycle or concurrency key of its own (the
    // common case) makes the same request as every other such submit of its task: built once.
    const req =
      o.requirements === undefined &&
      o.capabilities === undefined &&
      o.cycleId === undefined &&
      o.concurrencyKey === undefined &&
      o.concurrencyLimit === undefined
        ? this.plainRequest(pool, type, task)
        : this.request(o, pool, type, task);
    const signal = sig('argument', 'submit.signal', o.signal);
    if (signal?.aborted) throw new AbortedError(`submit(${task})`, signal.reason);
    const timeoutMs =
      o.timeoutMs === undefined
        ? undefined
        : duration('argument', 'submit.timeoutMs', o.timeoutMs, 0, { positive: true });
    return {
      id: `task-${++this.seq}`,
      type,
      task,
      input: o.input,
      priority,
      deadline,
      timeoutMs,
      req,
      signal,
      maxAttempts: num('argument', 'submit.maxAttempts', o.maxAttempts, 3, { min: 1, integer: true }),
      attempts: 0,
      queuedAt: now,
      causes: [],
      resolve: unset,
      reject: unset,
      timer: undefined,
      onAbort: undefined,
      settled: false,
      retry: retry !== undefined && retry.attempts > 1 ? retry : undefined,
      notBefore,
      wake: undefined,
      onProgress: o.onProgress as ((value: unknown) => void) | undefined,
    };
  }

  /**
   * The request of a submit with none of its own requirements, capabilities, cycle or concurrency key:
   * one frozen object per pool and task name (issue 14: building and checking it was most of parse's
   * time and garbage), so nothing downstream may change it — a write would throw. A pool whose
   * defaults can never fit throws on every call (nothing is cached for it).
   */
  private plainRequest(pool: Pool, type: string, task: string): AcquireRequest {
    let byTask = this.plainRequests.get(type);
    if (!byTask) this.plainRequests.set(type, (byTask = new Map()));
    const hit = byTask.get(task);
    if (hit) return hit;
    const req = deepFreeze(this.request({}, pool, type, task));
    // Task names come from callers: a bounded cache, so a stream of unknown names costs no memory.
    if (byTask.size < PLAIN_REQUEST_CACHE) byTask.set(task, req);
    return req;
  }

  /** The acquire request of a submit: validated requirements, capabilities, cycle, concurrency key. */
  private request(o: Record<string, unknown>, pool: Pool, type: string, task: string): AcquireRequest {
    const requirements = parseRequirements(
      o.requirements,
      'submit.requirements',
      pool.config.requirementDefaults,
    );
    const never = neverFits(requirements, pool.config, this.limits);
    if (never) throw never;
    const caps = strings('argument', 'submit.capabilities', o.capabilities, []);
    if (caps.length > 0) {
      const offered = poolOffers(pool.config);
      const missing = caps.filter((c) => !offered.has(c));
      if (missing.length > 0)
        throw new InvalidArgumentError(
          'submit.capabilities',
          missing,
          `capabilities of pool ${type} (${[...offered].join(', ') || 'none'})`,
        );
    }
    const cycleId = str('argument', 'submit.cycleId', o.cycleId, 'submit');
    const concurrencyKey =
      o.concurrencyKey === undefined
        ? undefined
        : str('argument', 'submit.concurrencyKey', o.concurrencyKey, 'k');
    return {
      cycleId,
      requirements,
      timeoutMs: 1,
      signal: undefined,
      concurrencyKey,
      concurrencyLimit: num('argument', 'submit.concurrencyLimit', o.concurrencyLimit, 1, {
        min: 1,
        integer: true,
      }),
      // What the pool's balancing strategy learns from: the task name, what it needs and prefers.
      task: {
        type: task,
        requirements: amountsOf(requirements) as Record<string, number>,
        ...(caps[0] !== undefined || requirements.specialization !== undefined
          ? { specialization: requirements.specialization ?? caps[0]! }
          : {}),
        ...(o.cycleId !== undefined ? { affinityKey: cycleId } : {}),
      },
    };
  }

  /**
   * Tasks waiting for pool `type` in any way — queued, delayed, backing off before a retry: what
   * `maxQueue` bounds and what `system.pool(type).queued` reports.
   */
  waitingOf(type: string): number {
    const queued = this.stealing.handles(type) ? this.stealing.sizeOf(type) : this.queue.sizeOf(type);
    return queued + (this.sleeping.get(type)?.size ?? 0);
  }

  private get sleepingCount(): number {
    let n = 0;
    for (const set of this.sleeping.values()) n += set.size;
    return n;
  }

  /**
   * Hold a task out of the queue until `at` (a delay, or a retry's backoff): it is not eligible, so no
   * agent and no scaler counts it; its signal and its deadline still apply.
   */
  private sleep(job: Job, at: number): void {
    let set = this.sleeping.get(job.type);
    if (!set) this.sleeping.set(job.type, (set = new Set()));
    set.add(job);
    job.wake = this.clock.setTimeout(() => {
      job.wake = undefined;
      if (this.unsleep(job)) this.enqueue(job);
    }, at - this.clock.now());
    if (job.deadline !== undefined && job.timer === undefined)
      job.timer = this.clock.setTimeout(() => this.expire(job), job.deadline - this.clock.now());
    if (job.signal && !job.onAbort) {
      job.onAbort = () => this.cancel(job);
      job.signal.addEventListener('abort', job.onAbort, { once: true });
    }
  }

  private isSleeping(job: Job): boolean {
    return this.sleeping.get(job.type)?.has(job) ?? false;
  }

  /** Take a task out of its sleep (woken, cancelled, expired, drained); false if it was not asleep. */
  private unsleep(job: Job): boolean {
    const set = this.sleeping.get(job.type);
    if (!set?.delete(job)) return false;
    if (job.wake !== undefined) {
      this.clock.clearTimeout(job.wake);
      job.wake = undefined;
    }
    return true;
  }

  /** Queued tasks, central and work-stealing. */
  private get queuedCount(): number {
    return this.queue.size + this.stealing.size;
  }

  private isQueued(job: Job): boolean {
    return this.queue.has(job.id) || this.stealing.has(job);
  }

  private removeQueued(job: Job): boolean {
    return this.queue.remove(job.id) !== undefined || this.stealing.remove(job) || this.unsleep(job);
  }

  /**
   * Fast path: nothing of its type is queued ahead of it and an agent is free — a lease to start it
   * at once (in work-stealing mode too: binding it to that idle agent's deque only to pop it again is
   * waste). The dispatcher actor models the queue; a task that never queues costs it no event (as an
   * acquire() that is granted at once costs no acquisition actor). Sets the job's `queuedAt`.
   */
  private leaseNow(job: Job): ReturnType<Pool['tryLease']> | undefined {
    const pool = this.pools.get(job.type);
    job.queuedAt = this.clock.now();
    const queuedAhead = this.stealing.handles(job.type)
      ? this.stealing.sizeOf(job.type)
      : this.queue.sizeOf(job.type);
    const limiter = this.rates.size === 0 ? undefined : this.rates.get(job.type);
    if (!pool || queuedAhead > 0 || (limiter && !limiter.allowsRequest(job.queuedAt))) return undefined;
    const lease = pool.tryLease(job.req, job.queuedAt);
    if (lease) limiter?.takeRequest(job.queuedAt);
    return lease ?? undefined;
  }

  private enqueue(job: Job): void {
    const pool = this.pools.get(job.type);
    const lease = this.leaseNow(job);
    if (lease) {
      this.start(job, lease);
      return;
    }
    const wasEmpty = this.queuedCount === 0;
    if (pool && this.stealing.handles(job.type)) {
      this.stealing.enqueue(job.type, pool, job);
    } else {
      this.queue.push({
        id: job.id,
        priority: job.priority,
        ...(job.deadline !== undefined ? { deadline: job.deadline } : {}),
        classKey: job.type,
        payload: job,
      });
    }
    this.backlogs.get(job.type)?.add(job);
    if (job.deadline !== undefined && job.timer === undefined) {
      job.timer = this.clock.setTimeout(() => this.expire(job), job.deadline - this.clock.now());
    }
    if (job.signal && !job.onAbort) {
      job.onAbort = () => this.cancel(job);
      job.signal.addEventListener('abort', job.onAbort, { once: true });
    }
    if (pool && pool.config.agingMs > 0 && !this.stealing.handles(job.type)) this.armAging(job.type, pool);
    if (wasEmpty) this.actor.send({ type: 'TASK_QUEUED' });
    this.assign();
  }

  /**
   * Priority aging (pool option `agingMs`): every `agingMs` while the type has queued tasks, a task
   * that has waited `k · agingMs` is raised `k` levels above the priority it was submitted with, never
   * above `high`. A raised task joins its new level behind the tasks already there (FIFO), so under any
   * load a low task waits at most until it is `high` plus the `high` work queued ahead of it then.
   */
  private armAging(type: string, pool: Pool): void {
    if (this.agingTimers.has(type)) return;
    const step = pool.config.agingMs;
    this.agingTimers.set(
      type,
      this.clock.setTimeout(() => {
        this.agingTimers.delete(type);
        if (this.queue.sizeOf(type) === 0) return;
        const now = this.clock.now();
        for (const t of this.queue.classTasks(type)) {
          const base = PRIORITIES.indexOf(t.payload.priority);
          if (base <= 1) continue; // critical and high do not age
          const target = Math.max(1, base - Math.floor((now - t.payload.queuedAt) / step));
          if (target < PRIORITIES.indexOf(t.priority)) this.queue.promote(t.id, PRIORITIES[target]!);
        }
        this.armAging(type, pool);
      }, step),
    );
  }

  /**
   * A pool has a free agent: pull work — only with work queued (the common case has none) and only
   * while the chart is in `dispatching`, whose placement is {@link assign}. A freed slot changes no
   * state of the chart, so it is not an event (issue 14: one per finished task under backlog).
   */
  onFreed(): void {
    if (this.queuedCount > 0 && this.actor.getSnapshot().value === 'dispatching') this.assign();
  }

  /**
   * Work-stealing counters and queue layout of one pool type; undefined for a `'central'` pool.
   * @example
   * ```ts
   * system.dispatcher.stealingStatus('code')?.stats.steals; // steal operations so far
   * ```
   */
  stealingStatus(
    type: string,
  ): { stats: StealStats; global: number; locals: Record<string, number> } | undefined {
    const stats = this.stealing.stats(type);
    const layout = this.stealing.layout(type);
    return stats && layout ? { stats, ...layout } : undefined;
  }

  /** Tell the actor the queue emptied — only on the edge (in `idle` the event would be a no-op step). */
  private sendIfEmpty(): void {
    if (this.queuedCount === 0 && this.actor.getSnapshot().value === 'dispatching')
      this.actor.send({ type: 'QUEUE_EMPTY' });
  }

  /** Place every task that can be placed now. */
  /** The machine's `assign`: place every queued task that can start now. @internal */
  assign(): void {
    if (this.assigning) return; // re-entered from a synchronous release inside the loop
    this.assigning = true;
    try {
      const refused = new Set<string>();
      const now = this.rates.size === 0 ? 0 : this.clock.now();
      let rateRefused: Set<RateLimiter> | undefined;
      for (;;) {
        let lease: ReturnType<Pool['tryLease']>;
        const t = this.queue.popFirstClass((cls, head) => {
          const limiter = this.rates.size === 0 ? undefined : this.rates.get(cls);
          if (limiter && !limiter.allowsRequest(now)) {
            // Waiting on the rate, not on agents: no capacity request (more agents would not help).
            (rateRefused ??= new Set()).add(limiter);
            return false;
          }
          lease = this.pools.get(cls)?.tryLease(head.payload.req, head.payload.queuedAt);
          if (!lease) refused.add(cls);
          else limiter?.takeRequest(now);
          return lease !== undefined;
        });
        if (!t || !lease) break;
        refused.delete(t.classKey);
        this.start(t.payload, lease);
      }
      if (rateRefused) for (const limiter of rateRefused) limiter.armRequestWake(now);
      for (const cls of refused) this.pools.get(cls)?.requestCapacity(this.queue.sizeOf(cls));
      for (const type of this.stealing.types()) {
        const pool = this.pools.get(type);
        if (!pool || this.stealing.sizeOf(type) === 0) continue;
        const left = this.stealing.place(
          type,
          pool,
          (job, lease) => this.start(job, lease),
          // A steal is an explicit transition of the dispatcher actor (visible in the inspector).
          (count) => this.actor.send({ type: 'TASKS_STOLEN', count }),
        );
        if (left > 0) pool.requestCapacity(left);
      }
      this.sendIfEmpty();
    } finally {
      this.assigning = false;
    }
  }

  private start(job: Job, lease: NonNullable<ReturnType<Pool['tryLease']>>): void {
    if (job.timer !== undefined) {
      this.clock.clearTimeout(job.timer);
      job.timer = undefined;
    }
    job.attempts++;
    this.running.add(job);
    // Options parse() validated already: run without a second check, and with one shared empty object
    // for the plain task (issue 14).
    let opts: LeaseRunOptions = NO_RUN_OPTIONS;
    if (job.timeoutMs !== undefined || job.signal || job.onProgress) {
      opts = {};
      if (job.timeoutMs !== undefined) opts.timeoutMs = job.timeoutMs;
      if (job.signal) opts.signal = job.signal;
      if (job.onProgress) opts.onProgress = job.onProgress;
    }
    lease.startValidated(job.trace, job.task, job.input, opts, 'submit.input', new JobRun(this, job, lease));
  }

  /** A job's run succeeded (its {@link JobRun}). @internal */
  runSucceeded(job: Job, lease: RunLease, value: unknown): void {
    this.running.delete(job);
    this.stats.completed++;
    job.resolve(value);
    this.afterRun(job, lease);
  }

  /** A job's run failed: re-queue it if its agent went away, retry it under `retry`, else fail. @internal */
  runFailed(job: Job, lease: RunLease, err: AgentPoolError): void {
    this.running.delete(job);
    this.settleFailure(job, err);
    this.afterRun(job, lease);
  }

  private settleFailure(job: Job, err: AgentPoolError): void {
    if (AGENT_LOSS.has(err?.code) && !job.signal?.aborted && this.accepting) {
      job.causes.push(err);
      if (job.attempts < job.maxAttempts) {
        this.stats.requeued++;
        this.actor.send({ type: 'TASK_REQUEUED' });
        this.enqueue(job);
        return;
      }
      this.stats.failed++;
      job.reject(new TaskFailedError(job.task, job.attempts, job.causes));
      return;
    }
    if (job.retry !== undefined) {
      this.retryOrFail(job, err);
      return;
    }
    this.stats.failed++;
    job.reject(err);
  }

  /**
   * A run under `retry` failed: sleep the backoff and queue again (same priority, same idempotency
   * promise), or fail — with the error itself when it is the first and final (or a cancellation),
   * else `ERR_TASK_FAILED` carrying every attempt's cause.
   */
  private retryOrFail(job: Job, err: AgentPoolError): void {
    const policy = job.retry!;
    job.causes.push(err);
    const retryable = isRetryable(err) && !job.signal?.aborted && this.accepting;
    if (retryable && job.attempts < policy.attempts) {
      const now = this.clock.now();
      const at = now + backoffMs(policy, job.attempts, this.rng.next());
      // A retry that could not start before its deadline is not attempted.
      if (job.deadline === undefined || at < job.deadline) {
        this.stats.retried++;
        this.pools.get(job.type)?.metrics.recordRetry();
        this.sleep(job, at);
        return;
      }
    }
    this.stats.failed++;
    // A cancellation stays ERR_ABORTED whatever came before it (the caller asked for it).
    const single = job.causes.length === 1 || err?.code === 'ERR_ABORTED';
    job.reject(single ? err : new TaskFailedError(job.task, job.attempts, job.causes));
  }

  /** After a run settled its job's promise (or re-queued it): give the lease back; a drain hears of it. */
  private afterRun(job: Job, lease: RunLease): void {
    if (this.isQueued(job) || this.isSleeping(job)) {
      void lease.release();
      return;
    }
    job.settled = true;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    void lease.release();
    if (!this.accepting) this.actor.send({ type: 'RUNNING_DONE', remaining: this.running.size });
  }

  private expire(job: Job): void {
    job.timer = undefined;
    if (!this.removeQueued(job)) return;
    this.stats.expired++;
    this.actor.send({ type: 'TASK_EXPIRED' });
    this.drop(job, new DeadlineExceededError(job.task, job.deadline ?? 0, this.clock.now()));
  }

  private cancel(job: Job): void {
    // Running tasks are cancelled by the same signal inside lease.run (ERR_ABORTED).
    if (!this.removeQueued(job)) return;
    this.stats.cancelled++;
    this.drop(job, new AbortedError(`task ${job.task}`, job.signal?.reason));
  }

  private drop(job: Job, err: unknown): void {
    if (job.timer !== undefined) this.clock.clearTimeout(job.timer);
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    job.settled = true;
    job.reject(err);
    this.sendIfEmpty();
  }

  /** The machine's `rejectQueued`: every queued task fails with ERR_SHUTTING_DOWN. @internal */
  rejectQueued(): void {
    for (let t = this.queue.pop(); t; t = this.queue.pop()) {
      this.stats.cancelled++;
      this.drop(t.payload, shuttingDown());
    }
    for (const job of this.stealing.takeAll()) {
      this.stats.cancelled++;
      this.drop(job, shuttingDown());
    }
    for (const set of this.sleeping.values())
      for (const job of [...set]) {
        this.unsleep(job);
        this.stats.cancelled++;
        this.drop(job, shuttingDown());
      }
    for (const t of this.agingTimers.values()) this.clock.clearTimeout(t);
    this.agingTimers.clear();
  }

  /** Stop taking tasks; reject queued ones; resolves when running ones finished. */
  drain(): Promise<void> {
    if (this.actor.getSnapshot().status !== 'active') return Promise.resolve();
    this.actor.send({ type: 'DRAIN' });
    return whenDone(this.actor);
  }

  /** Tasks running now (the machine's `nothingRunning` guard). */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * A durable submit joined a task the store already holds (src/cluster/durable.ts decides that, not
   * this dispatcher's idempotency map): counted in `status().tasks.deduplicated` like a local one.
   */
  noteDeduplicated(): void {
    this.stats.deduplicated++;
  }

  /** Current counters. */
  snapshot(): DispatcherStats {
    return {
      ...this.stats,
      queued: this.queuedCount,
      sleeping: this.sleepingCount,
      running: this.running.size,
    };
  }
}

/** What a job's run needs of its lease once it ended. */
type RunLease = { release(): Promise<void> };

/**
 * One run of a job on a lease: what its agent tells how it ended. One small object per run instead of
 * a promise with two reactions and their closures (issue 14).
 */
class JobRun implements RunReceiver {
  constructor(
    private readonly d: Dispatcher,
    private readonly job: Job,
    private readonly lease: RunLease,
  ) {}

  resolve(value: unknown): void {
    this.d.runSucceeded(this.job, this.lease, value);
  }

  reject(error: unknown): void {
    this.d.runFailed(this.job, this.lease, error as AgentPoolError);
  }
}

function shuttingDown(): AgentPoolError {
  return new AgentPoolError('ERR_SHUTTING_DOWN', 'the system is shutting down; no new tasks');
}
