/**
 * docs/cli.md, generated from the CLI definition (./program.ts): every command with its description,
 * usage and options (defaults and choices included), so the reference cannot drift from `--help`.
 * `npm run docs:cli` rewrites it; test/cli/reference.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { buildProgram } from './program.js';

/** A table cell: pipes escaped, `<dir>` shown as text rather than read as an HTML tag. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;');
}

/** Text inside backticks: only pipes need escaping. */
function code(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function optionRow(o: Option): string {
  const extra: string[] = [];
  if (o.argChoices) extra.push(`one of ${o.argChoices.map((c) => `\`${c}\``).join(', ')}`);
  if (o.defaultValue !== undefined && !o.negate) {
    const d = o.defaultValueDescription ?? JSON.stringify(o.defaultValue);
    extra.push(`default \`${d}\``);
  }
  return `| \`${code(o.flags)}\` | ${cell(o.description)}${extra.length ? ` (${extra.join('; ')})` : ''} |`;
}

function section(cmd: Command, path: string[]): string[] {
  const name = ['agentpool', ...path].join(' ');
  const lines = [`## \`${name}\``, '', cmd.description(), ''];
  if (cmd.commands.length) {
    lines.push('| command | what it does |', '| --- | --- |');
    for (const c of cmd.commands)
      lines.push(
        `| [\`${name} ${c.name()}\`](#${anchor(`${name} ${c.name()}`)}) | ${cell(c.description())} |`,
      );
    lines.push('');
  }
  const options = cmd.options.filter((o) => !o.hidden);
  if (options.length) {
    lines.push('```', `${name} ${cmd.usage()}`, '```', '', '| option | meaning |', '| --- | --- |');
    lines.push(...options.map(optionRow), '');
  }
  return lines;
}

/** GitHub's heading anchor for a `` `code` `` heading. */
function anchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

/** The whole reference page. */
export function renderCliReference(): string {
  const program = buildProgram({
    io: { stdout: { write: () => true }, stderr: { write: () => true } },
    exit: () => {},
  });
  const lines = [
    '# Command reference',
    '',
    '<!-- Generated from src/cli/program.ts by `npm run docs:cli`; test/cli/reference.test.ts checks it. Do not edit. -->',
    '',
    'Every command also takes `-h, --help`. Conventions: results on stdout (with `--json` exactly one JSON',
    'document); errors and progress on stderr (progress only on a terminal, never with `--json`); usage errors',
    'are one line and exit code 2; nothing is written to disk unless a flag names where (`--out`, `--write-docs`,',
    '`--report`). `agentpool --version` prints the version.',
    '',
  ];
  const walk = (cmd: Command, path: string[]) => {
    for (const c of cmd.commands) {
      const p = [...path, c.name()];
      lines.push(...section(c, p));
      walk(c, p);
    }
  };
  walk(program, []);
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Write the reference to `file` (docs/cli.md). */
export function writeCliReference(file: string): void {
  writeFileSync(file, renderCliReference());
}
