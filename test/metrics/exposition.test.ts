/**
 * The Prometheus exposition of a live system: checked by the real `promtool check metrics` (Debian's
 * `prometheus` package; `.ci/run` installs it), joined to a real prom-client registry through
 * `promClientMetrics()`, counters with `_total` and no rate gauges, and acquire() results counted by
 * outcome.
 */
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { promClientMetrics } from '../../src/entry/metrics.js';
import { testTimings } from '../runtime/helpers.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
// CI installs promtool; elsewhere the check is skipped with a reason rather than failing.
const withPromtool = promtool || process.env.CI ? it : it.skip;

function checkWithPromtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** A system with some history: 2 tasks succeeded, 1 failed; acquires granted, exhausted, cancelled. */
async function busySystem() {
  const clock = new ManualClock();
  const agent = defineAgent({
    ok: () => 'ok',
    boom: () => {
      throw new Error('no');
    },
  });
  const sys = createAgentPoolSystem({
    clock,
    pools: {
      code: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, timings: testTimings },
      qa_night: { agent, min: 1, max: 2, healthCheckIntervalMs: 0, timings: testTimings },
    },
  });
  await sys.start();
  const lease = await sys.acquire('code', { cycleId: 'c1' });
  await lease.run('ok');
  await lease.run('boom').catch(() => undefined);
  // The only agent is leased and the pool is at max: this acquire times out, cannot scale, fails.
  const exhausted = sys
    .acquire('code', { cycleId: 'c2', timeoutMs: 100 })
    .catch((e: { code: string }) => e.code);
  const cancel = new AbortController();
  const cancelled = sys
    .acquire('code', { cycleId: 'c3', timeoutMs: 10_000, signal: cancel.signal })
    .catch((e: { code: string }) => e.code);
  await clock.advanceAsync(50);
  cancel.abort();
  await clock.advanceAsync(200);
  expect(await exhausted).toBe('ERR_POOL_EXHAUSTED');
  expect(await cancelled).toBe('ERR_ABORTED');
  await lease.release();
  await sys.submit({ type: 'qa_night', task: 'ok' });
  return sys;
}

describe('Prometheus exposition', () => {
  it('counts acquire() results by outcome, and work as counters (no *_per_minute gauges)', async () => {
    const sys = await busySystem();
    const text = sys.metricsText();
    expect(text).toContain('agentpool_acquires_total{pool="code",outcome="granted"} 1\n');
    expect(text).toContain('agentpool_acquires_total{pool="code",outcome="exhausted"} 1\n');
    expect(text).toContain('agentpool_acquires_total{pool="code",outcome="cancelled"} 1\n');
    expect(text).toContain('agentpool_acquires_total{pool="code",outcome="rejected"} 0\n');
    expect(text).toContain('agentpool_requests_total{pool="code"} 3\n');
    expect(text).toContain('agentpool_leases_total{pool="code",outcome="released"} 1\n');
    expect(text).toContain('agentpool_tasks_total{pool="code",outcome="succeeded"} 1\n');
    expect(text).toContain('agentpool_tasks_total{pool="code",outcome="failed"} 1\n');
    expect(text).toContain('agentpool_tasks_total{pool="qa_night",outcome="succeeded"} 1\n');
    expect(text).not.toMatch(/per_minute/);
    for (const m of text.matchAll(/^# TYPE (\S+) counter$/gm)) expect(m[1]).toMatch(/_total$/);
    await sys.shutdown({ graceful: false });
  });

  withPromtool('passes `promtool check metrics` (format and lint)', async () => {
    const sys = await busySystem();
    const r = checkWithPromtool(sys.metricsText());
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
    await sys.shutdown({ graceful: false });
  });

  it('joins a prom-client registry: the same series, fresh on every scrape', async () => {
    const sys = await busySystem();
    const registry = new Registry();
    for (const m of promClientMetrics(sys)) registry.registerMetric(m as never);
    const first = await registry.metrics();
    expect(first).toContain('agentpool_tasks_total{pool="code",outcome="succeeded"} 1');
    expect(first).toContain('agentpool_wait_seconds_bucket{pool="code",le="+Inf"}');
    expect(first).toContain('# TYPE agentpool_task_run_seconds histogram');
    await sys.submit({ type: 'code', task: 'ok' });
    // The cached families of one scrape must not leak into the next.
    await new Promise((r) => setImmediate(r));
    const second = await registry.metrics();
    expect(second).toContain('agentpool_tasks_total{pool="code",outcome="succeeded"} 2');
    if (promtool) {
      const r = checkWithPromtool(second);
      expect(r.out).toBe('');
      expect(r.status).toBe(0);
    }
    // Names collide with nothing prom-client's defaults register.
    expect(() => registry.registerMetric(promClientMetrics(sys)[0] as never)).toThrow(
      /already been registered/,
    );
    await sys.shutdown({ graceful: false });
  });

  it('rejects a source without metrics()', () => {
    expect(() => promClientMetrics({} as never)).toThrow(TypeError);
  });
});
