/**
 * Memory benchmark (issue 14): heap and RSS per agent, and the time to start them, for pools of
 * inline agents (1,000 and 10,000) and thread agents (16 and 64). Every case runs in a FRESH child
 * process (started with `--expose-gc`), so one case's garbage, JIT state and retained pages do not
 * leak into the next; the child measures after full GCs and prints one JSON line. Thread cases also
 * time as many bare `new Worker()`s answering their first message, in another fresh process, for the
 * "ready within 1.15× of bare workers" goal.
 *
 * Thread cases also time bare workers that first import the agent module (what any pool's worker
 * does), a third process: what is left over them is agentpool's own.
 *
 * Start-up times on a shared 2-core machine move by ±10 % run to run, so every case runs `rounds`
 * times (default 3) and reports medians; a thread case rotates which of its three processes goes first
 * each round and reports the median of the per-round ratios (start / bare with their min–max) — the
 * same rule as `bench dispatch` (one lucky or unlucky process never decides the ratio).
 *
 * Run: `agentpool bench memory [--json] [--cases inline:1000,thread:16] [--rounds 3] [--write-docs | --out FILE]`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../src/core/errors.js';
import { type BenchOutput, type BenchProgress, machineLine, median, table } from './report.js';

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
  /** Thread cases: start ÷ bare workers' start, the median of the per-round ratios. */
  startRatio?: number;
  /** Thread cases: the lowest and highest per-round ratio. */
  startRatioRange?: [number, number];
  /**
   * Thread cases: bare workers that first load the agent module (what any pool's worker does), ms —
   * the baseline that leaves only what agentpool adds.
   */
  bareModuleStartMs?: number;
  /** Thread cases: start ÷ {@link bareModuleStartMs}, the median of the per-round ratios. */
  moduleRatio?: number;
  /** Start-up of every round, ms (`startMs` is their median). */
  startRuns: number[];
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

/** What a child process measures: the system, bare workers, or bare workers loading the agent module. */
type Mode = 'system' | 'bare' | 'bare-module';

/** Run the child for one case in a fresh Node process and return what it printed (one JSON object). */
function runChild(mode: Mode, c: MemoryCase): Promise<Record<string, number>> {
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

const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Measure every case `rounds` times, each run in a fresh process, one after the other. Heap and RSS
 * per agent are the median over the rounds too (they barely move).
 */
export async function runMemoryBench(
  cases: readonly MemoryCase[] = DEFAULT_CASES,
  onProgress?: BenchProgress,
  rounds = 3,
): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  const steps = cases.length * rounds;
  let step = 0;
  for (const c of cases) {
    const runs: Record<string, number>[] = [];
    const bare: number[] = [];
    const ratios: number[] = [];
    const bareModule: number[] = [];
    const moduleRatios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (c.host === 'thread') {
        // Rotate which process goes first: the machine's state drifts over a round too.
        const order: Mode[] = ['system', 'bare', 'bare-module'];
        for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
        const got = new Map<Mode, Record<string, number>>();
        for (const mode of order) got.set(mode, await runChild(mode, c));
        const sys = got.get('system')!;
        runs.push(sys);
        bare.push(got.get('bare')!.startMs!);
        bareModule.push(got.get('bare-module')!.startMs!);
        ratios.push(sys.startMs! / got.get('bare')!.startMs!);
        moduleRatios.push(sys.startMs! / got.get('bare-module')!.startMs!);
      } else runs.push(await runChild('system', c));
      onProgress?.(++step, steps);
    }
    const r: MemoryResult = {
      host: c.host,
      agents: c.agents,
      heapBytesPerAgent: Math.round(median(runs.map((m) => m.heapBytes!)) / c.agents),
      rssBytesPerAgent: Math.round(median(runs.map((m) => m.rssBytes!)) / c.agents),
      startMs: r1(median(runs.map((m) => m.startMs!))),
      startRuns: runs.map((m) => r1(m.startMs!)),
    };
    if (c.host === 'thread') {
      r.bareWorkersStartMs = r1(median(bare));
      r.startRatio = r2(median(ratios));
      r.startRatioRange = [r2(Math.min(...ratios)), r2(Math.max(...ratios))];
      r.bareModuleStartMs = r1(median(bareModule));
      r.moduleRatio = r2(median(moduleRatios));
    }
    results.push(r);
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
      'start = `createAgentPoolSystem()` to every agent available. Bare workers: as many `new Worker()`s each answering one message (another fresh process); ' +
      '+ module: bare workers that first import the agent module, as any pool worker does (a third process). ' +
      `${results[0]?.startRuns.length ?? 0} rounds per case: medians; the ratios are medians of the per-round ratios (start / bare with its min–max), the processes' order rotated each round.`,
    '',
    table(
      [
        'host',
        'agents',
        'heap KB / agent',
        'RSS KB / agent',
        'start ms (rounds)',
        'bare workers ms',
        'start / bare',
        '+ module ms',
        'start / (bare + module)',
      ],
      results.map((r) => [
        r.host,
        r.agents.toLocaleString('en-US'),
        kb(r.heapBytesPerAgent),
        kb(r.rssBytesPerAgent),
        `${r.startMs} (${r.startRuns.join(' · ')})`,
        r.bareWorkersStartMs ?? '—',
        r.startRatio !== undefined && r.startRatioRange
          ? `${r.startRatio.toFixed(2)}× (${r.startRatioRange[0].toFixed(2)}–${r.startRatioRange[1].toFixed(2)})`
          : '—',
        r.bareModuleStartMs ?? '—',
        r.moduleRatio !== undefined ? `${r.moduleRatio.toFixed(2)}×` : '—',
      ]),
    ),
  ].join('\n');
}

/** `agentpool bench memory`: the section and the JSON `{ results }`. */
export async function memoryBenchOutput(
  options: { cases?: readonly MemoryCase[]; rounds?: number; onProgress?: BenchProgress } = {},
): Promise<BenchOutput> {
  const results = await runMemoryBench(options.cases ?? DEFAULT_CASES, options.onProgress, options.rounds);
  return { markdown: renderMemoryMarkdown(results), json: { results } };
}
