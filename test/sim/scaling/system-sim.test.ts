/**
 * The scaling simulation on the real AgentPoolSystem (src/sim/scaling/system-sim.ts): for fixed-size
 * pools it must agree EXACTLY with the pool model (a FCFS multi-server queue's waits depend only on the
 * arrivals and service times, not on which free agent serves), which validates the model the HPA
 * comparison runs on; a run is a pure function of its options; the real scaler keeps the pool within
 * [min, max]; bad options are typed errors.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { makeScenario } from '../../../src/sim/scaling/scenarios.js';
import { type SimulationResult, simulateScaling } from '../../../src/sim/scaling/simulate.js';
import { simulateSystem } from '../../../src/sim/scaling/system-sim.js';
import { peakRateFor } from '../../../src/sim/simulate-cli.js';

const AGENTS = 10;
const scenario = (name: 'step' | 'square', hours = 0.5) =>
  makeScenario(name, { peakRatePerS: peakRateFor(AGENTS), hours });
const common = { max: AGENTS, warmupMs: 120_000 };
const measured = (r: SimulationResult) => ({
  tasks: r.tasks,
  completed: r.completed,
  p50: r.p50WaitS,
  p90: r.p90WaitS,
  p99: r.p99WaitS,
  mean: r.meanWaitS,
  slo: r.sloViolationPct,
  agentSeconds: r.agentSeconds,
  busySeconds: r.busySeconds,
  series: r.series,
});

describe('simulateSystem (the real system on a simulated clock)', () => {
  it.each(['fixed', 'peak'] as const)(
    '%s pool: identical to the pool model, task for task',
    async (policy) => {
      const sc = scenario('step');
      const model = await simulateScaling({ ...common, scenario: sc, policy, seed: 7 });
      const real = await simulateSystem({ ...common, scenario: sc, policy, seed: 7 });
      expect(real.tasks).toBeGreaterThan(100);
      expect(real.failed).toBe(0);
      expect(measured(real)).toEqual(measured(model));
      // The fixed pool is undersized for the step: the comparison covers queueing, not just idle agents.
      if (policy === 'fixed') expect(real.p99WaitS).toBeGreaterThan(30);
    },
  );

  it('the acquire path gives the same waits as the submit path for a fixed pool', async () => {
    const sc = scenario('step', 0.25);
    const viaSubmit = await simulateSystem({ ...common, scenario: sc, policy: 'fixed', seed: 3 });
    const viaAcquire = await simulateSystem({
      ...common,
      scenario: sc,
      policy: 'fixed',
      seed: 3,
      path: 'acquire',
    });
    expect(viaAcquire.path).toBe('acquire');
    expect(measured(viaAcquire)).toEqual(measured(viaSubmit));
  });

  it('agentpool: reproducible, within [min, max], every task served or still waiting', async () => {
    // The step (not the square wave, which a 10-agent pool serves at its max without scaling).
    const sc = scenario('step');
    const a = await simulateSystem({ ...common, scenario: sc, policy: 'agentpool', seed: 5, min: 2 });
    const b = await simulateSystem({ ...common, scenario: sc, policy: 'agentpool', seed: 5, min: 2 });
    const { wallMs: _w1, speed: _s1, ...ra } = a;
    const { wallMs: _w2, speed: _s2, ...rb } = b;
    expect(ra).toEqual(rb);
    expect(a.scaleEvents).toBeGreaterThan(0);
    for (const e of a.events) {
      expect(e.to).toBeGreaterThanOrEqual(2);
      expect(e.to).toBeLessThanOrEqual(AGENTS);
    }
    for (const s of a.series.size) expect(s).toBeLessThanOrEqual(AGENTS + 1e-9);
    expect(a.maxSize).toBeLessThanOrEqual(AGENTS);
    expect(a.failed).toBe(0);
    expect(a.completed).toBeLessThanOrEqual(a.tasks);
    expect(a.tasks - a.completed).toBeLessThan(AGENTS * 3); // only the tail of the run is unfinished
    // The real autoscaled pool behaves as the policy the model evaluates (same decisions, same waits).
    const model = await simulateScaling({ ...common, scenario: sc, policy: 'agentpool', seed: 5, min: 2 });
    expect(Math.abs(a.agentSeconds - model.agentSeconds) / model.agentSeconds).toBeLessThan(0.01);
    expect(a.p99WaitS).toBeCloseTo(model.p99WaitS, 1);
    expect(a.events.map((e) => [e.from, e.to])).toEqual(model.events.map((e) => [e.from, e.to]));
    const other = await simulateSystem({ ...common, scenario: sc, policy: 'agentpool', seed: 6, min: 2 });
    expect(other.tasks).not.toBe(a.tasks);
  });

  it('bad options are typed errors naming the option', async () => {
    const sc = scenario('step', 0.1);
    await expect(simulateSystem({ scenario: sc, policy: 'hpa' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'simulation.policy',
      received: 'hpa',
    });
    await expect(
      simulateSystem({ scenario: sc, policy: 'fixed', path: 'teleport' as never }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(simulateSystem({ scenario: sc, policy: 'fixed', min: 5, max: 2 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(simulateSystem({ scenario: sc, policy: 'fixed', startupMs: -1 })).rejects.toThrow(
      /startupMs/,
    );
  });
});
