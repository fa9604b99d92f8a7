/**
 * A lease: the right to run tasks on one agent for a cycle, until released. Released exactly once —
 * by the caller, or automatically when the agent dies or the system shuts down.
 */
import { AgentPoolError, InvalidArgumentError } from '../core/errors.js';
import { duration, knownKeys, num, record, signal } from '../core/validate.js';
import type { TaskView } from '../policies/balancing/index.js';
import type { AgentHandle, EnforcementRecord, RunOptions, RunReceiver } from './agent-handle.js';
import type { Requirements } from './requirements.js';
import type { AgentHandlers } from '../agent/define.js';
import type { TaskInput, TaskName, TaskOutput } from './task-types.js';

/** What the pool needs to take a lease back. */
export interface LeaseOwner {
  releaseLease(lease: Lease): void;
  /** A task run starts on `lease`; the returned callback hears how it ended (balancing feedback). */
  taskStarted?(lease: Lease, task: string): ((ok: boolean) => void) | undefined;
}

/** Resource use a lease reports: what its agent really uses now (rebalancing input). */
export interface LeaseUsage {
  /** Heap MB in use. */
  memoryMb?: number;
  /** CPU cores busy. */
  cpuCores?: number;
}

const USAGE_KEYS = new Set(['memoryMb', 'cpuCores']);

/** Options of {@link Lease.run}: the caller's part of the agent's run options. */
export type LeaseRunOptions = Pick<RunOptions, 'timeoutMs' | 'signal' | 'onProgress'>;

const RUN_KEYS: ReadonlySet<string> = new Set(['timeoutMs', 'signal', 'onProgress']);

/** Validate `lease.run` options; throws `ERR_INVALID_ARGUMENT` naming `options.<key>`. */
function parseRunOptions(raw: unknown): LeaseRunOptions {
  const o = record('argument', 'options', raw);
  knownKeys('argument', 'options', o, RUN_KEYS);
  const timeoutMs =
    o.timeoutMs === undefined
      ? undefined
      : duration('argument', 'options.timeoutMs', o.timeoutMs, 0, { positive: true });
  const sig = signal('argument', 'options.signal', o.signal);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new InvalidArgumentError('options.onProgress', o.onProgress, 'a function');
  return {
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(sig ? { signal: sig } : {}),
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress as (value: unknown) => void } : {}),
  };
}

/**
 * Arguments of `lease.run(task, …)` after the task name: the input (optional exactly when the task
 * accepts `undefined`), then the options.
 */
export type RunArgs<H, K> =
  undefined extends TaskInput<H, K>
    ? [input?: TaskInput<H, K>, options?: LeaseRunOptions]
    : [input: TaskInput<H, K>, options?: LeaseRunOptions];

/**
 * A granted acquisition. `H` is the leased agent's task handler map (typed `run`, see
 * src/runtime/typed.ts); the default is the wide map. `await using lease = await system.acquire(…)`
 * releases it when the scope ends.
 */
export class Lease<H = AgentHandlers> implements AsyncDisposable {
  private releasedFlag = false;
  /** Why the lease ended without the caller releasing it, if it did. */
  lostReason: string | undefined;
  /** Give back what the global ledger reserved for this lease (set by the pool). @internal */
  releaseResources: ((cause?: 'expired') => void) | undefined;
  /**
   * The lease's resource allocation, when it reserved resources (`requirements`): its id (an actor of
   * the pool, `allocation:<id>` in the tree) and the amounts granted now — the allocation optimiser may
   * grant more or less than asked, and the rebalancer resizes it; a thread agent's memory watchdog
   * follows `amounts.memoryMb`.
   */
  allocation: { id: string; amounts: Readonly<Record<string, number>>; expiresAt: number } | undefined;
  /** What the pool's balancing strategy was told about this lease's work (set by the pool). @internal */
  task: TaskView | undefined;
  /** Task runs started on this lease (each is one dispatch for the balancing strategy). @internal */
  runs = 0;
  /** Peak use reported since the rebalancer last looked, and how many reports it is over. */
  private usagePeak: LeaseUsage | undefined;
  private usageSamples = 0;

