/**
 * The task stream of a scaling simulation, shared by both engines (the pool model in simulate.ts and
 * the real system in system-sim.ts) so that for one seed they see exactly the same tasks: arrival
 * times from a seeded non-homogeneous Poisson process (thinning at the peak rate) or a trace, and
 * service times drawn per task in arrival order from their own stream (common random numbers).
 */
import type { ManualClock } from '../../core/clock.js';
import { createRng, type Distribution, exponential, sample } from '../../core/random.js';
import type { Scenario } from './scenarios.js';

/** One generated task. */
export interface SimTask {
  /** Arrival time on the simulation clock, ms. */
  arrival: number;
  /** Service time, ms. */
  serviceMs: number;
  /** Arrived after the warm-up: counts in the results. */
  measured: boolean;
}

/**
 * Schedule every arrival of `scenario` on `clock` (one pending timer at a time), calling `onArrival`
 * at each. Clock time runs over [0, warmupMs + duration]; scenario time is clock time − warmupMs.
 */
export function scheduleArrivals(
  clock: ManualClock,
  scenario: Scenario,
  o: { seed: number; service: Distribution; warmupMs: number; endMs: number },
  onArrival: (task: SimTask) => void,
): void {
  const arrivalRng = createRng(o.seed);
  const serviceRng = createRng((o.seed * 0x9e3779b1 + 0x7f4a7c15) >>> 0);
  const { warmupMs, endMs, service } = o;
  if (scenario.arrivals) {
    const list = scenario.arrivals;
    const services = scenario.services ?? [];
    let i = 0;
    const scheduleNext = () => {
      if (i >= list.length) return;
      const at = (list[i] as number) + warmupMs;
      const s = services[i] ?? sample(serviceRng, service);
      i++;
      if (at > endMs) return;
      clock.setTimeout(
        () => {
          onArrival({ arrival: at, serviceMs: s, measured: at >= warmupMs });
          scheduleNext();
        },
        Math.max(0, at - clock.now()),
      );
    };
    scheduleNext();
    return;
  }
  // Thinning: candidates at the peak rate, accepted with probability λ(t)/peak.
  const peak = Math.max(scenario.peakRatePerS, 1e-9);
  const meanGapMs = 1000 / peak;
  let t = 0;
  const scheduleNext = () => {
    for (;;) {
      t += exponential(arrivalRng, meanGapMs);
      if (t > endMs) return;
      if (arrivalRng.next() * peak <= scenario.rate(Math.max(0, t - warmupMs))) break;
    }
    const at = t;
    const s = sample(serviceRng, service);
    clock.setTimeout(() => {
      onArrival({ arrival: at, serviceMs: s, measured: at >= warmupMs });
      scheduleNext();
    }, at - clock.now());
  };
  scheduleNext();
}
