/**
 * `agentpool verify [--json] [--machine NAME]…` (flags parsed by the CLI, src/cli/program.ts) — check every registered machine spec and print what
 * was explored and every finding with its shortest counterexample path.
 *
 * Exit codes: 0 all machines clean; 1 at least one finding (deadlock, cannot reach idle/final, replay
 * failure, exploration error) or a truncated traversal (an incomplete check must not pass silently);
 * 2 bad arguments or an unknown machine name.
 */
import { checkMachine, emptyReport } from './graph-check.js';
import { loadSpecs } from './registry.js';
import type { Finding, MachineReport, MachineSpec } from './types.js';

/** Where a command writes: anything with `write(text)` (a stream, or a test's collector). */
export interface TextSink {
  write(text: string): unknown;
}

/** What `agentpool verify` was asked for (its flags). */
export interface VerifyArgs {
  /** Print the reports as one JSON object `{ machines }` instead of text. @default false */
  json?: boolean;
  /** Check only these machines. @default every registered machine */
  machines?: readonly string[];
}

/** Options for {@link runVerify} beyond the CLI arguments (mostly for tests). */
export interface RunVerifyOptions {
  /** Where usage errors go. @default process.stderr */
  err?: TextSink;
  /** Specs folder to load. @default the registry's `specs/` folder */
  specsDir?: URL | string;
  /** Called after each machine is checked (the CLI's progress display). */
  onProgress?: (done: number, total: number) => void;
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
 * @param args the parsed flags, e.g. `{ json: true, machines: ['agent'] }`
 * @param out where the report goes. @default process.stdout
 * @returns the process exit code (0 clean, 1 findings, 2 unknown machine name)
 * @example
 * ```ts
 * process.exitCode = await runVerify({ machines: ['agent'] });
 * ```
 */
export async function runVerify(
  args: VerifyArgs = {},
  out: TextSink = process.stdout,
  options: RunVerifyOptions = {},
): Promise<number> {
  const err = options.err ?? process.stderr;
  const json = args.json ?? false;
  const only = args.machines ?? [];
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
  const reports: MachineReport[] = [];
  for (const spec of selected) {
    reports.push(checkSafely(spec));
    options.onProgress?.(reports.length, selected.length);
  }
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
