/**
 * The optional OpenTelemetry API. `@opentelemetry/api` is an optional peer dependency: when it can be
 * imported, agentpool makes spans and metrics with it (a no-op until the application registers an SDK);
 * when it cannot, nothing is traced and nothing fails. Loaded once per thread, on first use.
 *
 * Only the few API members agentpool calls are typed here (structurally), so the package's types are
 * not needed to compile against agentpool.
 */

import { createRequire } from 'node:module';

/** A span context in the W3C Trace Context sense. */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** The part of `@opentelemetry/api` agentpool uses. */
export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): unknown;
    setSpan(ctx: unknown, span: unknown): unknown;
    setSpanContext(ctx: unknown, sc: OtelSpanContext & { isRemote?: boolean }): unknown;
    getSpan(ctx: unknown): unknown;
    /** The global tracer provider (a `ProxyTracerProvider` unless one was set directly). */
    getTracerProvider?(): unknown;
  };
  /** The API's proxy provider class: its delegate is the SDK's provider once one is registered. */
  ProxyTracerProvider?: new () => { getDelegate(): unknown };
  context: {
    active(): unknown;
    with<T>(ctx: unknown, fn: () => T): T;
  };
  metrics: { getMeter(name: string, version?: string): unknown };
  SpanStatusCode: { OK: number; ERROR: number };
  SpanKind: { INTERNAL: number; PRODUCER: number; CONSUMER: number; CLIENT: number };
  ROOT_CONTEXT: unknown;
}

let loaded: OtelApi | undefined | null;

/**
 * Where `@opentelemetry/api` 1.x keeps what was registered with it (its `registerGlobal`: the tracer,
 * meter and propagation providers, the context manager, the diag logger), shared by every copy of the
 * API in the process. Major 1 is the peer dependency's range (`^1.9.0`); a 2.x API keeps its globals
 * under `…api.2` and would need this (and {@link OtelApi}) revisited.
 */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * True once something in this process registered an OpenTelemetry global (an SDK, a context
 * manager…) — or the API is loaded already. Before that, no span can be recorded nor an instrument
 * read, so agentpool does not load the API. One property read: cheap enough for every task.
 */
export function otelInUse(): boolean {
  return loaded != null || (globalThis as Record<symbol, unknown>)[OTEL_GLOBAL] !== undefined;
}

/**
 * `@opentelemetry/api` if it is installed, else undefined — loaded once per thread, synchronously, with
 * `require`: Node resolves the package to its CommonJS build under `import` as well, so this is the
 * instance the application's own `import` gets (and the API keeps its globals on `globalThis` in any
 * case). Synchronous, so start-up takes no extra turn and no task ever waits for it.
 */
export function loadOtelApi(): OtelApi | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  try {
    const m = createRequire(import.meta.url)('@opentelemetry/api') as Partial<OtelApi>;
    loaded = m.trace && m.context ? (m as OtelApi) : null;
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` header of a span context (version 00). */
export function formatTraceparent(sc: OtelSpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Parse a W3C `traceparent` (version 00); undefined when malformed or all-zero. */
export function parseTraceparent(header: string): OtelSpanContext | undefined {
  const m = TRACEPARENT.exec(header);
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}
