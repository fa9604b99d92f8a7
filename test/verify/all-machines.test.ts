/**
 * The model test for every machine: each registered spec (src/verify/specs/*.spec.ts) is explored and
 * every shortest path replayed. New machines are covered as soon as their spec lands.
 */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/verify/cli.js';
import { checkMachine } from '../../src/verify/graph-check.js';
import { loadSpecs } from '../../src/verify/registry.js';

const specs = await loadSpecs();

describe('every machine has a verify spec', () => {
  it('each machines/<name>.machine.ts has src/verify/specs/<name>.spec.ts', async () => {
    const machines = (await readdir(new URL('../../machines/', import.meta.url)))
      .filter((f) => f.endsWith('.machine.ts'))
      .map((f) => f.slice(0, -'.machine.ts'.length));
    const specFiles = new Set(
      (await readdir(new URL('../../src/verify/specs/', import.meta.url)))
        .filter((f) => f.endsWith('.spec.ts'))
        .map((f) => f.slice(0, -'.spec.ts'.length)),
    );
    expect(machines.filter((m) => !specFiles.has(m))).toEqual([]);
  });
});

describe.runIf(specs.length > 0)('graph check of every registered machine', () => {
  it.each(specs.map((s) => [s.name, s] as const))(
    '%s: no deadlock, home always reachable, paths replay',
    (_n, spec) => {
      const report = checkMachine(spec);
      // The formatted report is the failure message: it names each state and its shortest path.
      const why = formatReport(report);
      expect(report.truncated, why).toBe(false);
      expect(report.deadlocked, why).toEqual([]);
      expect(report.cannotReachIdle, why).toEqual([]);
      expect(report.replayFailures, why).toEqual([]);
      expect(report.errors, why).toEqual([]);
      expect(report.states, why).toBeGreaterThan(1);
      expect(report.paths, why).toBe(report.states);
    },
  );
});
