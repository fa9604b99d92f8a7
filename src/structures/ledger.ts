/**
 * The multi-resource ledger: how much of each resource exists (global limits), how much one agent may
 * hold (per-agent max and min), and which allocations hold what.
 *
 * Pure and synchronous. It is meant to have exactly one writer — the allocator actor
 * (machines/allocator.machine.ts) — so that every check-then-act happens inside one event and no race
 * can over-allocate. Every operation on a live allocation is O(number of resources).
 *
 * **State is plain JSON data.** Everything the ledger knows lives in one {@link LedgerState} object:
 * records keyed by resource name and allocation id, no `Infinity` (an unlimited resource is simply not
 * listed), no typed arrays, Maps, Sets or class instances, so it survives
 * `JSON.parse(JSON.stringify(state))` unchanged. That is what the allocator keeps in its machine
 * context (inspectable, persistable). The {@link Ledger} class is a view over such an object:
 * `new Ledger(config)` validates a config and creates the state, {@link Ledger.over} wraps an existing
 * state without copying it, and every method reads and writes `ledger.state` in place. The view only
 * adds derived, never-changing lookups (resource index, limits as numbers).
 *
 * Two kinds of "no":
 * - a request that can **never** fit (negative, NaN, unknown resource, above the per-agent max or the
 *   global total) throws a typed error (`InvalidArgumentError` / {@link ResourceExhaustedError});
 * - a request that does not fit **now** returns `{ ok: false, reason }` naming the resource, the amount
 *   requested and the amount available, so the caller can wait and retry.
 *
 * Either way the ledger is unchanged: every check runs before the first write.
 *
 * Over 400 lines because the ledger is one data structure with its invariants (reserve, resize,
 * release exactly once, per-agent bounds) over one plain-data state; its operations share that state.
 */
import { ResourceExhaustedError } from '../core/errors.js';
import { invalid, type Kind, knownKeys, record, reqNum } from '../core/validate.js';

/** The resources every ledger knows. User-defined names are added with {@link LedgerConfig.custom}. */
export const STANDARD_RESOURCES = ['memoryMb', 'cpuCores', 'tokens', 'diskMb', 'networkMbps'] as const;

/** A standard resource name. */
export type StandardResource = (typeof STANDARD_RESOURCES)[number];

/** Amounts per resource name. Missing resources count as 0. */
export type ResourceAmounts = Readonly<Record<string, number>>;

/**
 * Tolerance for floating-point comparisons. Fractional resources (0.1 CPU) accumulate rounding error
 * over thousands of reserve/release pairs; without a tolerance a request for exactly what is free could
 * be refused by 1e-16.
 */
export const LEDGER_EPSILON = 1e-9;

/** Configuration of a {@link Ledger}. */
export interface LedgerConfig {
  /** Extra resource names (e.g. `gpus`, `licences`). Must not repeat a standard name. @default [] */
  custom?: readonly string[];
  /**
   * Global totals. A resource with no limit is unlimited (it is still tracked).
   * @example { memoryMb: 16_384, cpuCores: 8, tokens: 2_000_000 }
   */
  limits?: ResourceAmounts;
  /** The most one allocation may hold of each resource. @default unlimited */
  perAgentMax?: ResourceAmounts;
  /**
   * The least one allocation holds of each resource: reservations and resizes below it are raised to it,
   * so an agent always keeps what it needs to stay alive. @default 0
   */
  perAgentMin?: ResourceAmounts;
  /**
   * Starting quotas per group (a pool's type) per resource — see {@link Ledger.setQuota}.
   * @default none
   * @example { code: { memoryMb: 2048 } }
   */
  quotas?: Readonly<Record<string, ResourceAmounts>>;
  /**
   * How many released allocation ids are remembered so that a second release can be reported as
   * `already-released` rather than `unknown`. Bounded so the ledger does not grow with history.
   * @default 4096
   */
  releasedMemory?: number;
}

/** One live allocation. */
export interface Allocation {
  /** Unique id (caller-chosen or generated `alloc-N`). */
  readonly id: string;
  /** Who holds it (agent id, cycle id…); used to release everything an agent held when it is lost. */
  readonly owner: string | undefined;
  /** The quota group it counts against (a pool's type), if any. */
  readonly group?: string;
  /** What it holds. Every resource of the ledger is present (0 when not held). */
  readonly amounts: ResourceAmounts;
}

