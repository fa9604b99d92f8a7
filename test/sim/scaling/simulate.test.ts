import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { renderHtmlReport } from '../../../src/sim/scaling/report-html.js';
import { makeScenario } from '../../../src/sim/scaling/scenarios.js';
import { type SimulationResult, simulateScaling } from '../../../src/sim/scaling/simulate.js';
import { parseTrace, traceScenario } from '../../../src/sim/scaling/trace.js';

const AGENTS = 10;
const PEAK = (AGENTS * 0.75) / 20;

/** Everything except the wall-clock fields. */
function stable(r: SimulationResult): Omit<SimulationResult, 'wallMs' | 'speed'> {
  const { wallMs: _w, speed: _s, ...rest } = r;
  return rest;
}

describe('scaling simulation', () => {
  it('is reproducible: same seed → identical result and report; another seed differs', async () => {
    const scenario = makeScenario('step', { peakRatePerS: PEAK, hours: 0.75 });
    const a = await simulateScaling({ scenario, policy: 'agentpool', seed: 7, max: AGENTS });
    const b = await simulateScaling({ scenario, policy: 'agentpool', seed: 7, max: AGENTS });
    const c = await simulateScaling({ scenario, policy: 'agentpool', seed: 8, max: AGENTS });
    expect(stable(b)).toEqual(stable(a));
    expect(renderHtmlReport(b)).toBe(renderHtmlReport(a));
    expect(c.tasks).not.toBe(a.tasks);
  });

  it('accounts consistently: peak pool agent-seconds = size × duration; busy ≤ held; tasks conserved', async () => {
    const scenario = makeScenario('square', { peakRatePerS: PEAK, hours: 0.5 });
    const peak = await simulateScaling({ scenario, policy: 'peak', seed: 1, max: AGENTS });
    // peak pool = ceil(λ_peak × 20 s / 0.75) = AGENTS, held for the whole measured period
    expect(peak.agentSeconds).toBeCloseTo(AGENTS * 1800, 6);
    expect(peak.scaleEvents).toBe(0);
    const fixed = await simulateScaling({ scenario, policy: 'fixed', seed: 1, max: AGENTS });
    const expectedFixed = Math.ceil((scenario.meanRatePerS * 20) / 0.7 - 1e-9);
    expect(fixed.agentSeconds).toBeCloseTo(expectedFixed * 1800, 6);
    for (const r of [peak, fixed]) {
      expect(r.busySeconds).toBeLessThanOrEqual(r.agentSeconds + 1e-6);
      expect(r.completed).toBeLessThanOrEqual(r.tasks);
      expect(r.slackPct).toBeCloseTo(100 * (1 - r.busySeconds / r.agentSeconds), 9);
    }
    // same seed → same task stream for every policy (common random numbers)
    expect(fixed.tasks).toBe(peak.tasks);
    // ~ λ̄ × duration arrivals (Poisson: within 5 standard deviations)
    const expected = scenario.meanRatePerS * 1800;
    expect(Math.abs(peak.tasks - expected)).toBeLessThan(5 * Math.sqrt(expected));
  });

  it('the agentpool policy runs the real scaler machine and follows a step', async () => {
    const scenario = makeScenario('step', { peakRatePerS: PEAK, hours: 1 });
    const r = await simulateScaling({ scenario, policy: 'agentpool', seed: 3, max: AGENTS });
    expect(r.scaleEvents).toBeGreaterThan(0);
    expect(r.maxSize).toBeLessThanOrEqual(AGENTS);
    // during the step (minutes 20–30) the pool grows beyond its base size
    const base = r.series.size[10] ?? 0;
    const during = Math.max(...r.series.size.slice(21, 30));
    expect(during).toBeGreaterThan(base);
    // flaps are reversals within 5 minutes, counted from the events
    let flaps = 0;
    for (let i = 1; i < r.events.length; i++) {
      const p = r.events[i - 1]!;
      const q = r.events[i]!;
      if (Math.sign(p.to - p.from) !== Math.sign(q.to - q.from) && q.t - p.t < 300) flaps++;
    }
    expect(r.flaps).toBe(flaps);
  });

  it('the HPA baseline reacts to saturation and stays within bounds', async () => {
    const scenario = makeScenario('idle-gaps', { peakRatePerS: PEAK, hours: 1 });
    const r = await simulateScaling({ scenario, policy: 'hpa', seed: 2, max: AGENTS, min: 1 });
    expect(r.scaleEvents).toBeGreaterThan(0);
    expect(r.maxSize).toBeLessThanOrEqual(AGENTS);
    for (const s of r.series.size) expect(s).toBeGreaterThanOrEqual(1 - 1e-9);
  });

  it('replays a trace with its service times', async () => {
    // 3 tasks at t = 0, 1, 2 s with 10 s service on a 1-agent fixed pool: waits 0, 9, 18 s
    const trace = parseTrace('t,service\n0,10\n1,10\n2,10\n');
    const scenario = traceScenario(trace);
    const r = await simulateScaling({ scenario, policy: 'peak', seed: 1, max: 1, startupMs: 0 });
    expect(r.tasks).toBe(3);
    expect(r.completed).toBe(3);
    expect(r.p50WaitS).toBeCloseTo(9, 9);
    expect(r.p99WaitS).toBeCloseTo(18, 9);
  });

  it('rate-limited: the agentpool scaler does not grow for work only the rate limit holds back', async () => {
    // 50-agent scenario; tasks may start at 40 % of the peak rate → ~20 agents can ever be busy.
    const scenario = makeScenario('rate-limited', { peakRatePerS: (50 * 0.75) / 20 });
    const ap = await simulateScaling({ scenario, policy: 'agentpool', seed: 1, max: 50 });
    const hpa = await simulateScaling({ scenario, policy: 'hpa', seed: 1, max: 50 });
    expect(ap.maxSize).toBeLessThanOrEqual(25);
    expect(ap.maxSize).toBeLessThan(hpa.maxSize);
    // the limit is real: tasks wait far longer than on the unlimited step
    expect(ap.p99WaitS).toBeGreaterThan(300);
  });

  it('heavy-tail draws lognormal service times with CV 2.5', () => {
    const s = makeScenario('heavy-tail', { peakRatePerS: 1 });
    expect(s.service).toEqual({ kind: 'lognormal', mean: 20_000, cv: 2.5 });
    expect(makeScenario('step', { peakRatePerS: 1 }).service).toBeUndefined();
  });

  it('rejects bad options with typed errors', async () => {
    const scenario = makeScenario('step', { peakRatePerS: PEAK });
    await expect(simulateScaling({ scenario, policy: 'magic' as never })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(simulateScaling({ scenario, policy: 'hpa', min: 5, max: 2 })).rejects.toThrow(
      /simulation.min/,
    );
    expect(() => makeScenario('step', { peakRatePerS: -1 })).toThrow(InvalidArgumentError);
  });
});

describe('scenarios and traces', () => {
  it('scenario shapes have the documented peak and mean', () => {
    const step = makeScenario('step', { peakRatePerS: 4 });
    expect(step.rate(0)).toBe(1);
    expect(step.rate(25 * 60_000)).toBe(4);
    expect(step.meanRatePerS).toBeCloseTo((1 * 50 + 4 * 10) / 60, 6);
    const sq = makeScenario('square', { peakRatePerS: 1.3 });
    expect(sq.rate(30_000)).toBeCloseTo(1.3, 12);
    expect(sq.rate(90_000)).toBeCloseTo(0.7, 12);
    expect(sq.meanRatePerS).toBeCloseTo(1, 6);
    const d = makeScenario('diurnal', { peakRatePerS: 1.6 });
    expect(d.rate(12 * 3_600_000)).toBeCloseTo(1.6, 9);
    expect(d.rate(0)).toBeCloseTo(0.4, 9);
    expect(d.meanRatePerS).toBeCloseTo(1, 3);
    const g = makeScenario('idle-gaps', { peakRatePerS: 2 });
    expect(g.rate(5 * 60_000)).toBe(2);
    expect(g.rate(15 * 60_000)).toBe(0);
  });

  it('parses JSON and CSV traces, relative to the first arrival and sorted', () => {
    expect(parseTrace('[5, 3, 4]').arrivals).toEqual([0, 1000, 2000]);
    expect(parseTrace('{"arrivals":[{"t":1,"service":2},{"t":3}]}')).toEqual({
      arrivals: [0, 2000],
      services: [2000, undefined],
    });
    expect(parseTrace('# comment\n10\n12.5\n').arrivals).toEqual([0, 2500]);
    expect(() => parseTrace('[1, -2]')).toThrow(/trace\[1\]/);
    expect(() => parseTrace('arrival\nsoon\n')).toThrow(InvalidArgumentError);
    expect(() => parseTrace('[]')).toThrow(InvalidArgumentError);
  });
});
