/**
 * Rate limits, the constraint every LLM provider imposes: requests per minute (a submitted task is a
 * request: it waits in the queue, it does not fail, until the limit lets it start) and tokens per
 * minute (`ctx.tokens.reserve(n)` waits until `n` fits in the last minute's window).
 *
 * Requests are spaced evenly (a window of `burst` requests per `burst × 60 000 / requestsPerMinute`
 * ms): 600 requests per minute start one every 100 ms, never 600 in the first second — a provider's
 * per-minute limit is enforced on shorter windows too. Tokens use the whole minute (a reservation
 * can be as large as the limit).
 *
 * One limiter may serve several pools (system option `rateLimits`, named by a pool's `rateLimit`):
 * pools that share an API key share its limit.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { SerializedError } from '../core/errors.js';
import { invalid, knownKeys, num, record } from '../core/validate.js';
import { type RateEntry, RateWindow } from '../structures/rate-window.js';

/** A rate limit (pool option `rateLimit`, or an entry of system option `rateLimits`). */
export interface RateLimitOptions {
  /** Submitted tasks allowed to start per minute, spaced evenly. @default unlimited */
  requestsPerMinute?: number;
  /** Tokens `ctx.tokens.reserve` may reserve per minute (sliding 60 s window). @default unlimited */
  tokensPerMinute?: number;
  /** Requests that may start back to back before the spacing applies. @default 1 */
  burst?: number;
}

/** A validated {@link RateLimitOptions}. */
export interface RateLimitConfig {
  requestsPerMinute: number | undefined;
  tokensPerMinute: number | undefined;
  burst: number;
}

const KEYS = new Set(['requestsPerMinute', 'tokensPerMinute', 'burst']);
const MINUTE_MS = 60_000;

/** Validate one rate limit at `path`. */
export function parseRateLimit(path: string, raw: unknown): RateLimitConfig {
  const o = record('config', path, raw);
  knownKeys('config', path, o, KEYS);
  const rpm =
    o.requestsPerMinute === undefined
      ? undefined
      : num('config', `${path}.requestsPerMinute`, o.requestsPerMinute, 0, { gt: 0 });
  const tpm =
    o.tokensPerMinute === undefined
      ? undefined
      : num('config', `${path}.tokensPerMinute`, o.tokensPerMinute, 0, { gt: 0 });
  if (rpm === undefined && tpm === undefined)
    invalid('config', path, raw, 'a rate limit with requestsPerMinute and/or tokensPerMinute');
  return {
    requestsPerMinute: rpm,
    tokensPerMinute: tpm,
    burst: num('config', `${path}.burst`, o.burst, 1, { min: 1, integer: true }),
  };
}

interface TokenWaiter {
  amount: number;
  resolve(r: RateEntry | SerializedError): void;
}

/** What a limiter holds now (for status and the accounting property). */
export interface RateUsage {
  /** Requests started within the current spacing window. */
  requests: number;
  /** Tokens reserved within the last minute. */
  tokens: number;
  /** Token reservations waiting for room. */
  waiting: number;
}

/** One rate limit at run time. */
export class RateLimiter {
  private readonly requests: RateWindow | undefined;
  private readonly tokens: RateWindow | undefined;
  private readonly waiters: TokenWaiter[] = [];
  private tokenTimer: TimerHandle | undefined;
  private requestTimer: TimerHandle | undefined;

  /**
   * @param onRequestRoom called when a request may start again after {@link armRequestWake} (the
   *   dispatcher places its queued tasks)
   */
  constructor(
    readonly name: string,
    readonly config: RateLimitConfig,
    private readonly clock: Clock,
    private readonly onRequestRoom: () => void,
  ) {
    const rpm = config.requestsPerMinute;
    this.requests =
      rpm === undefined ? undefined : new RateWindow(config.burst, (config.burst * MINUTE_MS) / rpm);
    this.tokens =
      config.tokensPerMinute === undefined ? undefined : new RateWindow(config.tokensPerMinute, MINUTE_MS);
  }

  /** Whether this limiter limits requests at all. */
  get limitsRequests(): boolean {
    return this.requests !== undefined;
  }

  /** Whether a request may start now. */
  allowsRequest(now: number): boolean {
    return this.requests === undefined || this.requests.waitFor(1, now) === 0;
  }

