/**
 * `agentpool demo`: a parallel TDD workload on four typed pools of worker-thread agents.
 * Each story: design ∥ data fixtures → write tests (qa) → implement (code) → run tests (qa).
 * Every step acquires a lease for the story's cycle, runs one task, releases.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentPoolError } from '../core/errors.js';
import type { PoolOptions } from '../runtime/config.js';
import { createAgentPoolSystem } from '../runtime/system.js';
import type { Design, StoryKind, TestCase } from './work.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Stories to run. @default 40 */
  stories: number;
  /** Print a live progress display (TTY). @default stdout is a TTY */
  live: boolean;
  /** Acquire timeout per step; short so that bursts exercise scale-up on timeout. @default 1000 */
  acquireTimeoutMs: number;
}

/** The demo's pools (their agents are modules loaded by URL, so their tasks are untyped). */
type DemoPool = 'design' | 'data' | 'qa' | 'code';

/** The demo's summary (also its `--json` output). */
export interface DemoSummary {
  stories: number;
  tasks: number;
  completed: number;
  failed: number;
  storiesPassed: number;
  agentsPeak: number;
  acquireWaitMs: { p50: number; p99: number };
  scaleUps: number;
  /** Acquisitions retried by the demo after ERR_POOL_EXHAUSTED. */
  acquireRetries: number;
  durationMs: number;
  pools: Record<
    string,
    { min: number; max: number; agentsPeak: number; tasks: number; utilization: number; scaleUps: number }
  >;
  errors: string[];
}

