/**
 * Scaler quality benchmark (issues 6, 18): scenarios step, diurnal, square, idle-gaps, heavy-tail and
 * rate-limited × policies
 * agentpool (the real scaler machine), hpa (Kubernetes HPA model), fixed (Little's law at 70 % of the
 * mean rate) and peak (sized for the peak), over several seeds, on the deterministic simulator.
 * Service lognormal mean 20 s CV 1.5, agent start-up 30 s, a 50-agent pool (the peak needs 50 agents at
 * 75 % utilization). Results are means over the seeds.
 */

import { InvalidArgumentError } from '../src/core/errors.js';
import { DEFAULT_SCALING_CONFIG } from '../src/policies/scaling/config.js';
import type { ScenarioName } from '../src/sim/scaling/scenarios.js';
import { makeScenario, SCENARIOS } from '../src/sim/scaling/scenarios.js';
import {
  POLICIES,
  type PolicyName,
  type SimulationResult,
  simulateScaling,
} from '../src/sim/scaling/simulate.js';
import { simulateSystem } from '../src/sim/scaling/system-sim.js';
import { peakRateFor } from '../src/sim/simulate-cli.js';
import { type BenchOutput, type BenchProgress, machineLine, table } from './report.js';

/** Scenarios of the benchmark: every built-in one but `constant` (nothing to scale for). */
export const BENCH_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter((s) => s !== 'constant');

/** One (scenario, policy) row: means over the seeds. */
export interface ScalingBenchRow {
  scenario: string;
  policy: PolicyName;
  /** `model`: the pool model; `system`: the real AgentPoolSystem (submit path). */
  engine: 'model' | 'system';
  p50WaitS: number;
  p99WaitS: number;
  sloViolationPct: number;
  agentSeconds: number;
  slackPct: number;
  scaleEvents: number;
  flaps: number;
  seeds: number;
}

/** The diurnal day under the agentpool policy with another square-root staffing margin β. */
export interface StaffingTradeoffRow {
  staffingBeta: number;
  p99WaitS: number;
  sloViolationPct: number;
  agentSeconds: number;
  flaps: number;
  seeds: number;
}

/** β values the trade-off table runs besides the default (0 = Little's law alone). */
export const TRADEOFF_BETAS: readonly number[] = [0, 2, 2.5];

/** Result of {@link runScalingBench}. */
export interface ScalingBenchResult {
  /**
   * Diurnal under the agentpool policy with other staffing margins (the agent-seconds / p99 trade-off
   * between issue 18's two diurnal goals); empty when diurnal is not run.
   */
  staffingTradeoff: StaffingTradeoffRow[];
  /** The pool model, every policy. */
  results: ScalingBenchRow[];
  /** The agentpool policy on the real system (empty when `system: false`). */
  systemResults: ScalingBenchRow[];
  /** Wall ms of one 24 h, 50-agent agentpool day on the real system (mean over seeds; 0 if not run). */
  systemDiurnalWallMs: number;
  /** Simulated seconds per wall second of the agentpool policy on the 24 h diurnal day (mean over seeds). */
  diurnalSpeed: number;
  /** Wall ms of one 24 h, 50-agent agentpool day (mean over seeds). */
  diurnalWallMs: number;
  agents: number;
  seedCount: number;
}

/** Options of {@link runScalingBench}. */
export interface ScalingBenchOptions {
  /** Seeds per (scenario, policy). @default 5 */
  seeds?: number;
  /** Pool maximum / peak pool size. @default 50 */
  agents?: number;
  /** Scenario subset (tests use a short one). */
  scenarios?: readonly ScenarioName[];
  /** Override every scenario's duration (hours). */
  hours?: number;
  /** Also run the agentpool policy on the real system (slower: ~10 s per 24 h day). @default true */
  system?: boolean;
  /** Called after each simulated run (the CLI's progress display). */
  onProgress?: BenchProgress;
}

function mean(rs: readonly SimulationResult[], f: (r: SimulationResult) => number): number {
  return rs.reduce((s, r) => s + f(r), 0) / Math.max(1, rs.length);
}

