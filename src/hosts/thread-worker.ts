/**
 * Entry point of an agent worker thread. Loads the agent module and answers two channels:
 * - control over Comlink on the worker's own port (`init`, `ping`): rare calls where a Comlink round
 *   trip costs nothing that matters;
 * - the task channel, a dedicated MessagePort (`ap:*` messages). Tasks arrive in batches (`ap:run`);
 *   on each wake-up the worker also drains every batch already queued (`receiveMessageOnPort`), runs
 *   them all, and answers every handler that returned a plain value in ONE `ap:done` message; async
 *   handlers that settle in the same tick share one message too. Heartbeats, usage and token
 *   reservations are single messages on the same channel, so they stay in order with the outcomes.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { AgentRunner, type TaskOutcome, type ToolAnswer } from '../agent/runner.js';
import { type SerializedError, serializeError } from '../core/errors.js';
import { loadDefinition } from './inline-host.js';
import {
  DONE_STRIDE,
  RUN_STRIDE,
  type SideMessage,
  WAKE_REQUESTS,
  WAKE_WAITING,
  type WorkerApi,
  type WorkerInit,
} from './thread-protocol.js';

if (!parentPort) throw new Error('thread-worker must run in a worker thread');
const init = workerData as WorkerInit;
const port = init.port;
let runner: AgentRunner | undefined;
let nextRid = 0;
const reservations = new Map<number, (r: SerializedError | undefined) => void>();
const toolCalls = new Map<number, (a: ToolAnswer) => void>();

const post = (m: SideMessage) => port.postMessage(m);

const notInitialised: TaskOutcome = {
  ok: false,
  usage: {},
  error: { name: 'Error', message: 'not initialised' },
};

/** Outcomes waiting to be sent, flat: [callId, outcome, …]. */
let outbox: unknown[] = [];
let flushQueued = false;

/** Send every buffered outcome in one message. */
function flush(): void {
  flushQueued = false;
  if (outbox.length === 0) return;
  const b = outbox;
  outbox = [];
  try {
    post({ type: 'ap:done', b });
  } catch {
    // Some handler returned a value that cannot be cloned: send one by one so only that task fails
    // (with a task error the caller can read), never the others in the batch.
    for (let i = 0; i < b.length; i += DONE_STRIDE) {
      const one = b.slice(i, i + DONE_STRIDE);
      try {
        post({ type: 'ap:done', b: one });
      } catch (e) {
        post({ type: 'ap:done', b: [one[0], uncloneable(one[1] as TaskOutcome, e)] });
      }
    }
  }
}

function uncloneable(o: TaskOutcome, e: unknown): TaskOutcome {
  const error = serializeError(e);
  error.message = `task result is not structured-cloneable: ${error.message}`;
  return { ok: false, usage: { ...o.usage }, error };
}

/** An async task finished: buffer it; all that finish before the microtask queue drains share one message. */
function doneLater(id: unknown, o: TaskOutcome): void {
  outbox.push(id, o);
  if (!flushQueued) {
    flushQueued = true;
    // nextTick queued from a promise callback runs once the microtask queue is empty: the whole
    // tick's completions are in the outbox by then, and no event-loop turn is spent waiting.
    process.nextTick(flushThenIdle);
  }
}

function flushThenIdle(): void {
  flush();
  idle();
}

/** Traceparents of runs about to arrive (`ap:trace` precedes its run on the same port). */
const traceparents = new Map<string, string>();

function runBatch(b: unknown[]): void {
  for (let i = 0; i < b.length; i += RUN_STRIDE) {
    const id = b[i];
    const taskId = b[i + 1] as string;
    const tp = traceparents.size > 0 ? traceparents.get(taskId) : undefined;
    if (tp !== undefined) traceparents.delete(taskId);
    const o = runner ? runner.start(taskId, b[i + 2] as string, b[i + 3], tp) : notInitialised;
    if (o instanceof Promise)
      o.then((v: TaskOutcome) => {
        unlimit(taskId);
        doneLater(id, v);
      });
    else {
      unlimit(taskId);
      outbox.push(id, o);
    }
  }
}

