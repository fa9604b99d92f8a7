import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import {
  type ApplyScaleInput,
  type ApplyScaleOutput,
  type ReadMetricsInput,
  scalerMachine,
} from '../../machines/scaler.machine.js';
import type { ScalingObservation } from '../../src/policies/scaling/decide.js';
import { flushMicrotasks, ManualClock } from '../../src/core/clock.js';

const hot = (now: number, size = 4): ScalingObservation => ({
  now,
  size,
  ready: size,
  busy: size,
  starting: 0,
  waiters: 6,
  utilization: 1,
  waitMs: 20_000,
  arrivalRatePerS: 0.6,
  meanServiceMs: 20_000,
});

const calm = (now: number, size = 10): ScalingObservation => ({
  now,
  size,
  ready: size,
  busy: 1,
  starting: 0,
  waiters: 0,
  utilization: 0.1,
  waitMs: 0,
  arrivalRatePerS: 0.02,
  meanServiceMs: 20_000,
});

interface Harness {
  clock: ManualClock;
  actor: ReturnType<typeof createActor<typeof scalerMachine>>;
  reads: number;
  applies: ApplyScaleInput[];
  /** Next observation(s); the function gets the clock time. */
  observe: (now: number) => ScalingObservation | Promise<ScalingObservation>;
  apply: (input: ApplyScaleInput) => Promise<ApplyScaleOutput>;
}

function harness(config: Record<string, unknown> = {}): Harness {
  const clock = new ManualClock(0);
  const h = {
    clock,
    reads: 0,
    applies: [] as ApplyScaleInput[],
    observe: (now: number) => hot(now),
    apply: async (input: ApplyScaleInput) => ({ size: input.target }),
  } as Harness;
  const machine = scalerMachine.provide({
    actors: {
      readMetrics: fromPromise<ScalingObservation, ReadMetricsInput>(async () => {
        h.reads++;
        return h.observe(clock.now());
      }),
      applyScale: fromPromise<ApplyScaleOutput, ApplyScaleInput>(async ({ input }) => {
        h.applies.push(input);
        return h.apply(input);
      }),
    },
  });
  h.actor = createActor(machine, {
    clock,
    input: { pool: 'code', config: { min: 1, max: 20, intervalMs: 15_000, ...config } },
  });
  h.actor.start();
  return h;
}

