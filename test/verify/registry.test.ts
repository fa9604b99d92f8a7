import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadSpecs, selectSpecFiles } from '../../src/verify/registry.js';

describe('selectSpecFiles', () => {
  it('skips declarations, maps and non-spec files, and prefers the running extension', () => {
    const names = [
      'a.spec.ts',
      'a.spec.js',
      'a.spec.d.ts',
      'a.spec.js.map',
      'b.spec.js',
      'helper.ts',
      'README.md',
    ];
    expect(selectSpecFiles(names, '.ts')).toEqual(['a.spec.ts', 'b.spec.js']);
    expect(selectSpecFiles(names, '.js')).toEqual(['a.spec.js', 'b.spec.js']);
  });
});

describe('loadSpecs from a temp dir', () => {
  let dir: string;
  // The temp spec imports xstate by absolute URL: it lives outside the project's node_modules tree.
  const xstateUrl = pathToFileURL(createRequire(import.meta.url).resolve('xstate')).href;
  const specSource = (name: string) => `
    import { createMachine } from ${JSON.stringify(xstateUrl)};
    export const spec = {
      name: ${JSON.stringify(name)},
      machine: createMachine({ id: 'm', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { on: { BACK: 'a' } } } }),
      events: [],
      isHome: (s) => s.value === 'a',
    };
  `;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentpool-specs-'));
    await writeFile(join(dir, 'zeta.spec.mjs'), specSource('zeta'));
    await writeFile(join(dir, 'alpha.spec.js'), specSource('alpha'));
    await writeFile(join(dir, 'alpha.spec.d.ts'), 'export declare const spec: unknown;');
    await writeFile(join(dir, 'alpha.spec.js.map'), '{}');
    await writeFile(join(dir, 'notes.txt'), 'not a spec');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('imports each spec once, sorted by name', async () => {
    const specs = await loadSpecs(dir);
    expect(specs.map((s) => s.name)).toEqual(['alpha', 'zeta']);
    expect(specs[0]?.isHome({ value: 'a', status: 'active', context: {} })).toBe(true);
  });

  it('returns no specs for a missing folder', async () => {
    expect(await loadSpecs(join(dir, 'does-not-exist'))).toEqual([]);
  });

  it('rejects a spec file without a valid spec export, naming the file', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'agentpool-badspecs-'));
    try {
      await writeFile(join(bad, 'oops.spec.mjs'), 'export const spec = { name: "oops", events: [] };');
      const err = await loadSpecs(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe('oops.spec.mjs: spec.machine');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('rejects two specs with the same name', async () => {
    const dup = await mkdtemp(join(tmpdir(), 'agentpool-dupspecs-'));
    try {
      await writeFile(join(dup, 'one.spec.mjs'), specSource('same'));
      await writeFile(join(dup, 'two.spec.mjs'), specSource('same'));
      await expect(loadSpecs(dup)).rejects.toThrow(/two\.spec\.mjs: spec\.name/);
    } finally {
      await rm(dup, { recursive: true, force: true });
    }
  });
});

describe('loadSpecs from the real specs folder', () => {
  it('loads every spec file found next to the registry', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = selectSpecFiles(await readdir(new URL('../../src/verify/specs/', import.meta.url)), '.ts');
    const specs = await loadSpecs();
    expect(specs.length).toBe(files.length);
  });
});
