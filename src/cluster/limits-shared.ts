/**
 * Token budgets and named rate limits shared by every coordinator of a cluster name, on the store of
 * src/cluster/limits.ts (revision-checked writes to the `ap_S_limits` bucket).
 *
 * - Budgets: the pool and system levels of `budgets` are cluster-wide (cycles stay with the
 *   coordinator that runs them). One entry, `budget`, holds each coordinator's tokens used and reserved
 *   per pool; a reservation is admitted only when, across live coordinators, `used + reserved + n` fits
 *   the pool's and the system's budget — the local check (cycle, pool, system) runs first, unchanged.
 * - Rate limits: a named entry of `rateLimits` is one limit for the cluster (a provider's API key).
 *   Requests: at most `burst` starts per fixed window of `burst × 60 000 / requestsPerMinute` ms
 *   (`rate.<name>.req`); tokens: at most `tokensPerMinute` per fixed minute (`rate.<name>.tok`).
 *   Windows are numbered from the coordinators' clocks (epoch ms), which must agree (NTP).
 *   The coordinator's own sliding window still applies on top.
 */
import type { SerializedError } from '../core/errors.js';
import { BudgetExhaustedError, serializeError } from '../core/errors.js';
import type { TimerHandle } from '../core/clock.js';
import type { TokenBudgets } from '../structures/budget.js';
import type { RateEntry } from '../structures/rate-window.js';
import { isRefusal, RateLimiter, type RateLimitConfig } from '../runtime/rate-limits.js';
import { type ClusterLimits, keyToken, unavailable } from './limits.js';

const MINUTE_MS = 60_000;

/** One coordinator's part of the `budget` entry: tokens used (settled) and reserved, per pool. */
interface BudgetPart {
  u: Record<string, number>;
  r: Record<string, number>;
}

/** The `budget` entry. `base`: usage of coordinators that are gone (kept: those tokens were spent). */
interface BudgetEntry {
  base: Record<string, number>;
  c: Record<string, BudgetPart>;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * The cluster-wide pool and system levels of the token budgets. Every write carries this
 * coordinator's part as absolute numbers, and writes are serialised, so a retried write is harmless.
 */
export class SharedBudget {
  private readonly used: Record<string, number> = {};
  private readonly reserved = new Map<string, { pool: string; tokens: number }>();
  private chain: Promise<unknown> = Promise.resolve();
  private syncQueued = false;

  constructor(
    private readonly store: ClusterLimits,
    private readonly budgets: TokenBudgets,
  ) {
    store.onClose(() => this.sync());
  }

  /** Whether `pool`'s reservations are checked in the cluster (a finite pool or system budget). */
  applies(pool: string): boolean {
    return (
      Number.isFinite(this.budgets.poolUsage(pool).limit) || Number.isFinite(this.budgets.systemUsage().limit)
    );
  }

  private mine(): BudgetPart {
    const r: Record<string, number> = {};
    for (const { pool, tokens } of this.reserved.values()) r[pool] = (r[pool] ?? 0) + tokens;
    return { u: { ...this.used }, r };
  }

  private queue<T>(op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op, op);
    this.chain = p.catch(() => {});
    return p;
  }

  /**
   * Reserve `tokens` for `pool` under the local reservation `id`. Rejects with the local refusal's
   * error (`ERR_BUDGET_EXHAUSTED`, `details.cluster: true`) when the cluster's usage leaves no room,
   * or `ERR_UNENFORCEABLE` when the KV cannot be reached — never a grant it could not check.
   */
  reserve(id: string, pool: string, tokens: number): Promise<void> {
    const poolLimit = this.budgets.poolUsage(pool).limit;
    const systemLimit = this.budgets.systemUsage().limit;
    return this.queue(async () => {
      let refusal: BudgetExhaustedError | undefined;
      try {
        await this.store.cas<BudgetEntry, void>('budget', async (cur) => {
          const parts = { ...(cur?.c ?? {}) };
          const base = { ...(cur?.base ?? {}) };
          delete parts[this.store.id];
          const gone = Object.fromEntries(Object.entries(parts));
          for (const dead of await this.store.dropDead(parts))
            for (const [p, n] of Object.entries(gone[dead]!.u)) base[p] = (base[p] ?? 0) + n;
          const me = this.mine();
          const all = [...Object.values(parts), me];
          const usedOf = (p: string) => (base[p] ?? 0) + all.reduce((a, c) => a + (c.u[p] ?? 0), 0);
          const resOf = (p: string) => all.reduce((a, c) => a + (c.r[p] ?? 0), 0);
          const sysUsed = sum(base) + all.reduce((a, c) => a + sum(c.u), 0);
          const sysRes = all.reduce((a, c) => a + sum(c.r), 0);
          refusal =
            this.check('pool', pool, poolLimit, usedOf(pool), resOf(pool), tokens) ??
            this.check('system', 'system', systemLimit, sysUsed, sysRes, tokens);
          if (refusal) return [undefined, undefined];
          me.r[pool] = (me.r[pool] ?? 0) + tokens;
          return [{ base, c: { ...parts, [this.store.id]: me } }, undefined];
        });
      } catch (err) {
        throw unavailable('token budget', err);
      }
      if (refusal) throw refusal;
      this.reserved.set(id, { pool, tokens });
    });
  }

