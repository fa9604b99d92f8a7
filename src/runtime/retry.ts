/**
 * Retries of submitted tasks whose handler failed (an LLM API's 429 or 5xx), with backoff on the
 * injected clock. Which failures are retried is decided here, in one place:
 *
 * - retried: the handler threw (`ERR_TASK_ERROR`) or one attempt outlasted its `timeoutMs`
 *   (`ERR_TASK_TIMEOUT`);
 * - never retried: an error the handler marked `retryable: false` (see {@link isRetryable}), a budget
 *   or rate-limit refusal (`ERR_BUDGET_EXHAUSTED`, `ERR_RESOURCE_EXHAUSTED`), a cancellation
 *   (`ERR_ABORTED`), a deadline (`ERR_DEADLINE_EXCEEDED`), an unknown task, bad input.
 *
 * Agent loss (a crash under the task) is the dispatcher's re-queue, counted by `maxAttempts`, not here.
 */
import { knownKeys, num, record, str } from '../core/validate.js';

/** Backoff shapes. */
export const BACKOFFS = ['exponential', 'fixed'] as const;

/** Submit option `retry` (and pool option `retry`, its default for the pool's tasks). */
export interface RetryOptions {
  /** Attempts in all, the first included (1 = no retry). */
  attempts: number;
  /** `'exponential'`: baseMs · 2^(n−1) before the n-th retry; `'fixed'`: baseMs every time. @default 'exponential' */
  backoff?: (typeof BACKOFFS)[number];
  /** @default 1_000 */
  baseMs?: number;
  /** Cap of one backoff. @default 30_000 */
  maxMs?: number;
  /** Share of each backoff drawn at random (0 = exact, 1 = anywhere in [0, backoff]). @default 0 */
  jitter?: number;
}

/** A validated {@link RetryOptions}. */
export interface RetryPolicy {
  attempts: number;
  backoff: (typeof BACKOFFS)[number];
  baseMs: number;
  maxMs: number;
  jitter: number;
}

const KEYS = new Set(['attempts', 'backoff', 'baseMs', 'maxMs', 'jitter']);

/** Validate a retry option at `path` (`kind` 'config' for pools, 'argument' for submit). */
export function parseRetry(kind: 'config' | 'argument', path: string, raw: unknown): RetryPolicy {
  const o = record(kind, path, raw);
  knownKeys(kind, path, o, KEYS);
  const baseMs = num(kind, `${path}.baseMs`, o.baseMs, 1_000, { min: 0, max: 2_147_483_647 });
  return {
    attempts: num(kind, `${path}.attempts`, o.attempts, 1, { min: 1, max: 100, integer: true }),
    backoff: str(kind, `${path}.backoff`, o.backoff, 'exponential', BACKOFFS),
    baseMs,
    maxMs: num(kind, `${path}.maxMs`, o.maxMs, Math.max(baseMs, 30_000), { min: baseMs, max: 2_147_483_647 }),
    jitter: num(kind, `${path}.jitter`, o.jitter, 0, { min: 0, max: 1 }),
  };
}

/** The wait before retry number `retry` (1 = the first retry). `random` in [0, 1). */
export function backoffMs(p: RetryPolicy, retry: number, random: number): number {
  const full = p.backoff === 'fixed' ? p.baseMs : p.baseMs * 2 ** (retry - 1);
  const capped = Math.min(p.maxMs, full);
  return Math.round(capped * (1 - p.jitter * random));
}

const NEVER = new Set([
  'ERR_BUDGET_EXHAUSTED',
  'ERR_RESOURCE_EXHAUSTED',
  'ERR_ABORTED',
  'ERR_DEADLINE_EXCEEDED',
  'ERR_UNKNOWN_TASK',
  'ERR_INVALID_ARGUMENT',
]);

/**
 * Whether a failed attempt may be retried. A handler marks an error as final by giving it
 * `retryable: false` (it survives the thread boundary), e.g.
 * `throw Object.assign(new Error('bad prompt'), { retryable: false })`.
 */
export function isRetryable(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string; retryable?: unknown } } | undefined;
  if (e?.code === 'ERR_TASK_TIMEOUT') return true;
  if (e?.code !== 'ERR_TASK_ERROR') return false;
  const cause = e.cause;
  if (cause?.retryable === false) return false;
  return cause?.code === undefined || !NEVER.has(cause.code);
}
