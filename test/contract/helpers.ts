/**
 * Helpers of the chart ↔ runtime contract tests: the events each chart accepts, the runtime's source
 * text (and which machine each event object it builds is typed for), the logic a real system runs
 * (recorded through its inspector: the implementations src/runtime/tree.ts provides) and a
 * classification of named implementations (placeholder, built-in, constant guard).
 */
import { testTimings } from '../runtime/helpers.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node as TsNode, Type as TsType } from 'typescript';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import { acquisitionMachine } from '../../machines/acquisition.machine.js';
import { agentMachine } from '../../machines/agent.machine.js';
import { allocationMachine } from '../../machines/allocation.machine.js';
import { allocatorMachine } from '../../machines/allocator.machine.js';
import { dispatcherMachine } from '../../machines/dispatcher.machine.js';
import { poolMachine } from '../../machines/pool.machine.js';
import { rebalancerMachine } from '../../machines/rebalancer.machine.js';
import { scalerMachine } from '../../machines/scaler.machine.js';
import { systemMachine } from '../../machines/system.machine.js';
import { createAgentPoolSystem, defineAgent, ManualClock } from '../../src/index.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Every chart in machines/, by machine id. */
export const MACHINES = {
  system: systemMachine,
  pool: poolMachine,
  agent: agentMachine,
  acquisition: acquisitionMachine,
  allocator: allocatorMachine,
  allocation: allocationMachine,
  dispatcher: dispatcherMachine,
  rebalancer: rebalancerMachine,
  scaler: scalerMachine,
} as const satisfies Record<string, AnyStateMachine>;
export type MachineName = keyof typeof MACHINES;
export const MACHINE_NAMES = Object.keys(MACHINES) as MachineName[];

// ---------------------------------------------------------------------------------------------
// Events a chart accepts
// ---------------------------------------------------------------------------------------------

interface NodeLike {
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  states: Record<string, NodeLike>;
  id: string;
}
interface TransitionLike {
  guard?: unknown;
  eventType: string;
}

/** XState's own events (after/done/error/init/stop…) and wildcards are no runtime's to send. */
export function isInternalEvent(type: string): boolean {
  return type.startsWith('xstate.') || type === '*' || type.includes('*');
}

/** Every state node of a machine, depth first. */
export function stateNodes(machine: AnyStateMachine): NodeLike[] {
  const out: NodeLike[] = [];
  const walk = (n: NodeLike) => {
    out.push(n);
    for (const s of Object.values(n.states)) walk(s);
  };
  walk(machine.root as unknown as NodeLike);
  return out;
}

/** The external event types a chart accepts (in any state), sorted. */
export function acceptedEvents(machine: AnyStateMachine): string[] {
  const events = new Set<string>();
  for (const n of stateNodes(machine))
    for (const k of n.transitions.keys()) if (!isInternalEvent(k)) events.add(k);
  return [...events].sort();
}