describe('scaler machine', () => {
  it('observes on its interval, scales up to the Little target, records the decision, cools down', async () => {
    const h = harness({ scaleUpCooldownMs: 10_000 });
    expect(h.actor.getSnapshot().value).toBe('observing');
    await h.clock.advanceAsync(14_999);
    expect(h.reads).toBe(0);
    await h.clock.advanceAsync(1);
    expect(h.reads).toBe(1);
    // λ_eff = 0.6 + 6 waiters / 30 s = 0.8/s; × 20 s / 0.75 = 21.3 → 22, capped by max 20
    expect(h.applies).toEqual([{ pool: 'code', current: 4, target: 20, reason: 'high-wait' }]);
    const snap = h.actor.getSnapshot();
    expect(snap.value).toBe('cooldown');
    expect(snap.context.decisions).toHaveLength(1);
    expect(snap.context.decisions[0]).toMatchObject({
      current: 4,
      target: 20,
      outcome: 'applied',
      reached: 20,
    });
    expect(snap.context.stats.scaleUps).toBe(1);
    await h.clock.advanceAsync(10_000);
    expect(h.actor.getSnapshot().value).toBe('observing');
  });

  it('an apply failure is recorded and the scaler keeps going', async () => {
    const h = harness();
    h.apply = async () => {
      throw new Error('spawn failed');
    };
    await h.clock.advanceAsync(15_000);
    let snap = h.actor.getSnapshot();
    expect(snap.status).toBe('active');
    expect(snap.value).toBe('observing');
    expect(snap.context.stats.applyFailures).toBe(1);
    expect(snap.context.lastError).toContain('spawn failed');
    expect(snap.context.decisions[0]?.outcome).toBe('failed');
    h.apply = async (input) => ({ size: input.target - 1 }); // partial success
    await h.clock.advanceAsync(15_000);
    snap = h.actor.getSnapshot();
    expect(h.applies).toHaveLength(2);
    expect(snap.context.decisions[1]).toMatchObject({ outcome: 'applied', reached: 19 });
    expect(snap.context.consecutiveFailures).toBe(0);
  });

  it('an apply that never settles is abandoned after applyTimeoutMs', async () => {
    const h = harness({ applyTimeoutMs: 40_000 });
    h.apply = () => new Promise(() => {});
    await h.clock.advanceAsync(15_000);
    expect(h.actor.getSnapshot().value).toBe('scaling');
    await h.clock.advanceAsync(40_000);
    const snap = h.actor.getSnapshot();
    expect(snap.value).toBe('observing');
    expect(snap.context.decisions[0]?.outcome).toBe('timeout');
  });

  it('failed or malformed metric reads do not stop the loop', async () => {
    const h = harness();
    h.observe = () => {
      throw new Error('metrics down');
    };
    await h.clock.advanceAsync(15_000);
    h.observe = (now) => ({ ...hot(now), utilization: 7 });
    await h.clock.advanceAsync(15_000);
    const snap = h.actor.getSnapshot();
    expect(snap.value).toBe('observing');
    expect(snap.context.stats.readFailures).toBe(2);
    expect(h.applies).toHaveLength(0);
    h.observe = (now) => hot(now);
    await h.clock.advanceAsync(15_000);
    expect(h.applies).toHaveLength(1);
  });

  it('scales down idle agents after the cooldown when quiet, holds while stabilising', async () => {
    const h = harness({ stabilisationWindowMs: 0, scaleDownCooldownMs: 0 });
    h.observe = (now) => calm(now);
    await h.clock.advanceAsync(15_000);
    // R = 0.02 × 20 = 0.4 busy: max(Little 0.4 / 0.75, square-root staffing 0.4 + 3·√0.4) = 2.3 → 3;
    // idle = 9 → target max(min 1, 3, 10 − 9) = 3
    expect(h.applies.at(-1)).toMatchObject({ current: 10, target: 3, reason: 'low-utilization' });
  });

  it('PAUSE during a resize takes effect once it settles; RESUME restarts the loop', async () => {
    const h = harness();
    let release: ((v: ApplyScaleOutput) => void) | undefined;
    h.apply = () =>
      new Promise((r) => {
        release = r;
      });
    await h.clock.advanceAsync(15_000);
    expect(h.actor.getSnapshot().value).toBe('scaling');
    h.actor.send({ type: 'SCALER.PAUSE' });
    expect(h.actor.getSnapshot().value).toBe('scaling');
    release?.({ size: 20 });
    await flushMicrotasks();
    let snap = h.actor.getSnapshot();
    expect(snap.value).toBe('paused');
    expect(snap.context.decisions[0]?.outcome).toBe('applied');
    const reads = h.reads;
    await h.clock.advanceAsync(120_000);
    expect(h.reads).toBe(reads); // nothing happens while paused
    h.actor.send({ type: 'SCALER.RESUME' });
    await h.clock.advanceAsync(15_000);
    expect(h.reads).toBe(reads + 1);
    snap = h.actor.getSnapshot();
    expect(snap.status).toBe('active');
  });

  it('SCALER.EVALUATE evaluates at once; SCALER.STOP ends the actor', async () => {
    const h = harness();
    h.observe = (now) => ({ ...calm(now), utilization: 0.6, busy: 6 });
    h.actor.send({ type: 'SCALER.EVALUATE' });
    await flushMicrotasks();
    expect(h.reads).toBe(1);
    h.actor.send({ type: 'SCALER.STOP' });
    expect(h.actor.getSnapshot().status).toBe('done');
    await h.clock.advanceAsync(60_000);
    expect(h.reads).toBe(1);
  });

  it('config updates are validated: invalid ones are refused and reported, valid ones applied', async () => {
    const h = harness();
    h.actor.send({ type: 'SCALER.CONFIGURE', config: { scaleUpThreshold: 3 } });
    let snap = h.actor.getSnapshot();
    expect(snap.status).toBe('active');
    expect(snap.context.config.scaleUpThreshold).toBe(0.8);
    expect(snap.context.lastError).toContain('scaleUpThreshold');
    h.actor.send({ type: 'SCALER.CONFIGURE', config: { max: 8, intervalMs: 5_000 } });
    snap = h.actor.getSnapshot();
    expect(snap.context.config.max).toBe(8);
    expect(snap.context.lastError).toBeNull();
    await h.clock.advanceAsync(15_000); // the pending 15 s timer fires, then 5 s intervals
    expect(h.applies.at(-1)?.target).toBe(8);
  });

  it('keeps a bounded decision history', async () => {
    const h = harness({ historySize: 3 });
    h.observe = (now) => ({ ...calm(now, 1), utilization: 0.6, busy: 1, ready: 1 });
    await h.clock.advanceAsync(15_000 * 10);
    const snap = h.actor.getSnapshot();
    expect(snap.context.stats.evaluations).toBe(10);
    expect(snap.context.decisions).toHaveLength(3);
    expect(snap.context.decisions.map((d) => d.at)).toEqual([120_000, 135_000, 150_000]);
  });
});

describe('scaler verify spec', () => {
  it('has no deadlock and can always get back home (graph traversal of the spec)', async () => {
    const { getAdjacencyMap } = await import('xstate/graph');
    const { spec } = await import('../../src/verify/specs/scaler.spec.js');
    const ser = spec.serializeState as NonNullable<typeof spec.serializeState>;
    // Merge the spec's payload events with the machine's own event types (as the checker does).
    const own = [...spec.machine.events]
      .filter((t) => !spec.events.some((e) => e.type === t))
      .map((type) => ({ type }));
    const adj = getAdjacencyMap(spec.machine, {
      events: [...spec.events, ...own],
      serializeState: ser as never,
      limit: spec.limit ?? 2000,
      input: spec.input,
    } as never) as unknown as Record<
      string,
      {
        state: { value: unknown; status: string; context: unknown };
        transitions: Record<string, { state: never }>;
      }
    >;
    const keys = Object.keys(adj);
    expect(keys.length).toBeGreaterThan(10);
    const edges = new Map<string, Set<string>>();
    for (const k of keys) {
      const node = adj[k]!;
      const outs = new Set(Object.values(node.transitions).map((t) => ser(t.state)));
      edges.set(k, outs);
      if (node.state.status !== 'done')
        expect(
          [...outs].some((o) => o !== k),
          `stuck: ${k}`,
        ).toBe(true);
    }
    // Liveness: reverse reachability from home states covers every state.
    const home = keys.filter((k) => spec.isHome(adj[k]!.state));
    const reach = new Set(home);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [k, outs] of edges) {
        if (!reach.has(k) && [...outs].some((o) => reach.has(o))) {
          reach.add(k);
          grew = true;
        }
      }
    }
    expect(keys.filter((k) => !reach.has(k))).toEqual([]);
    // Every state the machine declares is reached.
    const values = new Set(keys.map((k) => JSON.stringify(adj[k]!.state.value)));
    for (const s of ['observing', 'evaluating', 'scaling', 'cooldown', 'paused', 'stopped']) {
      expect(values.has(JSON.stringify(s)), s).toBe(true);
    }
  });
});
