/**
 * The multi-resource ledger: how much of each resource exists (global limits), how much one agent may
 * hold (per-agent max and min), and which allocations hold what.
 *
 * Pure and synchronous. It is meant to have exactly one writer — the allocator actor
 * (machines/allocator.machine.ts) — so that every check-then-act happens inside one event and no race
 * can over-allocate. Every operation is O(number of resources): amounts live in `Float64Array`s indexed
 * by a resource number resolved once per request key.
 *
 * Two kinds of "no":
 * - a request that can **never** fit (negative, NaN, unknown resource, above the per-agent max or the
 *   global total) throws a typed error (`InvalidArgumentError` / {@link ResourceExhaustedError});
 * - a request that does not fit **now** returns `{ ok: false, reason }` naming the resource, the amount
 *   requested and the amount available, so the caller can wait and retry.
 *
 * Either way the ledger is unchanged: every check runs before the first write.
 */
import { ResourceExhaustedError } from '../errors/errors.js';
import { invalid, type Kind, knownKeys, record, reqNum } from '../errors/validate.js';

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
  /** What it holds. Every resource of the ledger is present (0 when not held). */
  readonly amounts: ResourceAmounts;
}

/** Where a refusal came from. */
export type RefusalScope = 'global' | 'per-agent-max';

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
  /** What to reserve. Unknown resource names, negative and non-finite amounts are errors. */
  amounts: ResourceAmounts;
}

/** A resize: either add `delta` (negative shrinks) or set the new totals `to`. Unnamed resources keep their amount. */
export type ResizeChange = { delta: ResourceAmounts } | { to: ResourceAmounts };

interface Entry {
  id: string;
  owner: string | undefined;
  amounts: Float64Array;
}

const LEDGER_KEYS: ReadonlySet<string> = new Set([
  'custom',
  'limits',
  'perAgentMax',
  'perAgentMin',
  'releasedMemory',
]);

/**
 * The multi-resource ledger.
 *
 * @example
 * ```ts
 * const ledger = new Ledger({ limits: { memoryMb: 4096, cpuCores: 4 }, perAgentMax: { memoryMb: 2048 } });
 * const r = ledger.reserve({ owner: 'agent-1', amounts: { memoryMb: 1024, cpuCores: 1 } });
 * if (r.ok) ledger.release(r.allocation.id);
 * else console.log(`${r.reason.resource}: ${r.reason.requested} > ${r.reason.available}`);
 * ```
 */
export class Ledger {
  /** Resource names, in index order. */
  readonly resources: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  private readonly limit: Float64Array;
  private readonly max: Float64Array;
  private readonly min: Float64Array;
  private readonly used: Float64Array;
  private readonly live = new Map<string, Entry>();
  private readonly released = new Set<string>();
  private readonly releasedOrder: string[] = [];
  private releasedHead = 0;
  private readonly releasedMemory: number;
  private seq = 0;
  // Scratch buffer so a request is parsed without allocating; safe because the ledger is synchronous.
  private readonly scratch: Float64Array;

  /** @throws {ConfigError} on unknown keys, unknown resources, negative or non-finite limits, min > max. */
  constructor(config: LedgerConfig = {}) {
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
    this.resources = Object.freeze(names);
    this.index = new Map(names.map((n, i) => [n, i]));
    const n = names.length;
    this.limit = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    this.min = new Float64Array(n);
    this.used = new Float64Array(n);
    this.scratch = new Float64Array(n);
    this.readAmounts(kind, 'ledger.limits', cfg.limits, this.limit);
    this.readAmounts(kind, 'ledger.perAgentMax', cfg.perAgentMax, this.max);
    this.readAmounts(kind, 'ledger.perAgentMin', cfg.perAgentMin, this.min);
    for (let i = 0; i < n; i++) {
      const lo = this.min[i]!;
      if (lo > this.max[i]!)
        invalid(kind, `ledger.perAgentMin.${names[i]}`, lo, `<= perAgentMax (${this.max[i]})`);
      if (lo > this.limit[i]!)
        invalid(kind, `ledger.perAgentMin.${names[i]}`, lo, `<= limits (${this.limit[i]})`);
    }
    this.releasedMemory =
      cfg.releasedMemory === undefined
        ? 4096
        : reqNum(kind, 'ledger.releasedMemory', cfg.releasedMemory, { min: 0, integer: true });
  }

