/**
 * `agentpool/sim`: deterministic simulation on a simulated clock — scaling scenarios and traces, the
 * pool-model simulator (`simulateScaling`) and the real-system one (`simulateSystem`), their HTML
 * report, the balancer queueing simulation with its closed-form references, and seeded randomness.
 * `ManualClock` (root entry) drives time; `sleep` waits on any clock.
 */
export * from '../sim/scaling/index.js';
export * from '../sim/queueing.js';
export {
  erlangArrivalSigma,
  erlangC,
  mm1TimeInSystem,
  mm1WaitQuantile,
  mmcTimeInSystem,
  roundRobinTimeInSystem,
  roundRobinWaitQuantile,
  supermarketTimeInSystem,
} from '../sim/queueing-theory.js';
export * from '../core/random.js';
export { sleep } from '../core/clock.js';