/** Where a refusal came from: the global total, or the quota of the request's group (a pool's). */
export type RefusalScope = 'global' | 'per-agent-max' | 'quota';

/** Why a request does not fit now. */
export interface Refusal {
  /** The first resource that does not fit. */
  resource: string;
  /** The amount asked for (for a resize: the new total). */
  requested: number;
  /** The amount that could be had now. */
  available: number;
  /** Which limit refused it. */
  scope: RefusalScope;
}

/** Result of {@link Ledger.reserve} and {@link Ledger.resize}. */
export type ReserveResult = { ok: true; allocation: Allocation } | { ok: false; reason: Refusal };

/** Result of {@link Ledger.release}: a second release is a no-op and says so. */
export type ReleaseResult =
  { released: true; allocation: Allocation } | { released: false; reason: 'already-released' | 'unknown' };

/** A reservation request. */
export interface ReserveRequest {
  /** Allocation id; generated when omitted. Must not be live already. */
  id?: string;
  /** Holder of the allocation. */
  owner?: string;
  /**
   * The quota group it counts against (a pool's type): a group with a quota on a resource can hold at
   * most that much of it in total ({@link Ledger.setQuota}); without one only the global limit applies.
   */
  group?: string;
  /** What to reserve. Unknown resource names, negative and non-finite amounts are errors. */
  amounts: ResourceAmounts;
}

/** A resize: either add `delta` (negative shrinks) or set the new totals `to`. Unnamed resources keep their amount. */
export type ResizeChange = { delta: ResourceAmounts } | { to: ResourceAmounts };

/** One live allocation as stored in a {@link LedgerState}. */
export interface LedgerEntry {
  /** Holder of the allocation; absent when it has none. */
  owner?: string;
  /** Quota group; absent when it has none. */
  group?: string;
  /** What it holds: every resource of the ledger, in resource order (0 when not held). */
  amounts: Record<string, number>;
}

/**
 * Everything a {@link Ledger} knows, as plain JSON data (see the module comment). Create it with
 * `new Ledger(config).state`; change it only through a {@link Ledger} (`Ledger.over(state)`), which
 * keeps the invariants (`used` is the sum of the live amounts, `size` their count).
 */
export interface LedgerState {
  /** Resource names in order: the standard ones, then `custom`. Never changes. */
  resources: string[];
  /** Global totals. A resource that is not listed is unlimited. Never changes. */
  limits: Record<string, number>;
  /** The most one allocation may hold. A resource that is not listed is unlimited. Never changes. */
  perAgentMax: Record<string, number>;
  /** The least one allocation holds. A resource that is not listed has no minimum. Never changes. */
  perAgentMin: Record<string, number>;
  /** Sum of what live allocations hold: every resource. */
  used: Record<string, number>;
  /** Live allocations by id. */
  live: Record<string, LedgerEntry>;
  /**
   * Quotas per group (a pool's type) per resource: the most that group's allocations may hold together.
   * Set at run time by the resource scaler; a resource that is not listed has no quota.
   */
  quotas: Record<string, Record<string, number>>;
  /** What each group's live allocations hold together, per resource (only resources they hold). */
  groupUsed: Record<string, Record<string, number>>;
  /** Number of live allocations. */
  size: number;
  /**
   * Recently released ids (a ring of at most `releasedMemory`, next write at `releasedHead`), so that a
   * second release reports `already-released` rather than `unknown`.
   */
  released: string[];
  releasedHead: number;
  releasedMemory: number;
  /** Last generated id number (`alloc-N`). */
  seq: number;
}

const LEDGER_KEYS: ReadonlySet<string> = new Set([
  'custom',
  'limits',
  'perAgentMax',
  'perAgentMin',
  'quotas',
  'releasedMemory',
]);