function agentUrl(name: string): URL {
  const js = new URL(`./agents/${name}.agent.js`, import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL(`./agents/${name}.agent.ts`, import.meta.url);
}

/** Run the demo and return its summary. */
export async function runDemo(
  opts: DemoOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<DemoSummary> {
  const pool = (name: string, min: number, max: number): PoolOptions => ({
    agent: agentUrl(name),
    host: 'thread',
    min,
    max,
    acquireTimeoutMs: opts.acquireTimeoutMs,
    capacity: { memoryMb: 128 },
    healthCheckIntervalMs: 5_000,
  });
  const system = createAgentPoolSystem({
    pools: {
      design: pool('design', 4, 6),
      data: pool('data', 3, 4),
      qa: pool('qa', 7, 10),
      code: pool('code', 6, 10),
    },
  });
  const t0 = performance.now();
  await system.start();
  const tasksBy: Record<string, number> = { design: 0, data: 0, qa: 0, code: 0 };
  const leasedMs: Record<string, number> = { design: 0, data: 0, qa: 0, code: 0 };
  let completed = 0;
  let failed = 0;
  let storiesDone = 0;
  let storiesPassed = 0;
  const errors: string[] = [];

  let retries = 0;
  const acquire = async (type: DemoPool, cycleId: string) => {
    // An orchestrator's answer to ERR_POOL_EXHAUSTED: back off and ask again, a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await system.acquire(type, { cycleId, timeoutMs: opts.acquireTimeoutMs });
      } catch (e) {
        if ((e as AgentPoolError).code !== 'ERR_POOL_EXHAUSTED' || attempt >= 20) throw e;
        retries++;
      }
    }
  };
  const step = async <T>(type: DemoPool, cycleId: string, task: string, input: unknown): Promise<T> => {
    const lease = await acquire(type, cycleId);
    const start = performance.now();
    try {
      const r = (await lease.run(task, input, { timeoutMs: 30_000 })) as T;
      completed++;
      return r;
    } catch (e) {
      failed++;
      throw e;
    } finally {
      tasksBy[type] = (tasksBy[type] ?? 0) + 1;
      leasedMs[type] = (leasedMs[type] ?? 0) + performance.now() - start;
      await lease.release();
    }
  };

  const story = async (i: number) => {
    const id = `story-${i + 1}`;
    try {
      const [design, fixtures] = await Promise.all([
        step<Design>('design', id, 'design', { story: id, effort: 20 }),
        step<Record<StoryKind, unknown[]>>('data', id, 'fixtures', { story: id, count: 6 }),
      ]);
      const tests = await step<TestCase[]>('qa', id, 'writeTests', { design, inputs: fixtures[design.kind] });
      const impl = await step<{ source: string }>('code', id, 'implement', {
        design,
        attempt: 1,
        effort: 20,
      });
      const result = await step<{ passed: number; failed: number }>('qa', id, 'runTests', {
        kind: design.kind,
        source: impl.source,
        tests,
      });
      if (result.failed === 0 && result.passed === tests.length) storiesPassed++;
    } catch (e) {
      const err = e as AgentPoolError;
      if (errors.length < 10) errors.push(`${id}: ${err.code ?? err.name}: ${err.message}`);
    } finally {
      storiesDone++;
    }
  };

  let lines = 0;
  const render = (final = false) => {
    if (!opts.live) return;
    const st = system.status();
    const rows = [
      `agentpool demo — ${storiesDone}/${opts.stories} stories, ${completed} tasks done, ${failed} failed, ${st.threads} threads`,
      ...Object.values(st.pools).map(
        (p) =>
          `  ${p.type.padEnd(6)} size ${String(p.size).padStart(2)}/${p.max}  leased ${String(p.leased).padStart(2)}  waiting ${String(p.waiting).padStart(3)}  scale-ups ${p.counters.scaleUpsOnTimeout}`,
      ),
    ];
    out.write(`${lines ? `\x1b[${lines}A` : ''}${rows.map((r) => `\x1b[2K${r}`).join('\n')}\n`);
    lines = final ? 0 : rows.length;
  };
  const timer = opts.live ? setInterval(render, 100) : undefined;
  await Promise.all(Array.from({ length: opts.stories }, (_, i) => story(i)));
  if (timer) clearInterval(timer);
  render(true);

  const durationMs = performance.now() - t0;
  const status = system.status();
  const waitSamples = system
    .poolTypes()
    .flatMap((t) => system.pool(t).waits.values())
    .sort((a, b) => a - b);
  const pct = (q: number) =>
    waitSamples[Math.min(waitSamples.length - 1, Math.floor(q * waitSamples.length))] ?? 0;
  await system.shutdown({ graceful: true, deadlineMs: 5_000 });

  let agentsPeak = 0;
  let scaleUps = 0;
  const pools: DemoSummary['pools'] = {};
  for (const p of Object.values(status.pools)) {
    agentsPeak += p.counters.agentsPeak;
    scaleUps += p.counters.scaleUpsOnTimeout;
    pools[p.type] = {
      min: p.min,
      max: p.max,
      agentsPeak: p.counters.agentsPeak,
      tasks: tasksBy[p.type] ?? 0,
      // busy agent-time over available agent-time (peak size for the run's duration: a lower bound)
      utilization: round((leasedMs[p.type] ?? 0) / (durationMs * Math.max(1, p.counters.agentsPeak)), 3),
      scaleUps: p.counters.scaleUpsOnTimeout,
    };
  }
  return {
    stories: opts.stories,
    tasks: completed + failed,
    completed,
    failed,
    storiesPassed,
    agentsPeak,
    acquireWaitMs: { p50: round(pct(0.5), 3), p99: round(pct(0.99), 3) },
    scaleUps,
    acquireRetries: retries,
    durationMs: round(durationMs, 1),
    pools,
    errors,
  };
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Render the summary for people. */
export function formatSummary(s: DemoSummary): string {
  const lines = [
    `stories ${s.stories} (${s.storiesPassed} passed their tests) · tasks ${s.tasks} (${s.completed} ok, ${s.failed} failed) · ${s.durationMs.toFixed(0)} ms`,
    `agents peak ${s.agentsPeak} · acquire wait p50 ${s.acquireWaitMs.p50.toFixed(2)} ms, p99 ${s.acquireWaitMs.p99.toFixed(2)} ms · scale-ups on timeout ${s.scaleUps} · acquire retries ${s.acquireRetries}`,
    ...Object.entries(s.pools).map(
      ([t, p]) =>
        `  ${t.padEnd(6)} agents ${p.min}–${p.max} (peak ${p.agentsPeak}) · tasks ${p.tasks} · utilization ${(p.utilization * 100).toFixed(1)} % · scale-ups ${p.scaleUps}`,
    ),
    ...s.errors.map((e) => `  error: ${e}`),
  ];
  return lines.join('\n');
}
