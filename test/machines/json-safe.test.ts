/**
 * Every machine's context is plain JSON data: it survives `JSON.parse(JSON.stringify(context))`
 * unchanged — no `Infinity`/`NaN`, typed arrays, Maps, Sets, functions or class instances — so the
 * Stately inspector shows what the machine really holds and a persisted snapshot can be restored.
 *
 * - every state the graph checker reaches from each machine's verify spec (src/verify/specs/*),
 *   with the same events;
 * - the allocator on the hot path (its ledger state mutated in place, not copy-on-write), including
 *   a restore from a JSON-persisted snapshot;
 * - a real system (allocator, rebalancer, pool, scaler, agent, acquisition, dispatcher, system), with
 *   an `inspect` function checking every `@xstate.snapshot` as it is emitted.
 *
 * A property whose value is `undefined` counts as JSON-safe: JSON drops it and reading it gives
 * `undefined` again (`toEqual` treats the two alike).
 */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, createActor, type EventObject, type InspectionEvent } from 'xstate';
import { getAdjacencyMap } from 'xstate/graph';
import { type AllocatorResult, allocatorMachine } from '../../machines/allocator.machine.js';
import { defineAgent } from '../../src/agent/define.js';
import { createAgentPoolSystem } from '../../src/runtime/system.js';
import { Ledger, type LedgerState } from '../../src/structures/ledger.js';
import { defaultSerializeState, eventsFor } from '../../src/verify/events.js';
import { loadSpecs } from '../../src/verify/registry.js';

/** Paths (`ctx.a.b[2]`) of everything in `value` that JSON would not give back as it is. */
function nonJson(value: unknown, path = 'context', out: string[] = []): string[] {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) out.push(`${path} = ${value}`);
      return out;
    case 'string':
    case 'boolean':
    case 'undefined':
      return out;
    case 'object':
      break;
    default:
      out.push(`${path}: ${typeof value}`);
      return out;
  }
  if (value === null) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => nonJson(v, `${path}[${i}]`, out));
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    out.push(`${path}: ${(value as object).constructor?.name ?? 'class instance'}`);
    return out;
  }
  for (const [k, v] of Object.entries(value)) nonJson(v, `${path}.${k}`, out);
  return out;
}

/** Assert `context` is plain JSON data and equals its own JSON round trip. */
function expectJsonSafe(context: unknown, where: string): void {
  expect(nonJson(context), where).toEqual([]);
  expect(JSON.parse(JSON.stringify(context)), where).toEqual(context);
}

const specs = await loadSpecs();
const machineFiles = (await readdir(new URL('../../machines/', import.meta.url)))
  .filter((f) => f.endsWith('.machine.ts'))
  .map((f) => f.slice(0, -'.machine.ts'.length))
  .sort();

describe('every machine context is JSON data in every reachable state', () => {
  it('each machine in machines/ has a spec, so each is covered below', () => {
    expect(specs.map((s) => s.name).sort()).toEqual(machineFiles);
  });

  it.each(specs.map((s) => [s.name, s] as const))('%s', (_name, spec) => {
    const serialize = (s: AnyMachineSnapshot) => (spec.serializeState ?? defaultSerializeState)(s);
    const adj = getAdjacencyMap(spec.machine, {
      ...(spec.input === undefined ? {} : { input: spec.input }),
      serializeState: serialize,
      events: eventsFor(spec.events) as never,
      limit: 1_000_000,
    });
    const states = Object.values(adj);
    expect(states.length).toBeGreaterThan(1);
    for (const { state } of states) expectJsonSafe(state.context, `${spec.name} in ${serialize(state)}`);
  });
});

