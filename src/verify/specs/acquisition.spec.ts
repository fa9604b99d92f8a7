/**
 * Verify spec of the acquisition machine (machines/acquisition.machine.ts): offers, reservation
 * outcomes, aborts and both timeouts. Home = any final state (granted, rejected, cancelled): every
 * acquisition must end.
 *
 * The machine's default guards (`fits`, `canScaleUp`: true) are kept, so the never-fits and
 * at-max branches are not walked here: both lead straight to a final state or to `retrying` (whose
 * exits are walked), and the runtime tests exercise them with real guards.
 */
import { type AcquisitionContext, acquisitionMachine } from '../../../machines/acquisition.machine.js';
import type { MachineSpec } from '../types.js';

/** The acquisition machine's verify spec. */
export const spec: MachineSpec = {
  name: 'acquisition',
  // No invoked actors; the named actions are no-ops by default, which is what the graph needs.
  machine: acquisitionMachine,
  input: { pool: 'verify', timeoutMs: 1_000 },
  events: [
    { type: 'OFFER', agentId: 'a1' },
    { type: 'OFFER', agentId: 'a1', reserved: true },
    { type: 'RESERVED' },
    { type: 'RESERVE_FAILED', resource: 'memoryMb' },
    { type: 'ABORT' },
  ],
  isHome: (s) => s.status === 'done',
  serializeState: (s) => {
    const c = s.context as AcquisitionContext;
    return JSON.stringify([s.value, c.agentId !== undefined, c.scaledUp, c.failure?.kind ?? null]);
  },
  limit: 500,
};
