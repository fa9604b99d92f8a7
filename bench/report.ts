/**
 * Benchmarks write their results into one section of docs/benchmarks.md, delimited by
 * `<!-- bench:NAME:start -->` / `<!-- bench:NAME:end -->`, so each benchmark can be re-run on its own
 * without clobbering the others. They write only when asked (`agentpool bench … --write-docs` or
 * `--out FILE`): an installed package must not rewrite its own files, and an incidental run must not
 * dirty the checkout.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/core/package-root.js';

/** Default location of the benchmark results page. */
export const BENCHMARKS_MD = join(packageRoot(), 'docs', 'benchmarks.md');

export { packageRoot };

/** What a benchmark hands the CLI: the markdown section and the `--json` payload. */
export interface BenchOutput {
  /** The section for docs/benchmarks.md (also the human-readable output). */
  markdown: string;
  /** What `--json` prints. */
  json: unknown;
}

/** Progress callback of a benchmark: `done` of `total` units finished (the CLI draws it on stderr). */
export type BenchProgress = (done: number, total: number) => void;

/** One line describing where and when a benchmark ran. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus.length} × ${cpus[0]?.model ?? 'cpu'} · ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

/** Replace (or append) the section `name` of `file` with `markdown`. */
export function writeSection(name: string, markdown: string, file: string = BENCHMARKS_MD): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** Render rows as a GitHub markdown table. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const fmt = (v: string | number) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`),
  ].join('\n');
}

/** Median of a list (NaN when empty; the mean of the two middle values of an even list). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