  /** A request started now. */
  takeRequest(now: number): void {
    this.requests?.take(1, now);
  }

  /** Call {@link onRequestRoom} once a request may start (one timer, however many tasks wait). */
  armRequestWake(now: number): void {
    if (this.requests === undefined || this.requestTimer !== undefined) return;
    const ms = this.requests.waitFor(1, now);
    this.requestTimer = this.clock.setTimeout(() => {
      this.requestTimer = undefined;
      this.onRequestRoom();
    }, ms);
  }

  /**
   * Wait until `amount` tokens fit in the minute's window, then take them. Resolves with the entry
   * (settle it with {@link settleTokens}), or with a refusal: `ERR_RESOURCE_EXHAUSTED` at once when
   * `amount` exceeds the limit (it can never fit), `ERR_ABORTED` when `cancel` is called first (the
   * task ended: its timeout, its signal, its agent).
   * Waiters are served in arrival order, so a large reservation is not overtaken forever.
   */
  reserveTokens(
    amount: number,
    cancelled: (cancel: () => void) => void,
  ): Promise<RateEntry | SerializedError> {
    const w = this.tokens;
    const now = this.clock.now();
    if (w === undefined) return Promise.resolve({ at: now, amount: 0 });
    if (amount > w.limit)
      return Promise.resolve({
        name: 'ResourceExhaustedError',
        code: 'ERR_RESOURCE_EXHAUSTED',
        message: `rate limit ${this.name}: ${amount} tokens can never fit in tokensPerMinute ${w.limit}`,
        details: { resource: 'tokensPerMinute', requested: amount, available: w.limit, limit: this.name },
      });
    if (this.waiters.length === 0 && w.waitFor(amount, now) === 0)
      return Promise.resolve(w.take(amount, now));
    return new Promise((resolve) => {
      const waiter: TokenWaiter = { amount, resolve };
      this.waiters.push(waiter);
      cancelled(() => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        resolve({
          name: 'AbortedError',
          code: 'ERR_ABORTED',
          message: `waiting for ${amount} tokens of rate limit ${this.name}: the task ended first`,
        });
        this.serveTokens();
      });
      this.serveTokens();
    });
  }

  /** A reservation was settled for `actual` tokens: the window keeps what was really used (never more). */
  settleTokens(entry: RateEntry, actual: number): void {
    if (this.tokens === undefined) return;
    this.tokens.shrink(entry, actual, this.clock.now());
    this.serveTokens();
  }

  /** Give a reservation back entirely (its budget refused it after the window took it). */
  returnTokens(entry: RateEntry): void {
    this.settleTokens(entry, 0);
  }

  /** What the windows hold now. */
  usage(): RateUsage {
    const now = this.clock.now();
    return {
      requests: this.requests?.used(now) ?? 0,
      tokens: this.tokens?.used(now) ?? 0,
      waiting: this.waiters.length,
    };
  }

  /** Stop the timers (shutdown); waiting reservations are refused. */
  close(): void {
    if (this.tokenTimer !== undefined) this.clock.clearTimeout(this.tokenTimer);
    if (this.requestTimer !== undefined) this.clock.clearTimeout(this.requestTimer);
    this.tokenTimer = this.requestTimer = undefined;
    for (const w of this.waiters.splice(0))
      w.resolve({
        name: 'AgentPoolError',
        code: 'ERR_SHUTTING_DOWN',
        message: 'the system is shutting down',
      });
  }

  private serveTokens(): void {
    const w = this.tokens;
    if (w === undefined) return;
    if (this.tokenTimer !== undefined) {
      this.clock.clearTimeout(this.tokenTimer);
      this.tokenTimer = undefined;
    }
    const now = this.clock.now();
    for (let head = this.waiters[0]; head; head = this.waiters[0]) {
      const ms = w.waitFor(head.amount, now);
      if (ms > 0) {
        this.tokenTimer = this.clock.setTimeout(() => {
          this.tokenTimer = undefined;
          this.serveTokens();
        }, ms);
        return;
      }
      this.waiters.shift();
      head.resolve(w.take(head.amount, now));
    }
  }
}

/** Whether a reservation result is a refusal (not an entry). */
export function isRefusal(r: RateEntry | SerializedError): r is SerializedError {
  return (r as SerializedError).code !== undefined;
}
