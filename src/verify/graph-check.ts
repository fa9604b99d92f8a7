/**
 * The graph checker: explores a machine's reachable states with `xstate/graph`, finds deadlocks and
 * states that can never get home, and replays every shortest path on a real actor.
 *
 * - Exploration: `getAdjacencyMap` with a per-snapshot event list (see events.ts) and a state bound
 *   enforced through `stopWhen`, so hitting the bound yields a partial graph (`truncated: true`)
 *   instead of the library's "Traversal limit exceeded" throw.
 * - Deadlock: an explored state, not `status: 'done'`, whose every explored event leads back to itself.
 * - Liveness: reverse breadth-first search from the home states (`isHome`, plus every `status: 'done'`
 *   state: a finished actor has nowhere left to go). When truncated, unexplored frontier states count
 *   as possibly home, so a bound never produces a false liveness finding.
 * - Replay: one shortest path per reachable state (breadth-first tree), checked step by step on a real
 *   actor (replay.ts). Only the tree's leaves are replayed, since every step of a replay is checked,
 *   each leaf's replay also checks the shortest path of every state on the way.
 */
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { type AdjacencyMap, getAdjacencyMap } from 'xstate/graph';
import { defaultSerializeState, eventsFor, formatEvent, formatStateValue, serializeEvent } from './events.js';
import { type ReplayStep, replayPath } from './replay.js';
import { DEFAULT_STATE_LIMIT, validateSpec } from './spec-validate.js';
import type { Finding, MachineReport, MachineSpec } from './types.js';

/**
 * Safety bound on xstate/graph's own iteration counter (queue pops), per allowed state. The real bound
 * is the state limit; this only stops a runaway event function.
 */
const ITERATIONS_PER_STATE = 1000;

interface Edge {
  event: EventObject;
  to: string;
}

interface Node {
  snapshot: AnyMachineSnapshot;
  edges: Edge[];
  /** Breadth-first parent (undefined for the initial state). */
  parent?: { from: string; event: EventObject };
  depth: number;
}