function summarise(
  scenario: string,
  policy: PolicyName,
  engine: 'model' | 'system',
  runs: readonly SimulationResult[],
): ScalingBenchRow {
  return {
    scenario,
    policy,
    engine,
    p50WaitS: mean(runs, (r) => r.p50WaitS),
    p99WaitS: mean(runs, (r) => r.p99WaitS),
    sloViolationPct: mean(runs, (r) => r.sloViolationPct),
    agentSeconds: mean(runs, (r) => r.agentSeconds),
    slackPct: mean(runs, (r) => r.slackPct),
    scaleEvents: mean(runs, (r) => r.scaleEvents),
    flaps: mean(runs, (r) => r.flaps),
    seeds: runs.length,
  };
}

/** Run the benchmark. */
export async function runScalingBench(options: ScalingBenchOptions = {}): Promise<ScalingBenchResult> {
  const seeds = options.seeds ?? 5;
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new InvalidArgumentError('seeds', seeds, 'an integer >= 1');
  const agents = options.agents ?? 50;
  const results: ScalingBenchRow[] = [];
  let diurnalWall = 0;
  let diurnalRuns = 0;
  const systemResults: ScalingBenchRow[] = [];
  let systemWall = 0;
  let systemRuns = 0;
  const scenarios = options.scenarios ?? BENCH_SCENARIOS;
  const withSystem = options.system ?? true;
  const tradeoffRuns = scenarios.includes('diurnal') ? TRADEOFF_BETAS.length * seeds : 0;
  const total = scenarios.length * seeds * (POLICIES.length + (withSystem ? 1 : 0)) + tradeoffRuns;
  let done = 0;
  for (const name of scenarios) {
    const scenario = makeScenario(name, {
      peakRatePerS: peakRateFor(agents),
      ...(options.hours !== undefined ? { hours: options.hours } : {}),
    });
    for (const policy of POLICIES) {
      const runs: SimulationResult[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const r = await simulateScaling({ scenario, policy, seed, max: agents });
        options.onProgress?.(++done, total);
        runs.push(r);
        if (name === 'diurnal' && policy === 'agentpool') {
          diurnalWall += r.wallMs;
          diurnalRuns++;
        }
      }
      results.push(summarise(name, policy, 'model', runs));
    }
    // The real-system engine has no upstream rate-limit model (the pool's own rateLimit is a different
    // knob), so the rate-limited scenario runs on the pool model only.
    if (withSystem && scenario.rateLimitPerS === undefined) {
      const runs: SimulationResult[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const r = await simulateSystem({ scenario, policy: 'agentpool', seed, max: agents });
        options.onProgress?.(++done, total);
        runs.push(r);
        if (name === 'diurnal') {
          systemWall += r.wallMs;
          systemRuns++;
        }
      }
      systemResults.push(summarise(name, 'agentpool', 'system', runs));
    }
  }
  const staffingTradeoff: StaffingTradeoffRow[] = [];
  if (scenarios.includes('diurnal')) {
    const scenario = makeScenario('diurnal', {
      peakRatePerS: peakRateFor(agents),
      ...(options.hours !== undefined ? { hours: options.hours } : {}),
    });
    for (const staffingBeta of TRADEOFF_BETAS) {
      const runs: SimulationResult[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        runs.push(
          await simulateScaling({
            scenario,
            policy: 'agentpool',
            seed,
            max: agents,
            scaling: { staffingBeta },
          }),
        );
        options.onProgress?.(++done, total);
      }
      const r = summarise('diurnal', 'agentpool', 'model', runs);
      staffingTradeoff.push({
        staffingBeta,
        p99WaitS: r.p99WaitS,
        sloViolationPct: r.sloViolationPct,
        agentSeconds: r.agentSeconds,
        flaps: r.flaps,
        seeds: runs.length,
      });
    }
  }
  const diurnalWallMs = diurnalRuns ? diurnalWall / diurnalRuns : 0;
  const out: ScalingBenchResult = {
    staffingTradeoff,
    results,
    systemResults,
    systemDiurnalWallMs: systemRuns ? systemWall / systemRuns : 0,
    diurnalWallMs,
    diurnalSpeed: diurnalWallMs > 0 ? ((options.hours ?? 24) * 3_600_000) / diurnalWallMs : 0,
    agents,
    seedCount: seeds,
  };
  return out;
}

