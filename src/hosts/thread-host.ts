/**
 * The thread host: an agent in a `worker_threads` Worker.
 *
 * Two channels to the worker. Control calls (`init`, `ping`) go over Comlink. Tasks go over a
 * dedicated MessagePort with a small protocol of their own (thread-protocol.ts): every task started on
 * this host in the same tick is sent in ONE message, outcomes come back batched the same way, and each
 * side drains everything already queued on a wake-up (`receiveMessageOnPort`) before answering, so
 * batches grow with load by themselves. Per task that saves a Comlink proxy, a request id string, the
 * wire-value wrapping and, under load, most of the messages and wake-ups.
 *
 * Plain Comlink leaves a call pending forever when the worker dies. Here the host keeps every pending
 * task and control call, and rejects them all with a typed {@link AgentCrashedError} the moment the
 * worker exits, errors or is terminated; every later call rejects at once. Memory is capped with
 * `resourceLimits.maxOldGenerationSizeMb`; a worker that exceeds it dies with `ERR_AGENT_OUT_OF_MEMORY`.
 *
 * Large because the worker wire protocol (batched runs and outcomes, control calls, death handling
 * that delivers queued results first) must live with the one object that owns the worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { TaskOutcome } from '../agent/runner.js';
import { AgentCrashedError, AgentPoolError, deserializeError } from '../core/errors.js';
import { sleep } from '../core/clock.js';
import { type Host, type HostOptions, refusedRun, type TaskLimits, type TaskReceiver } from './host.js';
import { relayTool } from './tool-relay.js';
import {
  DONE_STRIDE,
  type InitResult,
  RUN_STRIDE,
  type SideMessage,
  WAKE_REQUESTS,
  WAKE_WAITING,
  type WorkerApi,
  type WorkerInit,
} from './thread-protocol.js';

const here = import.meta.url;
const bundledEntry = new URL('./thread-worker.bundle.js', here);
const unbundledEntry = new URL('./thread-worker.js', here);
const tsEntry = new URL('./thread-worker.ts', here);

/** The built entry: one bundled module (scripts/bundle-workers.mjs; starts faster), else tsc's output. */
function builtEntry(): URL | undefined {
  if (existsSync(fileURLToPath(bundledEntry))) return bundledEntry;
  return existsSync(fileURLToPath(unbundledEntry)) ? unbundledEntry : undefined;
}

/** Resolve the worker entry: the built one, or (running from sources) the .ts through a tsx bootstrap. */
function workerEntry(): { url: URL; tsEntry?: string } {
  const built = builtEntry();
  if (built) return { url: built };
  return { url: new URL('./ts-bootstrap.mjs', here), tsEntry: tsEntry.href };
}

/** Normalise an agent module reference to a file URL string, checking that the file exists. */
export function agentModuleUrl(agent: URL | string): string {
  const url =
    agent instanceof URL ? agent : agent.startsWith('file:') ? new URL(agent) : pathToFileURL(agent);
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new AgentPoolError('ERR_AGENT_MODULE', `agent module not found: ${url.href}`, {
      details: { module: url.href },
    });
  }
  return url.href;
}

/** Whether `specifier` can be imported from here (an optional peer such as tsx). */
async function canImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

/** Most queued messages handled per wake-up (keeps one wake-up's work bounded). */
const DRAIN_LIMIT = 64;

/** A task sent (or about to be sent) to the worker, waiting for its outcome. */
/**
 * Runs per `ap:run` message at most: a tick that starts more sends several. One message for a whole
 * tick (256 tasks in the bench) made the worker wait until all of it was cloned and received before
 * starting the first task; 16 lets the worker start while the main thread still clones. Alternated
 * runs of `bench dispatch` (2026-12-03): 64kb 777–883 → 991–1,018 tasks/s, 1kb 30k → 35–36k; `none`
 * unchanged within noise (80–83k against 75–106k); 8 lost on `none` (57–64k).
 */
export const MAX_BATCH_RUNS = 16;
const MAX_BATCH_SLOTS = MAX_BATCH_RUNS * RUN_STRIDE;

interface PendingTask {
  taskId: string;
  to: TaskReceiver;
}

/**
 * How a thread host wakes its worker for a message on the task channel: `undefined` through the port's
 * event only; otherwise the Atomics wake path (thread-protocol.ts, `WakeInit`) with these bounds.
 */
export type ThreadWake = { spinUs: number; holdMs: number } | undefined;

