/**
 * Token budgets that are enforced, not recorded.
 *
 * Three levels: **cycle** (one allocation / TDD cycle) → **pool** → **system**. Before a model call the
 * agent reserves the tokens it may spend (`reserve`); the reservation is admitted only if, at every
 * level, `used + reserved + n ≤ budget` — all levels are checked before any is charged, so the check
 * is atomic. After the call it settles the real usage (`settle`), which releases the reservation and
 * charges the actual amount, even when the model spent more than was reserved (the *overshoot*).
 *
 * ## The guarantee
 *
 * Let `committed(L) = used(L) + reserved(L)` at level L with budget B(L). A reservation is admitted at L
 * only while `committed(L) + n ≤ B(L)`, and only a settle with `actual > reserved` can raise
 * `committed(L)` without an admission check. Hence, at all times:
 *
 * > `used(L) ≤ committed(L) ≤ B(L) + Σ overshoot(r)` over the reservations r that were already
 * > admitted at the last moment L was within budget (`committed(L) ≤ B(L)`) and settled since.
 *
 * Once a level is over budget no new reservation is admitted there, so only calls already in flight
 * can push it further. With one call in flight at a time (the usual agent loop) this is exactly:
 * **usage at any level never exceeds its budget by more than the last settled overshoot.**
 * `test/properties/ledger.property.test.ts` checks the general form with fast-check.
 *
 * Pure and synchronous; no time. One writer (the runtime's budget service) — like the ledger.
 */
import { BudgetExhaustedError } from '../core/errors.js';
import { invalid, type Kind, knownKeys, record, reqNum } from '../core/validate.js';

/** A budget level. */
export type BudgetLevel = 'cycle' | 'pool' | 'system';

/** Usage of one budget scope. */
export interface BudgetUsage {
  /** The budget (`Infinity` = unlimited). */
  limit: number;
  /** Tokens actually spent (settled). */
  used: number;
  /** Tokens held by outstanding reservations. */
  reserved: number;
  /** `max(0, limit − used − reserved)`: what a new reservation can get. */
  remaining: number;
}

/** Configuration of {@link TokenBudgets}. */
export interface TokenBudgetsConfig {
  /** System-wide budget. @default Infinity */
  system?: number;
  /** Budget per pool type. Pools not listed get `defaultPool`. */
  pools?: Readonly<Record<string, number>>;
  /** Budget of a pool not listed in `pools`. @default Infinity */
  defaultPool?: number;
  /** Budget of a cycle opened without its own. @default Infinity */
  defaultCycle?: number;
}

/** Where a reservation is charged. */
export interface BudgetScope {
  /** Cycle id (opened on first use with `defaultCycle`, or with {@link TokenBudgets.openCycle}). */
  cycle: string;
  /** Pool type the cycle's agent belongs to. */
  pool: string;
}

/** An admitted reservation. */
export interface TokenReservation {
  /** Pass it to `settle`. */
  readonly id: string;
  readonly tokens: number;
  readonly cycle: string;
  readonly pool: string;
}

/** Result of {@link TokenBudgets.settle}. */
export interface SettleResult {
  /** Tokens charged (= actual). */
  charged: number;
  /** `max(0, actual − reserved)`. */
  overshoot: number;
  /** Levels whose usage now exceeds their budget. */
  overBudget: BudgetLevel[];
}

interface Account {
  limit: number;
  used: number;
  reserved: number;
}

interface Held {
  tokens: number;
  // The accounts themselves, not ids: a cycle closed and re-opened under the same id must not be
  // charged for the old cycle's reservation.
  cycle: Account;
  pool: Account;
}

const KEYS: ReadonlySet<string> = new Set(['system', 'pools', 'defaultPool', 'defaultCycle']);

function budget(kind: Kind, path: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (v === Number.POSITIVE_INFINITY) return v;
  return reqNum(kind, path, v, { min: 0 });
}

function requiredId(path: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) invalid('argument', path, v, 'a non-empty string');
  return v;
}

function account(limit: number): Account {
  return { limit, used: 0, reserved: 0 };
}

