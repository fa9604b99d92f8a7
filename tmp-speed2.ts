import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling } from './src/sim/scaling/simulate.js';
const r = await simulateScaling({ scenario: makeScenario('diurnal', { peakRatePerS: 1.875 }), policy: 'agentpool', seed: 1, max: 50 });
console.log(r.wallMs.toFixed(0));