describe('the allocator on the hot path', () => {
  function start(input: { ledger: Ledger | LedgerState }) {
    const actor = createActor(allocatorMachine, { input });
    const results: AllocatorResult[] = [];
    actor.on('allocator.result', (r) => results.push(r));
    const seen: unknown[] = [];
    actor.subscribe((s) => {
      expectJsonSafe(s.context, `after ${seen.length} events`);
      seen.push(s.value);
    });
    actor.start();
    const send = (e: Parameters<typeof actor.send>[0]) => {
      actor.send(e);
      return results.at(-1);
    };
    return { actor, send };
  }

  it('keeps its ledger as plain data (limits without unlimited resources, allocations by id)', () => {
    const { actor, send } = start({
      ledger: new Ledger({ limits: { memoryMb: 1000, cpuCores: 4 }, perAgentMax: { memoryMb: 600 } }),
    });
    const r = send({
      type: 'RESERVE',
      requestId: 'r1',
      owner: 'a1',
      request: { memoryMb: 500 },
      exact: true,
    });
    expect(r).toMatchObject({ ok: true, allocation: { id: 'alloc-1' } });
    send({ type: 'RESERVE', requestId: 'r2', request: { cpuCores: 1 }, exact: true });
    send({ type: 'RESERVE', requestId: 'r3', owner: 'a2', request: { memoryMb: 600 }, exact: true });
    send({ type: 'RESIZE', requestId: 'r4', allocationId: 'alloc-1', change: { delta: { memoryMb: -100 } } });
    send({ type: 'RELEASE', allocationId: 'alloc-2', requestId: 'r5' });
    send({ type: 'RELEASE', allocationId: 'alloc-2', requestId: 'r6' });
    const ledger = actor.getSnapshot().context.ledger;
    expect(ledger.limits).toEqual({ memoryMb: 1000, cpuCores: 4 });
    expect(ledger.perAgentMax).toEqual({ memoryMb: 600 });
    expect(ledger.used).toMatchObject({ memoryMb: 400, cpuCores: 0, tokens: 0 });
    expect(Object.keys(ledger.live)).toEqual(['alloc-1']);
    expect(ledger.live['alloc-1']).toMatchObject({ owner: 'a1', amounts: { memoryMb: 400 } });
    expect(ledger.released).toEqual(['alloc-2']);
    send({ type: 'AGENT_LOST', owner: 'a1' });
    send({ type: 'CLOSE' });
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('restores from a JSON-persisted snapshot and carries on where it was', () => {
    const input = { ledger: new Ledger({ limits: { memoryMb: 1000 } }) };
    const a = start(input);
    a.send({ type: 'RESERVE', requestId: 'r1', owner: 'a1', request: { memoryMb: 700 }, exact: true });
    const persisted = JSON.parse(JSON.stringify(a.actor.getPersistedSnapshot())) as never;
    a.actor.stop();

    const b = createActor(allocatorMachine, { snapshot: persisted, input: { ledger: new Ledger() } });
    const results: AllocatorResult[] = [];
    b.on('allocator.result', (r) => results.push(r));
    b.start();
    b.send({ type: 'RESERVE', requestId: 'r2', request: { memoryMb: 400 }, exact: true });
    expect(results.at(-1)).toMatchObject({ ok: false, reason: { resource: 'memoryMb', available: 300 } });
    b.send({ type: 'RELEASE', allocationId: 'alloc-1', requestId: 'r3' });
    expect(results.at(-1)).toMatchObject({ ok: true, released: true });
    expect(Ledger.over(b.getSnapshot().context.ledger).usage().memoryMb).toBe(0);
    expectJsonSafe(b.getSnapshot().context, 'restored');
  });
});

describe('a running system', () => {
  it('emits only JSON-safe contexts to an inspector, for every machine it runs', async () => {
    const problems: string[] = [];
    const seen = new Map<string, number>();
    const inspect = (e: InspectionEvent) => {
      if (e.type !== '@xstate.snapshot') return;
      const snapshot = e.snapshot as { context?: unknown; machine?: { id: string } };
      if (snapshot.machine === undefined) return; // promise/callback actors have no context
      const id = snapshot.machine.id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const where = `${id} after ${(e.event as EventObject).type}`;
      for (const p of nonJson(snapshot.context)) problems.push(`${where}: ${p}`);
      try {
        expect(JSON.parse(JSON.stringify(snapshot.context))).toEqual(snapshot.context);
      } catch {
        problems.push(`${where}: changed by a JSON round trip`);
      }
    };
    const system = createAgentPoolSystem({
      pools: {
        code: {
          agent: defineAgent({ double: (x: number) => x * 2 }),
          min: 1,
          max: 1,
          autoscale: true,
          capacity: { memoryMb: 500 },
        },
      },
      limits: { memoryMb: 1000 },
      rebalance: true,
      inspect,
    });
    await system.start();
    const lease = await system.acquire('code', { cycleId: 'c1', requirements: { memoryMb: 100 } });
    expect(await lease.run('double', 21)).toBe(42);
    // The only agent is leased: this acquisition waits (an acquisition actor) until the release.
    const waiting = system.acquire('code', { cycleId: 'c2', requirements: { memoryMb: 100 } });
    await lease.release();
    await (await waiting).release();
    expect(await system.submit({ type: 'code', task: 'double', input: 4 })).toBe(8);
    await system.shutdown();

    expect(problems).toEqual([]);
    expect([...seen.keys()].sort()).toEqual(
      expect.arrayContaining([
        'acquisition',
        'agent',
        'allocator',
        'dispatcher',
        'pool',
        'rebalancer',
        'scaler',
        'system',
      ]),
    );
  });
});