  constructor(
    /** Unique id. */
    readonly id: string,
    /** Pool type. */
    readonly type: string,
    /** The cycle (e.g. a TDD story) this lease serves. */
    readonly cycleId: string,
    /** What was asked for. */
    readonly requirements: Requirements,
    /** Concurrency key held, if any. */
    readonly concurrencyKey: string | undefined,
    /** The agent. */
    readonly agent: AgentHandle,
    private readonly owner: LeaseOwner,
    /** When it was granted (clock ms). */
    readonly grantedAt: number,
    /** How long the acquire waited (ms). */
    readonly waitedMs: number,
  ) {}

  /** This lease as the runtime sees it (task types are the caller's view only). */
  private get untyped(): Lease {
    return this as unknown as Lease;
  }

  /** The agent's id. */
  get agentId(): string {
    return this.agent.id;
  }

  /**
   * What the leased agent's isolation enforces: profile, tier, tools, network and file policy, the
   * limits as enforced (a hard heap cap or none; CPU only ever a weight), workspace, the time its
   * environment started, and its denials so far.
   */
  get enforcement(): EnforcementRecord {
    return this.agent.enforcement;
  }

  /** True once the allocation's TTL ended the lease (see {@link expire}). */
  get hasExpired(): boolean {
    return this.expired;
  }

  /** True once released (by the caller or automatically). */
  get released(): boolean {
    return this.releasedFlag;
  }

  /**
   * Run a task on the leased agent.
   *
   * Options are validated before anything is sent: `timeoutMs` a duration > 0 and <= `MAX_DURATION_MS`,
   * `signal` an `AbortSignal`, no other keys — else the promise rejects with `ERR_INVALID_ARGUMENT`
   * naming `options.<key>` and the lease is untouched.
   *
   * @example
   * ```ts
   * const out = await lease.run('implement', { story }, { timeoutMs: 60_000, signal });
   * ```
   */
  run<K extends TaskName<H>>(task: K, ...args: RunArgs<H, K>): Promise<TaskOutput<H, K>>;
  run(task: string, input?: unknown, opts: LeaseRunOptions = {}): Promise<unknown> {
    return this.runIn(undefined, task, input, opts);
  }

