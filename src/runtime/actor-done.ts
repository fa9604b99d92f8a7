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

/**
 * Stop a child actor created with a `parent` (XState's public `stop()` refuses non-root actors; its
 * own `stopChild` action calls `_stop()`, which is what this does — for children the parent's snapshot
 * does not list, see `Pool.child`). A stopped or done actor is left as it is.
 */
export function stopChildActor(actor: AnyActorRef): void {
  if (actor.getSnapshot().status !== 'active') return;
  (actor as unknown as { _stop(): void })._stop();
}
