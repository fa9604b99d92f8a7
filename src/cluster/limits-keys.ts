/**
 * Concurrency keys that hold across the cluster (src/cluster/limits.ts has the model): slots of a key
 * leased from its KV entry, so the pools' synchronous admission (`KeyGate.allows/take/release`) stays
 * synchronous.
 */
import { KeyGate } from '../runtime/gates.js';
import type { TimerHandle } from '../core/clock.js';
import { type ClusterLimits, keyToken } from './limits.js';

interface KeyState {
  /** Slots of the key this coordinator holds in KV and may admit into (leases in use included). */
  claimed: number;
  /** Slots given back locally, not yet written to KV. */
  giveBack: number;
  /** Holders of other live coordinators at the last write (for requests with a smaller limit). */
  others: number;
  /** A refused admission wants one more slot, for this limit (0: no demand). */
  wantLimit: number;
  /** A write is in flight. */
  busy: boolean;
  /** The retry of a claim that found the key full (a dead holder expires without a watch event). */
  retry: TimerHandle | undefined;
}

/** The KV entry of one concurrency key: slots held per coordinator, coordinators waiting (FIFO). */
interface KeyEntry {
  h: Record<string, number>;
  q?: string[];
}

function sameEntry(a: KeyEntry | undefined, b: KeyEntry): boolean {
  if (a === undefined) return false;
  const norm = (e: KeyEntry) =>
    JSON.stringify([Object.entries(e.h).sort(([x], [y]) => (x < y ? -1 : 1)), e.q ?? []]);
  return norm(a) === norm(b);
}

/**
 * A {@link KeyGate} whose keys hold across the cluster: at most `concurrencyLimit` leases of a key at
 * once over every coordinator of the cluster name (local counts are the pool's, unchanged; the slots
 * this coordinator may use are claimed in KV).
 */
export class ClusterKeyGate extends KeyGate {
  private readonly states = new Map<string, KeyState>();

  constructor(
    private readonly store: ClusterLimits,
    /** Wake every pool's waiters and the dispatcher (a slot landed, or a key was released). */
    private readonly wake: () => void,
  ) {
    super();
    store.onChange('key', (k) => {
      for (const [key, s] of this.states)
        if (s.wantLimit > 0 && !s.busy && `key.${keyToken(key)}` === k) this.pump(key);
    });
    store.onClose(() => this.giveAllBack());
  }

  private state(key: string): KeyState {
    let s = this.states.get(key);
    if (!s) {
      s = { claimed: 0, giveBack: 0, others: 0, wantLimit: 0, busy: false, retry: undefined };
      this.states.set(key, s);
    }
    return s;
  }

  /** Slots of `key` this coordinator holds now (for status and tests). */
  claimed(key: string): number {
    return this.states.get(key)?.claimed ?? 0;
  }

  /** Whether a lease may take `key` now: below `limit` here and into a slot this coordinator holds. */
  override allows(key: string | undefined, limit: number): boolean {
    if (key === undefined) return true;
    const n = this.count(key);
    if (n >= limit) return false;
    const s = this.state(key);
    if (n < s.claimed && n + s.others < limit && this.store.fresh()) return true;
    // No free slot here: claim one in the background; the pools are woken when it lands.
    s.wantLimit = Math.max(s.wantLimit, limit);
    if (!this.store.isClosed) this.pump(key);
    return false;
  }

  /** A lease of `key` ended: its slot goes back to the cluster, and the pools are woken. */
  override release(key: string | undefined): void {
    super.release(key);
    if (key === undefined) return;
    const s = this.state(key);
    // Back to the cluster at once: another coordinator's waiter may be next.
    if (s.claimed > this.count(key)) {
      s.claimed--;
      s.giveBack++;
      this.pump(key);
    }
    this.wake();
  }

  /** Write this coordinator's slots of `key` (and claim one when wanted) until nothing is pending. */
  private pump(key: string): void {
    const s = this.state(key);
    if (s.busy) return;
    if (s.retry !== undefined) {
      this.store.clock.clearTimeout(s.retry);
      s.retry = undefined;
    }
    s.busy = true;
    void this.write(key, s).finally(() => {
      s.busy = false;
      // Work that arrived after the loop's last check (between its return and now) is not lost.
      const pending = s.giveBack > 0 || s.wantLimit > 0;
      if (pending && s.retry === undefined && !this.store.isClosed) return this.pump(key);
      // Nothing held, wanted or pending: forget the key (keys may be many, e.g. one per repository).
      const idle = s.claimed === 0 && s.giveBack === 0 && s.wantLimit === 0;
      if (idle && s.retry === undefined && this.count(key) === 0) this.states.delete(key);
    });
  }

