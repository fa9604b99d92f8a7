/**
 * One actor tree: the system actor is the root, and every pool, agent, waiting acquisition, scaler,
 * the dispatcher and the allocator are actors of that one tree, all seen by one inspector (XState's
 * `inspect` option, as @statelyai/inspect's `inspector.inspect` passes it). Every snapshot it sees is
 * plain JSON.
 */
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { testTimings } from './helpers.js';

describe('the actor tree', () => {
  it('one root; pools, agents, an acquisition, the scaler, dispatcher and allocator are its actors', async () => {
    const clock = new ManualClock();
    const events: InspectionEvent[] = [];
    const agent = defineAgent({ echo: (x: unknown) => x });
    const sys = createAgentPoolSystem({
      clock,
      inspect: { next: (e) => events.push(e) }, // an Observer, as @statelyai/inspect hands it over
      limits: { memoryMb: 4_096 },
      pools: {
        a: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, timings: testTimings },
        b: { agent, min: 1, max: 2, healthCheckIntervalMs: 0, timings: testTimings, autoscale: true },
      },
    });
    await sys.start();
    const lease = await sys.acquire('a', { cycleId: 'c1', requirements: { memoryMb: 512 } });
    // The only agent of `a` is leased: this acquire waits (an acquisition actor), then is granted.
    const waiting = sys.acquire('a', { cycleId: 'c2', timeoutMs: 10_000 });
    await clock.advanceAsync(0);
    await lease.release();
    await (await waiting).release();
    await expect(sys.submit({ type: 'b', task: 'echo', input: 7 })).resolves.toBe(7);
    await sys.shutdown({ graceful: true, deadlineMs: 1_000 });

    const actors = events.filter((e) => e.type === '@xstate.actor');
    const roots = new Set(events.map((e) => e.rootId));
    expect(roots.size).toBe(1);
    const root = [...roots][0]!;
    expect(actors.some((e) => e.actorRef.sessionId === root)).toBe(true);
    const systemIds = new Set(actors.map((e) => (e.actorRef as { systemId?: string }).systemId));
    for (const id of ['pool:a', 'pool:b', 'dispatcher', 'allocator', 'scaler:b'])
      expect(systemIds).toContain(id);
    const agentIds = [...systemIds].filter((id) => id?.startsWith('agent:'));
    expect(agentIds.length).toBeGreaterThanOrEqual(2);
    // The acquisition that waited is an actor of the same tree, a child of pool `a`.
    const acquisition = actors.find((e) => (e.actorRef as unknown as { id: string }).id.startsWith('a-acq-'));
    expect(acquisition).toBeDefined();
    expect(acquisition!.rootId).toBe(root);

    // Every snapshot the inspector saw is plain JSON (no Infinity, typed arrays or class instances).
    const snapshots = events.filter((e) => e.type === '@xstate.snapshot');
    expect(snapshots.length).toBeGreaterThan(20);
    for (const e of snapshots) {
      const ctx = (e.snapshot as { context?: unknown }).context;
      if (ctx === undefined) continue;
      expect(JSON.parse(JSON.stringify(ctx))).toEqual(ctx);
    }
    // Shutdown stopped the whole tree.
    expect(sys.actor.getSnapshot().status).toBe('done');
  });
});
