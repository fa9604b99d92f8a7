/**
 * Which events the checker tries in each state, and how events and states are printed.
 *
 * xstate/graph replaces its auto-derived event list as soon as you pass your own `events`, which
 * silently explores a fraction of the graph. So the list is rebuilt here per snapshot: every event
 * descriptor the active state nodes handle (including `xstate.after.*` delays and the
 * `xstate.done.actor.*` / `xstate.error.actor.*` completions of invoked actors), expanded with the
 * spec's payload variants for that type.
 */
import type { AnyMachineSnapshot, EventObject } from 'xstate';

/** Error value carried by the default `xstate.error.actor.*` event the checker synthesises. */
export class SimulatedActorError extends Error {
  constructor(actorId: string) {
    super(`verify: simulated failure of actor ${actorId}`);
    this.name = 'SimulatedActorError';
  }
}

const DONE_ACTOR = 'xstate.done.actor.';
const ERROR_ACTOR = 'xstate.error.actor.';

/** XState's descriptor matching: exact, `*`, or `prefix.*` (token-wise). */
export function matchesDescriptor(type: string, descriptor: string): boolean {
  if (descriptor === type || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const prefix = descriptor.slice(0, -1); // keeps the trailing dot: 'a.b.' matches 'a.b.c' but not 'a.bc'
  return type.startsWith(prefix) || type === descriptor.slice(0, -2);
}

/** The default event for a concrete descriptor: done/error events carry an `output`/`error` field. */
function defaultEvent(type: string): EventObject {
  if (type.startsWith(DONE_ACTOR)) return { type, output: undefined } as EventObject;
  if (type.startsWith(ERROR_ACTOR)) {
    return { type, error: new SimulatedActorError(type.slice(ERROR_ACTOR.length)) } as EventObject;
  }
  return { type };
}

/** Ids of the actors invoked by the active state nodes (their done/error events can arrive now). */
function activeInvokeIds(snapshot: AnyMachineSnapshot): string[] {
  return snapshot._nodes.flatMap((n) => n.invoke.map((i) => i.id));
}

/**
 * Build the per-snapshot event function for `getAdjacencyMap`.
 *
 * - Internal `xstate.done.state.*` descriptors are skipped: XState raises them itself when a region
 *   finishes, and sending one from outside would explore transitions that cannot happen.
 * - A wildcard descriptor (`*`, `prefix.*`) is expanded into the spec events it matches, plus the
 *   done/error events of the active invocations when it covers those.
 */
export function eventsFor(
  specEvents: readonly EventObject[],
): (snapshot: AnyMachineSnapshot) => EventObject[] {
  const byType = new Map<string, EventObject[]>();
  for (const e of specEvents) {
    const list = byType.get(e.type);
    if (list) list.push(e);
    else byType.set(e.type, [e]);
  }
  return (snapshot) => {
    const out: EventObject[] = [];
    const seen = new Set<string>();
    const add = (e: EventObject) => {
      const k = serializeEvent(e);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(e);
      }
    };
    const descriptors = new Set(snapshot._nodes.flatMap((n) => n.ownEvents));
    for (const d of descriptors) {
      if (d.startsWith('xstate.done.state.') || d === 'xstate.init' || d === 'xstate.stop') continue;
      if (d === '*' || d.endsWith('.*')) {
        for (const e of specEvents) if (matchesDescriptor(e.type, d)) add(e);
        for (const id of activeInvokeIds(snapshot)) {
          for (const t of [`${DONE_ACTOR}${id}`, `${ERROR_ACTOR}${id}`]) {
            if (matchesDescriptor(t, d)) for (const e of byType.get(t) ?? [defaultEvent(t)]) add(e);
          }
        }
        continue;
      }
      for (const e of byType.get(d) ?? [defaultEvent(d)]) add(e);
    }
    return out;
  };
}

/** Stable event identity for the graph (Errors become their name and message). */
export function serializeEvent(event: EventObject): string {
  return JSON.stringify(event, errorReplacer);
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}

/** `TYPE` alone, or `TYPE {payload}` when the event carries more than its type. */
export function formatEvent(event: EventObject): string {
  const { type, ...rest } = event as EventObject & Record<string, unknown>;
  const keys = Object.keys(rest).filter((k) => rest[k] !== undefined);
  if (keys.length === 0) return type;
  const payload: Record<string, unknown> = {};
  for (const k of keys) payload[k] = rest[k];
  return `${type} ${JSON.stringify(payload, errorReplacer)}`;
}

/** Readable state value: `idle`, `busy.running`, parallel regions as `{a.x, b.y}`. */
export function formatStateValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  const parts = entries.map(([k, v]) => {
    const inner = formatStateValue(v);
    return inner === '' ? k : `${k}.${inner}`;
  });
  if (parts.length === 1) return parts[0] ?? '';
  return `{${parts.join(', ')}}`;
}

/** Default state identity: JSON of value + context (the contract's default). */
export function defaultSerializeState(snapshot: { value: unknown; context: unknown }): string {
  return JSON.stringify({ value: snapshot.value, context: snapshot.context }, errorReplacer);
}
