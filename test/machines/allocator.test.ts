import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  type AllocatorEmitted,
  type AllocatorReleased,
  type AllocatorResult,
  allocatorMachine,
} from '../../machines/allocator.machine.js';
import { resolveAllocationPolicy } from '../../src/policies/allocation.js';
import { ManualClock } from '../../src/core/clock.js';
import { type Allocation, Ledger } from '../../src/structures/ledger.js';

/** The allocation of a successful reserve/resize answer (fails the test otherwise). */
function granted(r: AllocatorResult | undefined): Allocation {
  if (!r?.ok || !('allocation' in r)) throw new Error(`expected a grant, got ${JSON.stringify(r)}`);
  return r.allocation;
}

function start(opts: { policy?: boolean; closeDeadlineMs?: number } = {}) {
  const clock = new ManualClock();
  const ledger = new Ledger({ limits: { memoryMb: 4096, cpuCores: 4 }, perAgentMax: { memoryMb: 2048 } });
  const actor = createActor(allocatorMachine, {
    input: {
      ledger,
      closeDeadlineMs: opts.closeDeadlineMs ?? 1000,
      ...(opts.policy ? {} : { policy: resolveAllocationPolicy({ enabled: false }) }),
    },
    clock,
  }).start();
  const results = new Map<string, AllocatorResult>();
  const released: AllocatorReleased[] = [];
  actor.on('*', (e: AllocatorEmitted) => {
    if (e.type === 'allocator.result') results.set(e.requestId, e);
    else released.push(e);
  });
  let n = 0;
  const reserve = (request: Record<string, number>, owner = 'agent-1', extra: object = {}) => {
    const requestId = `r${++n}`;
    actor.send({ type: 'RESERVE', requestId, owner, request, ...extra });
    return results.get(requestId)!;
  };
  return { actor, ledger, clock, results, released, reserve };
}