function row(
  rs: readonly ScalingBenchRow[],
  scenario: string,
  policy: PolicyName,
): ScalingBenchRow | undefined {
  return rs.find((r) => r.scenario === scenario && r.policy === policy);
}

function pct(a: number, b: number): string {
  if (b === 0) return a === 0 ? '±0 %' : 'n/a (baseline 0)';
  const d = (100 * (a - b)) / b;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`;
}

/** Goal checks computed from the measured rows (the acceptance criteria). */
export function scalingGoals(rs: readonly ScalingBenchRow[]): string[] {
  const lines: string[] = [];
  const sq = { a: row(rs, 'square', 'agentpool'), h: row(rs, 'square', 'hpa') };
  if (sq.a && sq.h) {
    const asOk = sq.a.agentSeconds <= sq.h.agentSeconds;
    const p99Ok = sq.a.p99WaitS <= 0.8 * sq.h.p99WaitS;
    const flapOk = sq.a.flaps < sq.h.flaps;
    lines.push(
      `- square wave vs HPA: agent-seconds ${pct(sq.a.agentSeconds, sq.h.agentSeconds)} (${asOk ? 'met' : 'NOT met'}: ≤ HPA), ` +
        `p99 wait ${sq.a.p99WaitS.toFixed(2)} s vs ${sq.h.p99WaitS.toFixed(2)} s = ${pct(sq.a.p99WaitS, sq.h.p99WaitS)} ` +
        `(${p99Ok ? 'met' : 'NOT met'}: ≥ 20 % lower), flaps ${sq.a.flaps.toFixed(1)} vs ${sq.h.flaps.toFixed(1)} (${flapOk ? 'met' : 'NOT met'}: fewer)`,
    );
  }
  for (const s of BENCH_SCENARIOS) {
    const a = row(rs, s, 'agentpool');
    const h = row(rs, s, 'hpa');
    const p = row(rs, s, 'peak');
    if (!a || !p) continue;
    const sloOk = a.sloViolationPct - p.sloViolationPct <= 1;
    const asOk = a.agentSeconds <= 0.7 * p.agentSeconds;
    const vsHpa = h
      ? `; vs HPA: p99 ${pct(a.p99WaitS, h.p99WaitS)}, agent-seconds ${pct(a.agentSeconds, h.agentSeconds)}, flaps ${a.flaps.toFixed(1)} vs ${h.flaps.toFixed(1)}`
      : '';
    lines.push(
      `- ${s} vs peak pool: SLO violations ${a.sloViolationPct.toFixed(2)} % vs ${p.sloViolationPct.toFixed(2)} % ` +
        `(${sloOk ? 'met' : 'NOT met'}: within 1 point), agent-seconds ${pct(a.agentSeconds, p.agentSeconds)} ` +
        `(${asOk ? 'met' : 'NOT met'}: ≥ 30 % fewer)${vsHpa}`,
    );
  }
  // Issue 18: not worse than HPA anywhere, with the defaults.
  for (const s of BENCH_SCENARIOS) {
    const a = row(rs, s, 'agentpool');
    const h = row(rs, s, 'hpa');
    if (!a || !h) continue;
    const p99Ok = a.p99WaitS <= 0.8 * h.p99WaitS;
    const asOk = a.agentSeconds <= h.agentSeconds;
    const flapOk = a.flaps < h.flaps || (a.flaps === 0 && h.flaps === 0);
    // Where even the peak-sized pool cannot wait 20 % less than HPA, the goal is infeasible by
    // construction (the rate-limited scenario: the limit, not the pool, sets the wait).
    const p = row(rs, s, 'peak');
    const infeasible =
      !p99Ok && p !== undefined && p.p99WaitS > 0.8 * h.p99WaitS
        ? ` — infeasible: a peak-sized pool (${ratioOf(p.agentSeconds, h.agentSeconds)} HPA's agent-seconds) waits ${ratioOf(p.p99WaitS, h.p99WaitS)} HPA's p99`
        : '';
    lines.push(
      `- ${s} vs HPA (issue 18): p99 ${ratioOf(a.p99WaitS, h.p99WaitS)} (${p99Ok ? 'met' : 'NOT met'}: ≤ 0.8×${infeasible}), ` +
        `agent-seconds ${ratioOf(a.agentSeconds, h.agentSeconds)} (${asOk ? 'met' : 'NOT met'}: ≤ 1×), ` +
        `flaps ${a.flaps.toFixed(1)} vs ${h.flaps.toFixed(1)} (${flapOk ? 'met' : 'NOT met'}: fewer, or none)`,
    );
  }
  const d = { a: row(rs, 'diurnal', 'agentpool'), p: row(rs, 'diurnal', 'peak') };
  if (d.a && d.p) {
    const ok = d.a.agentSeconds <= 0.7 * d.p.agentSeconds && d.a.sloViolationPct === 0;
    lines.push(
      `- diurnal vs peak pool (issue 18): agent-seconds ${pct(d.a.agentSeconds, d.p.agentSeconds)} at ${d.a.sloViolationPct.toFixed(2)} % SLO violations (${ok ? 'met' : 'NOT met'}: ≥ 30 % fewer at 0 %)`,
    );
  }
  const ig = row(rs, 'idle-gaps', 'agentpool');
  if (ig) {
    lines.push(
      `- idle-gaps with no periodMs (issue 18): ${ig.sloViolationPct.toFixed(2)} % SLO violations (${ig.sloViolationPct <= 1 ? 'met' : 'NOT met'}: ≤ 1 %)`,
    );
  }
  return lines;
}

function ratioOf(a: number, b: number): string {
  if (b === 0) return a === 0 ? '1.00×' : 'n/a (HPA 0)';
  return `${(a / b).toFixed(2)}×`;
}

/** Markdown section for docs/benchmarks.md. */
export function renderScalingMarkdown(r: ScalingBenchResult): string {
  const rows = r.results.map((x) => [
    x.scenario,
    x.policy,
    x.p50WaitS,
    x.p99WaitS,
    x.sloViolationPct,
    Math.round(x.agentSeconds),
    x.slackPct,
    x.scaleEvents,
    x.flaps,
  ]);
  return [
    '## Scaling (issues 6, 18)',
    '',
    `${machineLine()} · \`agentpool bench scaling\` · ${r.seedCount} seeds per cell, means shown`,
    '',
    `One pool, max ${r.agents} agents; service lognormal mean 20 s CV 1.5; agent start-up 30 s; FIFO queue; ` +
      `5 min warm-up not measured. Peak rate = ${r.agents} agents at 75 % utilization. Scenarios: step (¼ peak, ×4 for 10 min, 1 h), ` +
      'diurnal (sine ±60 %, 24 h), square (±30 %, 2-min period, 2 h), idle-gaps (10-min bursts at peak, 20-min gaps, 2 h), ' +
      'heavy-tail (the step shape, service lognormal CV 2.5), rate-limited (the step shape, tasks start at most at 40 % of the ' +
      'peak rate: more agents do not help; pool model only). ' +
      'Policies: agentpool = the real scaler machine on the simulated clock with default config; hpa = Kubernetes HPA model ' +
      '(15 s loop, ±10 % tolerance, 300 s down-stabilisation, up max(4 pods, 100 %)/15 s, not-ready = 0 %), target 75 %; ' +
      "fixed = Little's law at 70 % of the mean rate; peak = sized for the peak rate at 75 %.",
    '',
    table(
      [
        'scenario',
        'policy',
        'p50 wait s',
        'p99 wait s',
        '% wait > 30 s',
        'agent-s',
        'slack %',
        'scale events',
        'flaps',
      ],
      rows,
    ),
    '',
    '### Against the goals (computed from the rows above)',
    '',
    ...scalingGoals(r.results),
    ...tradeoffSection(r),
    '',
    `Simulation speed: a 24 h, ${r.agents}-agent diurnal day under the agentpool scaler took ${r.diurnalWallMs.toFixed(0)} ms ` +
      `of wall time on average = ${r.diurnalSpeed.toFixed(0)} simulated seconds per wall second.`,
    ...systemSection(r),
  ].join('\n');
}

