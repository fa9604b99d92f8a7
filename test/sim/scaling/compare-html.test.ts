import { describe, expect, it } from 'vitest';
import { niceTicks, renderCompareReport } from '../../../src/sim/scaling/compare-html.js';
import { makeScenario } from '../../../src/sim/scaling/scenarios.js';
import { simulateScaling } from '../../../src/sim/scaling/simulate.js';

describe('compare report (agentpool simulate --compare)', () => {
  it('two SVG charts with ticks, a legend and one series per policy; SLO and pool max lines; a summary table', async () => {
    const scenario = makeScenario('step', { peakRatePerS: (10 * 0.75) / 20, hours: 0.5 });
    const policies = ['agentpool', 'hpa', 'peak'] as const;
    const results = [];
    for (const policy of policies)
      results.push(await simulateScaling({ scenario, policy, seed: 1, max: 10 }));
    const html = renderCompareReport(results, { max: 10, engine: 'model' });
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(2);
    for (const svg of svgs) {
      // one polyline per policy, named
      const series = [...svg.matchAll(/<polyline class="series" data-policy="([^"]+)"/g)].map((m) => m[1]);
      expect(series).toEqual([...policies]);
      // real ticks on both axes, with numeric labels, and axis units
      const y = svg.match(/<g class="y-axis">[\s\S]*?<\/g>\s*<g class="x-axis">/)?.[0] ?? '';
      expect((y.match(/class="tick"/g) ?? []).length).toBeGreaterThanOrEqual(3);
      const x = svg.slice(svg.indexOf('<g class="x-axis">'));
      expect((x.match(/class="tick"/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect(x).toContain('simulated time (min)');
      // a legend naming every policy
      const legend = svg.slice(svg.indexOf('<g class="legend">'));
      for (const p of policies) expect(legend).toContain(`>${p}</text>`);
      expect(svg).toContain('class="demand"');
      expect(svg).toContain('class="scale-event"');
    }
    expect(svgs[0]).toContain('pool max (10)');
    expect(svgs[1]).toContain('SLO (30 s)');
    expect(html).toContain('Engine: <strong>model</strong>');
    expect(html).toMatch(/<dt>slack<\/dt>/);
    expect(html).toMatch(/<dt>flaps<\/dt>/);
    const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
    expect((body.match(/<tr><th>/g) ?? []).length).toBe(3);
    expect(html).toContain('p99 vs agentpool');
    // self-contained: no scripts, no external resources
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('ticks are nice steps from 0 up to the first one ≥ max', () => {
    expect(niceTicks(52.5)).toEqual([0, 20, 40, 60]);
    expect(niceTicks(120, 8)).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(niceTicks(0)).toEqual([0]);
  });
});
