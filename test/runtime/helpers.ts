/**
 * Shared helpers for the runtime tests: systems of inline agents on a ManualClock, a definition whose
 * starts can be made to fail on demand, a counting resource gate, and promise-outcome capture.
 */
import { AGENT_DEFINITION, type AgentDefinition, defineAgent } from '../../src/agent/define.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/core/clock.js';
import type { PoolOptions, ResourceName } from '../../src/runtime/config.js';
import type { GateReservation, ResourceGate } from '../../src/runtime/gates.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';

/** Timings that keep virtual-time tests short; health checks off so idle agents own no timer. */
export const testTimings = {
  startTimeoutMs: 1_000,
  abortGraceMs: 100,
  heartbeatTimeoutMs: 0,
  healthIntervalMs: 0,
  healthTimeoutMs: 100,
  stopGraceMs: 200,
  drainTimeoutMs: 1_000,
  backoffBaseMs: 50,
  backoffMaxMs: 400,
};

/** A plain inline agent: `echo` returns its input, `wait` resolves when the test says so. */
export function echoAgent(): AgentDefinition {
  return defineAgent({ echo: (x: unknown) => x });
}

/**
 * An inline agent whose next `failStarts` starts throw (the host reads the handler table once per
 * start, which is where the getter throws): lets a test decide exactly which spawns fail.
 */
export function flakyAgent(): { agent: AgentDefinition; failNextStarts(n: number): void } {
  let failStarts = 0;
  const handlers = { echo: (x: unknown) => x };
  const agent = {
    [AGENT_DEFINITION]: true as const,
    get handlers() {
      if (failStarts > 0) {
        failStarts--;
        throw new Error('agent failed to initialise');
      }
      return handlers;
    },
  };
  return {
    agent,
    failNextStarts: (n) => {
      failStarts = n;
    },
  };
}

/** A gate that keeps real totals so tests can see that nothing stays reserved. */
export class CountingGate implements ResourceGate {
  readonly reserved = new Map<string, number>();
  reservations = 0;
  constructor(private readonly limits: Partial<Record<ResourceName, number>> = {}) {}
  reserve(_owner: string, amounts: Partial<Record<ResourceName, number>>): GateReservation {
    for (const [k, v] of Object.entries(amounts) as [ResourceName, number][]) {
      const limit = this.limits[k];
      const have = this.reserved.get(k) ?? 0;
      if (limit !== undefined && have + v > limit)
        return { ok: false, resource: k, requested: v, available: limit - have };
    }
    for (const [k, v] of Object.entries(amounts) as [ResourceName, number][])
      this.reserved.set(k, (this.reserved.get(k) ?? 0) + v);
    this.reservations++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) throw new Error('released twice');
        released = true;
        this.reservations--;
        for (const [k, v] of Object.entries(amounts) as [ResourceName, number][])
          this.reserved.set(k, (this.reserved.get(k) ?? 0) - v);
      },
    };
  }
  total(k: ResourceName): number {
    return this.reserved.get(k) ?? 0;
  }
}

/** Build a started system of inline pools on a fresh ManualClock. */
export async function startSystem(
  pools: Record<string, Partial<PoolOptions>>,
  opts: {
    gate?: ResourceGate;
    limits?: Partial<Record<ResourceName, number>>;
    /** The allocation optimiser (system option `allocation`). @default false here (exact grants) */
    allocation?: boolean;
    shutdownDeadlineMs?: number;
  } = {},
): Promise<{ sys: AgentPoolSystem; clock: ManualClock }> {
  const clock = new ManualClock();
  const full: Record<string, PoolOptions> = {};
  for (const [k, p] of Object.entries(pools)) {
    full[k] = {
      agent: echoAgent(),
      healthCheckIntervalMs: 0,
      ...p,
      timings: { ...testTimings, ...p.timings },
    };
  }
  const sys = new AgentPoolSystem(
    {
      clock,
      pools: full,
      // Exact grants unless a test is about the allocation optimiser: these tests count what was asked.
      ...(opts.limits ? { limits: opts.limits, allocation: opts.allocation ?? false } : {}),
      ...(opts.shutdownDeadlineMs !== undefined ? { shutdownDeadlineMs: opts.shutdownDeadlineMs } : {}),
    },
    opts.gate,
  );
  await sys.start();
  await clock.advanceAsync(0);
  return { sys, clock };
}

/** How a promise ended, observed without awaiting it. */
export interface Outcome<T> {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: AgentPoolError;
  at?: number;
}

/** Track a promise's outcome (and the clock time it settled at). */
export function track<T>(p: Promise<T>, clock?: { now(): number }): Outcome<T> {
  const o: Outcome<T> = { state: 'pending' };
  p.then(
    (v) => {
      o.state = 'fulfilled';
      o.value = v;
      if (clock) o.at = clock.now();
    },
    (e: AgentPoolError) => {
      o.state = 'rejected';
      o.error = e;
      if (clock) o.at = clock.now();
    },
  );
  return o;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<AgentPoolError> {
  try {
    await p;
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a rejection, got a value');
}
