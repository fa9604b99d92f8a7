/**
 * One scaler actor per autoscaled pool (machines/scaler.machine.ts), wired to the pool: `readMetrics`
 * observes the pool (counts, utilisation averaged over the interval, recent waits, arrival rate, mean
 * service time), `applyScale` hands the target to the pool actor's SCALE_TO (idle-first, graceful
 * scale-down; partial success recorded) without waiting for new agents to be ready.
 */
import { type Actor, createActor, fromPromise, type InspectionEvent, type Observer } from 'xstate';
import { scalerMachine } from '../../machines/scaler.machine.js';
import type { ScalingConfig } from '../policies/scaling/config.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Pool } from './pool.js';

/** Start the scaler of `pool` with a validated config. */
export function startAutoscaler(
  pool: Pool,
  config: ScalingConfig,
  clock: Clock,
  logger: Logger,
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void),
): Actor<typeof scalerMachine> {
  const machine = scalerMachine.provide({
    actors: {
      readMetrics: fromPromise(async () => pool.observe()),
      applyScale: fromPromise(async ({ input }) => {
        // Resolve once the decision is handed to the pool, not once new agents are ready: start-up can
        // outlast the scaler's interval, and a scaler blind for a whole start-up reacts that much late
        // to the next change (measured: bursts of the idle-gaps scenario served 30–45 s later). The
        // pool queues decisions that arrive while it is still applying one, and records each outcome.
        const { min, max } = pool.config;
        void pool.scaleTo(input.target, `autoscale: ${input.reason}`);
        return { size: Math.min(max, Math.max(min, Math.round(input.target))) };
      }),
    },
  });
  const actor = createActor(machine, {
    input: { pool: pool.type, config },
    clock,
    ...(inspect ? { inspect } : {}),
  });
  actor.subscribe({ error: (err) => logger.error({ err, pool: pool.type }, 'scaler actor error') });
  return actor.start();
}
