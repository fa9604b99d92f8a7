/**
 * Cluster-wide limits (issue 17 item 5): concurrency keys, token budgets and named rate limits that
 * hold across every coordinator of one cluster name, kept in NATS JetStream KV with revision-checked
 * writes (`create` / `update(key, value, revision)`), never by a lock or a leader.
 *
 * Two buckets per cluster name `S`:
 * - `ap_S_coords` (entries expire `limitTtlMs` after their last write): one entry per coordinator
 *   process, refreshed every quarter of `limitTtlMs`. A coordinator whose entry is gone is dead: what it
 *   claimed is dropped by the next writer of each limit entry.
 * - `ap_S_limits` (no expiry): one entry per limit — `key.<key>` (who holds how many slots of a
 *   concurrency key), `budget` (tokens used and reserved per pool), `rate.<name>.req` / `.tok` (the
 *   current window's count of a named rate limit).
 *
 * Every write of an entry by a coordinator carries its own part as an absolute value (never a delta),
 * so a write that timed out but landed, retried, changes nothing twice; and a coordinator whose part
 * was dropped while it was silent restores it with its next write.
 *
 * The pool's admission is synchronous (`KeyGate.allows/take/release`), so a key is leased in slots:
 * `ClusterKeyGate` (src/cluster/limits-keys.ts) admits locally only into a slot this coordinator holds in KV, claims one more
 * in the background when an admission is refused for want of one (and wakes the pools when it lands),
 * and gives a slot back as soon as its lease ends. A KV failure is never a grant: with no slot, the
 * waiter keeps waiting (its own timeout applies); budgets and token windows refuse with a typed error.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { Clock, TimerHandle } from '../core/clock.js';
import { AgentPoolError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ClusterLink } from './link.js';

/** Bucket names of one cluster name (one place, so every coordinator agrees). */
export const limitBuckets = {
  coords: (system: string) => `ap_${system}_coords`,
  limits: (system: string) => `ap_${system}_limits`,
};

/** A KV key token for any string (concurrency keys and limit names may hold `.`, `*`, spaces). */
export function keyToken(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url') || '_';
}

/** Attempts of one read-modify-write before it counts as a failure (only under heavy contention). */
const CAS_ATTEMPTS = 40;

function isConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === 10071 || err.code === 10164;
  return /wrong last sequence/i.test((err as Error)?.message ?? '');
}

/** The refusal when the KV cannot be read or written: never a silent grant. */
export function unavailable(what: string, cause: unknown): AgentPoolError {
  return new AgentPoolError(
    'ERR_UNENFORCEABLE',
    `cluster-wide ${what} cannot be checked: ${(cause as Error)?.message ?? String(cause)}`,
    { cause, details: { limit: what } },
  );
}

/**
 * One coordinator's access to the cluster-wide limits: its registration (liveness), the two buckets
 * and a revision-checked read-modify-write. Created by the system in cluster mode; connects on first
 * use through the system's {@link ClusterLink}.
 */
