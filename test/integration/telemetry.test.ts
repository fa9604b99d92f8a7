/**
 * OpenTelemetry through the public API, with the real SDKs (sdk-trace-base's in-memory exporter,
 * sdk-metrics' reader): spans around acquire, submit and every run, with GenAI attributes; the run
 * parented by the caller's span (leases) or the submit span (submit); the trace context inside inline
 * and thread agents; the metrics through an OTel meter; `telemetry: false` and bad providers.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent } from '../../src/index.js';
import { configErrorOf } from '../helpers/config-error.js';
import { fastTimings, fixture } from '../helpers/agents.js';
import { TestReader } from '../helpers/otel-reader.js';
import { runTsFixture } from '../helpers/ts-child.js';

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  contextManager.disable();
});
const systems: AgentPoolSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ graceful: false });
  exporter.reset();
});

const agent = defineAgent({
  echo: (x: unknown) => x,
  boom: () => {
    throw new Error('model refused');
  },
  whereAmI: async (_: unknown, ctx) => {
    await Promise.resolve();
    const sc = trace.getSpan(context.active())?.spanContext();
    ctx.reportUsage({ inputTokens: 120, outputTokens: 30 });
    return { traceparent: ctx.traceparent, spanId: sc?.spanId, traceId: sc?.traceId };
  },
});

const byName = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('OpenTelemetry', () => {
  it('traces acquire, the runs on a lease (children of the caller’s span) and submit → run', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const sys = createAgentPoolSystem({
      pools: { w: { agent, min: 1, max: 2, healthCheckIntervalMs: 0 } },
      telemetry: { tracerProvider, meterProvider },
    });
    systems.push(sys);
    await sys.start();
    const tracer = tracerProvider.getTracer('orchestrator');
    const inner = await tracer.startActiveSpan('story-42', async (root) => {
      const lease = await sys.acquire('w', { cycleId: 'story-42' });
      const where = (await lease.run('whereAmI')) as { traceparent: string; spanId: string; traceId: string };
      await expect(lease.run('boom')).rejects.toMatchObject({ code: 'ERR_TASK_ERROR' });
      await lease.release();
      root.end();
      return { where, root: root.spanContext() };
    });
    expect(await sys.submit({ type: 'w', task: 'echo', input: 7 })).toBe(7);

    const [story] = byName('story-42');
    const [acq] = byName('acquire w');
    expect(acq?.attributes).toMatchObject({
      'agentpool.pool': 'w',
      'gen_ai.conversation.id': 'story-42',
      'agentpool.outcome': 'granted',
    });
    expect(parentOf(acq!)).toBe(story?.spanContext().spanId);
    const runs = byName('invoke_agent w');
    expect(runs).toHaveLength(3);
    const [ok, failed, submitted] = runs;
    expect(ok?.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'w',
      'agentpool.task': 'whereAmI',
      'gen_ai.conversation.id': 'story-42',
      'agentpool.outcome': 'succeeded',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 30,
    });
    expect(parentOf(ok!)).toBe(inner.root.spanId);
    // Inside the inline agent, the run's span is the active one and ctx.traceparent names it.
    expect(inner.where.spanId).toBe(ok?.spanContext().spanId);
    expect(inner.where.traceId).toBe(inner.root.traceId);
    expect(inner.where.traceparent).toBe(`00-${inner.root.traceId}-${ok?.spanContext().spanId}-01`);
    expect(failed?.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(failed?.attributes['error.type']).toBe('ERR_TASK_ERROR');
    expect(failed?.events.some((e) => e.name === 'exception')).toBe(true);
    const [sub] = byName('submit echo');
    expect(sub?.attributes).toMatchObject({ 'agentpool.pool': 'w', 'agentpool.outcome': 'succeeded' });
    expect(parentOf(submitted!)).toBe(sub?.spanContext().spanId);

    // The metrics through the meter: the same counters as metricsText(), and the run-time histogram.
    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const tasks = metrics.find((m) => m.descriptor.name === 'agentpool.tasks');
    const point = (outcome: string) =>
      tasks?.dataPoints.find((d) => d.attributes.pool === 'w' && d.attributes.outcome === outcome)?.value;
    expect(point('succeeded')).toBe(2);
    expect(point('failed')).toBe(1);
    const duration = metrics.find((m) => m.descriptor.name === 'agentpool.task.run.duration');
    const count = duration?.dataPoints.reduce((n, d) => n + (d.value as { count: number }).count, 0);
    expect(count).toBe(3);
    expect(duration?.descriptor.unit).toBe('s');
    await meterProvider.shutdown();
  });

  it('carries the trace into a thread agent: its active span is the run', async () => {
    const sys = createAgentPoolSystem({
      pools: { t: { agent: fixture('otel'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
      telemetry: { tracerProvider },
    });
    systems.push(sys);
    await sys.start();
    const lease = await sys.acquire('t', { cycleId: 'c' });
    const where = (await lease.run('whereAmI')) as { traceparent: string; spanId: string; traceId: string };
    await lease.release();
    const [run] = byName('invoke_agent t');
    expect(run).toBeDefined();
    expect(where.spanId).toBe(run?.spanContext().spanId);
    expect(where.traceId).toBe(run?.spanContext().traceId);
    expect(where.traceparent).toBe(`00-${where.traceId}-${where.spanId}-01`);
  });

  it('is off with telemetry: false; bad providers are config errors', async () => {
    const sys = createAgentPoolSystem({
      pools: { w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0 } },
      telemetry: false,
    });
    systems.push(sys);
    await sys.start();
    const where = (await sys.submit({ type: 'w', task: 'whereAmI' })) as { traceparent?: string };
    expect(where.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent } }, telemetry: { tracerProvider: {} as never } }),
      'telemetry.tracerProvider.getTracer',
    );
    configErrorOf(
      () => createAgentPoolSystem({ pools: { w: { agent } }, telemetry: { tracer: 1 } as never }),
      'telemetry.tracer',
    );
  });

  it('uses the global provider: no span while none is registered, spans once an SDK registers later', async () => {
    const sys = createAgentPoolSystem({
      pools: { w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0 } },
    });
    systems.push(sys);
    await sys.start();
    // The API is installed but no SDK: nothing is recorded and the agent sees no trace.
    const before = (await sys.submit({ type: 'w', task: 'whereAmI' })) as { traceparent?: string };
    expect(before.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    // An SDK registered after start() (as an application may do late) is used from then on.
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    try {
      const after = (await sys.submit({ type: 'w', task: 'whereAmI' })) as { traceparent?: string };
      expect(after.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(byName('submit whereAmI')).toHaveLength(1);
      expect(byName('invoke_agent w')).toHaveLength(1);
    } finally {
      trace.disable();
    }
    // And off again once it is gone.
    await sys.submit({ type: 'w', task: 'echo', input: 1 });
    expect(byName('invoke_agent w')).toHaveLength(1);
  });

  it('loads the API only once OpenTelemetry is in use: not at start-up, and a meter provider registered late gets the instruments', async () => {
    // A fresh process: this file's own imports have put OpenTelemetry in use here.
    const { code, out, err } = await runTsFixture('otel-late-child.ts', 30_000);
    expect(err).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(out.trim().split('\n').pop()!) as { beforeUse: boolean; names: string[] };
    expect(r.beforeUse, 'the API was loaded while nothing used OpenTelemetry').toBe(false);
    expect(r.names).toContain('agentpool.tasks');
    expect(r.names).toContain('agentpool.task.run.duration');
  }, 40_000);
});