/** `o[k] = v`, also for the key `__proto__` (an own property, not the prototype). */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/** `o[k]` if `k` is an own key (so `constructor`, `toString`… are not allocation ids). */
function getOwn<T>(o: Record<string, T>, k: string): T | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/** Validate a ledger config and build its empty state. */
function createLedgerState(config: LedgerConfig): LedgerState {
  const kind: Kind = 'config';
  const cfg = record(kind, 'ledger', config);
  knownKeys(kind, 'ledger', cfg, LEDGER_KEYS);
  const names: string[] = [...STANDARD_RESOURCES];
  const custom = cfg.custom;
  if (custom !== undefined) {
    if (!Array.isArray(custom)) invalid(kind, 'ledger.custom', custom, 'an array of resource names');
    custom.forEach((name: unknown, i) => {
      if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
        invalid(kind, `ledger.custom[${i}]`, name, 'an identifier-like resource name');
      }
      if (names.includes(name)) invalid(kind, `ledger.custom[${i}]`, name, 'a name not already declared');
      names.push(name);
    });
  }
  const known = new Set(names);
  const limits = readAmounts('ledger.limits', cfg.limits, known, true);
  const perAgentMax = readAmounts('ledger.perAgentMax', cfg.perAgentMax, known, true);
  const perAgentMin = readAmounts('ledger.perAgentMin', cfg.perAgentMin, known, false);
  for (const name of names) {
    const lo = perAgentMin[name] ?? 0;
    const hi = perAgentMax[name] ?? Number.POSITIVE_INFINITY;
    const total = limits[name] ?? Number.POSITIVE_INFINITY;
    if (lo > hi) invalid(kind, `ledger.perAgentMin.${name}`, lo, `<= perAgentMax (${hi})`);
    if (lo > total) invalid(kind, `ledger.perAgentMin.${name}`, lo, `<= limits (${total})`);
  }
  const quotas: Record<string, Record<string, number>> = {};
  if (cfg.quotas !== undefined) {
    const q = record(kind, 'ledger.quotas', cfg.quotas);
    for (const group of Object.keys(q)) {
      setOwn(quotas, group, readAmounts(`ledger.quotas.${group}`, q[group], known, true));
    }
  }
  const used: Record<string, number> = {};
  for (const name of names) used[name] = 0;
  return {
    resources: names,
    limits,
    perAgentMax,
    perAgentMin,
    used,
    live: {},
    quotas,
    groupUsed: {},
    size: 0,
    released: [],
    releasedHead: 0,
    releasedMemory:
      cfg.releasedMemory === undefined
        ? 4096
        : reqNum(kind, 'ledger.releasedMemory', cfg.releasedMemory, { min: 0, integer: true }),
    seq: 0,
  };
}

/**
 * Read a config record of amounts. `Infinity` is an explicit "unlimited" where `unlimited` allows it
 * and is stored as "not listed"; a minimum of 0 is not listed either.
 */
function readAmounts(
  path: string,
  value: unknown,
  known: ReadonlySet<string>,
  unlimited: boolean,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === undefined) return out;
  const src = record('config', path, value);
  for (const k in src) {
    if (!known.has(k)) invalid('config', `${path}.${k}`, k, `a known resource (${[...known].join(', ')})`);
    const v = src[k];
    if (unlimited && v === Number.POSITIVE_INFINITY) continue;
    const n = reqNum('config', `${path}.${k}`, v, { min: 0 });
    if (unlimited || n > 0) out[k] = n;
  }
  return out;
}

/**
 * An independent deep copy of a ledger state (O(allocations)). The never-changing parts (resource
 * names, limits) are shared.
 */
export function cloneLedgerState(s: LedgerState): LedgerState {
  const live: Record<string, LedgerEntry> = {};
  for (const id of Object.keys(s.live)) {
    const e = s.live[id]!;
    setOwn(live, id, { ...e, amounts: { ...e.amounts } });
  }
  const nested = (o: Record<string, Record<string, number>>) => {
    const out: Record<string, Record<string, number>> = {};
    for (const k of Object.keys(o)) setOwn(out, k, { ...o[k] });
    return out;
  };
  return {
    ...s,
    used: { ...s.used },
    live,
    quotas: nested(s.quotas),
    groupUsed: nested(s.groupUsed),
    released: [...s.released],
  };
}

/** Views by state, so `Ledger.over(state)` on the hot path reuses one view per state. */
const views = new WeakMap<LedgerState, Ledger>();