  /** The same refusal as src/structures/budget.ts, with the cluster's numbers. */
  private check(
    level: 'pool' | 'system',
    scope: string,
    limit: number,
    used: number,
    reserved: number,
    n: number,
  ): BudgetExhaustedError | undefined {
    if (used + reserved + n <= limit) return undefined;
    const available = Math.max(0, limit - used - reserved);
    return new BudgetExhaustedError(
      `token budget of ${level} ${JSON.stringify(scope)} exhausted: requested ${n}, available ${available}`,
      { level, scope, requested: n, available, limit, used, reserved, cluster: true },
    );
  }

  /** Reservation `id` used `actual` tokens (0: given back unused); written in the background. */
  settle(id: string, actual: number): void {
    const r = this.reserved.get(id);
    if (!r) return;
    this.reserved.delete(id);
    this.used[r.pool] = (this.used[r.pool] ?? 0) + actual;
    if (this.syncQueued) return;
    this.syncQueued = true;
    void this.queue(() => {
      this.syncQueued = false;
      return this.sync();
    }).catch((err: unknown) => this.store.logger.warn({ err }, 'cluster limits: budget write failed'));
  }

  /** Write this coordinator's part as it is now. */
  private async sync(): Promise<void> {
    await this.store.cas<BudgetEntry, void>('budget', async (cur) => {
      const me = this.mine();
      const old = cur?.c[this.store.id];
      if (old && JSON.stringify(old) === JSON.stringify(me)) return [undefined, undefined];
      return [{ base: cur?.base ?? {}, c: { ...(cur?.c ?? {}), [this.store.id]: me } }, undefined];
    });
  }
}

/** A fixed window's shared count: `w` its number, `n` what was taken in it. */
interface WindowEntry {
  w: number;
  n: number;
}

/**
 * A named rate limit that holds across the cluster: the local limiter's checks, then the shared
 * fixed windows. Requests are admitted synchronously from permits claimed for the current window in
 * the background (one per refused start; the dispatcher is woken when it lands).
 */
export class ClusterRateLimiter extends RateLimiter {
  private permits: WindowEntry = { w: -1, n: 0 };
  private claiming = false;
  private retry: TimerHandle | undefined;
  private readonly windows = new WeakMap<RateEntry, { w: number; amount: number }>();
  private readonly requestWindowMs: number;
  private readonly wakeDispatcher: () => void;

  constructor(
    name: string,
    config: RateLimitConfig,
    private readonly store: ClusterLimits,
    onRequestRoom: () => void,
  ) {
    super(name, config, store.clock, onRequestRoom);
    this.wakeDispatcher = onRequestRoom;
    const rpm = config.requestsPerMinute ?? 1;
    this.requestWindowMs = (config.burst * MINUTE_MS) / rpm;
    store.onClose(() => {
      if (this.retry !== undefined) store.clock.clearTimeout(this.retry);
      this.retry = undefined;
    });
  }

  private key(kind: 'req' | 'tok'): string {
    return `rate.${keyToken(this.name)}.${kind}`;
  }

  /** The local window allows it and this coordinator holds a permit of the cluster's window. */
  override allowsRequest(now: number): boolean {
    if (!super.allowsRequest(now)) return false;
    if (!this.limitsRequests) return true;
    const w = Math.floor(now / this.requestWindowMs);
    if (this.permits.w === w && this.permits.n > 0) return true;
    this.claimRequest();
    return false;
  }