/** Every transition of a chart (event and eventless), with the state node it leaves. */
export function transitions(machine: AnyStateMachine): { node: string; t: TransitionLike }[] {
  const out: { node: string; t: TransitionLike }[] = [];
  for (const n of stateNodes(machine)) {
    for (const ts of n.transitions.values()) for (const t of ts) out.push({ node: n.id, t });
    for (const t of n.always ?? []) out.push({ node: n.id, t });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The runtime's source text
// ---------------------------------------------------------------------------------------------

/** Folders of src/ that are not the running system: the graph checker and the simulator. */
export const NOT_RUNTIME = ['src/verify', 'src/sim'];

export interface SourceFile {
  /** Path relative to the repository root. */
  path: string;
  /** The file's text with comments blanked out (strings kept), so doc examples do not count. */
  code: string;
}

/** Every .ts file under src/ except {@link NOT_RUNTIME}, comments stripped. */
export function runtimeSources(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(ROOT, p).split('\\').join('/');
      if (e.isDirectory()) {
        if (!NOT_RUNTIME.includes(rel)) walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        out.push({ path: rel, code: stripComments(readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(join(ROOT, 'src'));
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Blank out `//` and `/* *\/` comments, keeping strings and template literals (and line numbers:
 * comment characters become spaces, newlines stay).
 */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && src[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) out += src[i] === '\n' ? '\n' : ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      out += c;
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') {
          out += src[i]!;
          i++;
        }
        if (i < n) out += src[i]!;
        i++;
      }
      if (i < n) out += src[i]!;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where the runtime builds an event object of this type: `type: 'EVENT'` (any quote) as a value, or
 * as a branch of a conditional value — not a type literal member (`type: 'EVENT';`). Returns
 * `path:line` of each occurrence.
 */
export function sitesOf(event: string, sources: readonly SourceFile[]): string[] {
  // The literal is the value, or one branch of a conditional value (`type: lost ? 'A' : 'B'`).
  const re = new RegExp(`\\btype\\s*:\\s*(?:[^,;{}]*?[?:]\\s*)?(['"\`])${escape(event)}\\1(?!\\s*;)`, 'g');
  const sites: string[] = [];
  for (const f of sources) {
    for (const m of f.code.matchAll(re)) {
      const line = f.code.slice(0, m.index).split('\n').length;
      sites.push(`${f.path}:${line}`);
    }
  }
  return sites;
}

// ---------------------------------------------------------------------------------------------
// The logic the runtime runs
// ---------------------------------------------------------------------------------------------

export function isMachine(x: unknown): x is AnyStateMachine {
  return typeof x === 'object' && x !== null && '__xstatenode' in x && 'root' in x;
}

/** What a real system ran, seen through one inspector. */
export interface Observed {
  /** The logic of every machine actor the system created, by machine id (one per kind expected). */
  logics: Map<string, Set<AnyStateMachine>>;
  /** Every actor created, in order. */
  actors: AnyActorRef[];
}

/**
 * Run a real system through every kind of actor — pools, agents, a scaler, the dispatcher, the
 * allocator, the rebalancer, a waiting acquisition, an allocation — and record, through its
 * inspector, the logic each actor really ran (however the runtime creates it: spawned by a chart or
 * created with a parent).
 */
export async function observeRealSystem(): Promise<Observed> {
  const clock = new ManualClock();
  const logics = new Map<string, Set<AnyStateMachine>>();
  const actors: AnyActorRef[] = [];
  const timings = testTimings;
  const agent = defineAgent({ echo: (x: unknown) => x });
  const sys = createAgentPoolSystem({
    clock,
    limits: { memoryMb: 1_000 },
    rebalance: true,
    inspect: (e: InspectionEvent) => {
      if (e.type !== '@xstate.actor') return;
      actors.push(e.actorRef as AnyActorRef);
      const logic = (e.actorRef as { logic?: unknown }).logic;
      if (!isMachine(logic)) return;
      const set = logics.get(logic.id) ?? new Set<AnyStateMachine>();
      set.add(logic);
      logics.set(logic.id, set);
    },
    pools: {
      code: { agent, min: 1, max: 2, healthCheckIntervalMs: 0, timings },
      qa: { agent, min: 1, max: 2, healthCheckIntervalMs: 0, timings, autoscale: true },
    },
  });
  await sys.start();
  await clock.advanceAsync(0);
  // An allocation (a lease with requirements), then an acquisition that has to wait.
  const a = await sys.acquire('code', { cycleId: 'a', requirements: { memoryMb: 100 } });
  const b = await sys.acquire('code', { cycleId: 'b' });
  const waiting = sys.acquire('code', { cycleId: 'c', timeoutMs: 5_000 });
  await clock.advanceAsync(0);
  await b.release();
  await (await waiting).release();
  await a.release();
  await sys.submit({ type: 'qa', task: 'echo', input: 1 });
  const down = sys.shutdown({ graceful: true, deadlineMs: 1_000 });
  await clock.advanceAsync(5_000);
  await down;
  return { logics, actors };
}

// ---------------------------------------------------------------------------------------------
// Classifying implementations
// ---------------------------------------------------------------------------------------------

export type Category = 'actions' | 'actors' | 'guards' | 'delays';
export const CATEGORIES: Category[] = ['actions', 'actors', 'guards', 'delays'];

/** Source text of a function without comments and whitespace. */
export function normalized(fn: unknown): string {
  return stripComments(String(fn)).replace(/\s+/g, '');
}

/** The body of a normalized function text (after its parameter list), or undefined. */
function bodyOf(src: string): string | undefined {
  const params = /^(?:async)?(?:function[\w$]*)?\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)(?:=>)?/;
  const single = /^(?:async)?[\w$]+=>/;
  const m = params.exec(src) ?? single.exec(src);
  return m ? src.slice(m[0].length) : undefined;
}

/** `() => {}`, `async (_, p) => {}`, `function () {}`, `() => undefined`. */
export function isEmptyFunction(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  const body = bodyOf(normalized(fn));
  return body === '{}' || body === 'undefined' || body === 'void0' || body === '{return;}';
}

/** A function whose body is a constant: `() => true`, `() => false`, `function () { return 1; }`. */
export function constantBody(fn: unknown): string | undefined {
  if (typeof fn !== 'function') return undefined;
  const body = bodyOf(normalized(fn));
  if (body === undefined) return undefined;
  const lit = /^\(?(true|false|!0|!1|-?\d+(?:\.\d+)?|null|undefined|void0)\)?$/;
  const m =
    lit.exec(body) ?? /^\{return\(?(true|false|!0|!1|-?\d+(?:\.\d+)?|null|undefined)\)?;?\}$/.exec(body);
  return m ? m[1] : undefined;
}

/** XState's built-in action creators (assign, emit, enqueueActions, stopChild, raise, sendTo…). */
export function isBuiltinAction(fn: unknown): boolean {
  const t = (fn as { type?: unknown } | undefined)?.type;
  return typeof fn === 'function' && typeof t === 'string' && t.startsWith('xstate.');
}

/** The creator function of a callback/promise/observable actor logic (`fromPromise(creator)`). */
export function creatorOf(logic: unknown): unknown {
  return (logic as { config?: unknown } | undefined)?.config;
}

/**
 * Why a base machine's named implementation is a placeholder the runtime must replace, or undefined
 * when it is real logic:
 * - an action whose body is empty (built-in action objects are never placeholders);
 * - an actor that is not a machine: machines/ is pure (no I/O), so a `fromPromise` there can only be
 *   a stand-in for the runtime's effect (empty, inert, or throwing "not provided");
 * - a guard or a delay whose body is a constant.
 */
export function placeholderReason(category: Category, impl: unknown): string | undefined {
  switch (category) {
    case 'actions':
      if (isBuiltinAction(impl)) return undefined;
      return isEmptyFunction(impl) ? `empty action ${normalized(impl)}` : undefined;
    case 'actors':
      if (isMachine(impl)) return undefined;
      return `effect stand-in ${normalized(creatorOf(impl) ?? impl).slice(0, 80)}`;
    case 'guards':
    case 'delays': {
      const c = constantBody(impl);
      return c === undefined ? undefined : `constant ${normalized(impl)}`;
    }
  }
}

/** Whether a provided implementation is itself still a stand-in (empty action, empty actor body, constant). */
export function providedIsPlaceholder(category: Category, impl: unknown): boolean {
  switch (category) {
    case 'actions':
      return !isBuiltinAction(impl) && isEmptyFunction(impl);
    case 'actors':
      return !isMachine(impl) && isEmptyFunction(creatorOf(impl));
    case 'guards':
    case 'delays':
      return constantBody(impl) !== undefined;
  }
}

/** Inline guard functions of a chart's transitions (named guards are strings or `{ type }` objects). */
export function inlineGuards(machine: AnyStateMachine): { where: string; fn: unknown }[] {
  const out: { where: string; fn: unknown }[] = [];
  const visit = (g: unknown, where: string) => {
    if (typeof g !== 'function') return;
    const nested = (g as { guards?: unknown[] }).guards;
    // and([...]) / or([...]) / not(...): combinators over other guards.
    if (Array.isArray(nested)) {
      for (const x of nested) visit(x, where);
      return;
    }
    out.push({ where, fn: g });
  };
  for (const { node, t } of transitions(machine)) visit(t.guard, `${node} on ${t.eventType || '(always)'}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Which machine an event object is built for (TypeScript's checker)
// ---------------------------------------------------------------------------------------------

export interface TypedSite {
  /** `path:line` of the object literal. */
  site: string;
  /** Its `type`. */
  event: string;
  /** The `type` literals of the event union the object is contextually typed by (the receiver's events). */
  union: string[];
  /** Sent with `.send()` to a ref typed `any`: the receiver's machine is not known from the types. */
  untyped?: boolean;
}

/**
 * Every object literal `{ type: <string literal type>, … }` in the runtime sources whose contextual type is an
 * event union — what `actorRef.send({ … })` (or any place typed by a machine's event type) receives.
 * The union's `type` literals tell which machine the event is for, even when event names are shared
 * (DRAIN, STOP, RELEASE…). Costs one TypeScript program over src/ (a few seconds).
 */
export async function typedEventSites(sources: readonly SourceFile[]): Promise<TypedSite[]> {
  const ts = (await import('typescript')).default;
  const rootNames = sources.map((s) => join(ROOT, s.path));
  const program = ts.createProgram({
    rootNames,
    options: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      // Node's and the DOM's types are not needed to type event objects: leaving them out halves the cost.
      types: [],
      lib: ['lib.es2022.d.ts'],
    },
  });
  const checker = program.getTypeChecker();
  const wanted = new Set(rootNames.map((f) => resolve(f)));
  const out: TypedSite[] = [];
  const literalsOf = (t: TsType): string[] => {
    const parts = t.isUnion() ? t.types : [t];
    const lits: string[] = [];
    for (const p of parts) {
      const prop = p.getProperty('type');
      if (!prop) continue;
      const pt = checker.getTypeOfSymbol(prop);
      for (const x of pt.isUnion() ? pt.types : [pt]) if (x.isStringLiteral()) lits.push(x.value);
    }
    return lits;
  };
  for (const sf of program.getSourceFiles()) {
    if (!wanted.has(resolve(sf.fileName))) continue;
    const rel = relative(ROOT, sf.fileName).split('\\').join('/');
    const visit = (node: TsNode): void => {
      if (ts.isObjectLiteralExpression(node)) {
        for (const p of node.properties) {
          if (!ts.isPropertyAssignment(p) || p.name.getText(sf) !== 'type') continue;
          // The value's type: a literal, or a union of them (`lost ? 'AGENT_LOST' : 'RELEASE'`).
          const vt = checker.getTypeAtLocation(p.initializer);
          const values = (vt.isUnion() ? vt.types : [vt]).flatMap((x) =>
            x.isStringLiteral() ? [x.value] : [],
          );
          if (values.length === 0) continue;
          const ct = checker.getContextualType(node);
          if (!ct) continue;
          const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
          // Sent through an untyped ref (`ActorRef<any, any>`): the receiver is unknown to the types.
          const call: TsNode = node.parent;
          const isSendArg =
            ts.isCallExpression(call) &&
            call.arguments[0] === node &&
            ts.isPropertyAccessExpression(call.expression) &&
            call.expression.name.text === 'send';
          if (ct.flags & ts.TypeFlags.Any) {
            if (isSendArg)
              for (const event of values)
                out.push({ site: `${rel}:${line}`, event, union: [], untyped: true });
            continue;
          }
          const union = literalsOf(ct);
          if (union.length === 0) continue;
          for (const event of values)
            out.push({ site: `${rel}:${line}`, event, union: [...new Set(union)].sort() });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}
