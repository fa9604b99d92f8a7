/**
 * Remote agents (issue 17): round trip of a no-op `lease.run()` on a local thread agent, a local
 * inline agent and a remote agent (a node process over a local nats-server, inline host there), and
 * throughput of CPU-bound tasks with 1, 2 and 3 nodes (one agent per node). The machine's cores are
 * shared by the coordinator, nats-server and every node: with 2 cores, 3 nodes cannot be 3×.
 *
 * Run: `node --import tsx bench/cluster.ts [--json]` (needs nats-server; prints markdown).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { startNatsServer } from '../src/cluster/server.js';
import { createAgentPoolSystem } from '../src/index.js';
import { machineLine, packageRoot, table } from './report.js';

const AGENT = pathToFileURL(join(packageRoot(), 'bench', 'fixtures', 'noop.agent.mjs'));
/** ~ 20 ms of CPU per task on this machine's class of core (the dispatch bench's calibrated loop). */
const SPIN = 20_000_000;

/** The bench's numbers. */
export interface ClusterBench {
  machine: string;
  roundTripUsP50: Record<'thread' | 'inline' | 'remote', number>;
  throughput: { nodes: number; tasks: number; tasksPerSec: number; ratioTo1: number }[];
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function roundTrip(pools: Parameters<typeof createAgentPoolSystem>[0], n: number): Promise<number> {
  const system = createAgentPoolSystem(pools);
  await system.start();
  try {
    const lease = await system.acquire('p', { cycleId: 'rt', timeoutMs: 10_000 });
    const times: number[] = [];
    for (let i = 0; i < n + 50; i++) {
      const t = performance.now();
      await lease.run('noop', null);
      if (i >= 50) times.push((performance.now() - t) * 1000);
    }
    await lease.release();
    return Math.round(p50(times));
  } finally {
    await system.shutdown();
  }
}

async function spawnNodes(url: string, system: string, count: number): Promise<ChildProcess[]> {
  const out: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(packageRoot(), 'src/cli/main.ts'),
        'node',
        '--nats',
        url,
        '--system',
        system,
      ].concat(['--name', `n${i}`, '--host', 'inline', '--capacity', '1', '--heartbeat-ms', '500']),
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('node not ready in 20 s')), 20_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('"ready":true')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    out.push(child);
  }
  return out;
}

/** Run the bench against a fresh local nats-server. */
export async function runClusterBench(n = 500, tasks = 120): Promise<ClusterBench> {
  const nats = await startNatsServer();
  const nodes: ChildProcess[] = [];
  try {
    const thread = await roundTrip({ pools: { p: { agent: AGENT, host: 'thread', min: 1, max: 1 } } }, n);
    const inline = await roundTrip({ pools: { p: { agent: AGENT, host: 'inline', min: 1, max: 1 } } }, n);
    nodes.push(...(await spawnNodes(nats.url, 'rt', 1)));
    const remote = await roundTrip(
      {
        pools: { p: { agent: AGENT, host: 'remote', min: 1, max: 1 } },
        cluster: { servers: nats.url, name: 'rt', heartbeatMs: 500, lostAfterMs: 5_000 },
      },
      n,
    );
    for (const c of nodes.splice(0)) c.kill('SIGKILL');
    const throughput: ClusterBench['throughput'] = [];
    for (const count of [1, 2, 3]) {
      const sys = `tp${count}`;
      nodes.push(...(await spawnNodes(nats.url, sys, count)));
      const system = createAgentPoolSystem({
        pools: { p: { agent: AGENT, host: 'remote', min: count, max: count } },
        cluster: { servers: nats.url, name: sys, heartbeatMs: 500, lostAfterMs: 5_000 },
      });
      await system.start();
      const t = performance.now();
      await Promise.all(
        Array.from({ length: tasks }, () =>
          system.submit({ type: 'p', task: 'work', input: { spin: SPIN } }),
        ),
      );
      const tasksPerSec = tasks / ((performance.now() - t) / 1000);
      await system.shutdown();
      for (const c of nodes.splice(0)) c.kill('SIGKILL');
      throughput.push({
        nodes: count,
        tasks,
        tasksPerSec: Math.round(tasksPerSec * 10) / 10,
        ratioTo1: Math.round((tasksPerSec / (throughput[0]?.tasksPerSec ?? tasksPerSec)) * 100) / 100,
      });
    }
    return { machine: machineLine(), roundTripUsP50: { thread, inline, remote }, throughput };
  } finally {
    for (const c of nodes) c.kill('SIGKILL');
    await nats.stop();
  }
}

/** The bench as markdown. */
export function formatClusterBench(b: ClusterBench): string {
  return [
    `Machine: ${b.machine}`,
    '',
    table(
      ['agent', 'no-op lease.run() round trip p50 (µs)'],
      Object.entries(b.roundTripUsP50).map(([k, v]) => [k, v]),
    ),
    '',
    table(
      ['nodes', 'tasks (≈20 ms CPU each)', 'tasks/s', 'ratio to 1 node'],
      b.throughput.map((r) => [r.nodes, r.tasks, r.tasksPerSec, r.ratioTo1]),
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const b = await runClusterBench();
  process.stdout.write(
    process.argv.includes('--json') ? `${JSON.stringify(b)}\n` : `${formatClusterBench(b)}\n`,
  );
}
