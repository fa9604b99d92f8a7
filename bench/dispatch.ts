/**
 * Dispatch benchmark: no-op tasks through agentpool's agent actors on 2 thread agents, side by side in
 * ONE run with piscina and a raw `postMessage` echo over 2 workers (the practical limit), plus plain
 * Comlink and agentpool's ThreadHost without the actor, so the cost of each layer can be read off.
 *
 * For every contender: throughput with many tasks in flight (a closed loop keeping `inflight` tasks
 * outstanding) and the median sequential round trip. Contenders are measured in interleaved rounds
 * (a, b, c, a, b, c, …) and the median round is reported, because the 2 cores are shared with other
 * work and a single pass is at the mercy of whatever else runs at that moment.
 *
 * Run: `agentpool bench dispatch [--json] [--tasks N] [--rounds N] [--write-docs]` (needs piscina, a dev
 * dependency), or from sources
 * `npx tsx -e "import('./bench/dispatch.ts').then(async (m) => console.log((await m.dispatchBenchOutput()).markdown))"`.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Piscina } from 'piscina';
import { createActor, fromPromise } from 'xstate';
import { type AgentTimings, agentMachine } from '../machines/agent.machine.js';
import { AGENT_DEFINITION, type AgentDefinition } from '../src/agent/define.js';
import { InvalidArgumentError } from '../src/core/errors.js';
import { knownKeys, num, record } from '../src/core/validate.js';
import { IGNORING_LISTENER } from '../src/hosts/host.js';
import { ThreadHost } from '../src/hosts/thread-host.js';
import { AgentHandle } from '../src/runtime/agent-handle.js';
import { realClock } from '../src/core/clock.js';
import { DEFAULT_TIMINGS } from '../src/runtime/config.js';
import type { Lease } from '../src/runtime/lease.js';
import { createLogger } from '../src/core/logger.js';
import { type AgentPoolSystem, createAgentPoolSystem } from '../src/runtime/system.js';
import { startStandaloneAgent } from '../src/runtime/tree.js';
import { type BenchOutput, type BenchProgress, machineLine, packageRoot, table } from './report.js';

/** Options of {@link runDispatchBench}. */
export interface DispatchBenchOptions {
  /** Tasks per throughput measurement (per contender, per round). @default 20000 */
  tasks?: number;
  /** Tasks kept in flight during the throughput measurement. @default 256 */
  inflight?: number;
  /** Sequential round trips per latency measurement. @default 2000 */
  roundTrips?: number;
  /** Interleaved rounds; the median round is reported. @default 3 */
  rounds?: number;
  /** Worker threads per contender. @default 2 */
  threads?: number;
  /** Only run these contenders (names as in the results). @default all */
  only?: readonly string[];
}

/** One contender's measured numbers. */
export interface DispatchResult {
  /** `agentpool`, `piscina`, `raw`, or an extra entry (`piscina-c16`, `comlink`, `thread-host`, `agentpool-inline`). */
  name: string;
  /** What exactly was measured. */
  config: string;
  /** Median over rounds of tasks completed per second with `inflight` tasks outstanding. */
  throughputPerSec: number;
  /** Median over rounds of the median sequential round trip, in microseconds. */
  roundTripUs: number;
  /** Throughput of every round, in run order (the spread is the noise). */
  throughputRuns: number[];
  /** Median round trip of every round (µs). */
  roundTripRuns: number[];
}

/** Cost of the agent actor itself, measured in-process without any thread. */
export interface ActorCost {
  /** µs per task for TASK_START + TASK_END while the agent stays busy (many tasks in flight). */
  busyUsPerTask: number;
  /** µs per task for one task at a time: idle → busy → idle (entry actions, state change). */
  idleBusyUsPerTask: number;
}

/** Full report of one bench run. */
export interface DispatchReport {
  /** The JSON shape: `{ results: [{ name, throughputPerSec, roundTripUs }] }` (+ extra fields). */
  results: DispatchResult[];
  /** The actor layer measured on its own. */
  actorCost: ActorCost;
  /** The parameters used. */
  params: Required<Omit<DispatchBenchOptions, 'json' | 'only'>>;
  /** Where it ran. */
  machine: string;
}

