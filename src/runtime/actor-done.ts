/**
 * Child actors the runtime creates with a `parent` (not spawned by a chart: see `Pool.child`), and
 * waiting for an actor to finish — shared by the runtime objects that own one.
 */
import { type ActorRefFrom, type AnyActorLogic, type AnyActorRef, createActor, type InputFrom } from 'xstate';

/**
 * Create (not start) an actor of `parent`'s tree: same system, root, clock and inspector; its done and
 * error events go to `parent`. The parent's snapshot does not list it, so its owner stops it
 * ({@link stopChildActor}).
 */
export function createChildActor<L extends AnyActorLogic>(
  parent: AnyActorRef,
  logic: L,
  id: string,
  input: InputFrom<L>,
  systemId?: string,
): ActorRefFrom<L> {
  return createActor(logic, {
    parent,
    id,
    input,
    ...(systemId !== undefined ? { systemId } : {}),
  }) as unknown as ActorRefFrom<L>;
}

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
