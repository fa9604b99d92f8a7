import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { type RebalanceObservations, rebalancerMachine } from '../../machines/rebalancer.machine.js';
import {
  applyOpportunities,
  type Opportunity,
  type RebalanceOutcome,
} from '../../src/policies/rebalancing.js';
import { ManualClock } from '../../src/core/clock.js';

const LIMITS = { available: { memoryMb: 1e6 }, perAgentMax: {}, perAgentMin: {} };

function start(
  collect: () => Promise<RebalanceObservations>,
  apply?: (ops: Opportunity[]) => Promise<RebalanceOutcome[]>,
) {
  const clock = new ManualClock();
  const applied: Opportunity[][] = [];
  const machine = rebalancerMachine.provide({
    actors: {
      collectObservations: fromPromise(collect),
      applyOpportunities: fromPromise(async ({ input }) => {
        applied.push(input.opportunities);
        if (apply) return apply(input.opportunities);
        return applyOpportunities(input.opportunities, (_id, delta) => {
          const d = Object.values(delta)[0]!;
          return { ok: true, before: 1000, after: 1000 + d };
        });
      }),
    },
  });
  const actor = createActor(machine, { input: { intervalMs: 1000, stepTimeoutMs: 100 }, clock }).start();
  const outcomes: RebalanceOutcome[] = [];
  actor.on('rebalancer.outcome', (e) => outcomes.push(e.outcome));
  return { actor, clock, applied, outcomes };
}

describe('rebalancerMachine', () => {
  it('monitoring → analysing → rebalancing → monitoring each interval, recording what it freed and granted', async () => {
    const { actor, clock, applied, outcomes } = start(async () => ({
      observations: [
        { allocationId: 'idle', allocated: { memoryMb: 1000 }, used: { memoryMb: 0 } },
        { allocationId: 'hot', allocated: { memoryMb: 1000 }, used: { memoryMb: 995 } },
      ],
      limits: LIMITS,
    }));
    expect(actor.getSnapshot().value).toBe('monitoring');
    await clock.advanceAsync(999);
    expect(applied).toHaveLength(0);
    await clock.advanceAsync(1);
    expect(applied).toHaveLength(1);
    expect(actor.getSnapshot().value).toBe('monitoring');
    expect(outcomes.map((o) => [o.opportunity.allocationId, o.freed, o.granted])).toEqual([
      ['idle', 400, 0],
      ['hot', 0, 500],
    ]);
    const ctx = actor.getSnapshot().context;
    expect(ctx).toMatchObject({ rounds: 1, freed: { memoryMb: 400 }, granted: { memoryMb: 500 } });
    await clock.advanceAsync(1000);
    expect(actor.getSnapshot().context.rounds).toBe(2);
    expect(actor.getSnapshot().context.history).toHaveLength(4);
  });

  it('skips rebalancing when nothing is worth changing', async () => {
    const { actor, applied } = start(async () => ({
      observations: [{ allocationId: 'ok', allocated: { memoryMb: 1000 }, used: { memoryMb: 500 } }],
      limits: LIMITS,
    }));
    actor.send({ type: 'TRIGGER' });
    await new Promise((r) => setImmediate(r));
    expect(applied).toHaveLength(0);
    expect(actor.getSnapshot().context.rounds).toBe(1);
    expect(actor.getSnapshot().value).toBe('monitoring');
  });

  it('returns to monitoring when collecting fails or hangs', async () => {
    const failing = start(async () => Promise.reject(new Error('metrics down')));
    failing.actor.send({ type: 'TRIGGER' });
    await new Promise((r) => setImmediate(r));
    expect(failing.actor.getSnapshot()).toMatchObject({
      value: 'monitoring',
      context: { lastError: 'collect: metrics down' },
    });
    const hung = start(() => new Promise(() => {}));
    hung.actor.send({ type: 'TRIGGER' });
    await hung.clock.advanceAsync(100);
    expect(hung.actor.getSnapshot()).toMatchObject({
      value: 'monitoring',
      context: { lastError: 'collect timed out' },
    });
  });

  it('keeps a bounded history and stops from any state', async () => {
    const { actor, clock } = start(async () => ({
      observations: [...Array(150)].map((_, i) => ({
        allocationId: `a${i}`,
        allocated: { memoryMb: 1000 },
        used: { memoryMb: 0 },
      })),
      limits: LIMITS,
    }));
    for (let i = 0; i < 3; i++) await clock.advanceAsync(1000);
    // 50 per round (maxPerRound), history capped at 100.
    expect(actor.getSnapshot().context.history).toHaveLength(100);
    expect(actor.getSnapshot().context.freed.memoryMb).toBe(3 * 50 * 400);
    actor.send({ type: 'TRIGGER' });
    actor.send({ type: 'STOP' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});
