import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { allocationMachine, DEFAULT_ALLOCATION_TTL_MS } from '../../machines/allocation.machine.js';
import { ManualClock } from '../../src/core/clock.js';
import type { ResizeChange } from '../../src/structures/ledger.js';

function start(opts: { ttlMs?: number; resize?: (c: ResizeChange) => Promise<Record<string, number>> } = {}) {
  const clock = new ManualClock();
  const releases: { allocationId: string; cause: string }[] = [];
  const failures: string[] = [];
  const machine = allocationMachine.provide({
    actions: {
      releaseAllocation: (_, p) => releases.push(p),
      reportResizeFailed: (_, p) => failures.push(p.error),
    },
    actors: {
      resizeAllocation: fromPromise(async ({ input }) =>
        opts.resize ? opts.resize(input.change) : { memoryMb: 2048 },
      ),
    },
  });
  const actor = createActor(machine, {
    input: {
      allocationId: 'a1',
      owner: 'agent-1',
      amounts: { memoryMb: 1024 },
      resizeTimeoutMs: 100,
      ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }),
    },
    clock,
  }).start();
  return { actor, clock, releases, failures };
}

const lease = (v: unknown) => (v as { live: { lease: string } }).live.lease;

describe('allocationMachine', () => {
  it('reserved → active → resizing → active with the new amounts', async () => {
    const { actor, clock } = start();
    expect(lease(actor.getSnapshot().value)).toBe('reserved');
    actor.send({ type: 'ACTIVATE' });
    actor.send({ type: 'RESIZE', change: { to: { memoryMb: 2048 } } });
    expect(lease(actor.getSnapshot().value)).toBe('resizing');
    await clock.advanceAsync(0);
    expect(lease(actor.getSnapshot().value)).toBe('active');
    expect(actor.getSnapshot().context.amounts).toEqual({ memoryMb: 2048 });
  });

  it('a refused or hung resize leaves the amounts and reports it', async () => {
    const refused = start({ resize: async () => Promise.reject(new Error('no room')) });
    refused.actor.send({ type: 'ACTIVATE' });
    refused.actor.send({ type: 'RESIZE', change: { delta: { memoryMb: 1 } } });
    await refused.clock.advanceAsync(0);
    expect(refused.failures).toEqual(['no room']);
    expect(refused.actor.getSnapshot().context.amounts).toEqual({ memoryMb: 1024 });
    const hung = start({ resize: () => new Promise(() => {}) });
    hung.actor.send({ type: 'ACTIVATE' });
    hung.actor.send({ type: 'RESIZE', change: { delta: { memoryMb: 1 } } });
    await hung.clock.advanceAsync(100);
    expect(hung.failures).toEqual(['resize timed out']);
    expect(lease(hung.actor.getSnapshot().value)).toBe('active');
  });

  it('expires after the default TTL of 4 h and is released once', async () => {
    const { actor, clock, releases } = start();
    actor.send({ type: 'ACTIVATE' });
    await clock.advanceAsync(DEFAULT_ALLOCATION_TTL_MS - 1);
    expect(releases).toEqual([]);
    await clock.advanceAsync(1);
    expect(releases).toEqual([{ allocationId: 'a1', cause: 'expired' }]);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ allocationId: 'a1', cause: 'expired' });
  });

  it('RENEW restarts the TTL (optionally with a new length) without disturbing a resize', async () => {
    let resolve!: (v: Record<string, number>) => void;
    const { actor, clock, releases } = start({
      ttlMs: 1000,
      resize: () =>
        new Promise((r) => {
          resolve = r;
        }),
    });
    actor.send({ type: 'ACTIVATE' });
    await clock.advanceAsync(900);
    actor.send({ type: 'RESIZE', change: { delta: { memoryMb: 1 } } });
    actor.send({ type: 'RENEW', ttlMs: 2000 });
    expect(lease(actor.getSnapshot().value)).toBe('resizing');
    resolve({ memoryMb: 1025 });
    await clock.advanceAsync(1999);
    expect(releases).toEqual([]);
    expect(actor.getSnapshot().context).toMatchObject({ renewals: 1, amounts: { memoryMb: 1025 } });
    await clock.advanceAsync(1);
    expect(releases).toHaveLength(1);
  });

  it.each([
    ['RELEASE', 'released'],
    ['EXPIRE', 'expired'],
    ['AGENT_LOST', 'agent-lost'],
  ] as const)('%s releases exactly once, whatever follows', async (type, cause) => {
    const { actor, clock, releases } = start({ ttlMs: 50 });
    actor.send({ type: 'ACTIVATE' });
    actor.send({ type: 'RESIZE', change: { delta: {} } });
    actor.send({ type });
    actor.send({ type: 'RELEASE' });
    actor.send({ type: 'AGENT_LOST' });
    await clock.advanceAsync(1000);
    expect(releases).toEqual([{ allocationId: 'a1', cause }]);
  });
});
