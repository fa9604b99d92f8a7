import { describe, expect, it } from 'vitest';
import { assign, fromCallback, setup } from 'xstate';
import { ConfigError } from '../../src/core/errors.js';
import { checkMachine } from '../../src/verify/graph-check.js';
import type { MachineSpec } from '../../src/verify/types.js';
import { healthySpec, payloadMachine, stuckMachine, trapMachine } from './fixtures.js';

const atIdle = (s: { value: unknown }) => s.value === 'idle';

describe('checkMachine: healthy machine with delays and an invoked promise', () => {
  const report = checkMachine(healthySpec);

  it('finds every reachable state and transition (counted by hand in fixtures.ts)', () => {
    // (idle, working, failed) for done = 0, 1, 2, plus cooldown for done = 1, 2.
    expect(report.states).toBe(3 * 3 + 2);
    // per done level: idle-GO, working-{done, error, after, CANCEL}, failed-after = 6; cooldown-after × 2.
    expect(report.transitions).toBe(3 * 6 + 2);
    expect(report.truncated).toBe(false);
  });

  it('reports no findings and replays one path per reachable state', () => {
    expect(report.deadlocked).toEqual([]);
    expect(report.cannotReachIdle).toEqual([]);
    expect(report.replayFailures).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.paths).toBe(report.states);
  });

  it('bounds the traversal with `limit` and says so', () => {
    const r = checkMachine({ ...healthySpec, limit: 4 });
    expect(r.truncated).toBe(true);
    expect(r.states).toBeLessThan(report.states);
    // Unexplored frontier states must not be reported as deadlocks or liveness failures.
    expect(r.deadlocked).toEqual([]);
    expect(r.cannotReachIdle).toEqual([]);
  });
});

describe('checkMachine: deadlock', () => {
  it('reports the stuck state with its shortest event path', () => {
    const r = checkMachine({ name: 'stuck', machine: stuckMachine, events: [], isHome: atIdle });
    expect(r.deadlocked.map((f) => f.state)).toEqual(['stuck']);
    expect(r.deadlocked[0]?.path).toEqual(['GO', 'FIRE']);
    // A stuck state also cannot get home.
    expect(r.cannotReachIdle.map((f) => f.state)).toEqual(['stuck']);
  });

  it('does not report final states as deadlocked', () => {
    const r = checkMachine({ name: 'trap', machine: trapMachine, events: [], isHome: atIdle });
    expect(r.deadlocked).toEqual([]);
  });
});

describe('checkMachine: trap cycle', () => {
  const r = checkMachine({ name: 'trap', machine: trapMachine, events: [], isHome: atIdle });

  it('reports every state of the cycle in cannotReachIdle, nearest first, with paths', () => {
    expect(r.cannotReachIdle.map((f) => [f.state, f.path])).toEqual([
      ['loop.a', ['ENTER']],
      ['loop.b', ['ENTER', 'PING']],
    ]);
  });

  it('counts the final state as home even though isHome says only idle', () => {
    expect(r.cannotReachIdle.map((f) => f.state)).not.toContain('done');
  });
});

describe('checkMachine: payload events', () => {
  const base: MachineSpec = { name: 'payload', machine: payloadMachine, events: [], isHome: atIdle };

  it('does not find the guarded state when only the bare event type is explored', () => {
    const r = checkMachine(base);
    expect(r.states).toBe(2);
  });

  it('finds it when the spec lists the payload, and shows the payload in the path', () => {
    const r = checkMachine({
      ...base,
      events: [
        { type: 'REQUEST', priority: 'low' },
        { type: 'REQUEST', priority: 'high' },
      ],
      // A state identity that hides nothing here: the value alone.
      serializeState: (s) => JSON.stringify(s.value),
    });
    expect(r.states).toBe(3);
    expect(r.paths).toBe(3);
    const stuck = checkMachine({
      ...base,
      machine: payloadMachine.provide({}),
      events: [{ type: 'REQUEST', priority: 'high' }],
      isHome: (s) => s.value === 'nowhere',
    });
    expect(stuck.cannotReachIdle.find((f) => f.state === 'urgent')?.path).toEqual([
      'REQUEST {"priority":"high"}',
    ]);
  });
});