function tradeoffSection(r: ScalingBenchResult): string[] {
  const def = row(r.results, 'diurnal', 'agentpool');
  const peak = row(r.results, 'diurnal', 'peak');
  const hpa = row(r.results, 'diurnal', 'hpa');
  if (r.staffingTradeoff.length === 0 || !def || !peak || !hpa) return [];
  const rows = [
    ...r.staffingTradeoff.map((x) => ({ label: String(x.staffingBeta), ...x })),
    { label: `${DEFAULT_SCALING_CONFIG.staffingBeta} (default)`, ...def },
    { label: 'HPA', ...hpa },
  ].map((x) => [
    x.label,
    x.p99WaitS,
    ratioOf(x.p99WaitS, hpa.p99WaitS),
    x.sloViolationPct,
    Math.round(x.agentSeconds),
    pct(x.agentSeconds, peak.agentSeconds),
    x.flaps,
  ]);
  return [
    '',
    '### Diurnal: the staffing margin β trades agent-seconds for p99',
    '',
    "The agentpool policy on the same diurnal days with other `staffingBeta` values (0 = Little's law alone). " +
      'Issue 18 asks for both p99 ≤ 0.8× HPA and ≥ 30 % fewer agent-seconds than the peak pool on this day; no β gives ' +
      'both (see docs/guides/scaling.md for the queueing bound behind it).',
    '',
    table(
      ['staffingBeta', 'p99 wait s', 'p99 vs HPA', '% wait > 30 s', 'agent-s', 'agent-s vs peak', 'flaps'],
      rows,
    ),
  ];
}