// ---- memory allocations ----------------------------------------------------------------------------
// The worker's hard cap (resourceLimits) is the agent's capacity; a task's allocation is usually less.
// While tasks with an allocation run, the heap is sampled every MEM_SAMPLE_MS; above the sum of their
// allocations for MEM_SAMPLES samples in a row (not-yet-collected garbage counts in `used_heap_size`,
// so one high sample is not proof) the host is told and terminates the worker. A task that never
// yields cannot be sampled: the hard cap still stops it.
const MEM_SAMPLE_MS = 20;
const MEM_SAMPLES = 3;
const memLimits = new Map<string, number>();
let memTimer: ReturnType<typeof setInterval> | undefined;
let memOver = 0;

function limit(taskId: string, mb: number): void {
  memLimits.set(taskId, mb);
  if (!memTimer) {
    memTimer = setInterval(sampleMemory, MEM_SAMPLE_MS);
    memTimer.unref(); // never what keeps the worker alive
  }
}

function unlimit(taskId: string): void {
  if (!memLimits.delete(taskId) || memLimits.size > 0) return;
  clearInterval(memTimer);
  memTimer = undefined;
  memOver = 0;
}

function sampleMemory(): void {
  // A task without an allocation is running too: there is no budget to hold the shared heap to.
  if (!runner || runner.active > memLimits.size) {
    memOver = 0;
    return;
  }
  let allocated = 0;
  for (const mb of memLimits.values()) allocated += mb;
  const used = getHeapStatistics().used_heap_size / 2 ** 20;
  if (used <= allocated) {
    memOver = 0;
    return;
  }
  if (++memOver < MEM_SAMPLES) return;
  memOver = 0;
  post({
    type: 'ap:mem-exceeded',
    usedMb: Math.round(used),
    allocatedMb: allocated,
    taskIds: [...memLimits.keys()],
  });
}

// ---- usage samples -----------------------------------------------------------------------------------
// While tasks run, every USAGE_SAMPLE_MS the worker reports what it measures of itself: its heap in
// use and its event loop's busy share over the period (what a thread can say about its own CPU). The
// runtime feeds them to the rebalancer and the pool's `used` resources, without the caller's help.
const USAGE_SAMPLE_MS = 1_000;
let lastElu = performance.eventLoopUtilization();
// This thread's own CPU time where Node measures it per thread (process.threadCpuUsage: Node ≥ 22.15
// and 23.9); process.cpuUsage would count every thread of the process.
const threadCpu = (
  process as { threadCpuUsage?: () => { user: number; system: number } }
).threadCpuUsage?.bind(process);
let lastCpu = threadCpu?.();
let lastAt = performance.now();
const usageTimer = setInterval(() => {
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const now = performance.now();
  const cpuNow = threadCpu?.();
  const cores =
    cpuNow && lastCpu && now > lastAt
      ? (cpuNow.user + cpuNow.system - lastCpu.user - lastCpu.system) / 1000 / (now - lastAt)
      : undefined;
  lastCpu = cpuNow;
  lastAt = now;
  if (!runner || runner.active === 0) return;
  post({
    type: 'ap:sample',
    heapMb: Math.round((getHeapStatistics().used_heap_size / 2 ** 20) * 10) / 10,
    elu: Math.round(elu.utilization * 1000) / 1000,
    ...(cores !== undefined ? { cpu: Math.round(Math.max(0, cores) * 1000) / 1000 } : {}),
  });
}, USAGE_SAMPLE_MS);
usageTimer.unref(); // never what keeps the worker alive

/** Most queued messages handled per wake-up before answering (keeps one wake-up's work bounded). */
const DRAIN_LIMIT = 64;

port.on('message', (m: SideMessage) => {
  handle(m);
  // Take what else is already queued now, instead of one event-loop callback per message: under load
  // the batches grow by themselves, and one answer covers them all.
  for (let n = 0; n < DRAIN_LIMIT; n++) {
    const next = receiveMessageOnPort(port);
    if (next === undefined) break;
    handle(next.message as SideMessage);
  }
  // Handlers that returned plain values answer in one message, at once.
  if (outbox.length > 0) flush();
  idle();
});

// ---- the Atomics wake path ---------------------------------------------------------------------------
// A worker with no task in flight usually has nothing to do but wait for the next message. Waiting in
// the event loop costs, per message, a uv async wake-up, the port's handle callback and a MessageEvent
// before `handle` runs; blocking on the shared word and reading the port with `receiveMessageOnPort`
// skips all of it. The agent module may have timers and I/O of its own, so the event loop is held at
// most `holdMs` per idle entry (the spin included), and never while a task is in flight.
const wake = init.wake;
/** The request counter as of the last drain: a different value means messages may be queued. */
let seen = 0;
let holding = false;

