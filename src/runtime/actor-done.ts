/** Waiting for an actor to finish, shared by the runtime objects that own one. */
import type { AnyActorRef } from 'xstate';

/**
 * Resolves once `actor` is done: it reached a final state, was stopped, or failed. An error counts as
 * done too — an actor in `status: 'error'` ignores every later event, so waiting on would be forever.
 */
export function whenDone(actor: AnyActorRef): Promise<void> {
  if (actor.getSnapshot().status !== 'active') return Promise.resolve();
  return new Promise((resolve) => {
    const sub = actor.subscribe({
      complete: () => {
        sub.unsubscribe();
        resolve();
      },
      error: () => {
        sub.unsubscribe();
        resolve();
      },
    });
  });
}
