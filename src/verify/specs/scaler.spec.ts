/**
 * Verify spec of the scaler machine: the events to explore (metric readings that force each branch of
 * the policy, actor results and failures, control events) and a coarse state identity so the
 * traversal stays finite. Home = observing (or stopped, the final state).
 */

import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import type {
  ApplyScaleInput,
  ApplyScaleOutput,
  ReadMetricsInput,
  ScalerContext,
} from '../../../machines/scaler.machine.js';
import { scalerMachine } from '../../../machines/scaler.machine.js';
import type { ScalingObservation } from '../../policies/scaling/decide.js';
import type { MachineSpec } from '../types.js';

const base: ScalingObservation = {
  now: 1_000_000,
  size: 4,
  ready: 4,
  busy: 2,
  starting: 0,
  waiters: 0,
  utilization: 0.6,
  waitMs: 0,
  arrivalRatePerS: 0.1,
  meanServiceMs: 20_000,
};

/** Observations that drive the policy to each outcome. */
const observations: Record<string, ScalingObservation> = {
  pressure: { ...base, busy: 4, waiters: 6, utilization: 0.98, waitMs: 15_000, arrivalRatePerS: 0.4 },
  quiet: { ...base, busy: 0, utilization: 0.05, arrivalRatePerS: 0.01 },
  steady: base,
};

const done = (id: string, output: unknown): EventObject =>
  ({ type: `xstate.done.actor.${id}`, output }) as EventObject;
const error = (id: string): EventObject =>
  ({ type: `xstate.error.actor.${id}`, error: new Error('fake failure') }) as EventObject;

// Fakes never settle: the traversal delivers done/error events itself.
const machine = scalerMachine.provide({
  actors: {
    readMetrics: fromPromise<ScalingObservation, ReadMetricsInput>(() => new Promise(() => {})),
    applyScale: fromPromise<ApplyScaleOutput, ApplyScaleInput>(() => new Promise(() => {})),
  },
});

/** The scaler's verify spec. */
export const spec: MachineSpec = {
  name: 'scaler',
  machine,
  input: { pool: 'verify', config: { min: 1, max: 8 } },
  events: [
    { type: 'SCALER.PAUSE' },
    { type: 'SCALER.RESUME' },
    { type: 'SCALER.STOP' },
    { type: 'SCALER.EVALUATE' },
    { type: 'SCALER.CONFIGURE', config: { max: 6 } },
    { type: 'SCALER.EXPECT', at: 60_000, tasks: 4 },
    { type: 'SCALER.CONFIGURE', config: { scaleUpThreshold: 2 } },
    done('readMetrics', observations.pressure),
    done('readMetrics', observations.quiet),
    done('readMetrics', observations.steady),
    done('readMetrics', { ...base, utilization: 2 }),
    error('readMetrics'),
    done('applyScale', { size: 5 }),
    error('applyScale'),
  ] as EventObject[],
  isHome: (s) => s.status === 'done' || s.value === 'observing',
  serializeState: (s) => {
    const c = s.context as ScalerContext;
    return JSON.stringify([
      s.value,
      c.pending?.direction ?? null,
      c.pauseRequested,
      c.policy.lastScaleUpAt !== null,
      c.policy.lastScaleDownAt !== null,
      c.consecutiveFailures > 0,
    ]);
  },
  // xstate/graph counts visited (state, event) pairs against the limit: ~60 states × ~20 events.
  limit: 5000,
};
