/**
 * Small machines with known shapes for the checker's own tests. Each one has an independent,
 * hand-derived expectation in the tests (state counts, which state is stuck, which path reaches it).
 */
import { assign, fromPromise, setup } from 'xstate';
import type { MachineSpec } from '../../src/verify/types.js';

/**
 * Healthy: idle → working (invokes a promise, bounded by a named delay) → cooldown → idle; failures go
 * to `failed`, which retries after 1 s. Context counts completed jobs, capped at 2 so the graph is finite.
 *
 * Reachable states by hand: idle, working, cooldown, failed for done=0, plus working/cooldown/idle/failed
 * for done=1 and done=2 → (idle,working,failed) × 3 + cooldown × 2 (cooldown only after a success:
 * done=1, done=2) = 11.
 */
export const healthyMachine = setup({
  types: { context: {} as { done: number }, events: {} as { type: 'GO' } | { type: 'CANCEL' } },
  actors: { doWork: fromPromise(async () => 'ok') },
  delays: { workTimeout: 5000 },
  actions: { countDone: assign({ done: ({ context }) => Math.min(2, context.done + 1) }) },
}).createMachine({
  id: 'healthy',
  initial: 'idle',
  context: { done: 0 },
  states: {
    idle: { on: { GO: 'working' } },
    working: {
      invoke: {
        id: 'work',
        src: 'doWork',
        onDone: { target: 'cooldown', actions: 'countDone' },
        onError: 'failed',
      },
      after: { workTimeout: 'failed' },
      on: { CANCEL: 'idle' },
    },
    cooldown: { after: { 500: 'idle' } },
    failed: { after: { 1000: 'idle' } },
  },
});

/**
 * The spec provides a fake that never settles (as machine specs should): replays are synchronous and
 * deliver the graph's own done/error events, and a settling fake would only message a stopped actor.
 */
export const healthySpec: MachineSpec = {
  name: 'healthy',
  machine: healthyMachine.provide({ actors: { doWork: fromPromise(() => new Promise<string>(() => {})) } }),
  events: [],
  isHome: (s) => s.value === 'idle',
};

/** A non-final state with no way out, two steps from the start: idle -GO-> armed -FIRE-> stuck. */
export const stuckMachine = setup({
  types: { events: {} as { type: 'GO' } | { type: 'FIRE' } | { type: 'RESET' } },
}).createMachine({
  id: 'stuck',
  initial: 'idle',
  states: {
    idle: { on: { GO: 'armed' } },
    armed: { on: { FIRE: 'stuck', RESET: 'idle' } },
    stuck: {},
  },
});

/** Trap cycle: idle -ENTER-> a ⇄ b (PING / PONG), no way back to idle; also a final `done`. */
export const trapMachine = setup({
  types: { events: {} as { type: 'ENTER' } | { type: 'PING' } | { type: 'PONG' } | { type: 'FINISH' } },
}).createMachine({
  id: 'trap',
  initial: 'idle',
  states: {
    idle: { on: { ENTER: 'loop', FINISH: 'done' } },
    loop: {
      initial: 'a',
      states: {
        a: { on: { PING: 'b' } },
        b: { on: { PONG: 'a' } },
      },
    },
    done: { type: 'final' },
  },
});

/** `urgent` is reachable only with a REQUEST whose payload says priority 'high'. */
export const payloadMachine = setup({
  types: { events: {} as { type: 'REQUEST'; priority: 'low' | 'high' } | { type: 'DONE' } },
  guards: { isUrgent: ({ event }) => event.type === 'REQUEST' && event.priority === 'high' },
}).createMachine({
  id: 'payload',
  initial: 'idle',
  states: {
    idle: { on: { REQUEST: [{ guard: 'isUrgent', target: 'urgent' }, { target: 'normal' }] } },
    normal: { on: { DONE: 'idle' } },
    urgent: { on: { DONE: 'idle' } },
  },
});
