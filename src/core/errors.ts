/**
 * Typed errors. Every error agentpool raises extends {@link AgentPoolError} and carries a stable
 * `code` (`ERR_…`) so callers can branch on it without parsing messages.
 *
 * Errors cross the worker boundary as plain data ({@link SerializedError}) and are re-created here
 * with their code, because Comlink keeps only `name`, `message` and `stack`.
 *
 * Why one file over 400 lines: the error classes, their codes and the serialisation that carries them
 * across the worker / process boundary must agree with each other; keeping them together keeps the code
 * list and the (de)serialiser in step.
 */
import { types } from 'node:util';

const { isProxy } = types;

/** Every error code agentpool can produce. */
export type ErrorCode =
  | 'ERR_INVALID_CONFIG'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_UNKNOWN_POOL'
  | 'ERR_UNKNOWN_TASK'
  | 'ERR_AGENT_MODULE'
  | 'ERR_RESOURCE_EXHAUSTED'
  | 'ERR_POOL_EXHAUSTED'
  | 'ERR_BUDGET_EXHAUSTED'
  | 'ERR_DEADLINE_EXCEEDED'
  | 'ERR_ABORTED'
  | 'ERR_TASK_TIMEOUT'
  | 'ERR_TASK_ERROR'
  | 'ERR_TASK_FAILED'
  | 'ERR_AGENT_CRASHED'
  | 'ERR_AGENT_OUT_OF_MEMORY'
  | 'ERR_AGENT_STOPPED'
  | 'ERR_AGENT_TERMINATED'
  | 'ERR_AGENT_LOST'
  | 'ERR_AGENT_START_FAILED'
  | 'ERR_AGENT_UNAVAILABLE'
  | 'ERR_LEASE_RELEASED'
  | 'ERR_LEASE_EXPIRED'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_UNENFORCEABLE'
  | 'ERR_SERIALIZATION'
  /** A tool call outside the agent's security profile (or of no registered tool), refused before it ran. */
  | 'ERR_TOOL_DENIED'
  /** An isolated agent touched a file, socket or process its security profile does not allow. */
  | 'ERR_ACCESS_DENIED'
  | 'ERR_QUEUE_FULL'
  /** `system.attach(id)`: no task with that id is queued, running or stored in the results bucket. */
  | 'ERR_TASK_NOT_FOUND'
  /** The durable task store (JetStream, cluster mode) did not acknowledge a write in time. */
  | 'ERR_STORE_UNAVAILABLE';

/** Options shared by every agentpool error. */
export interface AgentPoolErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured details (resource names, amounts, paths…), safe to log. */
  details?: Record<string, unknown>;
}

/**
 * Base class of every error agentpool raises.
 *
 * @example
 * ```ts
 * try { await system.acquire('code', { cycleId: 'c1' }); }
 * catch (e) { if (e instanceof AgentPoolError && e.code === 'ERR_POOL_EXHAUSTED') retryLater(); }
 * ```
 */
export class AgentPoolError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured details about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AgentPoolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.name = new.target.name;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    const s = JSON.stringify(value);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A configuration value is invalid or unknown. Names the option path and the value received. */
export class ConfigError extends AgentPoolError {
  /** Dotted path of the offending option, e.g. `pools.code.min`. */
  readonly path: string;
  /** The value that was received. */
  readonly received: unknown;
  constructor(path: string, received: unknown, expected: string, code: ErrorCode = 'ERR_INVALID_CONFIG') {
    super(code, `${path}: expected ${expected}, received ${describe(received)}`, {
      details: { path, expected },
    });
    this.path = path;
    this.received = received;
  }
}

/** A call argument (requirements, task input, options) is invalid. */
export class InvalidArgumentError extends ConfigError {
  constructor(path: string, received: unknown, expected: string) {
    super(path, received, expected, 'ERR_INVALID_ARGUMENT');
  }
}

/** No pool of the requested type exists. */
export class UnknownPoolError extends AgentPoolError {
  constructor(type: string, known: readonly string[]) {
    super(
      'ERR_UNKNOWN_POOL',
      `unknown pool type ${JSON.stringify(type)} (known: ${known.join(', ') || 'none'})`,
      {
        details: { type, known },
      },
    );
  }
}

/** A request can never fit: it names the resource, what was asked and what can be had. */
export class ResourceExhaustedError extends AgentPoolError {
  readonly resource: string;
  readonly requested: number | string;
  readonly available: number | string;
  constructor(resource: string, requested: number | string, available: number | string, scope = 'limit') {
    super(
      'ERR_RESOURCE_EXHAUSTED',
      `${resource}: requested ${requested}, available ${available} (${scope})`,
      { details: { resource, requested, available, scope } },
    );
    this.resource = resource;
    this.requested = requested;
    this.available = available;
  }
}

/** An acquisition timed out, scaled up, retried and timed out again. */
export class PoolExhaustedError extends AgentPoolError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_POOL_EXHAUSTED', message, { details });
  }
}

