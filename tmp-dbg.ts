import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling } from './src/sim/scaling/simulate.js';
const [sc, pol] = process.argv.slice(2) as any;
const r = await simulateScaling({ scenario: makeScenario(sc, { peakRatePerS: 1.875 }), policy: pol, seed: 1, max: 50 });
console.log(r.events.map(e=>`${e.t.toFixed(0)}:${e.from}->${e.to}`).join(' '));
console.log('p99', r.p99WaitS, 'as', r.agentSeconds, 'flaps', r.flaps);
console.log(r.series.t.slice(0,40).map((t,i)=>`${t}:${r.series.size[i]!.toFixed(1)}/${r.series.waitP99S[i]!.toFixed(1)}`).join(' '));
