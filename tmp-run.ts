import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling, POLICIES } from './src/sim/scaling/simulate.js';
const N = 50; const peak = 0.75 * N / 20;
for (const sc of ['step','square','idle-gaps','diurnal'] as const) {
  for (const p of POLICIES) {
    const r = await simulateScaling({ scenario: makeScenario(sc, { peakRatePerS: peak }), policy: p, seed: 1, max: N });
    console.log(sc.padEnd(10), p.padEnd(10), 'p50', r.p50WaitS.toFixed(2), 'p99', r.p99WaitS.toFixed(1), 'slo', r.sloViolationPct.toFixed(2), 'as', Math.round(r.agentSeconds), 'slack', r.slackPct.toFixed(1), 'ev', r.scaleEvents, 'flaps', r.flaps, 'tasks', r.tasks, 'wall', Math.round(r.wallMs), 'speed', Math.round(r.speed));
  }
}
