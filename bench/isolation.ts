/**
 * Isolation tiers side by side: start-up cost (spawn → agent module loaded and ready) and sequential
 * round trip of a no-op task, per tier: inline, thread, process (child process under Node's
 * permission model), sandbox (that process inside bubblewrap; skipped with its reason where bwrap
 * cannot run). Hosts are driven directly (no pool), so the numbers are the tier's own cost.
 *
 * Run: `agentpool bench isolation [--json] [--starts N] [--round-trips N] [--write-docs]` (prints
 * markdown; writes the `isolation` section of docs/benchmarks.md only with `--write-docs`).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { realClock } from '../src/core/clock.js';
import { type Host, type HostOptions, IGNORING_LISTENER } from '../src/hosts/host.js';
import { InlineHost } from '../src/hosts/inline-host.js';
import { ProcessHost } from '../src/hosts/process-host.js';
import { ThreadHost } from '../src/hosts/thread-host.js';
import { tierAvailability } from '../src/security/tiers.js';
import { machineLine, packageRoot, table } from './report.js';

const AGENT = pathToFileURL(join(packageRoot(), 'bench', 'fixtures', 'noop.agent.mjs'));
const TIERS = ['inline', 'thread', 'process', 'sandbox'] as const;

/** One tier's measurements (ms), or why it was skipped. */
export interface IsolationRow {
  tier: (typeof TIERS)[number];
  skipped?: string;
  startMsP50?: number;
  startMsMax?: number;
  roundTripUsP50?: number;
  roundTripUsP99?: number;
}

function make(tier: (typeof TIERS)[number], id: string): Host {
  const opts: HostOptions = {
    agentId: id,
    agent: AGENT,
    tools: [],
    listener: IGNORING_LISTENER,
    clock: realClock,
    ...(tier === 'process' || tier === 'sandbox'
      ? { memoryMb: 128, isolation: { read: [], write: [], network: tier === 'process' } }
      : {}),
  };
  if (tier === 'thread') return new ThreadHost(opts);
  if (tier === 'process') return new ProcessHost(opts);
  if (tier === 'sandbox') return new ProcessHost(opts, true);
  return new InlineHost(opts);
}

const pct = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

/** Measure each tier: `starts` cold starts, then `trips` sequential no-op round trips on one host. */
export async function runIsolationBench(
  starts = 5,
  trips = 2_000,
  onProgress?: (done: number, total: number) => void,
): Promise<IsolationRow[]> {
  const rows: IsolationRow[] = [];
  for (const tier of TIERS) {
    onProgress?.(rows.length, TIERS.length);
    const avail = tierAvailability(tier);
    if (!avail.available) {
      rows.push({ tier, skipped: avail.reason ?? 'unavailable' });
      continue;
    }
    const startMs: number[] = [];
    for (let i = 0; i < starts; i++) {
      const h = make(tier, `bench-${tier}-${i}`);
      const t0 = performance.now();
      await h.start();
      startMs.push(performance.now() - t0);
      await h.terminate('bench');
    }
    const h = make(tier, `bench-${tier}-rt`);
    await h.start();
    for (let i = 0; i < trips / 10; i++) await h.run(`w${i}`, 'noop', null);
    const us: number[] = [];
    for (let i = 0; i < trips; i++) {
      const t0 = performance.now();
      await h.run(`t${i}`, 'noop', null);
      us.push((performance.now() - t0) * 1000);
    }
    await h.terminate('bench');
    rows.push({
      tier,
      startMsP50: Math.round(pct(startMs, 0.5) * 10) / 10,
      startMsMax: Math.round(Math.max(...startMs) * 10) / 10,
      roundTripUsP50: Math.round(pct(us, 0.5)),
      roundTripUsP99: Math.round(pct(us, 0.99)),
    });
  }
  return rows;
}

/** Markdown for docs/benchmarks.md. */
export function isolationMarkdown(rows: IsolationRow[]): string {
  return [
    '## Isolation tiers',
    '',
    machineLine(),
    '· `agentpool bench isolation` · hosts driven directly (no pool): cold start = spawn → agent module loaded and ready; round trip = one sequential no-op task',
    '',
    table(
      ['tier', 'start p50 (ms)', 'start max (ms)', 'round trip p50 (µs)', 'round trip p99 (µs)'],
      rows.map((r) =>
        r.skipped
          ? [r.tier, `skipped: ${r.skipped}`, '', '', '']
          : [r.tier, r.startMsP50!, r.startMsMax!, r.roundTripUsP50!, r.roundTripUsP99!],
      ),
    ),
  ].join('\n');
}

/** Options of {@link isolationBenchOutput}. */
export interface IsolationBenchOptions {
  /** Cold starts per tier. @default 5 */
  starts?: number;
  /** Sequential no-op round trips per tier. @default 2000 */
  roundTrips?: number;
  /** Called after each tier (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** `agentpool bench isolation`: the rows as markdown and JSON (`{ results }`); writes nothing. */
export async function isolationBenchOutput(
  options: IsolationBenchOptions = {},
): Promise<{ markdown: string; json: { results: IsolationRow[] } }> {
  const rows = await runIsolationBench(options.starts ?? 5, options.roundTrips ?? 2_000, options.onProgress);
  return { markdown: isolationMarkdown(rows), json: { results: rows } };
}