function usageOf(a: Account): BudgetUsage {
  return {
    limit: a.limit,
    used: a.used,
    reserved: a.reserved,
    remaining: Math.max(0, a.limit - a.used - a.reserved),
  };
}

/**
 * Hierarchical token budgets.
 *
 * @example
 * ```ts
 * const budgets = new TokenBudgets({ system: 2_000_000, pools: { code: 500_000 }, defaultCycle: 100_000 });
 * const r = budgets.reserve({ cycle: 'story-42', pool: 'code' }, 8_000); // throws BudgetExhaustedError if any level is short
 * const out = await callModel(...);
 * budgets.settle(r.id, out.usage.totalTokens);
 * ```
 */
export class TokenBudgets {
  private readonly system: Account;
  private readonly pools = new Map<string, Account>();
  private readonly cycles = new Map<string, Account & { pool: string }>();
  private readonly held = new Map<string, Held>();
  private readonly poolBudgets: Readonly<Record<string, number>>;
  private readonly defaultPool: number;
  private readonly defaultCycle: number;
  private seq = 0;

  /** @throws {ConfigError} unknown keys, negative or non-numeric budgets. */
  constructor(config: TokenBudgetsConfig = {}) {
    const kind: Kind = 'config';
    const c = record(kind, 'budgets', config);
    knownKeys(kind, 'budgets', c, KEYS);
    this.system = account(budget(kind, 'budgets.system', c.system, Number.POSITIVE_INFINITY));
    this.defaultPool = budget(kind, 'budgets.defaultPool', c.defaultPool, Number.POSITIVE_INFINITY);
    this.defaultCycle = budget(kind, 'budgets.defaultCycle', c.defaultCycle, Number.POSITIVE_INFINITY);
    const pools: Record<string, number> = {};
    if (c.pools !== undefined) {
      const p = record(kind, 'budgets.pools', c.pools);
      for (const k in p) pools[k] = budget(kind, `budgets.pools.${k}`, p[k], Number.POSITIVE_INFINITY);
    }
    this.poolBudgets = pools;
  }

  /**
   * Open (or re-budget) a cycle explicitly. A cycle used without being opened gets `defaultCycle`.
   * Changing the pool of a cycle with outstanding reservations is refused.
   *
   * @throws {InvalidArgumentError} bad ids, negative budget, pool change with reservations held.
   */
  openCycle(cycle: string, pool: string, limit: number = this.defaultCycle): void {
    requiredId('cycle', cycle);
    requiredId('pool', pool);
    const lim = budget('argument', 'limit', limit, this.defaultCycle);
    const c = this.cycles.get(cycle);
    if (c === undefined) {
      this.cycles.set(cycle, { ...account(lim), pool });
      return;
    }
    if (c.pool !== pool && (c.reserved > 0 || c.used > 0)) {
      invalid('argument', 'pool', pool, `the cycle's pool (${c.pool})`);
    }
    c.pool = pool;
    c.limit = lim;
  }

  /**
   * Close a cycle: its account is dropped and its final usage returned. Reservations still outstanding
   * settle later against the detached cycle account (invisible from then on), the pool and the system.
   */
  closeCycle(cycle: string): BudgetUsage | undefined {
    const c = this.cycles.get(cycle);
    if (c === undefined) return undefined;
    this.cycles.delete(cycle);
    return usageOf(c);
  }

