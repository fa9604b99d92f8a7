/**
 * One case of the memory bench, run in a fresh process by bench/memory.ts:
 * `node --expose-gc memory-child.js system|bare|bare-module inline|thread N`. Prints one JSON line
 * `{ heapBytes, rssBytes, startMs }` (totals; the parent divides by N).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { defineAgent } from '../src/agent/define.js';
import { packageRoot } from '../src/core/package-root.js';
import { createAgentPoolSystem } from '../src/runtime/system.js';

const [mode, host, n] = process.argv.slice(2);
const agents = Number(n);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const fixture = (f: string) => pathToFileURL(join(packageRoot(), 'bench', 'fixtures', f));

function settle(): void {
  for (let i = 0; i < 3; i++) gc();
}

async function system(): Promise<{ startMs: number; after: () => void }> {
  const t0 = performance.now();
  const sys = createAgentPoolSystem({
    pools: {
      bench:
        host === 'thread'
          ? { agent: fixture('noop.agent.mjs'), host: 'thread', min: agents, max: agents }
          : { agent: defineAgent({ noop: () => null }), host: 'inline', min: agents, max: agents },
    },
  });
  await sys.start();
  const pool = sys.pool('bench');
  while (pool.status().available < agents) await new Promise((r) => setTimeout(r, 1));
  return {
    startMs: performance.now() - t0,
    after: () => void sys.shutdown({ graceful: false, deadlineMs: 5_000 }),
  };
}

/** Bare workers; `bare-module`: each loads the agent module first (echo-module.worker.mjs). */
async function bare(file: string): Promise<{ startMs: number; after: () => void }> {
  const t0 = performance.now();
  const workers = Array.from({ length: agents }, () => new Worker(fixture(file)));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.once('message', () => resolve());
          w.postMessage({ id: 0, input: null });
        }),
    ),
  );
  return {
    startMs: performance.now() - t0,
    after: () => void Promise.all(workers.map((w) => w.terminate())),
  };
}

settle();
const heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const r = await (mode === 'bare'
  ? bare('echo.worker.mjs')
  : mode === 'bare-module'
    ? bare('echo-module.worker.mjs')
    : system());
settle();
const mem = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ heapBytes: mem.heapUsed - heap0, rssBytes: mem.rss - rss0, startMs: r.startMs })}\n`,
);
r.after();
setTimeout(() => process.exit(0), 200).unref();
await new Promise((res) => setTimeout(res, 300));
process.exit(0);