/**
 * The Atomics wake path's bounds: no spin (on a shared 2-core machine a spinning worker takes the core
 * the main thread needs to send the next task), and the worker's event loop held at most 1 ms per idle
 * entry (an agent's own timers and I/O wait at most that long).
 */
export const ATOMICS_WAKE: NonNullable<ThreadWake> = { spinUs: 0, holdMs: 1 };

/** TypeScript sources: the worker must register tsx before it can import one. */
const TS_MODULE = /\.(?:ts|mts|cts|tsx)$/;

/** Host that runs the agent in a worker thread. */
export class ThreadHost implements Host {
  /** Worker threads alive in this process (spawned and not yet exited), across all hosts. */
  static live = 0;
  /**
   * The wake path of hosts started from now on (read once, at start). Off (`undefined`: the port's
   * event) by default, because on this project's 2-core machine the Atomics path did not pay where
   * issue 14 needs it: `bench dispatch`, 7 runs × 7 rounds, 2026-12-03, load average 2.6–6 (shared):
   * sequential p50 of `agentpool-submit-atomics` / `agentpool-submit` 0.93–1.23, median 1.09 (slower:
   * the host's `Atomics.notify` is a second syscall on the main thread, which is the round trip's
   * bottleneck, next to the eventfd write `postMessage` does anyway); throughput at 256 in flight
   * 1.00–1.28, median 1.03 (no loss: a busy worker rarely waits). A spin before the wait was slower
   * still (it takes the core the main thread needs). Kept for the bench contender, so the measurement
   * can be repeated on a machine with free cores; test/integration/thread-wake.test.ts keeps it correct.
   */
  static wake: ThreadWake = undefined;
  readonly kind = 'thread' as const;
  private worker: Worker | undefined;
  /** True from spawn until the worker's `exit` event: the thread itself is still there. */
  private threadRunning = false;
  private readonly exitedPromise: Promise<void>;
  private markExited!: () => void;
  /** Our end of the task channel. */
  private port: MessagePort | undefined;
  /** The wake words shared with the worker (Atomics wake path), else undefined. */
  private wakeWords: Int32Array | undefined;
  private remote: Comlink.Remote<WorkerApi> | undefined;
  private deathError: AgentCrashedError | undefined;
  private stopping = false;
  private lastError: Error | undefined;
  /** Set when the worker reported its heap above the tasks' allocation (then it is terminated). */
  private memExceeded: { usedMb: number; allocatedMb: number } | undefined;
  /** Tasks in flight by call id. */
  private readonly tasks = new Map<number, PendingTask>();
  private nextCallId = 0;
  /** Runs not yet posted, flat: [callId, taskId, task, input, …] (see RunBatch). */
  private outbox: unknown[] = [];
  private flushQueued = false;
  private readonly flushNow = () => this.flush();
  /** Rejecters of control calls in flight, so a dead worker can never leave one hanging. */
  private readonly controls = new Set<(e: unknown) => void>();
  /** Resolved when no task is in flight (graceful stop waits on these). */
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: HostOptions) {
    this.exitedPromise = new Promise((resolve) => (this.markExited = resolve));
  }

  get alive(): boolean {
    return this.worker !== undefined && this.deathError === undefined;
  }

  get running(): boolean {
    return this.threadRunning;
  }

  /** Resolves once the worker thread has exited (at once if none was spawned). */
  exited(): Promise<void> {
    return this.worker === undefined ? Promise.resolve() : this.exitedPromise;
  }

  async start(): Promise<string[]> {
    if (typeof this.opts.agent === 'object' && !(this.opts.agent instanceof URL)) {
      throw new AgentPoolError(
        'ERR_INVALID_CONFIG',
        'thread agents need a module URL, not an inline definition',
        {
          details: { agentId: this.opts.agentId },
        },
      );
    }
    const agent = agentModuleUrl(this.opts.agent);
    const entry = workerEntry();
    // A TypeScript agent module needs tsx in the worker too (worker threads do not inherit a loader
    // registered with `register()`): start through the bootstrap that registers it, or say why not.
    if (TS_MODULE.test(new URL(agent).pathname) && !entry.tsEntry) {
      entry.tsEntry = entry.url.href; // the built entry, loaded after tsx is registered
      entry.url = new URL('./ts-bootstrap.mjs', here);
      if (!(await canImport('tsx/esm/api'))) {
        throw new AgentPoolError(
          'ERR_AGENT_MODULE',
          `agent module ${agent} is TypeScript: install tsx (npm i -D tsx) so worker threads can load it, or build it to .js`,
          { details: { module: agent } },
        );
      }
    }
    const channel = new MessageChannel();
    const data: WorkerInit = {
      agentId: this.opts.agentId,
      agent,
      tools: [...this.opts.tools],
      port: channel.port2,
    };
    if (entry.tsEntry) data.tsEntry = entry.tsEntry;
    const wake = ThreadHost.wake;
    if (wake) {
      this.wakeWords = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
      data.wake = { words: this.wakeWords, spinUs: wake.spinUs, holdMs: wake.holdMs };
    }
    const mem = this.opts.memoryMb;
    const worker = new Worker(entry.url, {
      workerData: data,
      transferList: [channel.port2],
      ...(mem
        ? {
            resourceLimits: {
              maxOldGenerationSizeMb: mem,
              maxYoungGenerationSizeMb: Math.min(64, Math.max(4, Math.floor(mem / 8))),
            },
          }
        : {}),
    });
    this.worker = worker;
    this.threadRunning = true;
    ThreadHost.live++;
    worker.once('exit', () => {
      ThreadHost.live--;
      this.threadRunning = false;
      this.markExited();
    });
    worker.on('error', (e) => {
      this.lastError = e;
    });
    worker.on('exit', (code) => this.onExit(code));
    this.port = channel.port1;
    this.port.on('message', (m: SideMessage) => this.onPortMessage(m));
    this.remote = Comlink.wrap<WorkerApi>(nodeEndpoint(worker));
    const remote = this.remote;
    const res = await this.control(() => remote.init() as Promise<InitResult>);
    if (!res.ok) {
      await this.kill('agent module failed to load', 'ERR_AGENT_STOPPED');
      // The agent side's own error, re-created with its cause (what the module threw, with its stack):
      // it is what the user must fix. A failing setup() is a start failure, not a module error.
      const cause = deserializeError(res.error);
      if (cause instanceof AgentPoolError && cause.code === 'ERR_AGENT_MODULE') {
        Object.assign(cause.details, { agentId: this.opts.agentId, module: agent });
        throw cause;
      }
      throw new AgentPoolError('ERR_AGENT_START_FAILED', `agent setup failed: ${res.error.message}`, {
        cause,
        details: { agentId: this.opts.agentId, module: agent },
      });
    }
    return res.handlers;
  }

  /**
   * Run one task. Tasks started in the same tick are sent together when the tick ends
   * (`process.nextTick`: after the current microtask queue, before any I/O), so batching adds no
   * event-loop turn to a lone task's round trip.
   */
  run(taskId: string, task: string, input: unknown, limits?: TaskLimits): Promise<TaskOutcome> {
    return new Promise<TaskOutcome>((resolve, reject) =>
      this.runTo(taskId, task, input, limits, { resolve, reject }),
    );
  }

  /** {@link run} without a promise: `to` hears the outcome when its batch comes back (see Host.runTo). */
  runTo(
    taskId: string,
    task: string,
    input: unknown,
    limits: TaskLimits | undefined,
    to: TaskReceiver,
  ): void {
    if (refusedRun(this.deathError, this.worker !== undefined, this.opts.agentId, to)) return;
    // Sent at once, so it reaches the worker before the batched run it belongs to (same port, in order);
    // no wake for these: the run's own batch follows in this tick and wakes the worker for all of them.
    if (limits?.memoryMb !== undefined)
      this.port!.postMessage({ type: 'ap:mem', taskId, mb: limits.memoryMb } satisfies SideMessage);
    // Only when tracing is on: the batched run format stays four slots per task.
    if (limits?.traceparent !== undefined)
      this.port!.postMessage({
        type: 'ap:trace',
        taskId,
        traceparent: limits.traceparent,
      } satisfies SideMessage);
    const id = ++this.nextCallId;
    this.tasks.set(id, { taskId, to });
    this.outbox.push(id, taskId, task, input);
    if (this.outbox.length >= MAX_BATCH_SLOTS) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Outcomes the worker already posted are read now; then: is `taskId` still running? */
  isRunning(taskId: string): boolean {
    this.drainPort();
    for (const t of this.tasks.values()) if (t.taskId === taskId) return true;
    return false;
  }

  limit(taskId: string, limits: TaskLimits): void {
    if (!this.alive || limits.memoryMb === undefined) return;
    this.flush(); // after the run it belongs to (same port, in order)
    this.send({ type: 'ap:mem', taskId, mb: limits.memoryMb });
  }

  abort(taskId: string, reason: string): void {
    if (!this.alive) return;
    // Post any batched runs first: the abort must reach the worker after the task it aborts.
    this.flush();
    this.send({ type: 'ap:abort', taskId, reason });
  }

  async ping(): Promise<void> {
    const remote = this.remote;
    if (!remote) throw new AgentCrashedError(this.opts.agentId, 'not started', 'ERR_AGENT_STOPPED');
    await this.control(() => remote.ping());
  }

  async stop(graceMs: number, abortGraceMs = 0): Promise<void> {
    if (!this.worker || this.deathError) return;
    this.stopping = true;
    // Let running tasks finish within the grace period; then abort them (their signal fires) and give
    // them abortGraceMs to let go; then terminate whatever is left.
    await this.whenIdle(graceMs);
    if (this.tasks.size > 0 && this.alive) {
      this.flush();
      this.send({ type: 'ap:drain' });
      await this.whenIdle(abortGraceMs);
    }
    await this.kill('stopped', 'ERR_AGENT_STOPPED');
  }

  async terminate(reason: string): Promise<void> {
    await this.kill(`terminated: ${reason}`, 'ERR_AGENT_TERMINATED');
  }

  /** Resolves when no task is in flight, or after `ms` on the clock. */
  private async whenIdle(ms: number): Promise<void> {
    if (this.tasks.size === 0 || ms <= 0) return;
    const cancel = new AbortController();
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.race([idle, sleep(this.opts.clock, ms, cancel.signal).catch(() => {})]);
    cancel.abort(); // drop the grace timer if the tasks finished first
  }

  /** End the worker: pending and later calls reject with `code`; resolves once the thread has exited. */
  private async kill(reason: string, code: 'ERR_AGENT_STOPPED' | 'ERR_AGENT_TERMINATED'): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.stopping = true;
    if (!this.deathError) {
      // Outcomes the worker already posted are results, not losses: deliver them first.
      this.drainPort();
      this.markDead(new AgentCrashedError(this.opts.agentId, reason, code));
    }
    await w.terminate();
    await this.exitedPromise;
  }

  /** Post every batched run in one message. */
  private flush(): void {
    this.flushQueued = false;
    const b = this.outbox;
    if (b.length === 0) return;
    this.outbox = [];
    const w = this.port;
    // A dead host already rejected these tasks (markDead); nothing to send.
    if (!w || this.deathError) return;
    try {
      w.postMessage({ type: 'ap:run', b } satisfies SideMessage);
      this.wakeWorker();
    } catch {
      // One input in the batch cannot be cloned (DataCloneError): send the tasks one by one so only
      // that task fails, with the clone error the caller maps to ERR_INVALID_ARGUMENT.
      for (let i = 0; i < b.length; i += RUN_STRIDE) {
        try {
          w.postMessage({ type: 'ap:run', b: b.slice(i, i + RUN_STRIDE) } satisfies SideMessage);
        } catch (e) {
          this.rejectTask(b[i] as number, e);
        }
      }
      this.wakeWorker();
    }
  }

  private rejectTask(id: number, e: unknown): void {
    const t = this.tasks.get(id);
    if (!t) return;
    this.tasks.delete(id);
    t.to.reject(e);
    if (this.tasks.size === 0) this.wakeIdle();
  }

  /** Run a Comlink control call that rejects when the worker dies (plain Comlink would hang forever). */
  private control<T>(fn: () => Promise<T>): Promise<T> {
    if (this.deathError) return Promise.reject(this.deathError);
    return new Promise<T>((resolve, reject) => {
      this.controls.add(reject);
      fn().then(
        (v) => {
          this.controls.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.controls.delete(reject);
          reject(e);
        },
      );
    });
  }

  private onExit(code: number): void {
    if (this.deathError) return;
    // A result the agent posted before it died is delivered, not lost: the messages still queued on
    // the task port are read before the pending tasks are failed (else a finished task runs twice).
    this.drainPort();
    if (this.deathError) return;
    const oom = (this.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const over = this.memExceeded;
    const err = over
      ? new AgentCrashedError(
          this.opts.agentId,
          `heap ${over.usedMb} MB stayed above the running tasks' memory allocation of ${over.allocatedMb} MB`,
          'ERR_AGENT_OUT_OF_MEMORY',
        )
      : oom
        ? new AgentCrashedError(
            this.opts.agentId,
            'worker ran out of memory',
            'ERR_AGENT_OUT_OF_MEMORY',
            this.lastError,
          )
        : new AgentCrashedError(
            this.opts.agentId,
            this.lastError ? `worker crashed: ${this.lastError.message}` : `worker exited with code ${code}`,
            'ERR_AGENT_CRASHED',
            this.lastError,
          );
    this.markDead(err);
    // After the results just read have reached their callers (their reactions are queued first): the
    // agent machine's crash fails whatever is still pending, and a delivered result must not be among it.
    if (!this.stopping) queueMicrotask(() => this.opts.listener.onExit(err));
  }

  /** The worker is gone: every pending task and control call rejects with `err`, and so will every later one. */
  private markDead(err: AgentCrashedError): void {
    this.deathError = err;
    this.outbox = [];
    // An open port with a listener would keep the process alive after the worker is gone.
    this.port?.close();
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const t of tasks) t.to.reject(err);
    const controls = [...this.controls];
    this.controls.clear();
    for (const reject of controls) reject(err);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Handle every message already queued on the task port (the worker may be gone). */
  private drainPort(): void {
    const port = this.port;
    if (!port) return;
    for (;;) {
      let next: { message: unknown } | undefined;
      try {
        next = receiveMessageOnPort(port);
      } catch {
        return; // the port is already closed
      }
      if (next === undefined) return;
      this.onMessage(next.message as SideMessage);
    }
  }

  /** A wake-up on the task channel: handle it and everything else already queued, then let callers run. */
  private onPortMessage(m: SideMessage): void {
    this.onMessage(m);
    const port = this.port!;
    for (let n = 0; n < DRAIN_LIMIT && !this.deathError; n++) {
      const next = receiveMessageOnPort(port);
      if (next === undefined) break;
      this.onMessage(next.message as SideMessage);
    }
  }

  private onMessage(m: SideMessage): void {
    if (!m || typeof m !== 'object') return;
    const l = this.opts.listener;
    switch (m.type) {
      case 'ap:done': {
        const b = m.b;
        for (let i = 0; i < b.length; i += DONE_STRIDE) {
          const id = b[i] as number;
          const t = this.tasks.get(id);
          if (!t) continue;
          this.tasks.delete(id);
          t.to.resolve(b[i + 1] as TaskOutcome);
        }
        if (this.tasks.size === 0 && this.idleWaiters.length > 0) this.wakeIdle();
        break;
      }
      case 'ap:hb':
        l.onHeartbeat(m.taskId);
        break;
      case 'ap:progress':
        if (l.onProgress) l.onProgress(m.taskId, m.value);
        else l.onHeartbeat(m.taskId);
        break;
      case 'ap:mem-exceeded':
        // The worker measured it; the host enforces it (the worker may be too busy to stop itself).
        if (!this.memExceeded) {
          this.memExceeded = { usedMb: m.usedMb, allocatedMb: m.allocatedMb };
          void this.worker?.terminate();
        }
        break;
      case 'ap:usage':
        l.onUsage(m.taskId, m.usage);
        break;
      case 'ap:sample':
        l.onSample?.({ heapMb: m.heapMb, elu: m.elu, ...(m.cpu !== undefined ? { cpu: m.cpu } : {}) });
        break;
      case 'ap:reserve':
        l.reserveTokens(m.taskId, m.amount).then(
          (error) => this.reply({ type: 'ap:reserve-reply', rid: m.rid, ...(error ? { error } : {}) }),
          (e: unknown) =>
            this.reply({
              type: 'ap:reserve-reply',
              rid: m.rid,
              error: { name: 'Error', message: String(e) },
            }),
        );
        break;
      case 'ap:settle':
        l.settleTokens(m.taskId, m.reserved, m.actual, m.index);
        break;
      case 'ap:tool':
        relayTool(l, m.taskId, m.name, m.args).then((answer) =>
          this.reply({ type: 'ap:tool-reply', rid: m.rid, answer }),
        );
        break;
    }
  }

  private reply(m: SideMessage): void {
    if (this.alive) this.send(m);
  }

  /** Post one message on the task channel and wake the worker for it. */
  private send(m: SideMessage): void {
    this.port!.postMessage(m);
    this.wakeWorker();
  }

  /**
   * Atomics wake path: count the message(s) just posted and, if the worker is blocked waiting for one,
   * wake it. Always AFTER the post, so a worker that sees the new count finds the message queued.
   */
  private wakeWorker(): void {
    const words = this.wakeWords;
    if (!words) return;
    Atomics.add(words, WAKE_REQUESTS, 1);
    // Read after the add (both sequentially consistent): a worker that set the flag after this read
    // checks the counter after the add, so its wait returns at once instead of sleeping.
    if (Atomics.load(words, WAKE_WAITING) !== 0) Atomics.notify(words, WAKE_REQUESTS, 1);
  }
}
