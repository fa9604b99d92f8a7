/**
 * Cluster-wide limits (issue 17 item 5): what a concurrency key costs when it holds across the
 * cluster (slots claimed and given back in NATS KV) against the same key in one process. No-op tasks
 * on inline agents, `concurrencyLimit: 1`, so every task is one claim, one run and one give-back:
 * the throughput is the key's hand-over rate. With two coordinators, each submits half the tasks.
 *
 * Run: `node --import tsx bench/cluster-limits.ts [--tasks 300] [--json]` (needs nats-server).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { startNatsServer } from '../src/cluster/server.js';
import { createAgentPoolSystem, defineAgent } from '../src/index.js';
import { machineLine, table } from './report.js';

const agent = defineAgent({ noop: () => null });

/** The bench's numbers. */
export interface ClusterLimitsBench {
  machine: string;
  tasks: number;
  rows: { setup: string; tasksPerSec: number }[];
}

function system(cluster?: { servers: string; name: string }) {
  return createAgentPoolSystem({
    pools: { p: { agent, host: 'inline', min: 2, max: 2 } },
    ...(cluster ? { cluster } : {}),
    shutdownDeadlineMs: 2_000,
  });
}

async function keyed(systems: ReturnType<typeof system>[], tasks: number, key: string): Promise<number> {
  await Promise.all(systems.map((s) => s.start()));
  const opts = {
    type: 'p' as const,
    task: 'noop' as const,
    concurrencyKey: key,
    concurrencyLimit: 1,
  };
  // Warm-up: connections, buckets, registration.
  await Promise.all(systems.map((s) => s.submit(opts)));
  const t = performance.now();
  await Promise.all(Array.from({ length: tasks }, (_, i) => systems[i % systems.length]!.submit(opts)));
  const s = (performance.now() - t) / 1000;
  await Promise.all(systems.map((x) => x.shutdown()));
  return Math.round(tasks / s);
}

/** Measure local, one cluster coordinator and two. */
export async function runClusterLimitsBench(tasks = 300): Promise<ClusterLimitsBench> {
  const nats = await startNatsServer();
  try {
    const c = (name: string) => ({ servers: nats.url, name });
    return {
      machine: machineLine(),
      tasks,
      rows: [
        { setup: 'one process, no cluster', tasksPerSec: await keyed([system()], tasks, 'k') },
        { setup: 'cluster, one coordinator', tasksPerSec: await keyed([system(c('b1'))], tasks, 'k') },
        {
          setup: 'cluster, two coordinators',
          tasksPerSec: await keyed([system(c('b2')), system(c('b2'))], tasks, 'k'),
        },
      ],
    };
  } finally {
    await nats.stop();
  }
}

/** Markdown. */
export function formatClusterLimitsBench(b: ClusterLimitsBench): string {
  return [
    `${b.machine} · ${b.tasks} no-op tasks of one key, concurrencyLimit 1`,
    '',
    table(
      ['setup', 'tasks/s'],
      b.rows.map((r) => [r.setup, r.tasksPerSec]),
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--tasks');
  const b = await runClusterLimitsBench(i > 0 ? Number(process.argv[i + 1]) : 300);
  process.stdout.write(
    process.argv.includes('--json') ? `${JSON.stringify(b)}\n` : `${formatClusterLimitsBench(b)}\n`,
  );
  process.exit(0);
}