function systemSection(r: ScalingBenchResult): string[] {
  if (r.systemResults.length === 0) return [];
  const rows = r.systemResults.map((x) => {
    const m = row(r.results, x.scenario, 'agentpool');
    const h = row(r.results, x.scenario, 'hpa');
    const p = row(r.results, x.scenario, 'peak');
    return [
      x.scenario,
      x.p50WaitS,
      x.p99WaitS,
      x.sloViolationPct,
      Math.round(x.agentSeconds),
      x.scaleEvents,
      x.flaps,
      m ? pct(x.p99WaitS, m.p99WaitS) : '',
      m ? pct(x.agentSeconds, m.agentSeconds) : '',
      h ? pct(x.agentSeconds, h.agentSeconds) : '',
      p ? pct(x.agentSeconds, p.agentSeconds) : '',
    ];
  });
  const perDay = r.systemDiurnalWallMs;
  return [
    '',
    '### The same traffic on the real system',
    '',
    'The agentpool policy again, but on the real `AgentPoolSystem` (`simulate --engine system`): the real pool, ' +
      'agent, dispatcher and scaler actors, synthetic inline agents whose `setup` sleeps the 30 s start-up, tasks through ' +
      '`submit()`. For fixed-size pools the two engines are identical task for task, and for the autoscaled pool they take ' +
      'the same decisions (test/sim/scaling/system-sim.test.ts): the model the HPA comparison runs on is the product. ' +
      'The columns "vs model" show what is left of the difference.',
    '',
    table(
      [
        'scenario',
        'p50 wait s',
        'p99 wait s',
        '% wait > 30 s',
        'agent-s',
        'scale events',
        'flaps',
        'p99 vs model',
        'agent-s vs model',
        'agent-s vs HPA (model)',
        'agent-s vs peak',
      ],
      rows,
    ),
    '',
    perDay > 0
      ? `Speed on the real system: a 24 h, ${r.agents}-agent diurnal day took ${perDay.toFixed(0)} ms of wall time on average ` +
        `= ${((24 * 3_600_000) / perDay).toFixed(0)} simulated seconds per wall second.`
      : '',
  ];
}

/**
 * `agentpool bench scaling`: runs the bench and returns the `scaling` section of docs/benchmarks.md
 * and the JSON `{ results, systemResults }` (the CLI prints one and writes the section only when asked).
 */
export async function scalingBenchOutput(options: ScalingBenchOptions = {}): Promise<BenchOutput> {
  const r = await runScalingBench(options);
  return {
    markdown: renderScalingMarkdown(r),
    json: { results: r.results, systemResults: r.systemResults, staffingTradeoff: r.staffingTradeoff },
  };
}
