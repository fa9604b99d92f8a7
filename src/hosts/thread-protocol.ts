/** Messages and API shared by the thread host (main side) and the worker entry. */

import type { MessagePort } from 'node:worker_threads';
import type { Usage } from '../agent/define.js';
import type { TaskOutcome, ToolAnswer } from '../agent/runner.js';
import type { SerializedError } from '../core/errors.js';

/** workerData given to a new agent thread. */
export interface WorkerInit {
  agentId: string;
  /** Module specifier (file URL) of the agent. */
  agent: string;
  tools: string[];
  /** Set in development: the TypeScript entry the bootstrap loads through tsx. */
  tsEntry?: string;
  /**
   * The task channel: a dedicated MessagePort (transferred) carrying every `ap:*` message both ways.
   * Dedicated so either side can drain it synchronously with `receiveMessageOnPort` (the worker's own
   * port also carries Comlink's control traffic, which must stay with Comlink's listener), and so tasks,
   * aborts, heartbeats, usage and outcomes of one agent stay in order on one queue.
   */
  port: MessagePort;
  /**
   * The wake word (see {@link WAKE_REQUESTS}), shared with the host; absent when the host wakes the
   * worker through the port's event only.
   */
  wake?: WakeInit;
}

/**
 * The Atomics wake path (issue 14). The host bumps {@link WAKE_REQUESTS} after every message it posts
 * on the task channel and, when the worker says it is waiting ({@link WAKE_WAITING}), `Atomics.notify`s
 * it. A worker with no task in flight blocks in `Atomics.wait` on that word for a bounded time and, when
 * it changes, reads the channel with `receiveMessageOnPort`: the message is handled without the
 * event-loop turn (uv async wake-up, handle callback, MessageEvent) the port event costs.
 */
export interface WakeInit {
  /** Two Int32 words on a SharedArrayBuffer: [{@link WAKE_REQUESTS}, {@link WAKE_WAITING}]. */
  words: Int32Array;
  /** Busy-poll the word this long (µs) before blocking; 0 blocks at once. */
  spinUs: number;
  /** Longest the worker's event loop is held per idle entry (ms); bounded so agent timers and I/O run. */
  holdMs: number;
}

/** Index of the request counter: messages posted by the host (wraps; only inequality is used). */
export const WAKE_REQUESTS = 0;
/** Index of the waiting flag: 1 while the worker is (about to be) blocked in `Atomics.wait`. */
export const WAKE_WAITING = 1;

/** Result of loading the agent module in the worker. */
export type InitResult = { ok: true; handlers: string[] } | { ok: false; error: SerializedError };

/**
 * The control API a worker exposes over Comlink: rare calls where a Comlink round trip costs nothing
 * that matters. Tasks do not go through it (see {@link RunBatch}).
 */
export interface WorkerApi {
  init(): Promise<InitResult>;
  ping(): number;
}

/**
 * Tasks, main → worker: every task started on one host in the same tick travels in one message.
 * `b` is flat, four slots per task: `[callId, taskId, task, input, callId, taskId, task, input, …]`
 * (a flat array clones faster than an array of small objects).
 */
export interface RunBatch {
  type: 'ap:run';
  b: unknown[];
}

/**
 * Outcomes, worker → main: every task that finished in the same tick, in one message.
 * `b` is flat, two slots per task: `[callId, outcome, callId, outcome, …]`.
 */
export interface DoneBatch {
  type: 'ap:done';
  b: unknown[];
}

/** Slots per task in {@link RunBatch.b}. */
export const RUN_STRIDE = 4;
/** Slots per task in {@link DoneBatch.b}. */
export const DONE_STRIDE = 2;

/** The outcome of one task inside a {@link DoneBatch}. */
export type DoneOutcome = TaskOutcome;

/**
 * Messages on the task channel ({@link WorkerInit.port}), outside Comlink: task batches, outcome
 * batches, abort and drain (posted right after any batched runs, so an abort never overtakes the task
 * it aborts), heartbeats, usage and token reservations — each one message, not a Comlink round trip.
 */
export type SideMessage =
  | RunBatch
  | DoneBatch
  | { type: 'ap:abort'; taskId: string; reason: string }
  | { type: 'ap:drain' }
  | { type: 'ap:hb'; taskId: string }
  /** worker → main: the task's `ctx.progress(value)` (in order with its other messages; also a heartbeat). */
  | { type: 'ap:progress'; taskId: string; value: unknown }
  | { type: 'ap:usage'; taskId: string; usage: Usage }
  | { type: 'ap:reserve'; rid: number; taskId: string; amount: number }
  | { type: 'ap:reserve-reply'; rid: number; error?: SerializedError }
  | { type: 'ap:settle'; taskId: string; reserved: number; actual: number; index: number }
  /** main → worker, just before the task's run: hold the task's heap to its memory allocation. */
  | { type: 'ap:mem'; taskId: string; mb: number }
  /** main → worker, just before the task's run (tracing on): the W3C traceparent of its span. */
  | { type: 'ap:trace'; taskId: string; traceparent: string }
  /** worker → main: the heap stayed above the running tasks' allocations; the host terminates it. */
  | { type: 'ap:mem-exceeded'; usedMb: number; allocatedMb: number; taskIds: string[] }
  /** worker → main: `ctx.tools.call`; the tool runs in the parent after its profile check. */
  | { type: 'ap:tool'; rid: number; taskId: string; name: string; args: unknown }
  /** main → worker: the tool call's answer. */
  | { type: 'ap:tool-reply'; rid: number; answer: ToolAnswer }
  /** The worker's own measurement, every USAGE_SAMPLE_MS while tasks run: heap in use, event-loop busy share. */
  | { type: 'ap:sample'; heapMb: number; elu: number; cpu?: number };