  /**
   * Reserve `tokens` at cycle, pool and system atomically.
   *
   * @throws {BudgetExhaustedError} naming the first level (cycle, then pool, then system) that would be
   *   exceeded; `details` carry `level`, `scope`, `requested`, `available`. Nothing is reserved.
   * @throws {InvalidArgumentError} negative / non-finite tokens, bad scope.
   */
  reserve(scope: BudgetScope, tokens: number): TokenReservation {
    const s = record('argument', 'scope', scope);
    const cycleId = requiredId('scope.cycle', s.cycle);
    const poolId = requiredId('scope.pool', s.pool);
    const n = reqNum('argument', 'tokens', tokens, { min: 0 });
    const existing = this.cycles.get(cycleId);
    if (existing !== undefined && existing.pool !== poolId) {
      invalid('argument', 'scope.pool', poolId, `the cycle's pool (${existing.pool})`);
    }
    const cycle = existing ?? { ...account(this.defaultCycle), pool: poolId };
    const pool = this.pools.get(poolId) ?? account(this.poolBudgets[poolId] ?? this.defaultPool);
    // Check every level before charging any: the reservation is all-or-nothing.
    this.check('cycle', cycleId, cycle, n);
    this.check('pool', poolId, pool, n);
    this.check('system', 'system', this.system, n);
    if (existing === undefined) this.cycles.set(cycleId, cycle);
    if (!this.pools.has(poolId)) this.pools.set(poolId, pool);
    cycle.reserved += n;
    pool.reserved += n;
    this.system.reserved += n;
    const id = `tok-${++this.seq}`;
    this.held.set(id, { tokens: n, cycle, pool });
    return { id, tokens: n, cycle: cycleId, pool: poolId };
  }

  /**
   * Release a reservation and charge what was actually used (which may exceed the reservation).
   * Exactly once per reservation.
   *
   * @throws {InvalidArgumentError} unknown (or already settled) reservation, negative / non-finite usage.
   */
  settle(reservationId: string, actualUsed: number): SettleResult {
    const h = this.held.get(reservationId);
    if (h === undefined) invalid('argument', 'reservationId', reservationId, 'an outstanding reservation id');
    const actual = reqNum('argument', 'actualUsed', actualUsed, { min: 0 });
    this.held.delete(reservationId);
    const overBudget: BudgetLevel[] = [];
    const apply = (level: BudgetLevel, a: Account) => {
      a.reserved -= h.tokens;
      a.used += actual;
      if (a.used > a.limit) overBudget.push(level);
    };
    apply('cycle', h.cycle);
    apply('pool', h.pool);
    apply('system', this.system);
    return { charged: actual, overshoot: Math.max(0, actual - h.tokens), overBudget };
  }

  /** Give a reservation back unused (`settle(id, 0)`). */
  cancel(reservationId: string): SettleResult {
    return this.settle(reservationId, 0);
  }

  /** Usage of one cycle (`undefined` if never used or closed). */
  cycleUsage(cycle: string): BudgetUsage | undefined {
    const c = this.cycles.get(cycle);
    return c === undefined ? undefined : usageOf(c);
  }

  /** Usage of one pool (a pool never charged reports its budget and zero usage). */
  poolUsage(pool: string): BudgetUsage {
    return usageOf(this.pools.get(pool) ?? account(this.poolBudgets[pool] ?? this.defaultPool));
  }

  /** System-wide usage. */
  systemUsage(): BudgetUsage {
    return usageOf(this.system);
  }

  /** Every level at once, for metrics and `inspect`. */
  snapshot(): {
    system: BudgetUsage;
    pools: Record<string, BudgetUsage>;
    cycles: Record<string, BudgetUsage>;
  } {
    const pools: Record<string, BudgetUsage> = {};
    for (const [k, a] of this.pools) pools[k] = usageOf(a);
    const cycles: Record<string, BudgetUsage> = {};
    for (const [k, a] of this.cycles) cycles[k] = usageOf(a);
    return { system: usageOf(this.system), pools, cycles };
  }

  /** Outstanding reservations. */
  get outstanding(): number {
    return this.held.size;
  }

  private check(level: BudgetLevel, id: string, a: Account, n: number): void {
    const available = Math.max(0, a.limit - a.used - a.reserved);
    // `committed + n ≤ limit`, not `n ≤ available`: once a level is over its budget (an overshoot), even
    // a 0-token reservation is refused there — else its settle could report a zero overshoot while
    // usage already sits above the budget, breaking the guarantee above.
    if (a.used + a.reserved + n > a.limit) {
      throw new BudgetExhaustedError(
        `token budget of ${level} ${JSON.stringify(id)} exhausted: requested ${n}, available ${available}`,
        { level, scope: id, requested: n, available, limit: a.limit, used: a.used, reserved: a.reserved },
      );
    }
  }
}
