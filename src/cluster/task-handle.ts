/**
 * What a task is called and what it may carry, for durable submits (src/cluster/durable.ts) and for
 * `system.enqueue()` without them: task ids (a subject token and a KV key), the stream/bucket names,
 * the handle and attach types, the JSON-only input check, and the in-memory enqueue.
 */
import { createHash, randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../core/errors.js';
import { record, str } from '../core/validate.js';
import type { Dispatcher, SubmitOptions } from '../runtime/dispatcher.js';

/** A task id is a subject token and a KV key. */
const TASK_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Stream, subjects and bucket of one system's durable tasks (system name `S`). */
export const durableNames = {
  /** The JetStream stream holding accepted, unsettled tasks: `ap_S_tasks`. */
  stream: (system: string) => `ap_${system}_tasks`,
  /** One subject per task (the stream keeps one message per subject): `ap.S.task.<id>`. */
  subject: (system: string, id: string) => `ap.${system}.task.${id}`,
  /** The KV bucket of settled outcomes, key = task id: `ap_S_results`. */
  results: (system: string) => `ap_${system}_results`,
};

/** What `system.enqueue()` resolves with once the task is stored (cluster) or queued (local). */
export interface TaskHandle<T = unknown> {
  /** The task's id: `options.taskId`, derived from `idempotencyKey`, or generated. `system.attach(id)` finds it. */
  readonly id: string;
  /** True when the task is in the JetStream stream (the server acknowledged it): a restart resumes it. */
  readonly durable: boolean;
  /** True when this submit joined an existing task with the same id instead of creating one. */
  readonly deduplicated: boolean;
  /**
   * The task's result, as `submit()` resolves. A rejection nobody awaits is not reported as unhandled
   * (the handle may be kept for its id only).
   */
  readonly result: Promise<T>;
}

/** Options of `system.attach()`. */
export interface AttachOptions {
  /** Stops waiting (the task itself runs on): rejects `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Stops waiting after this long (the task runs on): rejects `ERR_DEADLINE_EXCEEDED`. @default 3_600_000 */
  timeoutMs?: number;
}

/** Check a task id (a subject token and a KV key). */
export function checkTaskId(id: unknown, path: string): string {
  if (typeof id !== 'string' || !TASK_ID.test(id))
    throw new InvalidArgumentError(path, id, 'a task id of 1–128 letters, digits, - or _');
  return id;
}

/** The task id of an idempotency key: the same key always names the same task, on any coordinator. */
export function idOfKey(key: string): string {
  return `k-${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}

/** The task id a submit names (`taskId`, `idempotencyKey` or none); both at once is an error. */
export function idOf(o: Record<string, unknown>): string | undefined {
  if (o.taskId !== undefined && o.idempotencyKey !== undefined)
    throw new InvalidArgumentError('submit.taskId', o.taskId, 'either taskId or idempotencyKey, not both');
  if (o.taskId !== undefined) return checkTaskId(o.taskId, 'submit.taskId');
  if (o.idempotencyKey !== undefined)
    return idOfKey(str('argument', 'submit.idempotencyKey', o.idempotencyKey, 'k'));
  return undefined;
}

/**
 * The first part of `value` JSON cannot carry unchanged (a function, a Map, a Date, a class instance,
 * a BigInt, NaN, a cycle, `undefined` in an array), with its path; undefined when it is plain JSON.
 * An `undefined` property is allowed: JSON drops it, and the handler reads `undefined` either way.
 */
export function findNonJson(
  value: unknown,
  path: string,
  seen = new Set<object>(),
): { path: string; value: unknown } | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, value };
  if (typeof value !== 'object') return { path, value };
  if (seen.has(value)) return { path, value: '[circular]' };
  const proto = Object.getPrototypeOf(value) as unknown;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      if (proto !== Array.prototype) return { path, value };
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === undefined) return { path: `${path}[${i}]`, value: item };
        const bad = findNonJson(item, `${path}[${i}]`, seen);
        if (bad) return bad;
      }
      return undefined;
    }
    if (proto !== Object.prototype && proto !== null) return { path, value };
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const bad = findNonJson(v, `${path}.${k}`, seen);
      if (bad) return bad;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/**
 * `submit()`/`enqueue()` without a durable store: `taskId` names the task for the handle, and a second
 * submit with the same id while the first is in memory joins it (like an idempotency key).
 */
export function localEnqueue(dispatcher: Dispatcher, raw: SubmitOptions, trace?: unknown): TaskHandle {
  const o = record('argument', 'submit', raw);
  const named = idOf(o);
  const { taskId: _id, ...rest } = o;
  const id = named ?? `t-${randomUUID()}`;
  const opts =
    o.taskId !== undefined
      ? { ...rest, idempotencyKey: `\u0000taskId:${id}` }
      : (rest as Record<string, unknown>);
  const before = dispatcher.stats.deduplicated;
  const result = dispatcher.submit(opts as unknown as SubmitOptions, trace);
  result.catch(() => {});
  return { id, durable: false, deduplicated: dispatcher.stats.deduplicated > before, result };
}
