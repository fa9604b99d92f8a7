import { makeScenario } from './src/sim/scaling/scenarios.js';
import { simulateScaling } from './src/sim/scaling/simulate.js';
const seeds=[1,2];
const scs = ['step','square','idle-gaps','diurnal'] as const;
const hpa: Record<string, any> = {};
for (const sc of scs) { let p=0,a=0,f=0,s=0; for (const seed of seeds){const r=await simulateScaling({scenario: makeScenario(sc,{peakRatePerS:1.875}), policy:'hpa', seed, max:50}); p+=r.p99WaitS;a+=r.agentSeconds;f+=r.flaps;s+=r.sloViolationPct;} hpa[sc]={p:p/seeds.length,a:a/seeds.length,f:f/seeds.length,s:s/seeds.length}; console.log('hpa',sc,JSON.stringify(hpa[sc])); }
const grid = JSON.parse(process.argv[2]!);
for (const g of grid) {
  const line=[JSON.stringify(g)];
  for (const sc of scs) { let p=0,a=0,f=0,s=0; for (const seed of seeds){const r=await simulateScaling({scenario: makeScenario(sc,{peakRatePerS:1.875}), policy:'agentpool', seed, max:50, rateWindowMs: g.rw ?? 30000, scaling: g.s ?? {}}); p+=r.p99WaitS;a+=r.agentSeconds;f+=r.flaps;s+=r.sloViolationPct;}
   const n=seeds.length; line.push(`${sc}: p99 ${(p/n).toFixed(1)} slo ${(s/n).toFixed(2)} as ${(a/n/hpa[sc].a*100).toFixed(1)}% fl ${(f/n).toFixed(1)}`); }
  console.log(line.join(' | '));
}