describe('allocatorMachine', () => {
  it('answers a reserve synchronously, by request id', () => {
    const { reserve, ledger, actor } = start();
    const r = reserve({ memoryMb: 1024 });
    expect(r).toMatchObject({
      op: 'reserve',
      ok: true,
      allocation: { owner: 'agent-1', amounts: { memoryMb: 1024 } },
    });
    expect(ledger.usage().memoryMb).toBe(1024);
    expect(actor.getSnapshot().context.reserved).toBe(1);
  });

  it('serialises reservations: the limit holds however many ask', () => {
    const { reserve, ledger } = start();
    const answers = [...Array(10)].map((_, i) => reserve({ memoryMb: 1000 }, `agent-${i}`));
    expect(answers.filter((a) => a.ok)).toHaveLength(Math.floor(4096 / 1000));
    const refused = answers.find((a) => !a.ok);
    expect(refused).toMatchObject({
      ok: false,
      reason: { resource: 'memoryMb', requested: 1000, available: 96 },
    });
    expect(ledger.usage().memoryMb).toBe(4000);
  });

  it('applies the allocation policy when enabled', () => {
    const { reserve } = start({ policy: true });
    expect(granted(reserve({ memoryMb: 1000 })).amounts.memoryMb).toBe(1500);
    expect(granted(reserve({ memoryMb: 1000 }, 'a2', { exact: true })).amounts.memoryMb).toBe(1000);
  });

  it('turns invalid requests into error results and stays alive', () => {
    const { reserve, actor, ledger } = start();
    const bad = reserve({ memoryMb: -1 });
    expect(bad.ok).toBe(false);
    expect(bad.ok === false && 'error' in bad && (bad.error as { code?: string }).code).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    const tooBig = reserve({ memoryMb: 3000 });
    expect(tooBig.ok === false && 'error' in tooBig && (tooBig.error as { code?: string }).code).toBe(
      'ERR_RESOURCE_EXHAUSTED',
    );
    expect(actor.getSnapshot().status).toBe('active');
    expect(ledger.usage().memoryMb).toBe(0);
    expect(reserve({ memoryMb: 1 }).ok).toBe(true);
  });

  it('releases exactly once; RELEASE and EXPIRE answer a repeat as a no-op', () => {
    const { reserve, actor, results, released, ledger } = start();
    const r = reserve({ memoryMb: 100 });
    if (!r.ok || r.op !== 'reserve' || !('allocation' in r)) throw new Error('expected ok');
    const id = r.allocation.id;
    actor.send({ type: 'EXPIRE', allocationId: id, requestId: 'x1' });
    actor.send({ type: 'RELEASE', allocationId: id, requestId: 'x2' });
    expect(results.get('x1')).toMatchObject({ ok: true, released: true });
    expect(results.get('x2')).toMatchObject({ ok: true, released: false });
    expect(released).toEqual([
      {
        type: 'allocator.released',
        allocationId: id,
        owner: 'agent-1',
        amounts: expect.any(Object),
        cause: 'expired',
      },
    ]);
    expect(ledger.size).toBe(0);
  });

  it('resizes through the ledger', () => {
    const { reserve, actor, results } = start();
    const r = reserve({ memoryMb: 1000 });
    if (!r.ok || !('allocation' in r)) throw new Error('expected ok');
    actor.send({
      type: 'RESIZE',
      requestId: 'z',
      allocationId: r.allocation.id,
      change: { delta: { memoryMb: 500 } },
    });
    expect(results.get('z')).toMatchObject({ ok: true, allocation: { amounts: { memoryMb: 1500 } } });
    actor.send({ type: 'RESIZE', requestId: 'y', allocationId: 'ghost', change: { delta: {} } });
    expect(results.get('y')).toMatchObject({ ok: false, op: 'resize' });
  });

  it('AGENT_LOST releases everything the agent held, once', () => {
    const { reserve, actor, released, ledger } = start();
    reserve({ memoryMb: 100 }, 'a');
    reserve({ memoryMb: 200 }, 'b');
    reserve({ memoryMb: 300 }, 'a');
    actor.send({ type: 'AGENT_LOST', owner: 'a' });
    actor.send({ type: 'AGENT_LOST', owner: 'a' });
    expect(released.map((e) => [e.owner, e.cause])).toEqual([
      ['a', 'agent-lost'],
      ['a', 'agent-lost'],
    ]);
    expect(ledger.usage().memoryMb).toBe(200);
  });

  it('closing refuses new reservations and ends when the last allocation is released', () => {
    const { reserve, actor, results } = start();
    const r = reserve({ memoryMb: 100 });
    if (!r.ok || !('allocation' in r)) throw new Error('expected ok');
    actor.send({ type: 'CLOSE' });
    expect(actor.getSnapshot().value).toBe('closing');
    const refused = reserve({ memoryMb: 1 });
    expect(refused.ok === false && 'error' in refused && (refused.error as { code?: string }).code).toBe(
      'ERR_SHUTTING_DOWN',
    );
    actor.send({ type: 'RELEASE', allocationId: r.allocation.id });
    expect(actor.getSnapshot().status).toBe('done');
    expect(results.size).toBe(2);
  });

  it('closing releases what is left at the deadline', async () => {
    const { reserve, actor, clock, released } = start({ closeDeadlineMs: 500 });
    reserve({ memoryMb: 100 });
    reserve({ memoryMb: 100 }, 'b');
    actor.send({ type: 'CLOSE' });
    await clock.advanceAsync(499);
    expect(actor.getSnapshot().value).toBe('closing');
    await clock.advanceAsync(1);
    expect(actor.getSnapshot().status).toBe('done');
    expect(released.map((e) => e.cause)).toEqual(['closed', 'closed']);
  });

  it('a closed allocator with nothing live closes at once', () => {
    const { actor } = start();
    actor.send({ type: 'CLOSE' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});

describe('allocatorMachine quotas', () => {
  it('SET_QUOTA caps a group; a refused lowering answers what is held; TAKE_PRESSURE hands over refused demand once', () => {
    const { actor, results, reserve } = start();
    actor.send({ type: 'SET_QUOTA', requestId: 'q1', group: 'code', resource: 'memoryMb', amount: 1024 });
    expect(results.get('q1')).toMatchObject({ op: 'quota', ok: true });
    expect(granted(reserve({ memoryMb: 768 }, 'a', { group: 'code' })).group).toBe('code');
    const refused = reserve({ memoryMb: 512 }, 'b', { group: 'code' });
    expect(refused).toMatchObject({ ok: false, reason: { scope: 'quota', available: 256 } });
    actor.send({ type: 'SET_QUOTA', requestId: 'q2', group: 'code', resource: 'memoryMb', amount: 512 });
    expect(results.get('q2')).toMatchObject({ op: 'quota', ok: false, held: 768 });
    actor.send({ type: 'SET_QUOTA', requestId: 'q3', group: 'code', resource: 'vram', amount: 1 });
    expect(results.get('q3')).toMatchObject({ op: 'quota', ok: false, error: expect.any(Error) });
    // Demand the quota turned away: 768 held + the 512 refused.
    actor.send({ type: 'TAKE_PRESSURE', requestId: 'p1' });
    expect(results.get('p1')).toMatchObject({ op: 'pressure', pressure: { code: { memoryMb: 1280 } } });
    actor.send({ type: 'TAKE_PRESSURE', requestId: 'p2' });
    expect(results.get('p2')).toMatchObject({ op: 'pressure', pressure: {} });
  });
});

describe('allocatorMachine copy-on-write mode', () => {
  it('leaves earlier snapshots untouched and gives each actor its own ledger from a factory', () => {
    const input = { ledger: () => new Ledger({ limits: { memoryMb: 10 } }), copyOnWrite: true };
    const a = createActor(allocatorMachine, { input }).start();
    const b = createActor(allocatorMachine, { input }).start();
    const before = a.getSnapshot();
    a.send({ type: 'RESERVE', requestId: '1', request: { memoryMb: 4 }, exact: true });
    expect(Ledger.over(a.getSnapshot().context.ledger).usage().memoryMb).toBe(4);
    expect(Ledger.over(before.context.ledger).usage().memoryMb).toBe(0);
    expect(Ledger.over(b.getSnapshot().context.ledger).usage().memoryMb).toBe(0);
  });
});