/**
 * The multi-resource ledger: a view over a {@link LedgerState}.
 *
 * @example
 * ```ts
 * const ledger = new Ledger({ limits: { memoryMb: 4096, cpuCores: 4 }, perAgentMax: { memoryMb: 2048 } });
 * const r = ledger.reserve({ owner: 'agent-1', amounts: { memoryMb: 1024, cpuCores: 1 } });
 * if (r.ok) ledger.release(r.allocation.id);
 * else console.log(`${r.reason.resource}: ${r.reason.requested} > ${r.reason.available}`);
 * JSON.stringify(ledger.state); // plain data; Ledger.over(JSON.parse(text)) works on it again
 * ```
 */
export class Ledger {
  private s!: LedgerState;
  private index!: ReadonlyMap<string, number>;
  // Derived from the never-changing parts of the state (Infinity = unlimited), for O(1) checks.
  private limit!: Float64Array;
  private max!: Float64Array;
  private min!: Float64Array;
  // Scratch buffer so a request is parsed without allocating; safe because the ledger is synchronous.
  private scratch!: Float64Array;

  /** @throws {ConfigError} on unknown keys, unknown resources, negative or non-finite limits, min > max. */
  constructor(config: LedgerConfig = {}) {
    this.attach(createLedgerState(config));
  }

  /**
   * The ledger over `state`, which it reads and writes in place (no copy). The same view is returned
   * for the same state object. `state` is trusted: produce it with a ledger (`ledger.state`, possibly
   * through a JSON round trip), not by hand.
   */
  static over(state: LedgerState): Ledger {
    const cached = views.get(state);
    if (cached !== undefined) return cached;
    const l = Object.create(Ledger.prototype) as Ledger;
    l.attach(state);
    return l;
  }

