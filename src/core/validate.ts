/**
 * Small boundary validators. They throw {@link ConfigError} / {@link InvalidArgumentError} naming the
 * option path and the value received. Kept hand-written (not a schema library) because they run on
 * the acquire/submit hot path and must cost well under a microsecond.
 */
import { MAX_DURATION_MS } from './clock.js';
import { ConfigError, InvalidArgumentError } from './errors.js';

type Ctor = new (path: string, received: unknown, expected: string) => ConfigError;

/** Which error class a validator throws: config errors before start, argument errors per call. */
export type Kind = 'config' | 'argument';

function fail(kind: Kind, path: string, value: unknown, expected: string): never {
  const C: Ctor = kind === 'config' ? ConfigError : InvalidArgumentError;
  throw new C(path, value, expected);
}

/** Throw unless `value` is a plain object; returns it typed as a record. */
export function record(kind: Kind, path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(kind, path, value, 'an object');
  return value as Record<string, unknown>;
}

/** Throw on the first key of `obj` not in `allowed` ("unknown config keys are errors"). */
export function knownKeys(
  kind: Kind,
  path: string,
  obj: Record<string, unknown>,
  allowed: ReadonlySet<string>,
): void {
  for (const k in obj) {
    if (!allowed.has(k))
      fail(kind, `${path}.${k}`, obj[k], `one of the known options (${[...allowed].join(', ')})`);
  }
}

/** Options for {@link num}. */
export interface NumOpts {
  min?: number;
  max?: number;
  integer?: boolean;
  /** Exclusive lower bound instead of inclusive. */
  gt?: number;
}

/** Validate an optional finite number; returns `fallback` when undefined. */
export function num(kind: Kind, path: string, value: unknown, fallback: number, o: NumOpts = {}): number {
  if (value === undefined) return fallback;
  return reqNum(kind, path, value, o);
}

/** Validate a required finite number. */
export function reqNum(kind: Kind, path: string, value: unknown, o: NumOpts = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(kind, path, value, 'a finite number');
  if (o.integer && !Number.isInteger(value)) fail(kind, path, value, 'an integer');
  if (o.min !== undefined && value < o.min) fail(kind, path, value, `a number >= ${o.min}`);
  if (o.gt !== undefined && value <= o.gt) fail(kind, path, value, `a number > ${o.gt}`);
  if (o.max !== undefined && value > o.max) fail(kind, path, value, `a number <= ${o.max}`);
  return value;
}

/** Options for {@link duration}. */
export interface DurationOpts {
  /** Refuse 0 too (a timeout or interval that must elapse). @default false */
  positive?: boolean;
}

/**
 * Validate an optional duration in ms: a finite number from 0 (or above 0 with `positive`) to
 * {@link MAX_DURATION_MS} (Node's timer range); returns `fallback` when undefined. Every duration
 * option is parsed with it, so none can overflow a timer.
 *
 * @example duration('config', 'pools.code.timings.startTimeoutMs', o.startTimeoutMs, 30_000)
 */
export function duration(
  kind: Kind,
  path: string,
  value: unknown,
  fallback: number,
  o: DurationOpts = {},
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !(o.positive ? value > 0 : value >= 0) ||
    !(value <= MAX_DURATION_MS) // also refuses NaN and Infinity
  ) {
    fail(kind, path, value, `a duration in ms ${o.positive ? '> 0' : '>= 0'} and <= ${MAX_DURATION_MS}`);
  }
  return value;
}

/** Validate an optional string (optionally one of `oneOf`). */
export function str<T extends string>(
  kind: Kind,
  path: string,
  value: unknown,
  fallback: T,
  oneOf?: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) fail(kind, path, value, 'a non-empty string');
  if (oneOf && !oneOf.includes(value as T)) fail(kind, path, value, `one of ${oneOf.join(', ')}`);
  return value as T;
}

/** Validate an optional boolean. */
export function bool(kind: Kind, path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(kind, path, value, 'a boolean');
  return value;
}

/** Validate an optional array of non-empty strings. */
export function strings(kind: Kind, path: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value)) fail(kind, path, value, 'an array of strings');
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.length === 0) fail(kind, `${path}[${i}]`, v, 'a non-empty string');
  });
  return [...(value as string[])];
}

/** Validate an optional AbortSignal. */
export function signal(kind: Kind, path: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) fail(kind, path, value, 'an AbortSignal');
  return value;
}

/** Throw a validation error directly (for cross-field rules such as `min <= max`). */
export function invalid(kind: Kind, path: string, value: unknown, expected: string): never {
  fail(kind, path, value, expected);
}
