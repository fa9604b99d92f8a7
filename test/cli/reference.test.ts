/**
 * docs/cli.md is generated from the CLI definition: it must match what the program says now
 * (regenerate with `npm run build && npm run docs:cli`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCliReference } from '../../src/cli/reference.js';

describe('docs/cli.md', () => {
  it('is up to date with src/cli/program.ts (npm run docs:cli)', () => {
    const onDisk = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderCliReference());
  });

  it('lists every command and option', () => {
    const md = renderCliReference();
    for (const c of [
      'demo',
      'verify',
      'docs',
      'simulate',
      'bench dispatch',
      'bench memory',
      'bench acquire',
      'bench balancers',
      'bench scaling',
      'bench learning',
    ])
      expect(md).toContain(`## \`agentpool ${c}\``);
    for (const f of [
      '--stories <n>',
      '--engine <engine>',
      '--path <path>',
      '--out <dir>',
      '--check',
      '--seeds <list>',
      '--write-docs',
    ])
      expect(md).toContain(`\`${f}\``);
  });
});