  /** Number of live allocations. */
  get size(): number {
    return this.live.size;
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
    return this.toRecord(this.used);
  }

  /** What can still be reserved, per resource (`Infinity` when unlimited). */
  available(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.resources.length; i++) out[this.resources[i]!] = this.free(i);
    return out;
  }

  /** Used / limit of one resource (0 when unlimited). */
  utilisation(resource: string): number {
    const i = this.indexOf('argument', 'resource', resource);
    const lim = this.limit[i]!;
    return Number.isFinite(lim) && lim > 0 ? this.used[i]! / lim : 0;
  }

  /** A live allocation, if `id` is live. */
  get(id: string): Allocation | undefined {
    const e = this.live.get(id);
    return e === undefined ? undefined : this.view(e);
  }

  /** Every live allocation (a copy, O(n)). */
  allocations(): Allocation[] {
    return [...this.live.values()].map((e) => this.view(e));
  }

  /** Ids of live allocations held by `owner` (O(n)). */
  idsOwnedBy(owner: string): string[] {
    const out: string[] = [];
    for (const e of this.live.values()) if (e.owner === owner) out.push(e.id);
    return out;
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
    if (r.id !== undefined && (typeof r.id !== 'string' || r.id.length === 0)) {
      invalid('argument', 'request.id', r.id, 'a non-empty string');
    }
    if (r.owner !== undefined && typeof r.owner !== 'string')
      invalid('argument', 'request.owner', r.owner, 'a string');
    if (req.id !== undefined && this.live.has(req.id)) {
      invalid('argument', 'request.id', req.id, 'an id that is not already live');
    }
    const want = this.parse(req.amounts, 'request.amounts');
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      const free = this.free(i);
      if (w > free + LEDGER_EPSILON) return this.refuse(i, w, free, 'global');
    }
    let id = req.id;
    if (id === undefined) {
      do id = `alloc-${++this.seq}`;
      while (this.live.has(id));
    }
    const amounts = Float64Array.from(want);
    for (let i = 0; i < amounts.length; i++) this.used[i]! += amounts[i]!;
    const entry: Entry = { id, owner: req.owner, amounts };
    this.live.set(id, entry);
    this.forgetRelease(id);
    return { ok: true, allocation: this.view(entry) };
  }

  /** Release an allocation. Exactly once: a second call is a no-op reported as `already-released`. */
  release(id: string): ReleaseResult {
    const e = this.live.get(id);
    if (e === undefined) {
      return { released: false, reason: this.released.has(id) ? 'already-released' : 'unknown' };
    }
    this.live.delete(id);
    for (let i = 0; i < e.amounts.length; i++) {
      const left = this.used[i]! - e.amounts[i]!;
      // Snap float residue so an empty ledger reads exactly 0.
      this.used[i] = left < LEDGER_EPSILON ? 0 : left;
    }
    this.rememberRelease(id);
    return { released: true, allocation: this.view(e) };
  }

  /**
   * Grow or shrink a live allocation atomically. Results below the per-agent minimum are raised to it
   * (so shrinking never starves an agent); growth must fit what is free and the per-agent max.
   *
   * @throws {InvalidArgumentError} unknown id, bad amounts.
   * @throws {ResourceExhaustedError} a new total above the per-agent max or the global total.
   */
  resize(id: string, change: ResizeChange): ReserveResult {
    const e = this.live.get(id);
    if (e === undefined) invalid('argument', 'id', id, 'the id of a live allocation');
    const c = record('argument', 'change', change);
    const isDelta = 'delta' in c;
    if (isDelta === 'to' in c) invalid('argument', 'change', change, 'exactly one of { delta } or { to }');
    const target = this.scratch;
    target.set(e.amounts);
    const path = isDelta ? 'change.delta' : 'change.to';
    const src = record('argument', path, isDelta ? c.delta : c.to);
    for (const k in src) {
      const i = this.indexOf('argument', path, k);
      const v = reqNum('argument', `${path}.${k}`, src[k], isDelta ? {} : { min: 0 });
      target[i] = isDelta ? Math.max(0, e.amounts[i]! + v) : v;
    }
    // Check everything before writing anything.
    for (let i = 0; i < target.length; i++) {
      const t = Math.max(target[i]!, this.min[i]!);
      target[i] = t;
      this.checkNever(i, t, `${path}.${this.resources[i]}`);
      const growth = t - e.amounts[i]!;
      if (growth > 0) {
        const free = this.free(i);
        if (growth > free + LEDGER_EPSILON) return this.refuse(i, t, e.amounts[i]! + free, 'global');
      }
    }
    for (let i = 0; i < target.length; i++) {
      const left = this.used[i]! + (target[i]! - e.amounts[i]!);
      this.used[i] = left < LEDGER_EPSILON ? 0 : left;
      e.amounts[i] = target[i]!;
    }
    return { ok: true, allocation: this.view(e) };
  }

  /**
   * An independent copy (O(allocations)): same config, same live allocations, same released-id memory.
   * For snapshot-as-value uses (graph traversal, what-if planning); the hot path mutates in place.
   */
  clone(): Ledger {
    const c: Ledger = Object.create(Ledger.prototype);
    const fields = {
      resources: this.resources,
      index: this.index,
      limit: this.limit,
      max: this.max,
      min: this.min,
      used: Float64Array.from(this.used),
      live: new Map([...this.live].map(([id, e]) => [id, { ...e, amounts: Float64Array.from(e.amounts) }])),
      released: new Set(this.released),
      releasedOrder: [...this.releasedOrder],
      releasedHead: this.releasedHead,
      releasedMemory: this.releasedMemory,
      seq: this.seq,
      scratch: new Float64Array(this.resources.length),
    };
    Object.assign(c, fields);
    return c;
  }

  /** Free amount of resource `i` (may be fractional; `Infinity` when unlimited). */
  private free(i: number): number {
    return Math.max(0, this.limit[i]! - this.used[i]!);
  }

  private refuse(i: number, requested: number, available: number, scope: RefusalScope): ReserveResult {
    return { ok: false, reason: { resource: this.resources[i]!, requested, available, scope } };
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
      this.checkNever(i, v, `${path}.${this.resources[i]}`);
    }
    return out;
  }

  private checkNever(i: number, amount: number, path: string): void {
    if (amount > this.max[i]! + LEDGER_EPSILON) {
      const e = new ResourceExhaustedError(this.resources[i]!, amount, this.max[i]!, 'per-agent max');
      e.details.path = path;
      throw e;
    }
    if (amount > this.limit[i]! + LEDGER_EPSILON) {
      const e = new ResourceExhaustedError(this.resources[i]!, amount, this.limit[i]!, 'global limit');
      e.details.path = path;
      throw e;
    }
  }

  private indexOf(kind: Kind, path: string, name: string): number {
    const i = this.index.get(name);
    if (i === undefined)
      invalid(kind, `${path}.${name}`, name, `a known resource (${this.resources.join(', ')})`);
    return i;
  }

  private readAmounts(kind: Kind, path: string, value: unknown, into: Float64Array): void {
    if (value === undefined) return;
    const src = record(kind, path, value);
    for (const k in src) {
      const i = this.indexOf(kind, path, k);
      const v = src[k];
      // Infinity is an explicit "unlimited" in config.
      into[i] = v === Number.POSITIVE_INFINITY ? v : reqNum(kind, `${path}.${k}`, v, { min: 0 });
    }
  }

  private rememberRelease(id: string): void {
    if (this.releasedMemory === 0) return;
    if (this.releasedOrder.length < this.releasedMemory) {
      this.releasedOrder.push(id);
    } else {
      // Ring buffer: evict the oldest remembered id.
      const old = this.releasedOrder[this.releasedHead]!;
      this.released.delete(old);
      this.releasedOrder[this.releasedHead] = id;
      this.releasedHead = (this.releasedHead + 1) % this.releasedMemory;
    }
    this.released.add(id);
  }

  private forgetRelease(id: string): void {
    // An id reused after release is live again; its stale ring slot is harmless (delete is idempotent).
    this.released.delete(id);
  }

  private view(e: Entry): Allocation {
    return { id: e.id, owner: e.owner, amounts: this.toRecord(e.amounts) };
  }

  private toRecord(a: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < a.length; i++) out[this.resources[i]!] = a[i]!;
    return out;
  }
}