  private async write(key: string, s: KeyState): Promise<void> {
    for (;;) {
      if (s.giveBack === 0 && (s.wantLimit === 0 || this.store.isClosed)) return;
      const gave = s.giveBack;
      const want = this.store.isClosed ? 0 : s.wantLimit;
      let granted = false;
      try {
        granted = await this.store.cas<KeyEntry, boolean>(`key.${keyToken(key)}`, async (cur) => {
          const me = this.store.id;
          const h = { ...(cur?.h ?? {}) };
          delete h[me];
          await this.store.dropDead(h);
          const q: string[] = [];
          for (const id of cur?.q ?? []) if (id !== me && (await this.store.isAlive(id))) q.push(id);
          const others = Object.values(h).reduce((a, b) => a + b, 0);
          s.others = others;
          // Coordinators queued before this one go first (FIFO across coordinators: one with a
          // steady backlog cannot keep re-claiming the slot it just gave back).
          const pos = cur?.q?.indexOf(me) ?? -1;
          const ahead = pos < 0 ? q.length : q.filter((id) => cur!.q!.indexOf(id) < pos).length;
          // One more only when every held slot is in use (an unused one serves the waiter already).
          const need = want > 0 && s.claimed <= this.count(key);
          const grant = need && want - others - s.claimed > ahead;
          const mine = s.claimed + (grant ? 1 : 0);
          if (mine > 0) h[me] = mine;
          if (need && !grant) q.splice(ahead, 0, me);
          const next: KeyEntry = q.length > 0 ? { h, q } : { h };
          // Unchanged: no write (a write wakes every blocked coordinator's watch).
          return [sameEntry(cur, next) ? undefined : next, grant];
        });
      } catch (err) {
        // KV unreachable: no grant. Try again later; the waiter's own timeout bounds its wait.
        this.store.logger.warn({ err, key }, 'cluster limits: concurrency key write failed');
        this.later(key, s);
        return;
      }
      s.giveBack -= gave;
      if (granted || (s.claimed > this.count(key) && this.store.fresh())) {
        if (granted) s.claimed++;
        s.wantLimit = 0;
        this.wake();
        // Nobody took it (the waiter left, or the free agent went elsewhere): give it back.
        this.store.clock.setTimeout(() => {
          if (s.claimed > this.count(key)) {
            s.claimed--;
            s.giveBack++;
            this.pump(key);
          }
        }, 0);
      } else if (want > 0 && s.giveBack === 0) {
        // Full: a release anywhere (watch) or a dead holder's expiry (poll) brings it back here.
        this.later(key, s);
        return;
      }
    }
  }

  private later(key: string, s: KeyState): void {
    if (this.store.isClosed || s.retry !== undefined) return;
    s.retry = this.store.clock.setTimeout(() => {
      s.retry = undefined;
      if (s.wantLimit > 0 || s.giveBack > 0) this.pump(key);
    }, this.store.pollMs);
  }

  /** At close: every slot goes back (leases have ended by then), pending claims are dropped. */
  private async giveAllBack(): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const [key, s] of this.states) {
      if (s.retry !== undefined) this.store.clock.clearTimeout(s.retry);
      s.retry = undefined;
      s.wantLimit = 0;
      if (s.claimed === 0 && s.giveBack === 0) continue;
      s.giveBack += s.claimed;
      s.claimed = 0;
      writes.push(
        this.store
          .cas<KeyEntry, void>(`key.${keyToken(key)}`, async (cur) => {
            const me = this.store.id;
            if (!cur || (!cur.h[me] && !cur.q?.includes(me))) return [undefined, undefined];
            const h = { ...cur.h };
            delete h[me];
            const q = (cur.q ?? []).filter((id) => id !== me);
            return [q.length > 0 ? { h, q } : { h }, undefined];
          })
          .catch(() => {}),
      );
    }
    await Promise.all(writes);
  }
}
