/**
 * Verify spec of the pool machine (machines/pool.machine.ts): scaling decisions (targets below, inside
 * and above [min, max]), scale-ups extended while in flight, the outcomes of `applyScale` (complete, partial, none, refused resources, scale-down, failure),
 * agents coming, retiring and going, start failures (to `active.sizing.failed` and back), drain and stop. pause and resume. Home = `active` with `sizing.steady` and `intake.open`, or `stopped`.
 *
 * `size` moves with AGENT_ADDED / AGENT_RETIRED / AGENT_REMOVED and is unbounded, so the state identity caps it at
 * max + 1 (every size above max behaves the same: all targets clamp below it). Only the last history
 * record's status (and whether it was refused) is kept; sequence numbers and reasons would make every state distinct.
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import {
  type ApplyScaleOutput,
  type PoolMachineContext,
  poolMachine,
} from '../../../machines/pool.machine.js';
import type { MachineSpec } from '../types.js';
import { invokeId } from './invoke-id.js';

const MAX = 3;

// Fakes never settle: the traversal delivers done/error events itself.
const machine = poolMachine.provide({
  actors: {
    applyScale: fromPromise<ApplyScaleOutput, { type: string; from: number; target: number; reason: string }>(
      () => new Promise(() => {}),
    ),
    drainPool: fromPromise<void, { type: string }>(() => new Promise(() => {})),
    stopAgents: fromPromise<void, { type: string; graceful: boolean }>(() => new Promise(() => {})),
  },
});

const applyScaleId = invokeId(machine, 'applyScale');
const done = (output: ApplyScaleOutput): EventObject =>
  ({ type: `xstate.done.actor.${applyScaleId}`, output }) as EventObject;

/** The pool machine's verify spec. */
export const spec: MachineSpec = {
  name: 'pool',
  machine,
  input: { type: 'verify', min: 1, max: MAX, maxStartFailures: 2 },
  events: [
    { type: 'SCALE_TO', target: 0, reason: 'down' },
    { type: 'SCALE_TO', target: 2, reason: 'mid', at: 1_000 },
    { type: 'SCALE_TO', target: 9, reason: 'above max' },
    { type: 'SCALE_EXTENDED', target: 3, reason: 'burst' },
    { type: 'SCALE_EXTENDED', target: 9, reason: 'burst above max' },
    { type: 'SCALE_TO', target: 2, reason: 'manual', retry: true },
    { type: 'AGENT_ADDED', count: 1 },
    { type: 'AGENT_RETIRED' },
    { type: 'AGENT_REMOVED', counted: true },
    { type: 'AGENT_REMOVED', counted: false },
    { type: 'AGENT_STARTED' },
    { type: 'AGENT_START_FAILED', error: 'cannot load module' },
    { type: 'PAUSE' },
    { type: 'RESUME' },
    { type: 'DRAIN' },
    { type: 'STOP', graceful: true },
    { type: 'STOP', graceful: false },
    done({ actualDelta: 1 }),
    done({ actualDelta: 2 }),
    done({ actualDelta: 0, error: '1 of 1 agents failed to start' }),
    // A scale-up whose agent's base resources did not fit (pool option agentResources): no retry loop.
    done({
      actualDelta: 0,
      error: '1 of 1 agents not started (ERR_RESOURCE_EXHAUSTED)',
      refused: {
        code: 'ERR_RESOURCE_EXHAUSTED',
        resource: 'memoryMb',
        requested: 512,
        available: 0,
        scope: 'global',
      },
    }),
    done({ actualDelta: -1 }),
    {
      type: `xstate.error.actor.${applyScaleId}`,
      error: new Error('fake applyScale failure'),
    } as EventObject,
  ],
  isHome: (s) =>
    s.status === 'done' ||
    JSON.stringify(s.value) === JSON.stringify({ active: { sizing: 'steady', intake: 'open' } }),
  serializeState: (s) => {
    const c = s.context as PoolMachineContext;
    const last = c.history[c.history.length - 1];
    return JSON.stringify([
      s.value,
      Math.min(c.size, MAX + 1),
      c.queued === undefined ? null : Math.max(c.min, Math.min(c.max, c.queued.target)),
      last?.status ?? null,
      last ? last.target : null,
      // A refused last record changes the below-min rule (no immediate retry).
      last?.refused !== undefined,
      Math.min(c.startFailures, c.maxStartFailures),
    ]);
  },
  limit: 3000,
};