/** A system under test: something that runs a no-op task on worker threads and resolves when done. */
interface Contender {
  name: string;
  config: string;
  start(): Promise<void>;
  call(i: number): Promise<unknown>;
  stop(): Promise<void>;
}

const fixtures = () => join(packageRoot(), 'bench', 'fixtures');
const fixtureUrl = (file: string) => pathToFileURL(join(fixtures(), file));

/** Agent timings for the bench: the library's defaults (what a user gets), so nothing is tuned for the bench. */
const benchTimings: AgentTimings = { ...DEFAULT_TIMINGS };

/** Wait until `pred` holds (bench setup only; real time is what a benchmark measures). */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`dispatch bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** agentpool: `AgentHandle.run` (the agent actor + its host) on `threads` thread agents, round robin. */
function agentpoolContender(threads: number, host: 'thread' | 'inline'): Contender {
  const agents: AgentHandle[] = [];
  const inlineDef: AgentDefinition = { [AGENT_DEFINITION]: true, handlers: { noop: () => null } };
  return {
    name: host === 'thread' ? 'agentpool' : 'agentpool-inline',
    config:
      host === 'thread'
        ? `AgentHandle.run on ${threads} thread agents (agent actor + ThreadHost), no per-agent in-flight cap`
        : `AgentHandle.run on ${threads} inline agents (agent actor, no thread): the in-process cost`,
    async start() {
      for (let i = 0; i < threads; i++) {
        const a = new AgentHandle({
          agentId: `bench-${host}-${i}`,
          pool: 'bench',
          host,
          agent: host === 'thread' ? fixtureUrl('noop.agent.mjs') : inlineDef,
          tools: [],
          maxFailures: 3,
          timings: benchTimings,
          clock: realClock,
          logger: createLogger('silent'),
          onAvailability: () => {},
        });
        agents.push(startStandaloneAgent(a, realClock, createLogger('silent')));
      }
      await until(() => agents.every((a) => a.accepting), 30_000, 'agents to start');
    },
    call(i) {
      return agents[i % agents.length]!.run('noop', null);
    },
    async stop() {
      for (const a of agents) a.stop();
      await Promise.all(agents.map((a) => a.whenGone(10_000)));
    },
  };
}

/** agentpool's ThreadHost alone (no actor, no AgentHandle): the host/wire layer. */
function threadHostContender(threads: number): Contender {
  const hosts: ThreadHost[] = [];
  let seq = 0;
  const listener = IGNORING_LISTENER;
  return {
    name: 'thread-host',
    config: `ThreadHost.run on ${threads} threads, without the agent actor`,
    async start() {
      for (let i = 0; i < threads; i++) {
        const h = new ThreadHost({
          agentId: `bench-host-${i}`,
          agent: fixtureUrl('noop.agent.mjs'),
          tools: [],
          listener,
          clock: realClock,
        });
        await h.start();
        hosts.push(h);
      }
    },
    call(i) {
      return hosts[i % hosts.length]!.run(`t${++seq}`, 'noop', null);
    },
    async stop() {
      await Promise.all(hosts.map((h) => h.terminate('bench done')));
    },
  };
}

/**
 * agentpool through the system facade: `system.acquire()` two leases (one per agent, pool concurrency 1)
 * and run tasks through `lease.run` — or, with `submit`, every task through `system.submit()` (the
 * dispatcher's priority queue, placement and a lease per task; pool concurrency `window / threads` so
 * as many tasks can be in flight as in the other contenders).
 */
function systemContender(threads: number, path: 'lease' | 'submit' | 'submit-ws', window: number): Contender {
  let system: AgentPoolSystem | undefined;
  const leases: Lease[] = [];
  const concurrency = path === 'lease' ? 1 : Math.max(1, Math.ceil(window / threads));
  return {
    name: `agentpool-${path}`,
    config:
      path === 'lease'
        ? `system.acquire() 2 leases on ${threads} thread agents, lease.run (pool concurrency 1)`
        : `system.submit() to a pool of ${threads} thread agents (pool concurrency ${concurrency}, dispatch ${path === 'submit' ? "'central'" : "'work-stealing'"})`,
    async start() {
      system = createAgentPoolSystem({
        pools: {
          bench: {
            agent: fixtureUrl('noop.agent.mjs'),
            host: 'thread',
            min: threads,
            max: threads,
            concurrency,
            dispatch: path === 'submit-ws' ? 'work-stealing' : 'central',
          },
        },
      });
      await system.start();
      if (path === 'lease') {
        for (let i = 0; i < threads; i++) leases.push(await system.acquire('bench', { cycleId: 'bench' }));
      }
    },
    call(i) {
      if (path === 'lease') return leases[i % leases.length]!.run('noop', null);
      return system!.submit({ type: 'bench', task: 'noop', input: null });
    },
    async stop() {
      for (const l of leases) await l.release();
      await system?.shutdown({ graceful: false, deadlineMs: 5_000 });
    },
  };
}

/** piscina 5 with `threads` fixed threads; `concurrentTasksPerWorker` 1 (its default) or more. */
function piscinaContender(threads: number, concurrent: number): Contender {
  let pool: Piscina | undefined;
  return {
    name: concurrent === 1 ? 'piscina' : `piscina-c${concurrent}`,
    config: `piscina ${threads} threads, concurrentTasksPerWorker ${concurrent}${concurrent === 1 ? ' (default)' : ''}`,
    async start() {
      pool = new Piscina({
        filename: fixtureUrl('piscina-noop.worker.mjs').href,
        minThreads: threads,
        maxThreads: threads,
        concurrentTasksPerWorker: concurrent,
        idleTimeout: 60_000,
      });
      // Warm every thread so start-up is not measured.
      await Promise.all(Array.from({ length: threads * concurrent * 2 }, () => pool!.run(null)));
    },
    call() {
      return pool!.run(null);
    },
    async stop() {
      await pool?.destroy();
    },
  };
}

/** Plain Comlink over `threads` workers (one `remote.noop()` per task). */
function comlinkContender(threads: number): Contender {
  const workers: Worker[] = [];
  const remotes: Comlink.Remote<{ noop(): null }>[] = [];
  return {
    name: 'comlink',
    config: `plain Comlink 4.4 call on ${threads} workers`,
    async start() {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(fixtureUrl('comlink-noop.worker.mjs'));
        workers.push(w);
        remotes.push(Comlink.wrap<{ noop(): null }>(nodeEndpoint(w)));
      }
      await Promise.all(remotes.map((r) => r.noop()));
    },
    call(i) {
      return remotes[i % remotes.length]!.noop();
    },
    async stop() {
      for (const r of remotes) r[Comlink.releaseProxy]();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Raw postMessage echo over `threads` workers: one message each way per task, an id → resolver map. */
function rawContender(threads: number): Contender {
  const workers: Worker[] = [];
  const pending = new Map<number, (v: unknown) => void>();
  let seq = 0;
  return {
    name: 'raw',
    config: `raw postMessage echo on ${threads} workers (one message each way per task, promise per task)`,
    async start() {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(fixtureUrl('echo.worker.mjs'));
        w.on('message', (m: { id: number }) => {
          const r = pending.get(m.id);
          pending.delete(m.id);
          r?.(null);
        });
        workers.push(w);
      }
      await Promise.all(workers.map((_, i) => this.call(i)));
    },
    call(i) {
      return new Promise((resolve) => {
        const id = ++seq;
        pending.set(id, resolve);
        workers[i % workers.length]!.postMessage({ id, task: 'noop', input: null });
      });
    },
    async stop() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Tasks per second with `window` tasks kept outstanding until `n` completed. */
async function measureThroughput(c: Contender, n: number, window: number): Promise<number> {
  let started = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const onDone = () => {
      done++;
      if (done === n) resolve();
      else if (started < n) launch();
    };
    const launch = () => {
      c.call(started++).then(onDone, reject);
    };
    for (let k = 0; k < Math.min(window, n); k++) launch();
  });
  return n / ((performance.now() - t0) / 1_000);
}

/** Median of `n` sequential round trips, in µs. */
async function measureRoundTrip(c: Contender, n: number): Promise<number> {
  const samples: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await c.call(i);
    samples[i] = (performance.now() - t) * 1_000;
  }
  return median(samples);
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The agent actor on its own: TASK_START/TASK_END pairs sent straight to an agent machine (provided
 * with instant fakes), busy with many tasks and one at a time. This is what the actor layer adds per task.
 */
export async function measureActorCost(pairs: number): Promise<ActorCost> {
  const machine = agentMachine.provide({ actors: { startHost: fromPromise(async () => {}) } });
  const actor = createActor(machine, {
    input: { agentId: 'bench', pool: 'bench', maxFailures: 3, timings: benchTimings },
  }).start();
  await until(() => actor.getSnapshot().matches('idle'), 5_000, 'actor idle');
  const run = (hold: boolean) => {
    // `hold`: one extra task stays in flight so every pair is handled in `busy` (the many-in-flight case).
    if (hold) actor.send({ type: 'TASK_START', taskId: 'hold' });
    const t0 = performance.now();
    for (let i = 0; i < pairs; i++) {
      actor.send({ type: 'TASK_START', taskId: 't' });
      actor.send({ type: 'TASK_END', taskId: 't', ok: true });
    }
    const us = ((performance.now() - t0) * 1_000) / pairs;
    if (hold) actor.send({ type: 'TASK_END', taskId: 'hold', ok: true });
    return us;
  };
  run(true); // warm up the JIT on both paths
  run(false);
  const busy = median([run(true), run(true), run(true)]);
  const idleBusy = median([run(false), run(false), run(false)]);
  if (!actor.getSnapshot().matches('idle')) throw new Error('dispatch bench: actor did not return to idle');
  actor.stop();
  return { busyUsPerTask: busy, idleBusyUsPerTask: idleBusy };
}

const ALL = [
  'agentpool',
  'piscina',
  'piscina-c16',
  'raw',
  'comlink',
  'thread-host',
  'agentpool-inline',
  'agentpool-lease',
  'agentpool-submit',
  'agentpool-submit-ws',
] as const;

function contenders(threads: number, window: number): Contender[] {
  return [
    agentpoolContender(threads, 'thread'),
    systemContender(threads, 'lease', window),
    systemContender(threads, 'submit', window),
    systemContender(threads, 'submit-ws', window),
    piscinaContender(threads, 1),
    piscinaContender(threads, 16),
    rawContender(threads),
    comlinkContender(threads),
    threadHostContender(threads),
    agentpoolContender(threads, 'inline'),
  ];
}

/**
 * Run the dispatch benchmark and return the measured numbers (nothing is printed or written).
 *
 * @example
 * ```ts
 * const { results } = await runDispatchBench({ tasks: 20_000 });
 * ```
 */
export async function runDispatchBench(options: DispatchBenchOptions = {}): Promise<DispatchReport> {
  const o = record('argument', 'options', options);
  knownKeys(
    'argument',
    'options',
    o,
    new Set(['tasks', 'inflight', 'roundTrips', 'rounds', 'threads', 'only']),
  );
  const params = {
    tasks: num('argument', 'options.tasks', o.tasks, 20_000, { integer: true, min: 1 }),
    inflight: num('argument', 'options.inflight', o.inflight, 256, { integer: true, min: 1 }),
    roundTrips: num('argument', 'options.roundTrips', o.roundTrips, 2_000, { integer: true, min: 1 }),
    rounds: num('argument', 'options.rounds', o.rounds, 3, { integer: true, min: 1, max: 50 }),
    threads: num('argument', 'options.threads', o.threads, 2, { integer: true, min: 1, max: 64 }),
  };
  const only = o.only as readonly string[] | undefined;
  if (only !== undefined) {
    if (!Array.isArray(only))
      throw new InvalidArgumentError('options.only', only, 'an array of contender names');
    for (const [i, n] of only.entries()) {
      if (!(ALL as readonly string[]).includes(n)) {
        throw new InvalidArgumentError(`options.only[${i}]`, n, `one of ${ALL.join(', ')}`);
      }
    }
  }
  const list = contenders(params.threads, params.inflight).filter((c) => !only || only.includes(c.name));
  const runs = new Map(list.map((c) => [c.name, { tput: [] as number[], rtt: [] as number[] }]));
  const warm = Math.min(params.tasks, 2_000);
  try {
    for (const c of list) {
      await c.start();
      await measureThroughput(c, warm, params.inflight); // JIT warm-up, not recorded
    }
    for (let r = 0; r < params.rounds; r++) {
      for (const c of list) {
        const rec = runs.get(c.name)!;
        rec.tput.push(await measureThroughput(c, params.tasks, params.inflight));
        rec.rtt.push(await measureRoundTrip(c, params.roundTrips));
      }
    }
  } finally {
    await Promise.allSettled(list.map((c) => c.stop()));
  }
  const results = list.map((c): DispatchResult => {
    const rec = runs.get(c.name)!;
    return {
      name: c.name,
      config: c.config,
      throughputPerSec: Math.round(median(rec.tput)),
      roundTripUs: round1(median(rec.rtt)),
      throughputRuns: rec.tput.map(Math.round),
      roundTripRuns: rec.rtt.map(round1),
    };
  });
  const actorCost = await measureActorCost(Math.max(1_000, Math.min(50_000, params.tasks)));
  return { results, actorCost, params, machine: machineLine() };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Ratio a/b of two results' throughput (NaN when either is missing). */
function ratio(report: DispatchReport, a: string, b: string): number {
  const x = report.results.find((r) => r.name === a)?.throughputPerSec;
  const y = report.results.find((r) => r.name === b)?.throughputPerSec;
  return x !== undefined && y !== undefined && y > 0 ? x / y : Number.NaN;
}

/** µs per task of `a` minus `b`, from throughput (the main-thread cost a layer adds under load). */
function costDelta(report: DispatchReport, a: string, b: string): number {
  const x = report.results.find((r) => r.name === a)?.throughputPerSec;
  const y = report.results.find((r) => r.name === b)?.throughputPerSec;
  return x && y ? 1e6 / x - 1e6 / y : Number.NaN;
}

const fmtRatio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const fmtUs = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} µs` : 'n/a');

