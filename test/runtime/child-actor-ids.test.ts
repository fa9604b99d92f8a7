/**
 * Child actor ids are recycled (src/structures/slot-ids.ts): a finished child sends its parent
 * `xstate.done.actor.<id>`, and XState memoizes transition lookups per event type for good, so a fresh
 * id per waiting acquire, allocation or agent grew the heap without bound (100,000 waiting acquires:
 * +65 MB). These tests count the distinct actor ids a long run uses, through the public API and the
 * inspector: with fresh ids they would grow with the run.
 */
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';
import { testTimings } from './helpers.js';

function inspected() {
  type Ref = { id: string; systemId?: string; logic: { id?: string } };
  const refs: Ref[] = [];
  const observer = {
    next: (e: InspectionEvent) => {
      if (e.type === '@xstate.actor') refs.push(e.actorRef as unknown as Ref);
    },
  };
  /** Distinct actor ids seen per machine (read after the run: a systemId is set after the event). */
  const ids = (kind: string) => new Set(refs.filter((r) => r.logic.id === kind).map((r) => r.id));
  const systemIds = () => new Set(refs.flatMap((r) => r.systemId ?? []));
  return { ids, systemIds, observer };
}

describe('child actor ids', () => {
  it('200 waiting acquires with memory use at most 2 acquisition and 2 allocation actor ids', async () => {
    const clock = new ManualClock();
    const seen = inspected();
    const sys = createAgentPoolSystem({
      clock,
      inspect: seen.observer,
      limits: { memoryMb: 4_096 },
      pools: {
        a: {
          agent: defineAgent({ echo: (x: unknown) => x }),
          min: 1,
          max: 1,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    await sys.start();
    let held = await sys.acquire('a', { cycleId: 'c', requirements: { memoryMb: 64 } });
    const allocationIds = new Set<string>();
    for (let i = 0; i < 200; i++) {
      // The only agent is leased: this acquire waits as an acquisition actor until the release.
      const waiting = sys.acquire('a', {
        cycleId: `w${i}`,
        requirements: { memoryMb: 64 },
        timeoutMs: 5_000,
      });
      await clock.advanceAsync(0);
      await held.release();
      held = await waiting;
      allocationIds.add(held.allocation!.id);
    }
    await held.release();
    await sys.shutdown({ graceful: true, deadlineMs: 1_000 });

    // Every allocation keeps its own id (public: lease.allocation.id, systemId `allocation:<id>`)…
    expect(allocationIds.size).toBe(200);
    const systemIds = seen.systemIds();
    for (const id of allocationIds) expect(systemIds).toContain(`allocation:${id}`);
    // …while the actors' own ids, which name their done events, are reused.
    expect(seen.ids('acquisition').size).toBeGreaterThan(0);
    expect(seen.ids('acquisition').size).toBeLessThanOrEqual(2);
    expect(seen.ids('allocation').size).toBeLessThanOrEqual(2);
  });

  it('agents replaced 30 times reuse the ids of the agents gone; each agent keeps its own id', async () => {
    const clock = new ManualClock();
    const seen = inspected();
    const sys = createAgentPoolSystem({
      clock,
      inspect: seen.observer,
      pools: {
        a: {
          agent: defineAgent({ echo: (x: unknown) => x }),
          min: 0,
          max: 2,
          healthCheckIntervalMs: 0,
          timings: testTimings,
        },
      },
    });
    const agentIds = new Set<string>();
    sys.on('agent.started', (e) => agentIds.add(e.agentId));
    await sys.start();
    for (let i = 0; i < 30; i++) {
      await sys.scalePool('a', 2, 'up');
      await clock.advanceAsync(0);
      await sys.scalePool('a', 0, 'down');
      await clock.advanceAsync(1_000);
    }
    await sys.shutdown({ graceful: true, deadlineMs: 1_000 });
    expect(agentIds.size).toBeGreaterThanOrEqual(60);
    expect(seen.ids('agent').size).toBeLessThanOrEqual(4);
  });
});
