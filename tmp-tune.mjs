import { makeScenario } from '/work/main/dist/src/sim/scaling/scenarios.js';
import { simulateScaling } from '/work/main/dist/src/sim/scaling/simulate.js';
import { peakRateFor } from '/work/main/dist/src/sim/simulate-cli.js';
const configs = JSON.parse(process.argv[2]);
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
for (const cfg of configs) {
  const out = [];
  for (const name of ['step', 'diurnal', 'square', 'idle-gaps']) {
    const scenario = makeScenario(name, { peakRatePerS: peakRateFor(50) });
    const rs = [], ps = [], hs = [];
    for (let seed = 1; seed <= 5; seed++) {
      rs.push(await simulateScaling({ scenario, policy: "agentpool", seed, scaling: cfg.scaling ?? {}, ...(cfg.rateWindowMs ? { rateWindowMs: cfg.rateWindowMs } : {}) }));
      ps.push(await simulateScaling({ scenario, policy: 'peak', seed }));
      if (name === 'square') hs.push(await simulateScaling({ scenario, policy: 'hpa', seed }));
    }
    const as = mean(rs.map((r) => r.agentSeconds)), pas = mean(ps.map((r) => r.agentSeconds));
    let s = `${name}: vsPeak ${(100 * (as / pas - 1)).toFixed(1)}% slo ${mean(rs.map((r) => r.sloViolationPct)).toFixed(2)} p99 ${mean(rs.map((r) => r.p99WaitS)).toFixed(2)} flaps ${mean(rs.map((r) => r.flaps)).toFixed(1)}`;
    if (hs.length) s += ` | hpa p99 ${mean(hs.map((r) => r.p99WaitS)).toFixed(2)} as ${(100 * (as / mean(hs.map((r) => r.agentSeconds)) - 1)).toFixed(1)}% flaps ${mean(hs.map((r) => r.flaps)).toFixed(1)}`;
    out.push(s);
  }
  console.log(JSON.stringify(cfg), '\n  ' + out.join('\n  '));
}
