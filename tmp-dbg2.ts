import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling } from './src/sim/scaling/simulate.js';
const [sc, pol] = process.argv.slice(2) as any;
const r = await simulateScaling({ scenario: makeScenario(sc, { peakRatePerS: 1.875 }), policy: pol, seed: 1, max: 50 });
const ev = r.events; const out:string[]=[];
for (let i=1;i<ev.length;i++){const a=ev[i-1]!,b=ev[i]!; if (Math.sign(a.to-a.from)!==Math.sign(b.to-b.from) && b.t-a.t<300) out.push(`${a.t}:${a.from}->${a.to} | ${b.t}:${b.from}->${b.to}`)}
console.log(out.slice(0,30).join('\n'));
