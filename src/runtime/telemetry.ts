/**
 * OpenTelemetry for the system, optional: spans around acquire, submit and every task run, the run's
 * trace context carried to the agent (thread agents included), and the metrics through an OTel meter.
 * A no-op without `@opentelemetry/api` (see src/core/otel.ts) or with `telemetry: false`.
 *
 * Span names and attributes follow the OpenTelemetry GenAI semantic conventions where they fit: a task
 * run is an `invoke_agent {pool}` span (`gen_ai.operation.name`, `gen_ai.agent.name` = the pool,
 * `gen_ai.agent.id`, `gen_ai.conversation.id` = the cycle), token usage the agent reports goes to
 * `gen_ai.usage.input_tokens` / `output_tokens`; what the conventions do not cover is `agentpool.*`.
 */
import {
  formatTraceparent,
  loadOtelApi,
  type OtelApi,
  type OtelSpanContext,
  otelInUse,
} from '../core/otel.js';
import type { Usage } from '../agent/define.js';
import { metricFamilies } from '../metrics/prometheus.js';
import type { PoolMetricsSnapshot, TaskResult } from '../metrics/pool-metrics.js';

/** What `SystemOptions.telemetry` accepts besides `false`. */
export interface TelemetryOptions {
  /** Where spans go. @default the global tracer provider of `@opentelemetry/api` */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** Where metrics go. @default the global meter provider of `@opentelemetry/api` */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
}

/** The span methods agentpool calls (the API's `Span`, structurally). */
interface SpanLike {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(e: unknown): unknown;
  spanContext(): OtelSpanContext;
  isRecording(): boolean;
  end(): void;
}

interface TracerLike {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: Record<string, unknown> },
    ctx?: unknown,
  ): SpanLike;
}

interface ObservableLike {
  readonly __observable?: never;
}

interface MeterLike {
  createObservableCounter(name: string, o?: { description?: string; unit?: string }): ObservableLike;
  createObservableGauge(name: string, o?: { description?: string; unit?: string }): ObservableLike;
  createHistogram(
    name: string,
    o?: { description?: string; unit?: string },
  ): { record(v: number, attrs?: Record<string, string>): void };
  addBatchObservableCallback(
    cb: (r: { observe(o: ObservableLike, v: number, attrs?: Record<string, string>): void }) => void,
    observables: ObservableLike[],
  ): void;
}

/** Span attributes. */
type Attributes = Record<string, string | number | boolean>;

/** A started span, ended once with how its work ended. */
export interface SpanHandle {
  /** The span's context, to parent later spans (an OTel `Context`). */
  readonly context: unknown;
  /** False for the no-op span (no SDK, sampled out, telemetry off): nothing to set or end. */
  readonly recording: boolean;
  /** Add an attribute (ignored once ended). */
  set(key: string, value: string | number | boolean): void;
  /** End it: `ok`, or failed with `error` (status ERROR, the exception recorded). */
  end(outcome: string, error?: unknown): void;
}

/** The span of one task run. */
export interface RunSpan extends SpanHandle {
  /** W3C `traceparent` of the span, for the agent (undefined when the span is not recorded). */
  readonly traceparent: string | undefined;
  /** Token usage the agent reported, as GenAI attributes. */
  usage(u: Usage): void;
}

const NOOP_SPAN: RunSpan = {
  context: undefined,
  recording: false,
  traceparent: undefined,
  set: () => {},
  end: () => {},
  usage: () => {},
};

/** OTel instrument name of a Prometheus family: `agentpool_agent_crashes_total` → `agentpool.agent.crashes`. */
export function otelName(promName: string): string {
  return promName.replace(/_total$/, '').replace(/_/g, '.');
}

/** The system's telemetry; every method is a cheap no-op until {@link init} found the API. */
export class Telemetry {
  private api: OtelApi | undefined;
  private tracer: TracerLike | undefined;
  /**
   * The API's no-op tracer provider (what the global proxy delegates to while no SDK is registered);
   * undefined when spans go to a provider given in the options.
   */
  private noopProvider: unknown;
  private taskDuration: { record(v: number, attrs?: Record<string, string>): void } | undefined;

  /** Set by {@link init} while nothing uses OpenTelemetry yet: the API is loaded once something does. */
  private pending: { metrics: () => readonly PoolMetricsSnapshot[]; version: string } | undefined;

  constructor(private readonly options: TelemetryOptions | false | undefined) {}

  /** True once spans are made (loading the API first if OpenTelemetry came into use since {@link init}). */
  get enabled(): boolean {
    return this.tracer !== undefined || this.loadWhenUsed();
  }

  /**
   * True when a span started now would be recorded by a provider: {@link enabled}, and a provider
   * other than the API's no-op one. Hot paths check it before building a span's attributes.
   */
  get active(): boolean {
    if (this.api === undefined && !this.loadWhenUsed()) return false;
    return this.api !== undefined && this.tracer !== undefined && this.tracing(this.api);
  }

  /**
   * Make spans and register the metric instruments (`metrics` is read on each collection of the
   * meter), unless disabled. With providers in the options, or with OpenTelemetry already in use in
   * this process, the API is loaded now; otherwise on the first check after something registers an
   * OpenTelemetry global (an SDK, a context manager, a meter provider): until then no span could be
   * recorded and no instrument read, and loading the API's ~20 CommonJS files cost every start-up
   * ~7–10 ms (thread agents booting meanwhile, `bench memory`). Idempotent.
   */
  init(metrics: () => readonly PoolMetricsSnapshot[], version: string): void {
    if (this.options === false || this.api) return;
    this.pending = { metrics, version };
    if (this.options?.tracerProvider || this.options?.meterProvider || otelInUse()) this.load();
  }