/** Throughput of one contender in a report (undefined when it was not run). */
function tput(report: DispatchReport, name: string): number | undefined {
  return report.results.find((r) => r.name === name)?.throughputPerSec;
}

/**
 * Of several full runs, the median one by agentpool's throughput (the headline number), so one lucky
 * or unlucky run on a shared machine does not become the reported result.
 */
export function medianRun(reports: readonly DispatchReport[]): DispatchReport {
  if (reports.length === 0) throw new InvalidArgumentError('reports', reports, 'at least one report');
  const key = (r: DispatchReport) => tput(r, 'agentpool') ?? r.results[0]?.throughputPerSec ?? 0;
  const sorted = [...reports].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

/**
 * Render a report as the markdown section of docs/benchmarks.md. `runs`: every repeated full run
 * (including `report`), listed so the noise between runs is visible.
 */
export function renderDispatchMarkdown(
  report: DispatchReport,
  runs: readonly DispatchReport[] = [report],
): string {
  const p = report.params;
  const rows = report.results.map((r) => [
    r.name,
    r.throughputPerSec.toLocaleString('en-US'),
    r.roundTripUs,
    r.throughputRuns.map((x) => x.toLocaleString('en-US')).join(' / '),
    r.config,
  ]);
  const a = report.actorCost;
  const perRun = (f: (r: DispatchReport) => string) => runs.map(f).join(' / ');
  const lines = [
    '## Dispatch: no-op tasks on 2 worker threads',
    '',
    `${report.machine}. ${p.tasks.toLocaleString('en-US')} tasks per throughput run with ${p.inflight} in flight; ` +
      `${p.roundTrips} sequential round trips per latency run; ${p.threads} threads per contender; ` +
      `${p.rounds} interleaved rounds, median round reported (every round listed: the spread is the noise of a shared 2-core machine).`,
    '',
    table(['contender', 'tasks/s', 'round trip µs (median)', 'tasks/s per round', 'what'], rows),
    '',
    `- agentpool / piscina (default): **${fmtRatio(ratio(report, 'agentpool', 'piscina'))}**; ` +
      `agentpool / piscina-c16: **${fmtRatio(ratio(report, 'agentpool', 'piscina-c16'))}**; ` +
      `agentpool / raw postMessage: **${fmtRatio(ratio(report, 'agentpool', 'raw'))}**.`,
    `- submit() path: agentpool-submit / agentpool-lease **${fmtRatio(ratio(report, 'agentpool-submit', 'agentpool-lease'))}**; ` +
      `work-stealing / central submit **${fmtRatio(ratio(report, 'agentpool-submit-ws', 'agentpool-submit'))}**; ` +
      `agentpool-submit / piscina-c16 **${fmtRatio(ratio(report, 'agentpool-submit', 'piscina-c16'))}**.`,
    `- Actor layer under load (agentpool vs thread-host, from throughput): ${fmtUs(costDelta(report, 'agentpool', 'thread-host'))} per task. ` +
      `Measured on its own in-process: ${fmtUs(a.busyUsPerTask)} per task while busy (TASK_START + TASK_END), ` +
      `${fmtUs(a.idleBusyUsPerTask)} per task one at a time (idle → busy → idle).`,
    `- Host/wire layer under load (thread-host vs raw): ${fmtUs(costDelta(report, 'thread-host', 'raw'))} per task` +
      (costDelta(report, 'thread-host', 'raw') < 0
        ? ' (negative: batching beats one message per task).'
        : '.'),
  ];
  if (runs.length > 1) {
    lines.push(
      `- ${runs.length} full runs; the median one (by agentpool tasks/s) is shown. Per run — agentpool tasks/s: ` +
        `${perRun((r) => (tput(r, 'agentpool') ?? Number.NaN).toLocaleString('en-US'))}; agentpool / piscina: ` +
        `${perRun((r) => fmtRatio(ratio(r, 'agentpool', 'piscina')))}; agentpool / piscina-c16: ` +
        `${perRun((r) => fmtRatio(ratio(r, 'agentpool', 'piscina-c16')))}.`,
    );
  }
  lines.push(
    '',
    'Configurations: `agentpool`, `thread-host`, `raw` and `comlink` put no cap on tasks in flight per thread ' +
      '(up to 128 each here); piscina runs 1 task per worker at a time by default and up to 16 with ' +
      '`concurrentTasksPerWorker: 16` — so `piscina-c16` is the like-for-like comparison. `agentpool-submit` ' +
      'runs every task through `system.submit()` (queue, placement, a lease per task) with pool concurrency 128; ' +
      "`agentpool-submit-ws` is the same with `dispatch: 'work-stealing'` (local deques, global queue, steals). " +
      'The thread host sends every task started in one tick in one message and the worker answers a whole ' +
      'batch in one message (each side also drains what is already queued before answering): the fewer ' +
      'messages and wake-ups are why `thread-host` comes near `raw` (one message per task), and on a heavily ' +
      'loaded machine can pass it.',
  );
  return lines.join('\n');
}

/**
 * `agentpool bench dispatch`: `repeat` full runs of the bench (the median one reported); returns the
 * `dispatch` section of docs/benchmarks.md and the JSON `{ results, actorCost, params, machine, runs }`
 * (the CLI prints one and writes the section only when asked).
 */
export async function dispatchBenchOutput(
  options: DispatchBenchOptions & {
    /** Full runs; the median one (by agentpool's throughput) is reported. @default 1 */
    repeat?: number;
    /** Called after each full run (the CLI's progress display). */
    onProgress?: BenchProgress;
  } = {},
): Promise<BenchOutput> {
  const { repeat = 1, onProgress, ...opts } = options;
  const runs: DispatchReport[] = [];
  for (let r = 0; r < repeat; r++) {
    runs.push(await runDispatchBench(opts));
    onProgress?.(r + 1, repeat);
  }
  const report = medianRun(runs);
  const summary = runs.map((r) => ({
    results: r.results.map(({ name, throughputPerSec, roundTripUs }) => ({
      name,
      throughputPerSec,
      roundTripUs,
    })),
  }));
  return { markdown: renderDispatchMarkdown(report, runs), json: { ...report, runs: summary } };
}
