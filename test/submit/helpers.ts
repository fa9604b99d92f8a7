/** Shared by the submit() tests: one pool of inline agents on a ManualClock. */
import { defineAgent } from '../../src/agent/define.js';
import type { ManualClock } from '../../src/core/clock.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

/** A system with one pool `w` of `size` inline agents running `handlers`; `extra` merged into the pool. */
export function onePool(
  clock: ManualClock,
  handlers: Parameters<typeof defineAgent>[0],
  extra: Record<string, unknown> = {},
  system: Record<string, unknown> = {},
  size = 1,
): AgentPoolSystem {
  return new AgentPoolSystem({
    clock,
    ...system,
    pools: {
      w: {
        agent: defineAgent(handlers),
        min: size,
        max: size,
        healthCheckIntervalMs: 0,
        timings: { backoffBaseMs: 1, backoffMaxMs: 1, stopGraceMs: 10, abortGraceMs: 10 },
        ...extra,
      },
    },
  } as ConstructorParameters<typeof AgentPoolSystem>[0]);
}

/** The promise's outcome as a value: `ok:<value>` or the error's code. */
export const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    (v) => `ok:${String(v)}`,
    (e: AgentPoolError) => e.code,
  );

/** The error the promise rejects with (fails the test if it resolves). */
export const failure = <E = AgentPoolError>(p: Promise<unknown>): Promise<E> =>
  p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e as E,
  );
