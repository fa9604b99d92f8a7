/**
 * A group of one pool's short-lived children — its waiting acquisitions, its lease allocations — under
 * one actor of their own, a child of the pool actor:
 *
 * ```
 * pool:<type>
 * ├── <type>-agent-<n> …
 * ├── <type>-waiting       ← this, for the acquisitions
 * │   └── <type>-acq-<n> …
 * └── <type>-leases        ← this, for the allocations
 *     └── <type>-alloc-<n> …
 * ```
 *
 * Why: a child that reaches its final state sends its parent `xstate.done.actor.<id>`, and XState runs
 * every event a machine actor receives through its chart — for the pool's parallel chart, a lookup of
 * the event's type on every active state node (each node memoizes one entry per child id ever seen),
 * its eventless transitions, a snapshot update — even when no transition takes the event. One
 * finished wait per hand-off of a released agent to a waiter made that about a quarter of the hand-off
 * (`bench acquire`: p50 14.7–16.6 → 10.8–12.0 µs with the groups). The group is a callback actor:
 * an event costs it a function call. The children stay in the one tree (same system, root, clock and
 * inspector), and a child's error is still contained and logged as the pool's (`onChildError`).
 */
import {
  type ActorRefFrom,
  type AnyActorLogic,
  type AnyActorRef,
  createActor,
  fromCallback,
  type InputFrom,
} from 'xstate';
import { createChildActor, stopChildActor } from './actor-done.js';

const CHILD_ERROR = 'xstate.error.actor.';

/** One group actor and the children created under it. */
export class ChildGroup {
  /** The group's actor: a child of the pool actor, the parent of the group's children. */
  readonly actor: AnyActorRef;

  /**
   * @param parent the pool actor
   * @param id the group actor's id (`<type>-waiting`, `<type>-leases`)
   * @param onChildError a child failed (the pool logs it; the group and its other children go on)
   */
  constructor(parent: AnyActorRef, id: string, onChildError: (error: unknown, childId: string) => void) {
    const logic = fromCallback(({ receive }) => {
      receive((e) => {
        // Done events need nothing: the runtime drops a finished child itself.
        if (e.type.startsWith(CHILD_ERROR))
          onChildError((e as { error?: unknown }).error, e.type.slice(CHILD_ERROR.length));
      });
    });
    this.actor = createActor(logic, { parent, id });
    this.actor.start();
  }

  /** Create (not start) a child of the group. */
  create<L extends AnyActorLogic>(
    logic: L,
    id: string,
    input: InputFrom<L>,
    systemId?: string,
  ): ActorRefFrom<L> {
    return createChildActor(this.actor, logic, id, input, systemId);
  }

  /** Stop the group's actor (its children are stopped by their owner first). */
  stop(): void {
    stopChildActor(this.actor);
  }
}