/**
 * The worker just became idle: hold the event loop for at most `holdMs`, handling every message that
 * arrives meanwhile straight off the port, until a task stays in flight or the time is up.
 */
function idle(): void {
  if (!wake || holding || !runner || runner.active > 0) return;
  holding = true;
  const words = wake.words;
  const until = performance.now() + wake.holdMs;
  try {
    for (;;) {
      let now = Atomics.load(words, WAKE_REQUESTS);
      if (now === seen) {
        if (!waitForRequest(words, until)) return;
        now = Atomics.load(words, WAKE_REQUESTS);
      }
      // The counter is read BEFORE the port: the host posts first and bumps after, so everything the
      // value covers is already queued; a message posted after the read bumps it again and is taken
      // on the next turn. Messages taken here are gone from the port: its event never sees them.
      seen = now;
      for (let n = 0; n < DRAIN_LIMIT; n++) {
        const next = receiveMessageOnPort(port);
        if (next === undefined) break;
        handle(next.message as SideMessage);
      }
      if (outbox.length > 0) flush();
      // A task still running (async) may need the event loop; past the hold, timers and I/O get their turn.
      if (runner.active > 0 || performance.now() >= until) return;
    }
  } finally {
    holding = false;
  }
}

/** Spin, then block, until the request counter moves away from `seen` or `until` passes. */
function waitForRequest(words: Int32Array, until: number): boolean {
  if (wake!.spinUs > 0) {
    const spinEnd = Math.min(until, performance.now() + wake!.spinUs / 1_000);
    while (performance.now() < spinEnd) if (Atomics.load(words, WAKE_REQUESTS) !== seen) return true;
  }
  const ms = until - performance.now();
  if (ms <= 0) return false;
  // The flag is set before the wait checks the counter, and the host bumps the counter before it reads
  // the flag: either the host sees the flag and notifies, or the wait sees the new count and returns.
  Atomics.store(words, WAKE_WAITING, 1);
  Atomics.wait(words, WAKE_REQUESTS, seen, ms);
  Atomics.store(words, WAKE_WAITING, 0);
  return Atomics.load(words, WAKE_REQUESTS) !== seen;
}

function handle(m: SideMessage): void {
  if (!m || typeof m !== 'object') return;
  switch (m.type) {
    case 'ap:run':
      runBatch(m.b);
      break;
    case 'ap:abort':
      runner?.abort(m.taskId, m.reason);
      break;
    case 'ap:mem':
      limit(m.taskId, m.mb);
      break;
    case 'ap:trace':
      traceparents.set(m.taskId, m.traceparent);
      break;
    case 'ap:drain':
      // The host decides how long to wait (on its clock); this only tells every task to stop.
      runner?.abortAll('agent stopping');
      break;
    case 'ap:tool-reply': {
      const resolve = toolCalls.get(m.rid);
      toolCalls.delete(m.rid);
      resolve?.(m.answer);
      break;
    }
    case 'ap:reserve-reply': {
      const resolve = reservations.get(m.rid);
      reservations.delete(m.rid);
      resolve?.(m.error);
      break;
    }
  }
}

const api: WorkerApi = {
  async init() {
    try {
      const def = await loadDefinition(init.agent);
      const r = new AgentRunner(init.agentId, def, init.tools, {
        heartbeat: (taskId) => post({ type: 'ap:hb', taskId }),
        progress: (taskId, value) => post({ type: 'ap:progress', taskId, value }),
        usage: (taskId, usage) => post({ type: 'ap:usage', taskId, usage }),
        reserveTokens: (taskId, amount) =>
          new Promise((resolve) => {
            const rid = ++nextRid;
            reservations.set(rid, resolve);
            post({ type: 'ap:reserve', rid, taskId, amount });
          }),
        settleTokens: (taskId, reserved, actual, index) =>
          post({ type: 'ap:settle', taskId, reserved, actual, index }),
        callTool: (taskId, name, args) =>
          new Promise((resolve) => {
            const rid = ++nextRid;
            toolCalls.set(rid, resolve);
            post({ type: 'ap:tool', rid, taskId, name, args });
          }),
      });
      await r.setup(); // tasks are only routed to a runner whose setup finished
      runner = r;
      return { ok: true, handlers: r.handlerNames() };
    } catch (e) {
      return { ok: false, error: serializeError(e) };
    }
  },
  ping() {
    return runner?.active ?? 0;
  },
};

Comlink.expose(api, nodeEndpoint(parentPort));
