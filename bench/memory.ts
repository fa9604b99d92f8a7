/**
 * Memory benchmark (issue 14): heap and RSS per agent, and the time to start them, for pools of
 * inline agents (1,000 and 10,000) and thread agents (16 and 64). Every case runs in a FRESH child
 * process (started with `--expose-gc`), so one case's garbage, JIT state and retained pages do not
 * leak into the next; the child measures after full GCs and prints one JSON line. Thread cases also
 * time as many bare `new Worker()`s answering their first message, in another fresh process, for the
 * "ready within 1.15× of bare workers" goal.
 *
 * Run: `agentpool bench memory [--json] [--cases inline:1000,thread:16] [--write-docs | --out FILE]`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../src/core/errors.js';
import { type BenchOutput, type BenchProgress, machineLine, table } from './report.js';

/** One case: a pool of `agents` agents on `host`. */
export interface MemoryCase {
  host: 'inline' | 'thread';
  agents: number;
}

/** What one case measured. */
export interface MemoryResult extends MemoryCase {
  /** Heap used after start-up minus before, per agent (after full GCs). */
  heapBytesPerAgent: number;
  /** Resident set size after start-up minus before, per agent. */
  rssBytesPerAgent: number;
  /** From `createAgentPoolSystem()` to every agent available, ms. */
  startMs: number;
  /** Thread cases: the same number of bare workers, each answering one message, ms (another process). */
  bareWorkersStartMs?: number;
}

/** The cases. */
export const DEFAULT_CASES: readonly MemoryCase[] = [
  { host: 'inline', agents: 1_000 },
  { host: 'inline', agents: 10_000 },
  { host: 'thread', agents: 16 },
  { host: 'thread', agents: 64 },
];

/** Parse `host:agents` strings (the CLI's `--cases`); throws `ERR_INVALID_ARGUMENT` naming the entry. */
export function parseCases(list: readonly string[]): MemoryCase[] {
  return list.map((s, i) => {
    const m = /^(inline|thread):(\d+)$/.exec(s);
    const agents = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isSafeInteger(agents) || agents < 1)
      throw new InvalidArgumentError(
        `--cases[${i}]`,
        s,
        'host:agents with host inline or thread and agents >= 1',
      );
    return { host: m[1] as MemoryCase['host'], agents };
  });
}

const child = fileURLToPath(
  new URL(`./memory-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

/** Run the child for one case in a fresh Node process and return what it printed (one JSON object). */
function runChild(mode: 'system' | 'bare', c: MemoryCase): Promise<Record<string, number>> {
  const args = [
    ...(child.endsWith('.ts') ? ['--import', 'tsx'] : []),
    '--expose-gc',
    child,
    mode,
    c.host,
    String(c.agents),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(line) as Record<string, number>);
      } catch (e) {
        reject(
          new Error(
            `memory bench child (${mode} ${c.host}:${c.agents}) failed: ${(e as Error).message}\n${err}`,
          ),
        );
      }
    });
  });
}

/** Measure every case, each in a fresh process, one after the other. */
export async function runMemoryBench(
  cases: readonly MemoryCase[] = DEFAULT_CASES,
  onProgress?: BenchProgress,
): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const [i, c] of cases.entries()) {
    const m = await runChild('system', c);
    const r: MemoryResult = {
      host: c.host,
      agents: c.agents,
      heapBytesPerAgent: Math.round(m.heapBytes! / c.agents),
      rssBytesPerAgent: Math.round(m.rssBytes! / c.agents),
      startMs: Math.round(m.startMs! * 10) / 10,
    };
    if (c.host === 'thread')
      r.bareWorkersStartMs = Math.round((await runChild('bare', c)).startMs! * 10) / 10;
    results.push(r);
    onProgress?.(i + 1, cases.length);
  }
  return results;
}

/** The `memory` section of docs/benchmarks.md. */
export function renderMemoryMarkdown(results: readonly MemoryResult[]): string {
  const kb = (b: number) => (b / 1024).toFixed(1);
  return [
    '## Memory and start-up per agent',
    '',
    `${machineLine()} · \`agentpool bench memory\` · every case in a fresh process (\`--expose-gc\`, measured after full GCs): ` +
      'heap used and RSS after every agent is available, minus before the system was created, divided by the agents; ' +
      'start = `createAgentPoolSystem()` to every agent available. Bare workers: as many `new Worker()`s each answering one message (another fresh process).',
    '',
    table(
      ['host', 'agents', 'heap KB / agent', 'RSS KB / agent', 'start ms', 'bare workers ms', 'start / bare'],
      results.map((r) => [
        r.host,
        r.agents.toLocaleString('en-US'),
        kb(r.heapBytesPerAgent),
        kb(r.rssBytesPerAgent),
        r.startMs,
        r.bareWorkersStartMs ?? '—',
        r.bareWorkersStartMs ? `${(r.startMs / r.bareWorkersStartMs).toFixed(2)}×` : '—',
      ]),
    ),
  ].join('\n');
}

/** `agentpool bench memory`: the section and the JSON `{ results }`. */
export async function memoryBenchOutput(
  options: { cases?: readonly MemoryCase[]; onProgress?: BenchProgress } = {},
): Promise<BenchOutput> {
  const results = await runMemoryBench(options.cases ?? DEFAULT_CASES, options.onProgress);
  return { markdown: renderMemoryMarkdown(results), json: { results } };
}
