import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify } from '../../src/verify/cli.js';

const xstateUrl = pathToFileURL(createRequire(import.meta.url).resolve('xstate')).href;

/** A healthy two-state machine and a machine with a stuck state, as spec files. */
const okSpec = `
  import { createMachine } from ${JSON.stringify(xstateUrl)};
  export const spec = {
    name: 'ok',
    machine: createMachine({ id: 'ok', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { on: { BACK: 'a' } } } }),
    events: [],
    isHome: (s) => s.value === 'a',
  };`;
const stuckSpec = `
  import { createMachine } from ${JSON.stringify(xstateUrl)};
  export const spec = {
    name: 'stuck',
    machine: createMachine({ id: 'stuck', initial: 'a', states: { a: { on: { GO: 'b', JAM: 'jam' } }, b: { on: { BACK: 'a' } }, jam: {} } }),
    events: [],
    isHome: (s) => s.value === 'a',
  };`;

/** A spec whose isHome throws: reported as that machine's error, the others still checked. */
const throwingSpec = `
  import { createMachine } from ${JSON.stringify(xstateUrl)};
  export const spec = {
    name: 'throws',
    machine: createMachine({ id: 't', initial: 'a', states: { a: {} } }),
    events: [],
    isHome: () => { throw new Error('isHome is broken'); },
  };`;

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream, text: () => text };
}

describe('runVerify', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentpool-verify-cli-'));
    await writeFile(join(dir, 'ok.spec.mjs'), okSpec);
    await writeFile(join(dir, 'stuck.spec.mjs'), stuckSpec);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json prints exactly one JSON object and exits 1 when a machine has findings', async () => {
    const out = capture();
    const code = await runVerify({ json: true }, out.stream, { specsDir: dir });
    expect(code).toBe(1);
    const parsed = JSON.parse(out.text()) as { machines: Array<Record<string, unknown>> };
    expect(parsed.machines.map((m) => m.machine)).toEqual(['ok', 'stuck']);
    const [ok, stuck] = parsed.machines;
    expect(ok).toMatchObject({ states: 2, paths: 2, deadlocked: [], cannotReachIdle: [] });
    expect(stuck?.deadlocked).toEqual([{ state: 'jam', path: ['JAM'], key: '{"value":"jam","context":{}}' }]);
  });

  it('--machine filters, and a clean machine exits 0', async () => {
    const out = capture();
    expect(await runVerify({ machines: ['ok'] }, out.stream, { specsDir: dir })).toBe(0);
    expect(out.text()).toContain('ok: 2 states, 2 transitions, 2 paths replayed: ok');
    expect(out.text()).not.toContain('stuck');
  });

  it('prints each finding with its counterexample path', async () => {
    const out = capture();
    expect(await runVerify({ machines: ['stuck'] }, out.stream, { specsDir: dir })).toBe(1);
    expect(out.text()).toContain('deadlocked: jam\n    path: JAM');
    expect(out.text()).toContain('cannot reach idle/final: jam');
    expect(out.text()).toContain('FAIL: 2 findings in 1 of 1 machines');
  });

  it('reports a spec whose callbacks throw as an error of that machine and still checks the rest', async () => {
    const d = await mkdtemp(join(tmpdir(), 'agentpool-verify-throw-'));
    try {
      await writeFile(join(d, 'ok.spec.mjs'), okSpec);
      await writeFile(join(d, 'throws.spec.mjs'), throwingSpec);
      const out = capture();
      expect(await runVerify({ json: true }, out.stream, { specsDir: d })).toBe(1);
      const { machines } = JSON.parse(out.text()) as {
        machines: Array<{ machine: string; errors: unknown[] }>;
      };
      expect(machines.map((m) => [m.machine, m.errors.length])).toEqual([
        ['ok', 0],
        ['throws', 1],
      ]);
      expect(out.text()).toContain('isHome is broken');
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it('exits 2 on an unknown machine, writing the reason to err (unknown flags: test/cli/cli.test.ts)', async () => {
    const out = capture();
    const err = capture();
    expect(await runVerify({ machines: ['nope'] }, out.stream, { specsDir: dir, err: err.stream })).toBe(2);
    expect(err.text()).toContain('unknown machine "nope" (known: ok, stuck)');
    expect(out.text()).toBe('');
  });
});
