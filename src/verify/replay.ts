/**
 * Replays one generated path on a real actor and checks, after every step, that the actor is where
 * the graph said it would be and has not gone to status 'error'. The graph explores with a mock actor
 * scope in which custom actions do not run; the replay runs them (with the spec's fakes), so an action
 * that throws shows up here.
 */
import { createActor, type EventObject } from 'xstate';
import { ReplayClock } from './replay-clock.js';
import type { MachineSpec } from './types.js';

/** One step of a path: the event to deliver and the state identity the graph predicts after it. */
export interface ReplayStep {
  event: EventObject;
  expectedKey: string;
}

/** Why a replay failed, at which step (-1 = the initial state). */
export interface ReplayFailure {
  step: number;
  detail: string;
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Create a fresh actor for `spec` on a {@link ReplayClock}, check the initial state against
 * `initialKey`, then deliver each step. Fully synchronous: promise-based fakes never settle during a
 * replay, so only the graph's own done/error events complete invoked actors.
 *
 * @returns undefined when every step matched, else the first failure.
 */
export function replayPath(
  spec: MachineSpec,
  serialize: (snapshot: { value: unknown; context: unknown }) => string,
  initialKey: string,
  steps: readonly ReplayStep[],
): ReplayFailure | undefined {
  const clock = new ReplayClock();
  let actorError: unknown;
  let hasError = false;
  const actor = createActor(
    spec.machine,
    spec.input === undefined ? { clock } : { clock, input: spec.input },
  );
  clock.system = actor.system;
  // An error observer keeps XState from rethrowing the actor's error as an uncaught exception.
  actor.subscribe({
    error: (err) => {
      hasError = true;
      actorError = err;
    },
  });
  const check = (step: number, expected: string): ReplayFailure | undefined => {
    const snap = actor.getSnapshot();
    if (hasError || snap.status === 'error') {
      return { step, detail: `actor went to status 'error': ${message(actorError ?? snap.error)}` };
    }
    const got = serialize(snap);
    if (got !== expected) return { step, detail: `expected ${expected}, actor is in ${got}` };
    return undefined;
  };
  let at = -1;
  try {
    actor.start();
    const first = check(-1, initialKey);
    if (first) return first;
    for (let i = 0; i < steps.length; i++) {
      at = i;
      const step = steps[i] as ReplayStep;
      const handled = spec.replay?.deliver?.(actor, step.event, clock) === true;
      if (!handled) {
        if (step.event.type.startsWith('xstate.after.')) {
          if (!clock.fire(step.event.type)) {
            const pending = clock.pendingTypes();
            return {
              step: i,
              detail: `no pending timer delivers ${step.event.type} (pending: ${pending.join(', ') || 'none'})`,
            };
          }
        } else {
          actor.send(step.event);
        }
      }
      const failure = check(i, step.expectedKey);
      if (failure) return failure;
    }
    return undefined;
  } catch (err) {
    return { step: at, detail: `replay threw: ${message(err)}` };
  } finally {
    actor.stop();
  }
}