  private attach(state: LedgerState): void {
    const names = state.resources;
    const n = names.length;
    // States persisted before quotas existed have neither record: start them empty.
    state.quotas ??= {};
    state.groupUsed ??= {};
    this.s = state;
    this.index = new Map(names.map((name, i) => [name, i]));
    this.limit = new Float64Array(n);
    this.max = new Float64Array(n);
    this.min = new Float64Array(n);
    this.scratch = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const name = names[i]!;
      this.limit[i] = getOwn(state.limits, name) ?? Number.POSITIVE_INFINITY;
      this.max[i] = getOwn(state.perAgentMax, name) ?? Number.POSITIVE_INFINITY;
      this.min[i] = getOwn(state.perAgentMin, name) ?? 0;
    }
    views.set(state, this);
  }

  /** The plain-data state this ledger reads and writes (live, not a copy). */
  get state(): LedgerState {
    return this.s;
  }

  /** Resource names, in index order. */
  get resources(): readonly string[] {
    return this.s.resources;
  }

  /** Number of live allocations. */
  get size(): number {
    return this.s.size;
  }

  /** True when `name` is a resource of this ledger. */
  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Global totals (`Infinity` = unlimited). */
  limits(): Record<string, number> {
    return this.toRecord(this.limit);
  }

  /** Per-agent maxima (`Infinity` = unlimited). */
  perAgentMax(): Record<string, number> {
    return this.toRecord(this.max);
  }

  /** Per-agent minima. */
  perAgentMin(): Record<string, number> {
    return this.toRecord(this.min);
  }

  /** Sum of what live allocations hold, per resource. */
  usage(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.s.resources) out[name] = this.s.used[name]!;
    return out;
  }

  /** What can still be reserved, per resource (`Infinity` when unlimited). */
  available(): Record<string, number> {
    const out: Record<string, number> = {};
    const names = this.s.resources;
    for (let i = 0; i < names.length; i++) out[names[i]!] = this.free(i);
    return out;
  }

  /** Used / limit of one resource (0 when unlimited). */
  utilization(resource: string): number {
    const i = this.indexOf('argument', 'resource', resource);
    const lim = this.limit[i]!;
    return Number.isFinite(lim) && lim > 0 ? this.s.used[resource]! / lim : 0;
  }

  /** A live allocation, if `id` is live. */
  get(id: string): Allocation | undefined {
    const e = getOwn(this.s.live, id);
    return e === undefined ? undefined : view(id, e);
  }

  /** Every live allocation (a copy, O(n)). */
  allocations(): Allocation[] {
    const live = this.s.live;
    return Object.keys(live).map((id) => view(id, live[id]!));
  }

  /** Ids of live allocations held by `owner` (O(n)). */
  idsOwnedBy(owner: string): string[] {
    const live = this.s.live;
    return Object.keys(live).filter((id) => live[id]!.owner === owner);
  }

  /**
   * Validate a request without changing anything. Useful at a public boundary before the request is
   * queued, so a bad request fails fast instead of waiting for capacity that can never come.
   *
   * @throws {InvalidArgumentError} for negative / non-finite amounts and unknown resource names.
   * @throws {ResourceExhaustedError} when an amount exceeds the per-agent max or the global total.
   */
  validate(amounts: ResourceAmounts, path = 'amounts'): void {
    this.parse(amounts, path);
  }

  /**
   * Reserve `amounts` atomically: every resource fits or nothing is reserved. Amounts below the
   * per-agent minimum are raised to it.
   *
   * @throws {InvalidArgumentError} bad amounts or a duplicate live id.
   * @throws {ResourceExhaustedError} a request that can never fit.
   */
  reserve(req: ReserveRequest): ReserveResult {
    const r = record('argument', 'request', req);
    const s = this.s;
    if (r.id !== undefined && (typeof r.id !== 'string' || r.id.length === 0)) {
      invalid('argument', 'request.id', r.id, 'a non-empty string');
    }
    if (r.owner !== undefined && typeof r.owner !== 'string')
      invalid('argument', 'request.owner', r.owner, 'a string');
    if (r.group !== undefined && (typeof r.group !== 'string' || r.group.length === 0))
      invalid('argument', 'request.group', r.group, 'a non-empty string');
    if (req.id !== undefined && Object.hasOwn(s.live, req.id)) {
      invalid('argument', 'request.id', req.id, 'an id that is not already live');
    }
    const want = this.parse(req.amounts, 'request.amounts');
    const quota = req.group === undefined ? undefined : getOwn(s.quotas, req.group);
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      const free = this.free(i);
      if (w > free + LEDGER_EPSILON) return this.refuse(i, w, free, 'global');
      if (quota !== undefined && w > 0) {
        const left = this.quotaFree(req.group as string, s.resources[i]!);
        if (w > left + LEDGER_EPSILON) return this.refuse(i, w, left, 'quota');
      }
    }
    let id = req.id;
    if (id === undefined) {
      do id = `alloc-${++s.seq}`;
      while (Object.hasOwn(s.live, id));
    }
    const names = s.resources;
    const amounts: Record<string, number> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      amounts[name] = want[i]!;
      s.used[name]! += want[i]!;
    }
    const entry: LedgerEntry = req.owner === undefined ? { amounts } : { owner: req.owner, amounts };
    if (req.group !== undefined) {
      entry.group = req.group;
      this.addGroupUse(req.group, amounts, 1);
    }
    setOwn(s.live, id, entry);
    s.size++;
    return { ok: true, allocation: view(id, entry) };
  }

  /** Release an allocation. Exactly once: a second call is a no-op reported as `already-released`. */
  release(id: string): ReleaseResult {
    const s = this.s;
    const e = getOwn(s.live, id);
    if (e === undefined) {
      // O(releasedMemory), only for an id that is not live: a repeat release or a stranger.
      return { released: false, reason: s.released.includes(id) ? 'already-released' : 'unknown' };
    }
    delete s.live[id];
    s.size--;
    if (e.group !== undefined) this.addGroupUse(e.group, e.amounts, -1);
    for (const name of s.resources) {
      const left = s.used[name]! - e.amounts[name]!;
      // Snap float residue so an empty ledger reads exactly 0.
      s.used[name] = left < LEDGER_EPSILON ? 0 : left;
    }
    this.rememberRelease(id);
    return { released: true, allocation: view(id, e) };
  }

  /**
   * Grow or shrink a live allocation atomically. Results below the per-agent minimum are raised to it
   * (so shrinking never starves an agent); growth must fit what is free and the per-agent max.
   *
   * @throws {InvalidArgumentError} unknown id, bad amounts.
   * @throws {ResourceExhaustedError} a new total above the per-agent max or the global total.
   */
  resize(id: string, change: ResizeChange): ReserveResult {
    const s = this.s;
    const e = getOwn(s.live, id);
    if (e === undefined) invalid('argument', 'id', id, 'the id of a live allocation');
    const c = record('argument', 'change', change);
    const isDelta = 'delta' in c;
    if (isDelta === 'to' in c) invalid('argument', 'change', change, 'exactly one of { delta } or { to }');
    const names = s.resources;
    const held = e.amounts;
    const target = this.scratch;
    for (let i = 0; i < names.length; i++) target[i] = held[names[i]!]!;
    const path = isDelta ? 'change.delta' : 'change.to';
    const src = record('argument', path, isDelta ? c.delta : c.to);
    for (const k in src) {
      const i = this.indexOf('argument', path, k);
      const v = reqNum('argument', `${path}.${k}`, src[k], isDelta ? {} : { min: 0 });
      target[i] = isDelta ? Math.max(0, held[k]! + v) : v;
    }
    // Check everything before writing anything.
    for (let i = 0; i < target.length; i++) {
      const t = Math.max(target[i]!, this.min[i]!);
      target[i] = t;
      this.checkNever(i, t, `${path}.${names[i]}`);
      const now = held[names[i]!]!;
      const growth = t - now;
      if (growth > 0) {
        const free = this.free(i);
        if (growth > free + LEDGER_EPSILON) return this.refuse(i, t, now + free, 'global');
        if (e.group !== undefined) {
          const left = this.quotaFree(e.group, names[i]!);
          if (growth > left + LEDGER_EPSILON) return this.refuse(i, t, now + left, 'quota');
        }
      }
    }
    const delta: Record<string, number> = {};
    for (let i = 0; i < target.length; i++) {
      const name = names[i]!;
      delta[name] = target[i]! - held[name]!;
      const left = s.used[name]! + delta[name]!;
      s.used[name] = left < LEDGER_EPSILON ? 0 : left;
      held[name] = target[i]!;
    }
    if (e.group !== undefined) this.addGroupUse(e.group, delta, 1);
    return { ok: true, allocation: view(id, e) };
  }

  /**
   * Set (or with `undefined`, remove) the quota of `group` on `resource`: from now on that group's
   * allocations may hold at most `amount` of it together. Lowering a quota below what the group holds
   * is refused (`{ ok: false, held }`) and changes nothing — held resources are never taken away; the
   * caller tries again once they are released. Quotas do not reserve anything: the global limit still
   * applies to every reservation (keeping the quotas' sum under it is the resource scaler's rule).
   *
   * @throws {InvalidArgumentError} unknown resource, empty group, negative or non-finite amount.
   */
  setQuota(
    group: string,
    resource: string,
    amount: number | undefined,
  ): { ok: true } | { ok: false; held: number } {
    if (typeof group !== 'string' || group.length === 0)
      invalid('argument', 'group', group, 'a non-empty string');
    this.indexOf('argument', 'resource', resource);
    const s = this.s;
    if (amount === undefined) {
      const q = getOwn(s.quotas, group);
      if (q !== undefined) {
        delete q[resource];
        if (Object.keys(q).length === 0) delete s.quotas[group];
      }
      return { ok: true };
    }
    reqNum('argument', 'amount', amount, { min: 0 });
    const held = getOwn(s.groupUsed, group)?.[resource] ?? 0;
    if (amount + LEDGER_EPSILON < held) return { ok: false, held };
    let q = getOwn(s.quotas, group);
    if (q === undefined) {
      q = {};
      setOwn(s.quotas, group, q);
    }
    q[resource] = amount;
    return { ok: true };
  }

  /** The quotas of `group` per resource (a copy; resources without a quota are not listed). */
  quotas(group: string): Record<string, number> {
    return { ...getOwn(this.s.quotas, group) };
  }

  /** What `group`'s live allocations hold together, per resource (a copy; 0 when nothing). */
  groupUsage(group: string): Record<string, number> {
    const g = getOwn(this.s.groupUsed, group);
    const out: Record<string, number> = {};
    for (const name of this.s.resources) out[name] = g?.[name] ?? 0;
    return out;
  }

  /** What `group` may still take of `resource` under its quota (`Infinity` without a quota). */
  quotaFree(group: string, resource: string): number {
    const q = getOwn(this.s.quotas, group)?.[resource];
    if (q === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, q - (getOwn(this.s.groupUsed, group)?.[resource] ?? 0));
  }

  /**
   * An independent copy (O(allocations)): same config, same live allocations, same released-id memory.
   * For snapshot-as-value uses (graph traversal, what-if planning); the hot path mutates in place.
   */
  clone(): Ledger {
    return Ledger.over(cloneLedgerState(this.s));
  }

  /** Free amount of resource `i` (may be fractional; `Infinity` when unlimited). */
  private free(i: number): number {
    return Math.max(0, this.limit[i]! - this.s.used[this.s.resources[i]!]!);
  }

  private refuse(i: number, requested: number, available: number, scope: RefusalScope): ReserveResult {
    return { ok: false, reason: { resource: this.s.resources[i]!, requested, available, scope } };
  }

  /** Parse a request into the scratch buffer (min applied), throwing on anything that can never fit. */
  private parse(amounts: ResourceAmounts, path: string): Float64Array {
    const src = record('argument', path, amounts);
    const out = this.scratch;
    out.fill(0);
    for (const k in src) {
      const i = this.indexOf('argument', path, k);
      out[i] = reqNum('argument', `${path}.${k}`, src[k], { min: 0 });
    }
    for (let i = 0; i < out.length; i++) {
      const v = Math.max(out[i]!, this.min[i]!);
      out[i] = v;
      this.checkNever(i, v, `${path}.${this.s.resources[i]}`);
    }
    return out;
  }

  private checkNever(i: number, amount: number, path: string): void {
    if (amount > this.max[i]! + LEDGER_EPSILON) {
      const e = new ResourceExhaustedError(this.s.resources[i]!, amount, this.max[i]!, 'per-agent max');
      e.details.path = path;
      throw e;
    }
    if (amount > this.limit[i]! + LEDGER_EPSILON) {
      const e = new ResourceExhaustedError(this.s.resources[i]!, amount, this.limit[i]!, 'global limit');
      e.details.path = path;
      throw e;
    }
  }

  private indexOf(kind: Kind, path: string, name: string): number {
    const i = this.index.get(name);
    if (i === undefined)
      invalid(kind, `${path}.${name}`, name, `a known resource (${this.s.resources.join(', ')})`);
    return i;
  }

  /** groupUsed[group] += sign × amounts (float residue snapped to 0; an empty group is dropped). */
  private addGroupUse(group: string, amounts: Readonly<Record<string, number>>, sign: 1 | -1): void {
    const s = this.s;
    let g = getOwn(s.groupUsed, group);
    if (g === undefined) {
      g = {};
      setOwn(s.groupUsed, group, g);
    }
    for (const name of Object.keys(amounts)) {
      const v = (g[name] ?? 0) + sign * amounts[name]!;
      if (v < LEDGER_EPSILON) delete g[name];
      else g[name] = v;
    }
    if (Object.keys(g).length === 0) delete s.groupUsed[group];
  }

  private rememberRelease(id: string): void {
    const s = this.s;
    if (s.releasedMemory === 0) return;
    if (s.released.length < s.releasedMemory) {
      s.released.push(id);
    } else {
      // Ring buffer: overwrite the oldest remembered id.
      s.released[s.releasedHead] = id;
      s.releasedHead = (s.releasedHead + 1) % s.releasedMemory;
    }
  }

  private toRecord(a: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    const names = this.s.resources;
    for (let i = 0; i < a.length; i++) out[names[i]!] = a[i]!;
    return out;
  }
}

/** The public view of an entry: a copy, so callers cannot change the ledger through it. */
function view(id: string, e: LedgerEntry): Allocation {
  const amounts = { ...e.amounts };
  return e.group === undefined
    ? { id, owner: e.owner, amounts }
    : { id, owner: e.owner, amounts, group: e.group };
}