/** A token (or other) budget would be exceeded. Keeps any partial output the agent returned. */
export class BudgetExhaustedError extends AgentPoolError {
  /** Output the agent returned before the budget ran out, if any. */
  readonly partial: unknown;
  constructor(message: string, details: Record<string, unknown> = {}, partial?: unknown) {
    super('ERR_BUDGET_EXHAUSTED', message, { details });
    this.partial = partial;
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends AgentPoolError {
  constructor(what: string, cause?: unknown) {
    super('ERR_ABORTED', `${what} was aborted`, cause === undefined ? {} : { cause });
  }
}

/** A task ran past its wall-clock or heartbeat deadline. */
export class TaskTimeoutError extends AgentPoolError {
  constructor(task: string, ms: number, kind: 'wall-clock' | 'heartbeat') {
    super('ERR_TASK_TIMEOUT', `task ${JSON.stringify(task)} exceeded its ${kind} timeout of ${ms} ms`, {
      details: { task, timeoutMs: ms, kind },
    });
  }
}

/** The agent's own handler threw; `cause` is the re-created error (with its `code` if it had one). */
export class TaskError extends AgentPoolError {
  constructor(task: string, cause: Error) {
    super('ERR_TASK_ERROR', `task ${JSON.stringify(task)} failed: ${cause.message}`, {
      cause,
      details: { task },
    });
  }
}

/**
 * The agent running the work went away: it crashed or exited (`ERR_AGENT_CRASHED`), ran out of memory
 * (`ERR_AGENT_OUT_OF_MEMORY`), was stopped on request — shutdown or scale-down (`ERR_AGENT_STOPPED`) —
 * or was terminated because it stopped answering: a task that ignored its abort signal, a missed
 * heartbeat, a health check that timed out (`ERR_AGENT_TERMINATED`).
 */
export class AgentCrashedError extends AgentPoolError {
  constructor(
    agentId: string,
    reason: string,
    code:
      | 'ERR_AGENT_CRASHED'
      | 'ERR_AGENT_OUT_OF_MEMORY'
      | 'ERR_AGENT_STOPPED'
      | 'ERR_AGENT_TERMINATED'
      | 'ERR_AGENT_LOST' = 'ERR_AGENT_CRASHED',
    cause?: unknown,
  ) {
    super(code, `agent ${agentId}: ${reason}`, {
      details: { agentId },
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * A submitted task failed on every attempt (its agents kept dying, or its handler kept failing under
 * `retry`); `causes` has each attempt's error, in order.
 */
export class TaskFailedError extends AgentPoolError {
  readonly causes: unknown[];
  constructor(task: string, attempts: number, causes: unknown[]) {
    const last = causes[causes.length - 1] as Error | undefined;
    super(
      'ERR_TASK_FAILED',
      `task ${JSON.stringify(task)} failed after ${attempts} attempt(s): ${last?.message ?? 'unknown'}`,
      {
        cause: last,
        details: { task, attempts },
      },
    );
    this.causes = causes;
  }
}

/** `submit()` found its pool's queue at `maxQueue`: nothing was queued; slow down and submit again. */
export class QueueFullError extends AgentPoolError {
  constructor(pool: string, queued: number, limit: number) {
    super('ERR_QUEUE_FULL', `pool ${pool}: ${queued} tasks queued, at its maxQueue ${limit}`, {
      details: { pool, queued, limit },
    });
  }
}

/** A queued task's deadline passed before an agent could take it (or the deadline was already past). */
export class DeadlineExceededError extends AgentPoolError {
  constructor(task: string, deadline: number, now: number) {
    super('ERR_DEADLINE_EXCEEDED', `task ${JSON.stringify(task)}: deadline ${deadline} passed (now ${now})`, {
      details: { task, deadline, now },
    });
  }
}

/** Generic failure with a code; used for the less common cases. */
export function makeError(
  code: ErrorCode,
  message: string,
  options: AgentPoolErrorOptions = {},
): AgentPoolError {
  return new AgentPoolError(code, message, options);
}

/** Plain-data form of an error, safe to post across a worker boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  details?: Record<string, unknown>;
  /** The error's `cause`, when it is an error (a few levels deep): e.g. what an agent module threw on import. */
  cause?: SerializedError;
  /** `false` when the thrower marked the error final: a submitted task's `retry` does not retry it. */
  retryable?: boolean;
}

/** Turn any thrown value into {@link SerializedError}. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    if (err.cause instanceof Error && depth < 3) out.cause = serializeError(err.cause, depth + 1);
    if (err.stack !== undefined) out.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    const details = (err as { details?: unknown }).details;
    if (details && typeof details === 'object') out.details = details as Record<string, unknown>;
    // Node's permission model says what it refused in two fields of its own: keep them across the boundary.
    const { permission, resource } = err as { permission?: unknown; resource?: unknown };
    if (code === 'ERR_ACCESS_DENIED' && typeof permission === 'string')
      out.details = { ...out.details, permission, resource: typeof resource === 'string' ? resource : '' };
    if ((err as { retryable?: unknown }).retryable === false) out.retryable = false;
    return out;
  }
  return { name: 'Error', message: typeof err === 'string' ? err : describe(err) };
}

/** Re-create an error from {@link SerializedError}, keeping its code. */
export function deserializeError(s: SerializedError): Error {
  const cause = s.cause ? { cause: deserializeError(s.cause) } : {};
  if (s.code?.startsWith('ERR_') && isAgentPoolCode(s.code)) {
    const e = new AgentPoolError(s.code, s.message, { details: s.details ?? {}, ...cause });
    if (s.stack !== undefined) e.stack = s.stack;
    if (s.retryable === false) Object.assign(e, { retryable: false });
    return e;
  }
  const e = new Error(s.message, cause) as Error & { code?: string; retryable?: boolean };
  e.name = s.name;
  if (s.stack !== undefined) e.stack = s.stack;
  if (s.code !== undefined) e.code = s.code;
  if (s.retryable === false) e.retryable = false;
  return e;
}

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_INVALID_CONFIG',
  'ERR_INVALID_ARGUMENT',
  'ERR_UNKNOWN_POOL',
  'ERR_UNKNOWN_TASK',
  'ERR_AGENT_MODULE',
  'ERR_RESOURCE_EXHAUSTED',
  'ERR_POOL_EXHAUSTED',
  'ERR_BUDGET_EXHAUSTED',
  'ERR_DEADLINE_EXCEEDED',
  'ERR_ABORTED',
  'ERR_TASK_TIMEOUT',
  'ERR_TASK_ERROR',
  'ERR_TASK_FAILED',
  'ERR_AGENT_CRASHED',
  'ERR_AGENT_OUT_OF_MEMORY',
  'ERR_AGENT_STOPPED',
  'ERR_AGENT_TERMINATED',
  'ERR_AGENT_LOST',
  'ERR_AGENT_START_FAILED',
  'ERR_AGENT_UNAVAILABLE',
  'ERR_LEASE_RELEASED',
  'ERR_LEASE_EXPIRED',
  'ERR_SHUTTING_DOWN',
  'ERR_UNENFORCEABLE',
  'ERR_SERIALIZATION',
  'ERR_TOOL_DENIED',
  'ERR_ACCESS_DENIED',
  'ERR_QUEUE_FULL',
  'ERR_TASK_NOT_FOUND',
  'ERR_STORE_UNAVAILABLE',
]);

function isAgentPoolCode(code: string): code is ErrorCode {
  return CODES.has(code);
}

/** Objects {@link isPlainData} visits before leaving the answer to `structuredClone` (cycles, huge graphs). */
const PLAIN_DATA_BUDGET = 10_000;

/**
 * True when `value` is certainly structured-cloneable because it is plain data: primitives other than
 * symbols, and plain objects (prototype `Object.prototype` or null) and dense arrays of plain data,
 * no proxies. False means "not known": anything else (a Date, a Map, a typed array, a cycle, more
 * than {@link PLAIN_DATA_BUDGET} objects, a getter that throws) is left to `structuredClone`, so the
 * answer of {@link findUncloneable} is the same as cloning would give, only cheaper for JSON-like data.
 * Own enumerable string keys only, as structured cloning reads.
 */
function isPlainData(value: unknown): boolean {
  const stack: unknown[] = [value];
  let objects = 0;
  try {
    while (stack.length > 0) {
      const x = stack.pop();
      const t = typeof x;
      if (t !== 'object') {
        if (t === 'function' || t === 'symbol') return false;
        continue;
      }
      if (x === null) continue;
      if (++objects > PLAIN_DATA_BUDGET || isProxy(x)) return false;
      const proto = Object.getPrototypeOf(x) as unknown;
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      if (proto === Array.prototype) {
        // Holes or extra named properties: not the common case, leave it to structuredClone.
        if (keys.length !== (x as unknown[]).length) return false;
      } else if (proto !== Object.prototype && proto !== null) return false;
      for (const k of keys) stack.push(o[k]);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Where in `value` structured cloning fails: the path of the first property it refuses (a function, a
 * symbol, a DOM-less host object…) and that property's value, so an error can name the culprit
 * instead of printing `{}`. Undefined when `value` clones. Depth-bounded and cycle-safe.
 *
 * @example findUncloneable({ a: { f() {} } }, 'input') // { path: 'input.a.f', value: [Function f] }
 */
export function findUncloneable(
  value: unknown,
  path: string,
  depth = 0,
): { path: string; value: unknown } | undefined {
  // The common case (JSON-like data) is answered by a walk that allocates nothing: a full
  // structuredClone was a third of submit()'s main-thread time at 1 KB inputs (issue 14).
  if (depth === 0 && isPlainData(value)) return undefined;
  try {
    structuredClone(value);
    return undefined;
  } catch {
    if (depth >= 8 || value === null || typeof value !== 'object') return { path, value };
    const entries: [string, unknown][] =
      value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v]) : Object.entries(value);
    for (const [k, v] of entries) {
      const hit = findUncloneable(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, depth + 1);
      if (hit) return hit;
    }
    return { path, value };
  }
}
