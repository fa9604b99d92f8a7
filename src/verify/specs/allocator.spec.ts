/**
 * Verify spec of the allocator (machines/allocator.machine.ts): reservations that fit, do not fit and
 * are invalid; release / expire (including repeats), resize, agent loss, a pool's quota, close and its
 * deadline.
 * Home = `open` or the final `closed`.
 *
 * The allocator mutates its ledger in place on the hot path; traversal branches from old snapshots, so
 * the spec runs it in `copyOnWrite` mode with a ledger *factory* (each replayed actor gets its own).
 * Two named allocation ids and a 3 MB memory limit keep the space finite; the state identity is the
 * state value plus the live ids and memory used (counters and versions are left out: they only grow).
 */
import { type AllocatorContext, allocatorMachine } from '../../../machines/allocator.machine.js';
import { resolveAllocationPolicy } from '../../policies/allocation.js';
import { Ledger } from '../../structures/ledger.js';
import type { MachineSpec } from '../types.js';

const reserve = (allocationId: string, owner: string, memoryMb: number) => ({
  type: 'RESERVE',
  requestId: 'verify',
  allocationId,
  owner,
  request: { memoryMb },
});

/** The allocator machine's verify spec. */
export const spec: MachineSpec = {
  name: 'allocator',
  machine: allocatorMachine,
  input: {
    ledger: () => new Ledger({ limits: { memoryMb: 3 }, perAgentMax: { memoryMb: 2 } }),
    // Exact grants keep amounts small and the space finite; the policy has its own unit tests.
    policy: resolveAllocationPolicy({ enabled: false }),
    closeDeadlineMs: 1000,
    copyOnWrite: true,
  },
  events: [
    reserve('a', 'agent-1', 1),
    reserve('b', 'agent-2', 2),
    reserve('b', 'agent-1', 1),
    // Can never fit (above the per-agent max) and invalid: answered as error results.
    reserve('c', 'agent-1', 5),
    { type: 'RESERVE', requestId: 'verify', request: { memoryMb: -1 } },
    { type: 'RELEASE', allocationId: 'a', requestId: 'verify' },
    { type: 'RELEASE', allocationId: 'b' },
    { type: 'EXPIRE', allocationId: 'a' },
    { type: 'RESIZE', requestId: 'verify', allocationId: 'a', change: { to: { memoryMb: 2 } } },
    { type: 'RESIZE', requestId: 'verify', allocationId: 'b', change: { delta: { memoryMb: -1 } } },
    { type: 'AGENT_LOST', owner: 'agent-1' },
    // A pool's quota: reservations of its group must fit it; lowering below what it holds is refused.
    { ...reserve('b', 'agent-2', 1), group: 'g' },
    { type: 'SET_QUOTA', requestId: 'verify', group: 'g', resource: 'memoryMb', amount: 1 },
    { type: 'SET_QUOTA', requestId: 'verify', group: 'g', resource: 'memoryMb', amount: 0 },
    { type: 'SET_QUOTA', requestId: 'verify', group: 'g', resource: 'memoryMb', amount: undefined },
    { type: 'TAKE_PRESSURE', requestId: 'verify' },
    { type: 'CLOSE' },
  ],
  isHome: (s) => s.status === 'done' || s.value === 'open',
  serializeState: (s) => {
    const c = s.context as AllocatorContext;
    const ids = Ledger.over(c.ledger)
      .allocations()
      .map((a) => `${a.id}:${a.owner}:${a.amounts.memoryMb}`)
      .sort();
    return JSON.stringify([s.value, ids, c.ledger.quotas, c.pressure]);
  },
  limit: 2000,
};
