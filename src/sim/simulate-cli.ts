/**
 * `agentpool simulate --scenario S --policy P [--engine model|system] [--path submit|acquire] [--seed N]
 * [--hours H] [--agents N] [--trace file] [--json] [--report out.html]`: one simulated pool under one
 * scaling policy — on the pool model (`model`, default: every policy, fastest) or on the real
 * AgentPoolSystem with synthetic inline agents (`system`: agentpool, fixed, peak).
 *
 * `--agents N` is the pool's maximum and the size of the peak-sized pool; the scenario's peak rate is
 * chosen so that N agents run at the 75 % target utilization at the peak.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError } from '../core/errors.js';
import { renderCompareReport } from './scaling/compare-html.js';
import { renderHtmlReport } from './scaling/report-html.js';
import type { Scenario } from './scaling/scenarios.js';
import { isScenarioName, makeScenario, SCENARIOS } from './scaling/scenarios.js';
import { POLICIES, type PolicyName, type SimulationResult, simulateScaling } from './scaling/simulate.js';
import { SYSTEM_POLICIES, simulateSystem } from './scaling/system-sim.js';
import { parseTrace, traceScenario } from './scaling/trace.js';

/** Mean service time used by the CLI scenarios (lognormal, CV 1.5). */
export const CLI_MEAN_SERVICE_S = 20;

/** Peak arrival rate at which `agents` agents run at `utilization` (Little's law). */
export function peakRateFor(agents: number, utilization = 0.75, meanServiceS = CLI_MEAN_SERVICE_S): number {
  return (agents * utilization) / meanServiceS;
}

/** Defaults of `agentpool simulate`'s flags. */
export const SIMULATE_DEFAULTS = {
  scenario: 'step',
  policy: 'agentpool',
  seed: 1,
  agents: 50,
  engine: 'model',
  path: 'submit',
  json: false,
} as const satisfies Partial<SimulateArgs>;

/** Parsed flags of `agentpool simulate`. */
export interface SimulateArgs {
  scenario: string;
  policy: PolicyName;
  seed: number;
  hours?: number;
  agents: number;
  /** `model` (the pool model, every policy) or `system` (the real system). @default 'model' */
  engine: 'model' | 'system';
  /** How tasks enter the real system (engine `system`). @default 'submit' */
  path: 'submit' | 'acquire';
  trace?: string;
  json: boolean;
  report?: string;
  /**
   * Compare these policies (same scenario and seed) on one HTML page written to `report`
   * (default `scaling-compare.html`) instead of running `policy` alone.
   */
  compare?: PolicyName[];
}

/**
 * Check what the flags cannot check one by one (the CLI parses each flag): the real system runs only
 * the product policies.
 *
 * @throws InvalidArgumentError naming `--policy`.
 */
export function checkSimulateArgs(args: SimulateArgs): SimulateArgs {
  for (const p of args.compare ?? []) {
    if (!(POLICIES as readonly string[]).includes(p))
      throw new InvalidArgumentError(
        '--compare',
        args.compare?.join(','),
        `a comma list of ${POLICIES.join(', ')}`,
      );
    if (args.engine === 'system' && !(SYSTEM_POLICIES as readonly string[]).includes(p))
      throw new InvalidArgumentError(
        '--compare',
        p,
        `one of ${SYSTEM_POLICIES.join(', ')} with --engine system`,
      );
  }
  if (args.compare !== undefined && args.compare.length === 0)
    throw new InvalidArgumentError('--compare', '', `a comma list of ${POLICIES.join(', ')}`);
  if (args.engine === 'system' && !(SYSTEM_POLICIES as readonly string[]).includes(args.policy)) {
    throw new InvalidArgumentError(
      '--policy',
      args.policy,
      `one of ${SYSTEM_POLICIES.join(', ')} with --engine system (hpa is a model of Kubernetes, not a product policy)`,
    );
  }
  return args;
}

/** Build the scenario named by the arguments (or the trace). */
export function scenarioFor(args: SimulateArgs): Scenario {
  if (args.trace !== undefined) {
    const text = readFileSync(args.trace, 'utf8');
    return traceScenario(
      parseTrace(text, args.trace.endsWith('.csv') ? 'csv' : undefined),
      `trace:${args.trace}`,
    );
  }
  if (!isScenarioName(args.scenario))
    throw new InvalidArgumentError('--scenario', args.scenario, SCENARIOS.join(', '));
  return makeScenario(args.scenario, {
    peakRatePerS: peakRateFor(args.agents),
    ...(args.hours !== undefined ? { hours: args.hours } : {}),
  });
}

/** Human-readable summary lines. */
export function formatSummary(r: SimulationResult): string {
  return [
    `scenario ${r.scenario} · policy ${r.policy} · engine ${'engine' in r ? `${r.engine} (${String((r as { path?: string }).path)})` : 'model'} · seed ${r.seed} · ${(r.simulatedS / 3600).toFixed(2)} h simulated`,
    `tasks ${r.tasks} (completed ${r.completed})`,
    `wait p50 ${r.p50WaitS.toFixed(2)} s · p90 ${r.p90WaitS.toFixed(2)} s · p99 ${r.p99WaitS.toFixed(2)} s · waiting > 30 s: ${r.sloViolationPct.toFixed(2)} %`,
    `agent-seconds ${r.agentSeconds.toFixed(0)} · slack ${r.slackPct.toFixed(1)} % · mean size ${r.meanSize.toFixed(1)} · max ${r.maxSize}`,
    `scale events ${r.scaleEvents} · flaps ${r.flaps}`,
    `speed ${r.speed.toFixed(0)} simulated s per wall s (${r.wallMs.toFixed(0)} ms)`,
  ].join('\n');
}

/**
 * Run `agentpool simulate` with parsed arguments (the CLI parses the flags): prints the summary, or
 * the result as JSON; writes the HTML report only to `args.report`. Returns the process exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runSimulate({ ...SIMULATE_DEFAULTS, scenario: 'diurnal', policy: 'hpa', json: true });
 * ```
 */
export async function runSimulate(
  args: SimulateArgs,
  out: (s: string) => void = (s) => process.stdout.write(s),
  onProgress?: (simulatedMs: number, totalMs: number) => void,
): Promise<number> {
  checkSimulateArgs(args);
  const common = {
    scenario: scenarioFor(args),
    seed: args.seed,
    max: args.agents,
    ...(onProgress ? { onProgress } : {}),
  };
  if (args.compare !== undefined) {
    const results: SimulationResult[] = [];
    for (const policy of args.compare) {
      results.push(
        args.engine === 'system'
          ? await simulateSystem({
              ...common,
              policy: policy as (typeof SYSTEM_POLICIES)[number],
              path: args.path,
            })
          : await simulateScaling({ ...common, policy }),
      );
    }
    const file = args.report ?? 'scaling-compare.html';
    writeFileSync(file, renderCompareReport(results, { max: args.agents, engine: args.engine }));
    if (args.json) out(`${JSON.stringify(results)}\n`);
    else out(`${results.map(formatSummary).join('\n\n')}\ncomparison written to ${file}\n`);
    return 0;
  }
  const result =
    args.engine === 'system'
      ? await simulateSystem({
          ...common,
          policy: args.policy as (typeof SYSTEM_POLICIES)[number],
          path: args.path,
        })
      : await simulateScaling({ ...common, policy: args.policy });
  if (args.report !== undefined) writeFileSync(args.report, renderHtmlReport(result));
  if (args.json) out(`${JSON.stringify(result)}\n`);
  else out(`${formatSummary(result)}${args.report ? `\nreport written to ${args.report}` : ''}\n`);
  return 0;
}
