/** Shared by the machine specs: the id XState gives an invoked actor, to address its done/error events. */
import type { AnyStateMachine } from 'xstate';

/**
 * Id of the invoke of `src` in `machine` (XState generates `<index>.<state id>` when none is given).
 * Throws when no state invokes it, so a renamed actor fails the spec loudly instead of exploring less.
 */
export function invokeId(machine: AnyStateMachine, src: string): string {
  const stack = [machine.root];
  for (let n = stack.pop(); n; n = stack.pop()) {
    const inv = n.invoke.find((i) => i.src === src);
    if (inv) return inv.id;
    stack.push(...Object.values(n.states));
  }
  throw new Error(`${machine.id}: no state invokes ${src}`);
}
