/**
 * `agentpool verify [--json] [--machine NAME]…` — check every registered machine spec and print what
 * was explored and every finding with its shortest counterexample path.
 *
 * Exit codes: 0 all machines clean; 1 at least one finding (deadlock, cannot reach idle/final, replay
 * failure, exploration error) or a truncated traversal (an incomplete check must not pass silently);
 * 2 bad arguments or an unknown machine name.
 */
import { AgentPoolError } from '../core/errors.js';
import { parseArgs } from './argv.js';
import { checkMachine, emptyReport } from './graph-check.js';
import { loadSpecs } from './registry.js';
import type { Finding, MachineReport, MachineSpec } from './types.js';

/** Options for {@link runVerify} beyond the CLI arguments (mostly for tests). */
export interface RunVerifyOptions {
  /** Where usage errors go. @default process.stderr */
  err?: NodeJS.WritableStream;
  /** Specs folder to load. @default the registry's `specs/` folder */
  specsDir?: URL | string;
}

/** Number of findings in a report (truncation is reported separately). */
export function findingCount(r: MachineReport): number {
  return r.deadlocked.length + r.cannotReachIdle.length + r.replayFailures.length + r.errors.length;
}

/** True when the report should fail the run. */
export function reportFails(r: MachineReport): boolean {
  return findingCount(r) > 0 || r.truncated;
}

/**
 * Check one spec; a spec whose own callbacks throw (isHome, serializeState) becomes an error finding
 * for that machine instead of hiding every other machine's report.
 */
function checkSafely(spec: MachineSpec): MachineReport {
  try {
    return checkMachine(spec);
  } catch (e) {
    return {
      ...emptyReport(spec.name),
      errors: [
        { state: '(spec)', path: [], detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) },
      ],
    };
  }
}

function formatFinding(label: string, f: Finding): string {
  const path = f.path.length ? f.path.join(' → ') : '(initial state)';
  const detail = f.detail ? `\n    ${f.detail}` : '';
  return `  ${label}: ${f.state}\n    path: ${path}${detail}`;
}

/** Human-readable report for one machine. */
export function formatReport(r: MachineReport): string {
  const n = findingCount(r);
  const verdict = n === 0 && !r.truncated ? 'ok' : `${n} finding${n === 1 ? '' : 's'}`;
  const lines = [
    `${r.machine}: ${r.states} states, ${r.transitions} transitions, ${r.paths} paths replayed: ${verdict}`,
  ];
  for (const f of r.deadlocked) lines.push(formatFinding('deadlocked', f));
  for (const f of r.cannotReachIdle) lines.push(formatFinding('cannot reach idle/final', f));
  for (const f of r.replayFailures) lines.push(formatFinding('replay failure', f));
  for (const f of r.errors) lines.push(formatFinding('exploration error', f));
  if (r.truncated) {
    lines.push(
      `  truncated after ${r.states} states: findings cover only the explored part (raise spec.limit or coarsen serializeState)`,
    );
  }
  return lines.join('\n');
}

/**
 * Run `agentpool verify`.
 *
 * @param argv arguments after the command name, e.g. `['--json', '--machine', 'agent']`
 * @param out where the report goes. @default process.stdout
 * @returns the process exit code (0 clean, 1 findings, 2 usage error)
 * @example
 * ```ts
 * process.exitCode = await runVerify(process.argv.slice(3));
 * ```
 */
export async function runVerify(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  options: RunVerifyOptions = {},
): Promise<number> {
  const err = options.err ?? process.stderr;
  let json: boolean;
  let only: string[];
  try {
    const args = parseArgs(argv, ['--json', '--help'], ['--machine'], 'verify');
    if (args.flags.has('--help')) {
      out.write(
        'usage: agentpool verify [--json] [--machine NAME]...\n' +
          '  Explores every machine spec (src/verify/specs), checks for deadlocks and states that cannot\n' +
          '  reach idle/final, and replays one shortest path per state on a real actor.\n',
      );
      return 0;
    }
    json = args.flags.has('--json');
    only = args.values.get('--machine') ?? [];
  } catch (e) {
    if (e instanceof AgentPoolError) {
      err.write(`agentpool verify: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  const specs = await loadSpecs(options.specsDir);
  const unknown = only.filter((name) => !specs.some((s) => s.name === name));
  if (unknown.length) {
    err.write(
      `agentpool verify: unknown machine ${unknown.map((u) => JSON.stringify(u)).join(', ')} (known: ${
        specs.map((s) => s.name).join(', ') || 'none'
      })\n`,
    );
    return 2;
  }
  const selected = only.length ? specs.filter((s) => only.includes(s.name)) : specs;
  const reports = selected.map(checkSafely);
  const failing = reports.filter(reportFails);

  if (json) {
    out.write(`${JSON.stringify({ machines: reports })}\n`);
  } else {
    out.write(`agentpool verify: ${reports.length} machine${reports.length === 1 ? '' : 's'}\n\n`);
    for (const r of reports) out.write(`${formatReport(r)}\n`);
    const total = reports.reduce((sum, r) => sum + findingCount(r), 0);
    out.write(
      failing.length
        ? `\nFAIL: ${total} finding${total === 1 ? '' : 's'} in ${failing.length} of ${reports.length} machines\n`
        : `\nOK: no deadlocks, every state can reach idle/final, every path replayed\n`,
    );
  }
  return failing.length ? 1 : 0;
}
