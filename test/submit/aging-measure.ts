/**
 * Measurement behind the `agingMs` default (docs/guides/submit.md), on a ManualClock (clock time, not
 * wall time; deterministic): one agent, 100 ms tasks, Poisson arrivals at utilisation ρ, 25 % of them
 * low priority and 75 % high. Prints, per agingMs, the p50/p99 wait (completion − submit − service)
 * of high tasks and p99/max of low.
 * Run: npx tsx test/submit/aging-measure.ts
 */
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { createRng, exponential } from '../../src/core/random.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
};

async function run(agingMs: number, rho: number, n: number) {
  const clock = new ManualClock();
  const sys = new AgentPoolSystem({
    clock,
    pools: {
      w: {
        agent: defineAgent({ t: () => sleep(clock, 100) }),
        min: 1,
        max: 1,
        healthCheckIntervalMs: 0,
        agingMs,
      },
    },
  });
  await sys.start();
  const rng = createRng(7);
  const waits = { high: [] as number[], low: [] as number[] };
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const gap = exponential(rng, 100 / rho);
    await clock.advanceAsync(gap);
    const priority = rng.next() < 0.25 ? 'low' : 'high';
    const at = clock.now();
    all.push(
      sys.submit({ type: 'w', task: 't', priority }).then(() => waits[priority].push(clock.now() - at - 100)), // completion − submit − service
    );
  }
  while (sys.status().tasks.queued + sys.status().tasks.running > 0) await clock.advanceAsync(1_000);
  await Promise.all(all);
  await sys.shutdown({ graceful: false });
  return waits;
}

for (const rho of [0.9, 0.98]) {
  for (const agingMs of [0, 30_000, 10_000, 2_000]) {
    const w = await run(agingMs, rho, 3_000);
    console.log(
      `rho ${rho} agingMs ${agingMs}: high p50 ${q(w.high, 0.5).toFixed(0)} p99 ${q(w.high, 0.99).toFixed(0)} ms; low p99 ${q(w.low, 0.99).toFixed(0)} max ${Math.max(...w.low).toFixed(0)} ms`,
    );
  }
}
