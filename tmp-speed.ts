import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling } from './src/sim/scaling/simulate.js';
for (const p of ['agentpool','hpa'] as const) {
const r = await simulateScaling({ scenario: makeScenario('diurnal', { peakRatePerS: 1.875 }), policy: p, seed: 1, max: 50 });
console.log(p, r.wallMs.toFixed(0), 'ms', r.speed.toFixed(0), 'x', r.tasks);
}
