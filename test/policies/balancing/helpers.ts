import type { AgentView } from '../../../src/policies/balancing/types.js';

/** Build an agent view with defaults (idle, weight 1, one slot, no resources). */
export function agent(id: string, over: Partial<AgentView> = {}): AgentView {
  return {
    id,
    weight: 1,
    active: 0,
    capacity: 1,
    utilization: 0,
    free: {},
    capacityTotal: {},
    specializations: [],
    ...over,
  };
}

/** Count picks per agent id. */
export function tally(ids: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}