export class ClusterLimits {
  /** This coordinator process in the cluster (unique per process start). */
  readonly id = `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private buckets: Promise<{ coords: KV; limits: KV }> | undefined;
  private beatTimer: TimerHandle | undefined;
  private bucketTtl: number | undefined;
  private beatRevision = 0;
  /** Local time of the last successful refresh (admissions stop when it is too old). */
  private lastBeat = -Infinity;
  private closed = false;
  private readonly alive = new Map<string, { alive: boolean; at: number }>();
  private readonly closers = new Set<() => Promise<void> | void>();
  private readonly watchers = new Map<string, Set<(key: string) => void>>();

  constructor(
    private readonly link: ClusterLink,
    readonly clock: Clock,
    readonly logger: Logger,
  ) {}

  /** The TTL in force: the registration bucket's (its first creator's `limitTtlMs`), else ours. */
  get ttlMs(): number {
    return this.bucketTtl ?? this.link.config.limitTtlMs;
  }

  /** How often a blocked claim looks again (a dead holder's entry expires without a watch event). */
  get pollMs(): number {
    return Math.max(50, Math.round(this.ttlMs / 5));
  }

  /**
   * Whether this coordinator's registration is fresh enough that nobody can have dropped its claims:
   * refreshed within half the TTL. Admission from held slots stops beyond that.
   */
  fresh(): boolean {
    return this.clock.now() - this.lastBeat < this.ttlMs / 2;
  }

  /** The buckets (connects and registers once; a failure is retried by the next call). */
  ready(): Promise<{ coords: KV; limits: KV }> {
    if (this.closed)
      return Promise.reject(new AgentPoolError('ERR_SHUTTING_DOWN', 'the cluster link is closed'));
    this.buckets ??= this.open().catch((err: unknown) => {
      this.buckets = undefined;
      throw err;
    });
    return this.buckets;
  }

  private async open(): Promise<{ coords: KV; limits: KV }> {
    const { nc } = await this.link.ready();
    const c = this.link.config;
    // Every KV call is bounded by requestTimeoutMs (a refusal after it, never a wait without end).
    const kvm = new Kvm(jetstream(nc, { timeout: c.requestTimeoutMs }));
    const opts = { history: 1, timeout: c.requestTimeoutMs };
    const [coords, limits] = await Promise.all([
      kvm.create(limitBuckets.coords(c.name), { ...opts, ttl: this.ttlMs }),
      kvm.create(limitBuckets.limits(c.name), opts),
    ]);
    // A bucket that exists keeps its TTL (the first coordinator's): refresh by that one.
    const ttl = (await coords.status()).ttl;
    if (ttl > 0 && ttl !== this.link.config.limitTtlMs)
      this.logger.warn(
        { bucketTtlMs: ttl, limitTtlMs: this.link.config.limitTtlMs },
        'cluster limits: the registration bucket exists with another TTL; using it',
      );
    if (ttl > 0) this.bucketTtl = ttl;
    const iter = await limits.watch({ include: 'updates' });
    this.closers.add(() => iter.stop());
    void (async () => {
      for await (const e of iter) {
        const dot = e.key.indexOf('.');
        const kind = dot < 0 ? e.key : e.key.slice(0, dot);
        for (const fn of this.watchers.get(kind) ?? []) fn(e.key);
      }
    })().catch(() => {});
    // Registered last: a failure above leaves no refresh timer behind (the next call opens again).
    this.beatRevision = await coords.put(this.id, this.record());
    this.lastBeat = this.clock.now();
    this.armBeat(coords);
    return { coords, limits };
  }

  private record(): string {
    return JSON.stringify({ id: this.id, pid: process.pid, host: hostname() });
  }

  /**
   * Refresh the registration with a revision check: a refresh that finds its entry gone (expired while
   * this process was silent) re-creates it, and the next write of each limit restores this
   * coordinator's part (writes are absolute).
   */
  private armBeat(coords: KV): void {
    if (this.closed) return;
    this.beatTimer = this.clock.setTimeout(
      () => {
        void (async () => {
          try {
            this.beatRevision = await coords.update(this.id, this.record(), this.beatRevision);
            this.lastBeat = this.clock.now();
          } catch (err) {
            if (isConflict(err)) {
              this.logger.warn({ id: this.id }, 'cluster limits: registration had expired; re-registering');
              try {
                // A bucket that exists keeps its TTL (the first coordinator's): refresh by that one.
                const ttl = (await coords.status()).ttl;
                if (ttl > 0 && ttl !== this.link.config.limitTtlMs)
                  this.logger.warn(
                    { bucketTtlMs: ttl, limitTtlMs: this.link.config.limitTtlMs },
                    'cluster limits: the registration bucket exists with another TTL; using it',
                  );
                if (ttl > 0) this.bucketTtl = ttl;
                this.beatRevision = await coords.put(this.id, this.record());
                this.lastBeat = this.clock.now();
              } catch {
                // retried at the next beat
              }
            } else this.logger.warn({ err }, 'cluster limits: registration refresh failed');
          }
          this.armBeat(coords);
        })();
      },
      Math.max(100, Math.round(this.ttlMs / 4)),
    );
  }

  /** Whether coordinator `id` is registered (cached for {@link pollMs}; this one always is). */
  async isAlive(id: string): Promise<boolean> {
    if (id === this.id) return true;
    const now = this.clock.now();
    const c = this.alive.get(id);
    if (c && now - c.at < this.pollMs) return c.alive;
    const { coords } = await this.ready();
    const e = await coords.get(id);
    const alive = e !== null && e.operation === 'PUT';
    this.alive.set(id, { alive, at: now });
    return alive;
  }

  /** Drop the parts of dead coordinators from `parts` (in place); returns their ids. */
  async dropDead(parts: Record<string, unknown>): Promise<string[]> {
    const dead: string[] = [];
    for (const id of Object.keys(parts)) if (!(await this.isAlive(id))) dead.push(id);
    for (const id of dead) delete parts[id];
    return dead;
  }

  /**
   * Read-modify-write of `key` with a revision check: `f` gets the current value (undefined: none)
   * and returns the next one (undefined: write nothing) and a result. Retries on a conflicting write.
   * Rejects with the KV's error (connection, timeout) — callers turn that into a refusal.
   */
  async cas<T, R>(key: string, f: (cur: T | undefined) => Promise<[T | undefined, R]>): Promise<R> {
    const { limits } = await this.ready();
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const e = await limits.get(key);
      const cur = e !== null && e.operation === 'PUT' ? e.json<T>() : undefined;
      const [next, result] = await f(cur);
      if (next === undefined) return result;
      try {
        if (e === null) await limits.create(key, JSON.stringify(next));
        else await limits.update(key, JSON.stringify(next), e.revision);
        return result;
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Another coordinator wrote first: read again after a short random pause.
        await this.sleep(1 + Math.random() * 4 * (i + 1));
      }
    }
    throw new Error(`${CAS_ATTEMPTS} conflicting writes in a row on ${key}`);
  }

  /** Call `fn(key)` on every change of an entry of `kind` (`key`, `budget`, `rate`) by anyone. */
  onChange(kind: string, fn: (key: string) => void): void {
    const set = this.watchers.get(kind) ?? new Set();
    set.add(fn);
    this.watchers.set(kind, set);
  }

  /** Run `fn` at close, before the registration is deleted (give claims back). */
  onClose(fn: () => Promise<void> | void): void {
    this.closers.add(fn);
  }

  /** A pause on the injected clock (between conflicting writes). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** Closed: no new claims, no retries. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Give every claim back and deregister (others then see this coordinator dead at once, not after
   * the TTL). Bounded: each KV call has `requestTimeoutMs`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const buckets = this.buckets;
    const giveBack = (async () => {
      // Claims go back while the link is still open; the watch stops with the other closers.
      await Promise.allSettled([...this.closers].map(async (fn) => fn()));
      const b = buckets && (await buckets.catch(() => undefined));
      await b?.coords.delete(this.id).catch(() => {});
    })();
    // Bounded as a whole: with the server gone, what was claimed expires by the TTL instead.
    let timer: TimerHandle | undefined;
    await Promise.race([
      giveBack,
      new Promise<void>((r) => (timer = this.clock.setTimeout(r, 2 * this.link.config.requestTimeoutMs))),
    ]);
    this.clock.clearTimeout(timer);
    this.closed = true;
    if (this.beatTimer !== undefined) this.clock.clearTimeout(this.beatTimer);
  }
}