describe('checkMachine: replay on a real actor', () => {
  it('reports an action that throws at run time (it never runs during graph exploration)', () => {
    const machine = healthySpec.machine.provide({
      actions: {
        countDone: () => {
          throw new Error('kaboom');
        },
      },
    });
    const r = checkMachine({ ...healthySpec, machine });
    expect(r.replayFailures.length).toBeGreaterThan(0);
    const f = r.replayFailures[0];
    expect(f?.detail).toContain('kaboom');
    expect(f?.path.at(-1)).toBe('xstate.done.actor.work');
  });

  it('reports a guard that behaves differently on a live actor than in the graph', () => {
    // The guard reads state that only a live action changes: the graph never sees the change.
    let live = 0;
    const m = setup({
      actions: { bump: () => void live++ },
      guards: { firstTime: () => live === 0 },
    }).createMachine({
      id: 'impure',
      initial: 'idle',
      states: {
        idle: { on: { GO: { target: 'one', actions: 'bump' } } },
        one: { on: { NEXT: [{ guard: 'firstTime', target: 'two' }, { target: 'idle' }] } },
        two: { on: { BACK: 'idle' } },
      },
    });
    const r = checkMachine({ name: 'impure', machine: m, events: [], isHome: atIdle });
    expect(r.replayFailures.map((f) => [f.state, f.path])).toEqual([['two', ['GO', 'NEXT']]]);
    expect(r.replayFailures[0]?.detail).toMatch(/expected .*two.*actor is in .*idle/);
  });

  it('fires the delayed transition the graph chose even when another timer is due earlier', () => {
    const m = setup({}).createMachine({
      id: 'timers',
      initial: 'idle',
      states: {
        idle: { on: { GO: 'waiting' } },
        waiting: { after: { 100: 'fast', 5000: 'slow' } },
        fast: { on: { RESET: 'idle' } },
        slow: { on: { RESET: 'idle' } },
      },
    });
    const r = checkMachine({ name: 'timers', machine: m, events: [], isHome: atIdle });
    expect(r.states).toBe(4);
    expect(r.replayFailures).toEqual([]);
    expect(r.paths).toBe(4);
  });

  it('reports an assign that throws during exploration as an error with the failing event', () => {
    const m = setup({
      types: { context: {} as { n: number } },
      actions: {
        broken: assign({
          n: () => {
            throw new Error('bad assign');
          },
        }),
      },
    }).createMachine({
      id: 'broken',
      initial: 'idle',
      context: { n: 0 },
      states: {
        idle: { on: { GO: 'busy' } },
        busy: { on: { BREAK: { target: 'idle', actions: 'broken' } } },
      },
    });
    const r = checkMachine({ name: 'broken', machine: m, events: [], isHome: atIdle });
    expect(r.errors.map((f) => [f.state, f.path])).toEqual([['busy', ['GO', 'BREAK']]]);
    expect(r.errors[0]?.detail).toContain('bad assign');
  });

  it('lets a spec deliver steps itself through replay.deliver (a controllable callback fake)', () => {
    let sendBack: ((e: { type: 'FINISHED' }) => void) | undefined;
    const m = setup({
      types: { events: {} as { type: 'GO' } | { type: 'FINISHED' } | { type: 'RESET' } },
      actors: {
        job: fromCallback<{ type: 'FINISHED' }>(({ sendBack: sb }) => {
          sendBack = sb;
        }),
      },
    }).createMachine({
      id: 'cb',
      initial: 'idle',
      states: {
        idle: { on: { GO: 'running' } },
        running: { invoke: { src: 'job' }, on: { FINISHED: 'finished' } },
        finished: { on: { RESET: 'idle' } },
      },
    });
    const viaFake: string[] = [];
    const spec: MachineSpec = {
      name: 'cb',
      machine: m,
      events: [],
      isHome: atIdle,
      replay: {
        deliver: (_actor, event) => {
          if (event.type !== 'FINISHED' || !sendBack) return false; // default delivery for the rest
          viaFake.push(event.type);
          sendBack({ type: 'FINISHED' }); // the live fake finishes, synchronously
          return true;
        },
      },
    };
    const r = checkMachine(spec);
    expect(r.replayFailures).toEqual([]);
    expect(r.paths).toBe(3);
    expect(viaFake).toEqual(['FINISHED']);

    // A hook that claims a step but delivers nothing leaves the actor behind the graph: reported.
    const lazy = checkMachine({ ...spec, replay: { deliver: (_a, e) => e.type === 'FINISHED' } });
    expect(lazy.replayFailures.map((f) => [f.state, f.path])).toEqual([['finished', ['GO', 'FINISHED']]]);
  });

  it('replays done/error events of invoked actors whose fakes never settle', () => {
    const r = checkMachine(healthySpec);
    expect(r.replayFailures).toEqual([]);
    expect(r.paths).toBe(11);
  });
});

describe('checkMachine: spec validation', () => {
  it('rejects unknown keys and a missing isHome with ConfigError naming the field', () => {
    expect(() => checkMachine({ ...healthySpec, extra: 1 } as unknown as MachineSpec)).toThrow(/spec\.extra/);
    expect(() => checkMachine({ ...healthySpec, isHome: undefined } as unknown as MachineSpec)).toThrow(
      ConfigError,
    );
    expect(() => checkMachine({ ...healthySpec, limit: 0 })).toThrow(/spec\.limit/);
  });
});
