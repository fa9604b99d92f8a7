/**
 * The resource scaler machine (machines/resource-scaler.machine.ts) with fake observe/apply actors: a
 * change the allocator refused did not happen, so it starts no cooldown — the next round decides it
 * again; an applied one does start its cooldown. History keeps only rounds that decided something.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import {
  type ResourceQuotaOutcome,
  resourceScalerMachine,
  type ResourceUsageObservation,
} from '../../machines/resource-scaler.machine.js';
import { ManualClock } from '../../src/core/clock.js';
import type { ResourceDecision } from '../../src/policies/scaling/resource-scaler.js';
import { validateResourceScalerConfig } from '../../src/policies/scaling/resource-scaler.js';

describe('resourceScalerMachine', () => {
  it('a refused change starts no cooldown (decided again next round); an applied one does', async () => {
    const clock = new ManualClock();
    const config = validateResourceScalerConfig({
      limits: { memoryMb: 16_384 },
      pools: { p: { memoryMb: { min: 1_024, max: 8_192, step: 1_024, upCooldownMs: 10_000 } } },
    });
    let quota = 1_024;
    let refuse = true;
    const decided: ResourceDecision[][] = [];
    const actor = createActor(
      resourceScalerMachine.provide({
        actors: {
          // Always 24 MB short of the quota: above 85 %, so the policy wants to grow every round it may.
          observeUsage: fromPromise<ResourceUsageObservation, void>(async () => ({
            usage: { p: { memoryMb: quota - 24 } },
            quotas: { p: { memoryMb: quota } },
            at: clock.now(),
          })),
          applyQuotas: fromPromise<ResourceQuotaOutcome[], { decisions: ResourceDecision[] }>(
            async ({ input }) => {
              decided.push(input.decisions);
              return input.decisions.map((d) => {
                if (refuse) return { ...d, ok: false, applied: d.from, error: 'refused' };
                quota = d.to;
                return { ...d, ok: true, applied: d.to };
              });
            },
          ),
        },
      }),
      { input: { config, intervalMs: 1_000 }, clock },
    ).start();
    await clock.advanceAsync(1_000);
    expect(decided).toHaveLength(1);
    // Refused: 1 s later (well inside the 10 s up cooldown) the same growth is decided again.
    refuse = false;
    await clock.advanceAsync(1_000);
    expect(decided).toHaveLength(2);
    expect(quota).toBeGreaterThan(1_024);
    // Applied: the cooldown holds further growth for 10 s, though usage is still high.
    await clock.advanceAsync(5_000);
    expect(decided).toHaveLength(2);
    await clock.advanceAsync(6_000);
    expect(decided).toHaveLength(3);
    const ctx = actor.getSnapshot().context;
    expect(ctx.history).toHaveLength(3);
    expect(ctx.history[0]!.outcomes[0]).toMatchObject({ ok: false, error: 'refused' });
    expect(ctx.rounds).toBeGreaterThan(ctx.history.length);
    actor.send({ type: 'STOP' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});
