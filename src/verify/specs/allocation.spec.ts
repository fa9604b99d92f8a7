/**
 * Verify spec of one allocation (machines/allocation.machine.ts): activate, resize (answered, refused,
 * or timed out), renew, TTL expiry, and the three ways to be released. Home = `live.lease.active` or the
 * final `released`.
 *
 * The resize fake never settles: the traversal delivers its done/error events itself. The state identity
 * is the state value plus whether a resize is pending and the release cause (amounts and the renewal
 * count are left out: amounts come from the allocator, renewals only grow).
 */
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import { type AllocationContext, allocationMachine } from '../../../machines/allocation.machine.js';
import type { ResizeChange, ResourceAmounts } from '../../structures/ledger.js';
import type { MachineSpec } from '../types.js';
import { invokeId } from './invoke-id.js';

const machine = allocationMachine.provide({
  actors: {
    resizeAllocation: fromPromise<ResourceAmounts, { allocationId: string; change: ResizeChange }>(
      () => new Promise(() => {}),
    ),
  },
});

const resizeId = invokeId(machine, 'resizeAllocation');

/** The allocation machine's verify spec. */
export const spec: MachineSpec = {
  name: 'allocation',
  machine,
  input: {
    allocationId: 'a1',
    owner: 'agent-1',
    amounts: { memoryMb: 1024 },
    ttlMs: 10_000,
    resizeTimeoutMs: 500,
  },
  events: [
    { type: 'ACTIVATE' },
    { type: 'RESIZE', change: { delta: { memoryMb: 512 } } },
    { type: 'RENEW' },
    { type: 'RENEW', ttlMs: 20_000 },
    { type: 'RELEASE' },
    { type: 'EXPIRE' },
    { type: 'AGENT_LOST' },
    { type: `xstate.done.actor.${resizeId}`, output: { memoryMb: 1536 } } as EventObject,
    { type: `xstate.error.actor.${resizeId}`, error: new Error('fake: resize refused') } as EventObject,
  ],
  isHome: (s) =>
    s.status === 'done' ||
    JSON.stringify(s.value) === JSON.stringify({ live: { lease: 'active', ttl: 'counting' } }),
  serializeState: (s) => {
    const c = s.context as AllocationContext;
    return JSON.stringify([s.value, c.pendingChange !== undefined, c.releaseCause ?? null]);
  },
  limit: 500,
};