  /**
   * {@link run} with the run's span parented by `trace` (an OTel context; undefined: the caller's
   * active context). The dispatcher passes a submitted task's span, and `inputPath` (`submit.input`):
   * how an input the worker cannot receive is named in its error. @internal
   */
  runIn(
    trace: unknown,
    task: string,
    input?: unknown,
    opts: LeaseRunOptions = {},
    inputPath?: string,
  ): Promise<unknown> {
    let options: LeaseRunOptions;
    try {
      options = parseRunOptions(opts);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.runValidated(trace, task, input, options, inputPath);
  }

  /**
   * {@link runIn} with options its caller already validated: no second parse per task. @internal
   */
  runValidated(
    trace: unknown,
    task: string,
    input: unknown,
    options: LeaseRunOptions,
    inputPath?: string,
  ): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.startValidated(trace, task, input, options, inputPath, { resolve, reject }),
    );
  }

  /**
   * {@link runValidated} without a promise: `to` hears the run's end once, never synchronously (see
   * `AgentHandle.start`). The dispatcher's way (issue 14). @internal
   */
  startValidated(
    trace: unknown,
    task: string,
    input: unknown,
    options: LeaseRunOptions,
    inputPath: string | undefined,
    to: RunReceiver,
  ): void {
    if (this.releasedFlag) {
      const err = this.expired
        ? this.expiredError()
        : new AgentPoolError(
            'ERR_LEASE_RELEASED',
            `lease ${this.id} was released${this.lostReason ? `: ${this.lostReason}` : ''}`,
            { details: { leaseId: this.id } },
          );
      queueMicrotask(() => to.reject(err));
      return;
    }
    const memoryMb = this.allocation?.amounts.memoryMb ?? this.requirements.memoryMb;
    const done = this.owner.taskStarted?.(this.untyped, task);
    // Built field by field, not `{ ...options, … }`: on Node 20 (V8 11.3) a spread followed by more
    // properties builds a fresh map per object, ~4 µs per task (issue 14).
    const runOpts: RunOptions = { cycleId: this.cycleId, leaseId: this.id };
    if (options.timeoutMs !== undefined) runOpts.timeoutMs = options.timeoutMs;
    if (options.signal) runOpts.signal = options.signal;
    if (options.onProgress) runOpts.onProgress = options.onProgress;
    if (trace !== undefined) runOpts.trace = trace;
    // The lease's memory allocation: a thread agent whose heap stays above it is stopped.
    if (memoryMb !== undefined) runOpts.memoryMb = memoryMb;
    if (inputPath !== undefined) runOpts.inputPath = inputPath;
    // The balancing strategy hears the end first (as before, when it was a reaction on the promise).
    this.agent.start(
      task,
      input,
      runOpts,
      done
        ? {
            resolve: (v) => {
              done(true);
              to.resolve(v);
            },
            reject: (e) => {
              done(false);
              to.reject(e);
            },
          }
        : to,
    );
  }

  /**
   * `await using lease = await system.acquire(…)`: the lease is released when the scope ends, however
   * it ends (return, throw). Same as {@link release}. — test/runtime/dispose.test.ts
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Give the agent back. Idempotent. */
  release(): Promise<void> {
    if (!this.releasedFlag) {
      this.releasedFlag = true;
      this.owner.releaseLease(this.untyped);
    }
    return Promise.resolve();
  }

  /**
   * Report what the leased agent uses now. With the system option `rebalance`, the rebalancer resizes
   * the lease's allocation to the peak reported over each interval (peak, not mean: shrinking to a
   * mean starves the next spike). Reports after release are ignored.
   *
   * @throws {InvalidArgumentError} unknown keys, negative or non-finite amounts (nothing recorded).
   * @example lease.reportUsage({ memoryMb: process.memoryUsage().heapUsed / 2 ** 20 });
   */
  reportUsage(usage: LeaseUsage): void {
    const o = record('argument', 'usage', usage);
    knownKeys('argument', 'usage', o, USAGE_KEYS);
    const memoryMb =
      o.memoryMb === undefined ? undefined : num('argument', 'usage.memoryMb', o.memoryMb, 0, { min: 0 });
    const cpuCores =
      o.cpuCores === undefined ? undefined : num('argument', 'usage.cpuCores', o.cpuCores, 0, { min: 0 });
    if (this.releasedFlag) return;
    // A resource never reported stays absent (unknown), so it is not mistaken for "unused".
    const p: LeaseUsage = this.usagePeak ?? {};
    if (memoryMb !== undefined) p.memoryMb = Math.max(p.memoryMb ?? 0, memoryMb);
    if (cpuCores !== undefined) p.cpuCores = Math.max(p.cpuCores ?? 0, cpuCores);
    this.usagePeak = p;
    this.usageSamples++;
  }

  /**
   * The peak use reported since the last call and how many reports it covers, or undefined when none
   * came; starts a new window. For the rebalancer (src/runtime/rebalance.ts).
   * @internal
   */
  takeUsage(): { peak: LeaseUsage; samples: number } | undefined {
    const peak = this.usagePeak;
    const samples = this.usageSamples;
    this.usagePeak = undefined;
    this.usageSamples = 0;
    return peak === undefined ? undefined : { peak, samples };
  }

  private expired = false;

  private expiredError(): AgentPoolError {
    return new AgentPoolError(
      'ERR_LEASE_EXPIRED',
      `lease ${this.id} expired: its allocation's TTL passed before it was released`,
      {
        details: {
          leaseId: this.id,
          allocationId: this.allocation?.id,
          expiresAt: this.allocation?.expiresAt,
        },
      },
    );
  }

  /**
   * The allocation's TTL fired: the resources are already back in the ledger; running tasks are
   * aborted (their callers get `ERR_LEASE_EXPIRED`), later calls reject with it, the agent goes back.
   * @internal
   */
  expire(): void {
    if (this.releasedFlag) return;
    this.expired = true;
    this.lostReason = 'expired';
    this.agent.endLeaseTasks(this.id, this.expiredError());
    this.releasedFlag = true;
    this.owner.releaseLease(this.untyped);
  }

  /** Released by the runtime (agent lost, shutdown). */
  markLost(reason: string): void {
    if (this.releasedFlag) return;
    this.lostReason = reason;
    this.releasedFlag = true;
    this.owner.releaseLease(this.untyped);
  }
}
