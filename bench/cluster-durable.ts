/**
 * Durable submits (issue 17 item 4): what storing a task in JetStream costs a submit, and how long a
 * restarted coordinator takes to resume what was left. Against a fresh local nats-server (file
 * storage), inline no-op agents, so the numbers are the store's and the dispatcher's, not an agent's:
 *
 * - `enqueue()` latency (until the handle resolves: the PubAck in cluster mode) and a no-op
 *   `submit()` round trip, sequential, with `cluster.durable` on and off (same cluster option);
 * - throughput of `tasks` concurrent no-op submits, durable on and off;
 * - resume: `tasks` tasks queued behind a held agent, the coordinator shut down forced, then a new
 *   coordinator's `start()` (which resumes them) and the time until every result is in.
 *
 * Run: `node --import tsx bench/cluster-durable.ts [--json]` (needs nats-server; prints markdown).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { startNatsServer } from '../src/cluster/server.js';
import { createAgentPoolSystem } from '../src/index.js';
import { machineLine, packageRoot, table } from './report.js';

const AGENT = pathToFileURL(join(packageRoot(), 'bench', 'fixtures', 'noop.agent.mjs'));

/** The bench's numbers. */
export interface DurableBench {
  machine: string;
  latencyUs: { mode: 'durable' | 'memory'; enqueueP50: number; enqueueP99: number; submitP50: number }[];
  throughput: { mode: 'durable' | 'memory'; tasks: number; tasksPerSec: number }[];
  resume: { tasks: number; startMs: number; emptyStartMs: number; allDoneMs: number };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0);
}

/** Run the bench against a fresh local nats-server. */
export async function runDurableBench(n = 500, tasks = 2000): Promise<DurableBench> {
  const nats = await startNatsServer();
  const sys = (name: string, durable: boolean, size = 2) =>
    createAgentPoolSystem({
      pools: { p: { agent: AGENT, host: 'inline', min: size, max: size } },
      cluster: { servers: nats.url, name, durable },
      shutdownDeadlineMs: 2_000,
    });
  try {
    const latencyUs: DurableBench['latencyUs'] = [];
    const throughput: DurableBench['throughput'] = [];
    for (const mode of ['memory', 'durable'] as const) {
      const s = sys(`lat_${mode}`, mode === 'durable');
      await s.start();
      const enq: number[] = [];
      const sub: number[] = [];
      for (let i = 0; i < n + 50; i++) {
        let t = performance.now();
        const h = await s.enqueue({ type: 'p', task: 'noop', input: null });
        if (i >= 50) enq.push((performance.now() - t) * 1000);
        await h.result;
        t = performance.now();
        await s.submit({ type: 'p', task: 'noop', input: null });
        if (i >= 50) sub.push((performance.now() - t) * 1000);
      }
      latencyUs.push({
        mode,
        enqueueP50: pct(enq, 0.5),
        enqueueP99: pct(enq, 0.99),
        submitP50: pct(sub, 0.5),
      });
      const t = performance.now();
      await Promise.all(
        Array.from({ length: tasks }, () => s.submit({ type: 'p', task: 'noop', input: null })),
      );
      throughput.push({ mode, tasks, tasksPerSec: Math.round(tasks / ((performance.now() - t) / 1000)) });
      await s.shutdown();
    }
    // Resume: a coordinator leaves `tasks` queued tasks behind (its only agent held), a new one resumes.
    const a = sys('resume', true, 1);
    await a.start();
    const lease = await a.acquire('p', { cycleId: 'hold', timeoutMs: 5_000 });
    const handles = await Promise.all(
      Array.from({ length: tasks }, () => a.enqueue({ type: 'p', task: 'noop', input: null })),
    );
    await a.shutdown({ graceful: false });
    await lease.release().catch(() => {});
    const empty = sys('resume_empty', true, 1);
    let t = performance.now();
    await empty.start();
    const emptyStartMs = Math.round(performance.now() - t);
    await empty.shutdown();
    const b = sys('resume', true, 1);
    t = performance.now();
    await b.start();
    const startMs = Math.round(performance.now() - t);
    await Promise.all(handles.map((h) => b.attach(h.id, { timeoutMs: 120_000 })));
    const allDoneMs = Math.round(performance.now() - t);
    await b.shutdown();
    return {
      machine: machineLine(),
      latencyUs,
      throughput,
      resume: { tasks, startMs, emptyStartMs, allDoneMs },
    };
  } finally {
    await nats.stop();
  }
}

/** The bench as markdown. */
export function formatDurableBench(b: DurableBench): string {
  return [
    `Machine: ${b.machine}`,
    '',
    table(
      ['cluster.durable', 'enqueue() p50 (µs)', 'enqueue() p99 (µs)', 'no-op submit() round trip p50 (µs)'],
      b.latencyUs.map((r) => [r.mode === 'durable' ? 'on' : 'off', r.enqueueP50, r.enqueueP99, r.submitP50]),
    ),
    '',
    table(
      ['cluster.durable', 'concurrent no-op submits', 'tasks/s'],
      b.throughput.map((r) => [r.mode === 'durable' ? 'on' : 'off', r.tasks, r.tasksPerSec]),
    ),
    '',
    table(
      [
        'tasks left in the stream',
        'start() with resume (ms)',
        'start() with an empty stream (ms)',
        'start() until all results (ms)',
      ],
      [[b.resume.tasks, b.resume.startMs, b.resume.emptyStartMs, b.resume.allDoneMs]],
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const b = await runDurableBench();
  process.stdout.write(
    process.argv.includes('--json') ? `${JSON.stringify(b)}\n` : `${formatDurableBench(b)}\n`,
  );
}
