/**
 * The contract between machine authors and the graph checker: every machine in `machines/` ships a
 * `src/verify/specs/<name>.spec.ts` exporting `spec: MachineSpec`, and `agentpool verify` (plus the
 * model test `test/verify/all-machines.test.ts`) checks it.
 *
 * The first six fields are the agreed contract and must not change shape; everything after them is an
 * optional extension.
 */
import type { AnyActorRef, AnyStateMachine, EventObject } from 'xstate';

/**
 * Time as the replay sees it. Handed to {@link ReplayHooks.deliver} so a custom delivery can still
 * fire the machine's `after` timers the way the default delivery does.
 */
export interface VerifyClock {
  /** Current simulated time in milliseconds (starts at 0 for every replay). */
  now(): number;
  /**
   * Fire the pending timer that will deliver `eventType` (an `xstate.after.*` event, or any delayed
   * `raise`/`sendTo` scheduled by the actor) at its due time. Time jumps to that due time; timers due
   * earlier stay pending, because the graph treats concurrent timers as unordered and the replay
   * follows the graph's choice.
   *
   * @returns false when no such timer is pending (the machine never scheduled it, or cancelled it).
   */
  fire(eventType: string): boolean;
}

/**
 * Optional hooks for replaying generated paths on a real actor.
 *
 * The default delivery is: `xstate.after.*` steps fire the matching pending timer on the simulated
 * clock; every other step (including `xstate.done.actor.*` / `xstate.error.actor.*`, which carry the
 * `output` / `error` the graph explored) is `actor.send(event)`. Replays are synchronous, so a fake
 * `fromPromise` never settles during a replay: the graph's done/error events are the only completions
 * the actor sees. Fakes must therefore be inert (no synchronous `sendBack` on start).
 */
export interface ReplayHooks {
  /**
   * Deliver one step's event to the live actor, e.g. by resolving a controllable fake. Return `true`
   * when handled; return `false` or nothing to fall back to the default delivery.
   */
  deliver?: (actor: AnyActorRef, event: EventObject, clock: VerifyClock) => boolean | undefined;
}

/**
 * An event with a payload, as written in a spec's `events` list. Listed next to `EventObject` in
 * {@link MachineSpec.events} so object literals with payload fields (`{ type: 'REQUEST', priority: 'high' }`)
 * pass TypeScript's excess-property check while `EventObject`-typed values still fit.
 */
export type SpecEvent = { type: string; [key: string]: unknown };

/** What the checker needs to know about one machine. */
export interface MachineSpec {
  /** Short name printed by `agentpool verify`, e.g. 'agent'. */
  name: string;
  /** The machine, already `.provide()`d with side-effect-free implementations (fakes) if it invokes actors. */
  machine: AnyStateMachine;
  /** Input for createActor, if the machine needs one. */
  input?: unknown;
  /** Events to explore (payload variants included). Merged with the machine's own auto-derived event types. */
  events: Array<EventObject | SpecEvent>;
  /** A state value counts as "home" (idle/ready/final) if this returns true; liveness = home reachable from all. */
  isHome: (snapshot: { value: unknown; status: string; context: unknown }) => boolean;
  /** Serialise a snapshot for state identity (default: JSON of value + selected context). */
  serializeState?: (snapshot: { value: unknown; context: unknown }) => string;
  /** Traversal bound (default 2000 states). */
  limit?: number;
  /** Replay customisation; see {@link ReplayHooks}. Most specs need none. */
  replay?: ReplayHooks;
}

/** One problem found in one reachable state. */
export interface Finding {
  /** Readable state value, e.g. `busy.running` (parallel regions as `{a.x, b.y}`). */
  state: string;
  /** Shortest event path from the initial state to this state (`TYPE` or `TYPE {payload}` per step). */
  path: string[];
  /** Serialised state identity (distinguishes states whose value is equal but whose context differs). */
  key?: string;
  /** What went wrong, for replay failures and exploration errors. */
  detail?: string;
}

/** Result of {@link MachineSpec} checking by `checkMachine`. */
export interface MachineReport {
  /** {@link MachineSpec.name}. */
  machine: string;
  /** Distinct reachable states found (serialised identities). */
  states: number;
  /** Explored edges that lead to a different state. */
  transitions: number;
  /** Shortest paths (one per reachable state) generated and replayed on a real actor. */
  paths: number;
  /** Reachable, not final (`status: 'done'`), and no event leads anywhere else. */
  deadlocked: Finding[];
  /** Reachable states from which no home state (see {@link MachineSpec.isHome}) is reachable. */
  cannotReachIdle: Finding[];
  /** Paths whose replay on a real actor ended elsewhere than the graph predicted, or in status 'error'. */
  replayFailures: Finding[];
  /** Transitions that threw while exploring (an assign or guard that throws puts a live actor in 'error'). */
  errors: Finding[];
  /** True when the state limit stopped the traversal: the findings cover only the explored part. */
  truncated: boolean;
}
