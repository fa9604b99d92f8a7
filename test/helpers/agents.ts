import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { AgentTimings } from '../../machines/agent.machine.js';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { createAgentPoolSystem, type AgentPoolSystem } from '../../src/index.js';
import type { PoolOptions } from '../../src/runtime/config.js';
import { AgentHandle, type AgentSpec } from '../../src/runtime/agent-handle.js';
import { type Clock, realClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { startStandaloneAgent } from '../../src/runtime/tree.js';

export const fixture = (name: string) => new URL(`../fixtures/${name}.agent.ts`, import.meta.url);

export const fastTimings: AgentTimings = {
  startTimeoutMs: 10_000,
  abortGraceMs: 300,
  heartbeatTimeoutMs: 0,
  healthIntervalMs: 0,
  healthTimeoutMs: 1_000,
  stopGraceMs: 500,
  drainTimeoutMs: 2_000,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
};

export function makeAgent(
  over: Partial<AgentSpec> & Pick<AgentSpec, 'agent'>,
  timings: Partial<AgentTimings> = {},
  clock: Clock = realClock,
): AgentHandle {
  return new AgentHandle({
    agentId: over.agentId ?? `a-${Math.random().toString(36).slice(2, 8)}`,
    pool: 'test',
    host: 'thread',
    tools: [],
    maxFailures: 3,
    clock,
    logger: createLogger('silent'),
    onAvailability: () => {},
    ...over,
    timings: { ...fastTimings, ...timings },
  });
}

/** Start a standalone agent (its own root actor), as a pool would spawn it. */
export function startAgent(handle: AgentHandle): AgentHandle {
  return startStandaloneAgent(handle, handle.clock, createLogger('silent'));
}

/** Wait (real time, bounded) until `pred` holds. */
export async function until(pred: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * For a test file of real worker threads: the systems pushed on the returned array are shut down after
 * each test (passed or failed; a no-op for those already shut down), and at the end every worker thread
 * the file started has exited.
 */
export function useThreadSystems(): AgentPoolSystem[] {
  const systems: AgentPoolSystem[] = [];
  let liveAtStart = 0;
  beforeAll(() => {
    liveAtStart = ThreadHost.live;
  });
  afterEach(async () => {
    await Promise.all(systems.splice(0).map((s) => s.shutdown({ graceful: false })));
  });
  afterAll(async () => {
    await until(() => ThreadHost.live === liveAtStart, 10_000, 'every worker thread exited');
    expect(ThreadHost.live).toBe(liveAtStart);
  });
  return systems;
}

/** A system with one thread pool `w` of the `hangs` fixture (spin, waitForAbort, ok), abort grace 300 ms. */
export function hangsSystem(
  options: { clock?: Clock; concurrency?: number } & Partial<PoolOptions> = {},
): AgentPoolSystem {
  const { clock, ...pool } = options;
  return createAgentPoolSystem({
    ...(clock ? { clock } : {}),
    pools: {
      w: {
        agent: fixture('hangs'),
        host: 'thread',
        min: 1,
        max: 1,
        healthCheckIntervalMs: 0,
        ...pool,
        timings: { ...fastTimings, abortGraceMs: 300 },
      },
    },
  });
}
