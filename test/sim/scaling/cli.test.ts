import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderScalingMarkdown, runScalingBench } from '../../../bench/scaling.js';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import {
  checkSimulateArgs,
  peakRateFor,
  runSimulate,
  SIMULATE_DEFAULTS,
} from '../../../src/sim/simulate-cli.js';

describe('agentpool simulate', () => {
  it('refuses a model-only policy on the real system with a typed error naming --policy', async () => {
    expect(peakRateFor(50)).toBeCloseTo(1.875, 12);
    expect(() => checkSimulateArgs({ ...SIMULATE_DEFAULTS, engine: 'system', policy: 'hpa' })).toThrow(
      InvalidArgumentError,
    );
    await expect(runSimulate({ ...SIMULATE_DEFAULTS, engine: 'system', policy: 'hpa' })).rejects.toThrow(
      /--policy/,
    );
  });

  it('prints JSON and writes a self-contained HTML report with four SVG charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentpool-sim-'));
    try {
      const file = join(dir, 'out.html');
      let printed = '';
      const code = await runSimulate(
        {
          ...SIMULATE_DEFAULTS,
          scenario: 'step',
          policy: 'agentpool',
          hours: 0.5,
          agents: 8,
          json: true,
          report: file,
        },
        (s) => {
          printed += s;
        },
      );
      expect(code).toBe(0);
      const json = JSON.parse(printed);
      expect(json.policy).toBe('agentpool');
      expect(json.simulatedS).toBe(1800);
      expect(json.series.t.length).toBe(30);
      const html = readFileSync(file, 'utf8');
      expect(html.match(/<svg /g)?.length).toBe(4);
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
      for (const title of ['Demand', 'Pool size', 'Utilization', 'Wait p99']) expect(html).toContain(title);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agentpool bench scaling', () => {
  it('returns the documented JSON shape for every scenario × policy', async () => {
    const r = await runScalingBench({
      seeds: 1,
      scenarios: ['square', 'step'],
      hours: 0.25,
      agents: 6,
    });
    expect(r.results.map((x) => `${x.scenario}/${x.policy}`)).toEqual([
      'square/agentpool',
      'square/hpa',
      'square/fixed',
      'square/peak',
      'step/agentpool',
      'step/hpa',
      'step/fixed',
      'step/peak',
    ]);
    for (const row of r.results) {
      for (const k of [
        'p50WaitS',
        'p99WaitS',
        'sloViolationPct',
        'agentSeconds',
        'scaleEvents',
        'flaps',
      ] as const) {
        expect(Number.isFinite(row[k]), `${row.scenario}/${row.policy}.${k}`).toBe(true);
      }
    }
    expect(r.systemResults.map((x) => `${x.scenario}/${x.policy}/${x.engine}`)).toEqual([
      'square/agentpool/system',
      'step/agentpool/system',
    ]);
    for (const row of r.systemResults) expect(Number.isFinite(row.p99WaitS)).toBe(true);
    const md = renderScalingMarkdown(r);
    expect(md).toContain('| square | agentpool |');
    expect(md).toContain('square wave vs HPA');
    expect(md).toContain('The same traffic on the real system');
    // no diurnal in this short run: no staffing trade-off table
    expect(r.staffingTradeoff).toEqual([]);
  });
});