interface RawError {
  fromKey: string;
  event: EventObject;
  detail: string;
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Wrap the machine so a transition that throws (an `assign` or guard that throws) is recorded and
 * treated as "no transition" instead of aborting the whole traversal.
 */
function guardedLogic(
  machine: AnyStateMachine,
  serialize: (s: AnyMachineSnapshot) => string,
  errors: RawError[],
) {
  const logic = Object.create(machine) as AnyStateMachine;
  logic.transition = ((snapshot: AnyMachineSnapshot, event: EventObject, scope: unknown) => {
    try {
      return machine.transition(snapshot, event, scope as never);
    } catch (err) {
      errors.push({ fromKey: serialize(snapshot), event, detail: message(err) });
      return snapshot;
    }
  }) as AnyStateMachine['transition'];
  return logic;
}

/** A report with nothing checked yet (also the base of a report for a spec that could not be checked). */
export function emptyReport(name: string): MachineReport {
  return {
    machine: name,
    states: 0,
    transitions: 0,
    paths: 0,
    deadlocked: [],
    cannotReachIdle: [],
    replayFailures: [],
    errors: [],
    truncated: false,
  };
}

/**
 * Check one machine. Synchronous and deterministic: no real timers, no I/O.
 *
 * @throws ConfigError when `spec` is malformed (unknown keys, missing `isHome`, bad `limit`…).
 * @example
 * ```ts
 * const report = checkMachine(spec);
 * if (report.deadlocked.length) console.log(report.deadlocked[0].path.join(' → '));
 * ```
 */
export function checkMachine(spec: MachineSpec): MachineReport {
  validateSpec(spec);
  const report = emptyReport(spec.name);
  const serialize = (s: { value: unknown; context: unknown }) =>
    (spec.serializeState ?? defaultSerializeState)(s);
  const limit = spec.limit ?? DEFAULT_STATE_LIMIT;
  const rawErrors: RawError[] = [];
  const expanded = new Set<string>();
  let initialKey: string | undefined;

  let adj: AdjacencyMap<AnyMachineSnapshot, EventObject>;
  try {
    adj = getAdjacencyMap(guardedLogic(spec.machine, serialize, rawErrors), {
      ...(spec.input === undefined ? {} : { input: spec.input }),
      serializeState: (s: AnyMachineSnapshot) => serialize(s),
      serializeEvent: (e: EventObject) => serializeEvent(e),
      events: eventsFor(spec.events),
      limit: (limit + 1) * ITERATIONS_PER_STATE,
      // Called once per newly discovered state: the place to bound the number of states explored.
      stopWhen: (s: AnyMachineSnapshot) => {
        const k = serialize(s);
        initialKey ??= k;
        if (expanded.size >= limit) {
          report.truncated = true;
          return true;
        }
        expanded.add(k);
        return false;
      },
    });
  } catch (err) {
    report.truncated = true;
    report.errors.push({ state: '(exploration)', path: [], detail: message(err) });
    return report;
  }
  if (initialKey === undefined) return report;

  const nodes = buildNodes(adj, serialize, initialKey);
  const pathTo = (key: string): string[] => eventPath(nodes, key).map(formatEvent);
  const finding = (key: string, detail?: string): Finding => {
    const n = nodes.get(key) as Node;
    const f: Finding = { state: formatStateValue(n.snapshot.value), path: pathTo(key), key };
    if (detail !== undefined) f.detail = detail;
    return f;
  };
  const byDepth = [...nodes.keys()].sort(
    (a, b) => (nodes.get(a) as Node).depth - (nodes.get(b) as Node).depth,
  );

  report.states = nodes.size;
  for (const [key, n] of nodes) {
    for (const e of dedupeTargets(n.edges)) if (e.to !== key) report.transitions++;
  }

  // Deadlocks: explored, not final, nothing leads elsewhere.
  for (const key of byDepth) {
    const n = nodes.get(key) as Node;
    if (!expanded.has(key) || n.snapshot.status === 'done') continue;
    if (n.edges.every((e) => e.to === key)) report.deadlocked.push(finding(key));
  }

  // Liveness: reverse search from home states.
  const preds = new Map<string, string[]>();
  for (const [key, n] of nodes) {
    for (const e of n.edges) {
      const list = preds.get(e.to);
      if (list) list.push(key);
      else preds.set(e.to, [key]);
    }
  }
  const canReachHome = new Set<string>();
  const queue: string[] = [];
  for (const [key, n] of nodes) {
    const s = n.snapshot;
    const home =
      s.status === 'done' ||
      (!expanded.has(key) && report.truncated) ||
      spec.isHome({ value: s.value, status: s.status, context: s.context });
    if (home) {
      canReachHome.add(key);
      queue.push(key);
    }
  }
  for (let i = 0; i < queue.length; i++) {
    for (const p of preds.get(queue[i] as string) ?? []) {
      if (!canReachHome.has(p)) {
        canReachHome.add(p);
        queue.push(p);
      }
    }
  }
  for (const key of byDepth) if (!canReachHome.has(key)) report.cannotReachIdle.push(finding(key));

  // Exploration errors (deduplicated per state and event).
  const seenErr = new Set<string>();
  for (const r of rawErrors) {
    const id = `${r.fromKey}\u0000${serializeEvent(r.event)}`;
    if (seenErr.has(id) || !nodes.has(r.fromKey)) continue;
    seenErr.add(id);
    const f = finding(r.fromKey, `${formatEvent(r.event)} threw: ${r.detail}`);
    f.path = [...f.path, formatEvent(r.event)];
    report.errors.push(f);
  }

  replayAll(spec, serialize, nodes, initialKey, report, finding);
  return report;
}

/** Count each (event → target) once even if several payload variants lead to the same place. */
function dedupeTargets(edges: readonly Edge[]): Edge[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const id = `${e.event.type}\u0000${e.to}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Turn the adjacency map into nodes with serialised successor keys and a breadth-first tree. */
function buildNodes(
  adj: AdjacencyMap<AnyMachineSnapshot, EventObject>,
  serialize: (s: AnyMachineSnapshot) => string,
  initialKey: string,
): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const [key, v] of Object.entries(adj)) {
    const transitions = Object.values(v.transitions) as { event: EventObject; state: AnyMachineSnapshot }[];
    const edges = transitions.map((t) => ({ event: t.event, to: serialize(t.state) }));
    nodes.set(key, { snapshot: v.state, edges, depth: Number.POSITIVE_INFINITY });
  }
  const start = nodes.get(initialKey);
  if (!start) return nodes;
  start.depth = 0;
  const queue = [initialKey];
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i] as string;
    const n = nodes.get(from) as Node;
    for (const e of n.edges) {
      const next = nodes.get(e.to);
      if (next && next.depth === Number.POSITIVE_INFINITY) {
        next.depth = n.depth + 1;
        next.parent = { from, event: e.event };
        queue.push(e.to);
      }
    }
  }
  return nodes;
}

/** Events along the breadth-first tree from the initial state to `key`. */
function eventPath(nodes: Map<string, Node>, key: string): EventObject[] {
  const events: EventObject[] = [];
  for (let n = nodes.get(key); n?.parent; n = nodes.get(n.parent.from)) events.push(n.parent.event);
  return events.reverse();
}

/** Replay the path to every leaf of the breadth-first tree; record which states were confirmed. */
function replayAll(
  spec: MachineSpec,
  serialize: (s: { value: unknown; context: unknown }) => string,
  nodes: Map<string, Node>,
  initialKey: string,
  report: MachineReport,
  finding: (key: string, detail?: string) => Finding,
): void {
  const hasChild = new Set<string>();
  for (const n of nodes.values()) if (n.parent) hasChild.add(n.parent.from);
  const leaves = [...nodes.keys()].filter((k) => !hasChild.has(k) && (nodes.get(k) as Node).depth < Infinity);
  const confirmed = new Set<string>();
  const failed = new Set<string>();
  for (const leaf of leaves) {
    const keys: string[] = [];
    for (let k: string | undefined = leaf; k !== undefined; k = nodes.get(k)?.parent?.from) keys.push(k);
    keys.reverse(); // keys[0] is the initial state
    if (keys.every((k) => confirmed.has(k))) continue;
    const steps: ReplayStep[] = keys.slice(1).map((k) => ({
      event: (nodes.get(k) as Node).parent?.event as EventObject,
      expectedKey: k,
    }));
    const failure = replayPath(spec, serialize, initialKey, steps);
    const okUpTo = failure ? failure.step : steps.length; // keys[0..okUpTo] confirmed
    for (let i = 0; i <= okUpTo && i < keys.length; i++) confirmed.add(keys[i] as string);
    if (failure) {
      if (failure.step === -1) {
        // The initial state itself is wrong: every other replay would fail the same way.
        failed.add(initialKey);
        report.replayFailures.push(finding(initialKey, failure.detail));
        break;
      }
      const bad = keys[failure.step + 1] as string;
      confirmed.delete(bad);
      if (!failed.has(bad)) {
        failed.add(bad);
        report.replayFailures.push(finding(bad, failure.detail));
      }
    }
  }
  report.paths = confirmed.size + failed.size;
}