  /** Load the API if {@link init} is waiting and OpenTelemetry is now in use; true when loaded. */
  private loadWhenUsed(): boolean {
    if (this.pending === undefined || !otelInUse()) return false;
    this.load();
    return this.tracer !== undefined;
  }

  private load(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    const api = loadOtelApi();
    if (!api) return;
    this.api = api;
    const { metrics, version } = pending;
    const opts = this.options || undefined; // never false here: init() returned
    const tp = opts?.tracerProvider;
    // A fresh proxy delegates to the API's one no-op provider: the reference to compare the global
    // proxy's delegate with (see tracing()).
    if (!tp && api.ProxyTracerProvider && api.trace.getTracerProvider)
      this.noopProvider = new api.ProxyTracerProvider().getDelegate();
    this.tracer = (
      tp ? tp.getTracer('agentpool', version) : api.trace.getTracer('agentpool', version)
    ) as TracerLike;
    const mp = opts?.meterProvider;
    const meter = (
      mp ? mp.getMeter('agentpool', version) : api.metrics.getMeter('agentpool', version)
    ) as MeterLike;
    this.registerMetrics(meter, metrics);
  }

  private registerMetrics(meter: MeterLike, metrics: () => readonly PoolMetricsSnapshot[]): void {
    const instruments = new Map<string, ObservableLike>();
    for (const f of metricFamilies([])) {
      if (f.type === 'histogram') continue;
      const o = { description: f.help };
      instruments.set(
        f.name,
        f.type === 'counter'
          ? meter.createObservableCounter(otelName(f.name), o)
          : meter.createObservableGauge(otelName(f.name), o),
      );
    }
    meter.addBatchObservableCallback(
      (r) => {
        for (const f of metricFamilies(metrics())) {
          const inst = instruments.get(f.name);
          if (inst) for (const s of f.samples) r.observe(inst, s.value, s.labels);
        }
      },
      [...instruments.values()],
    );
    // A histogram cannot be observed after the fact: task run times are recorded as tasks end.
    this.taskDuration = meter.createHistogram('agentpool.task.run.duration', {
      description: 'How long task runs took, start to settle.',
      unit: 's',
    });
  }

  /**
   * False while the global tracer provider is the API's no-op one (the API installed, no SDK
   * registered): a span then records nothing, so none is made — with the API as a dependency of
   * another package, that was two no-op spans per submitted task (issue 14). Checked on every call: an
   * SDK registered after the system started is used from then on (test/telemetry.test.ts).
   */
  private tracing(api: OtelApi): boolean {
    const noop = this.noopProvider;
    if (noop === undefined) return true;
    const tp = api.trace.getTracerProvider!();
    const Proxy = api.ProxyTracerProvider!;
    return !(tp instanceof Proxy) || tp.getDelegate() !== noop;
  }

  /** A task run ended (`agentpool.task.run.duration`, attributes pool and outcome). */
  recordTaskRun(pool: string, outcome: TaskResult, seconds: number): void {
    this.taskDuration?.record(seconds, { pool, outcome });
  }

  /** Start a span, child of `parent` (default: the active context). */
  start(name: string, attributes: Attributes | (() => Attributes), parent?: unknown): SpanHandle {
    return this.startRun(name, attributes, parent);
  }

  /**
   * Start the span of a task run (a {@link RunSpan}: with its traceparent for the agent). A span the
   * SDK does not record (none registered, or sampled out) costs one `startSpan` call: its attributes
   * (a function, so the object is not even built) are skipped and it is handed back as a no-op.
   */
  startRun(name: string, attributes: Attributes | (() => Attributes), parent?: unknown): RunSpan {
    if (this.api === undefined && !this.loadWhenUsed()) return NOOP_SPAN;
    const api = this.api;
    const tracer = this.tracer;
    if (!api || !tracer || !this.tracing(api)) return NOOP_SPAN;
    const parentCtx = parent ?? api.context.active();
    const span = tracer.startSpan(name, { kind: api.SpanKind.INTERNAL }, parentCtx);
    if (!span.isRecording()) {
      span.end();
      return NOOP_SPAN;
    }
    const attrs = typeof attributes === 'function' ? attributes() : attributes;
    for (const k in attrs) span.setAttribute(k, attrs[k] as string | number | boolean);
    let ended = false;
    return {
      context: api.trace.setSpan(parentCtx, span),
      recording: true,
      traceparent: formatTraceparent(span.spanContext()),
      set: (k, v) => {
        if (!ended) span.setAttribute(k, v);
      },
      usage: (u) => {
        if (ended) return;
        const input = u.inputTokens ?? u.input_tokens;
        const output = u.outputTokens ?? u.output_tokens;
        if (input !== undefined) span.setAttribute('gen_ai.usage.input_tokens', input);
        if (output !== undefined) span.setAttribute('gen_ai.usage.output_tokens', output);
        if (u.tokens !== undefined) span.setAttribute('agentpool.usage.tokens', u.tokens);
      },
      end: (outcome, error) => {
        if (ended) return;
        ended = true;
        span.setAttribute('agentpool.outcome', outcome);
        if (error !== undefined) {
          span.recordException(error);
          const code = (error as { code?: unknown })?.code;
          if (typeof code === 'string') span.setAttribute('error.type', code);
          span.setStatus({
            code: api.SpanStatusCode.ERROR,
            message: (error as Error)?.message ?? String(error),
          });
        }
        span.end();
      },
    };
  }
}