  override takeRequest(now: number): void {
    super.takeRequest(now);
    if (this.permits.n > 0) this.permits.n--;
  }

  override armRequestWake(now: number): void {
    // Only the local window's wait is a timer here; a missing permit is being claimed already.
    if (!super.allowsRequest(now)) super.armRequestWake(now);
  }

  private claimRequest(): void {
    if (this.claiming || this.retry !== undefined || this.store.isClosed) return;
    this.claiming = true;
    const burst = this.config.burst;
    const w = Math.floor(this.store.clock.now() / this.requestWindowMs);
    void this.store
      .cas<WindowEntry, boolean>(this.key('req'), async (cur) => {
        if (cur && cur.w > w) return [undefined, false]; // a later window already began elsewhere
        const n = cur?.w === w ? cur.n : 0;
        if (n >= burst) return [undefined, false];
        return [{ w, n: n + 1 }, true];
      })
      .then(
        (granted) => {
          this.claiming = false;
          if (granted) {
            this.permits = { w, n: (this.permits.w === w ? this.permits.n : 0) + 1 };
            this.wakeDispatcher();
          } else this.again((w + 1) * this.requestWindowMs - this.store.clock.now());
        },
        (err: unknown) => {
          this.claiming = false;
          this.store.logger.warn({ err }, 'cluster limits: rate limit write failed');
          this.again(this.store.pollMs);
        },
      );
  }

  /** Try again after `ms` (the next window, or a poll after a KV failure), then wake the dispatcher. */
  private again(ms: number): void {
    if (this.store.isClosed) return;
    this.retry = this.store.clock.setTimeout(
      () => {
        this.retry = undefined;
        this.wakeDispatcher();
      },
      Math.max(1, ms),
    );
  }

  /** The local window first, then room in the cluster's minute (waits for the next one if full). */
  override async reserveTokens(
    amount: number,
    cancelled: (cancel: () => void) => void,
  ): Promise<RateEntry | SerializedError> {
    const r = await super.reserveTokens(amount, cancelled);
    const tpm = this.config.tokensPerMinute;
    if (isRefusal(r) || tpm === undefined) return r;
    let ended = false;
    let stopWait: (() => void) | undefined;
    cancelled(() => {
      ended = true;
      stopWait?.();
    });
    for (;;) {
      if (ended) {
        super.returnTokens(r);
        return {
          name: 'AbortedError',
          code: 'ERR_ABORTED',
          message: `waiting for ${amount} tokens of rate limit ${this.name}: the task ended first`,
        };
      }
      const w = Math.floor(this.store.clock.now() / MINUTE_MS);
      let granted: boolean;
      try {
        granted = await this.store.cas<WindowEntry, boolean>(this.key('tok'), async (cur) => {
          if (cur && cur.w > w) return [undefined, false];
          const n = cur?.w === w ? cur.n : 0;
          if (n + amount > tpm) return [undefined, false];
          return [{ w, n: n + amount }, true];
        });
      } catch (err) {
        super.returnTokens(r);
        return serializeError(unavailable(`rate limit ${this.name}`, err));
      }
      if (granted) {
        this.windows.set(r, { w, amount });
        return r;
      }
      // The cluster's minute is full: wait for the next one (or the task's end).
      await new Promise<void>((resolve) => {
        const t = this.store.clock.setTimeout(resolve, (w + 1) * MINUTE_MS - this.store.clock.now() + 1);
        stopWait = () => {
          this.store.clock.clearTimeout(t);
          resolve();
        };
      });
      stopWait = undefined;
    }
  }

  /** Settle locally, and give the cluster's minute back what was not used. */
  override settleTokens(entry: RateEntry, actual: number): void {
    super.settleTokens(entry, actual);
    const shared = this.windows.get(entry);
    if (!shared) return;
    this.windows.delete(entry);
    const unused = shared.amount - Math.max(0, actual);
    // Only the current window can use what was not spent; a past one is over anyway.
    if (unused <= 0 || Math.floor(this.store.clock.now() / MINUTE_MS) !== shared.w) return;
    void this.store
      .cas<WindowEntry, void>(this.key('tok'), async (cur) =>
        cur?.w === shared.w
          ? [{ w: cur.w, n: Math.max(0, cur.n - unused) }, undefined]
          : [undefined, undefined],
      )
      .catch(() => {});
  }
}
