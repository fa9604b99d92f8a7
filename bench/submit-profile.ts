/**
 * Where a submitted task's main-thread time and memory go, for one build or several side by side:
 * throughput of `system.submit()` and of `lease.run` on 2 thread agents (256 in flight, null input),
 * bytes allocated per task (V8's sampling heap profiler, collected objects included) and the
 * main-thread CPU profile by category (GC, postMessage, XState, agentpool, other). Each build × mode
 * runs in a fresh process, builds alternate within a round.
 *
 * Run (after `npm run build`): `node dist/bench/submit-profile.js [--builds DIR,DIR…] [--rounds N]
 * [--tasks N]` — a build is a checkout with `dist/` built (default: this one). Prints; writes nothing.
 * docs/benchmarks.md ("Session 9: the submit fast path") quotes a run of it against the previous commit.
 */
import { spawnSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import os from 'node:os';
import type * as AgentPool from '../src/index.js';

interface ChildResult {
  mode: 'submit' | 'lease';
  tasksPerSec: number;
  bytesPerTask: number;
  /** Share of non-idle main-thread samples by category, 0..1. */
  cpu: Record<string, number>;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  selfSize?: number;
  children?: ProfileNode[] | number[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const ownRoot = path.resolve(here, '..', '..');

function category(fn: string, url: string): string | undefined {
  if (fn === '(idle)') return undefined;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === 'postMessage') return 'postMessage';
  if (/xstate|raise-/.test(url)) return 'XState';
  if (/dist\/src\//.test(url)) return 'agentpool';
  return 'other';
}

async function child(root: string, mode: 'submit' | 'lease', tasks: number): Promise<ChildResult> {
  const entry = pathToFileURL(path.join(root, 'dist', 'src', 'index.js')).href;
  const { createAgentPoolSystem } = (await import(entry)) as typeof AgentPool;
  const agent = pathToFileURL(path.join(ownRoot, 'bench', 'fixtures', 'noop.agent.mjs'));
  const sys = createAgentPoolSystem({
    pools: { bench: { agent, host: 'thread', min: 2, max: 2, concurrency: 128 } },
    telemetry: false,
  });
  await sys.start();
  while (sys.pool('bench').status().available < 2) await new Promise((r) => setTimeout(r, 5));
  const leases =
    mode === 'lease'
      ? [await sys.acquire('bench', { cycleId: 'a' }), await sys.acquire('bench', { cycleId: 'b' })]
      : [];
  const call =
    mode === 'lease'
      ? (i: number) => leases[i & 1]!.run('work', null)
      : () => sys.submit({ type: 'bench', task: 'work', input: null });
  const run = (n: number) =>
    new Promise<void>((resolve, reject) => {
      let started = 0;
      let done = 0;
      const next = (): void => {
        if (started >= n) return;
        call(started++).then(() => {
          if (++done === n) resolve();
          else next();
        }, reject);
      };
      for (let i = 0; i < 256; i++) next();
    });
  await run(5_000);
  const t0 = performance.now();
  await run(tasks);
  const tasksPerSec = (tasks / (performance.now() - t0)) * 1000;
  const s = new Session();
  s.connect();
  const sampled = Math.max(1_000, Math.floor(tasks / 2));
  await s.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
  await run(sampled);
  const heap = (await s.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: ProfileNode };
  };
  let bytes = 0;
  const walk = (n: ProfileNode): void => {
    bytes += n.selfSize ?? 0;
    for (const c of (n.children ?? []) as ProfileNode[]) walk(c);
  };
  walk(heap.profile.head);
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  await run(sampled);
  const { profile } = (await s.post('Profiler.stop')) as unknown as {
    profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const cpu: Record<string, number> = {};
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const k = category(n.callFrame.functionName, n.callFrame.url);
    if (!k) return;
    const dt = profile.timeDeltas[i] ?? 0;
    cpu[k] = (cpu[k] ?? 0) + dt;
    busy += dt;
  });
  for (const k of Object.keys(cpu)) cpu[k] = cpu[k]! / busy;
  s.disconnect();
  await sys.shutdown({ graceful: false, deadlineMs: 2_000 });
  return { mode, tasksPerSec, bytesPerTask: bytes / sampled, cpu };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const childRoot = arg('--child');
  const tasks = Number(arg('--tasks') ?? 40_000);
  if (childRoot) {
    const mode = arg('--mode') === 'lease' ? 'lease' : 'submit';
    process.stdout.write(JSON.stringify(await child(childRoot, mode, tasks)));
    process.exit(0);
  }
  const builds = (arg('--builds') ?? ownRoot).split(',').map((b) => path.resolve(b));
  const rounds = Number(arg('--rounds') ?? 3);
  console.log(`load ${os.loadavg()[0]!.toFixed(2)} at start`);
  for (let r = 0; r < rounds; r++)
    for (const mode of ['submit', 'lease'] as const)
      for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
        const out = spawnSync(
          process.execPath,
          [fileURLToPath(import.meta.url), '--child', b, '--mode', mode, '--tasks', String(tasks)],
          { encoding: 'utf8', timeout: 300_000 },
        );
        if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
        const res = JSON.parse(out.stdout) as ChildResult;
        const cpu = Object.entries(res.cpu)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${k} ${(v * 100).toFixed(0)} %`)
          .join(', ');
        console.log(
          `round ${r + 1} · ${mode.padEnd(6)} · ${path.basename(b).padEnd(12)} · ${Math.round(res.tasksPerSec).toLocaleString('en-US')} tasks/s · ${Math.round(res.bytesPerTask).toLocaleString('en-US')} B/task · ${cpu}`,
        );
      }
  console.log(`load ${os.loadavg()[0]!.toFixed(2)} at end`);
}

await main();
