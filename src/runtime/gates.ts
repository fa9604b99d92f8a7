/**
 * Admission gates shared by every pool: concurrency keys and the global resource ledger interface.
 */
import type { ResourceName } from './config.js';

/**
 * Concurrency keys: at most `limit` leases per key at once, across pools (e.g. one mutating code
 * agent per repository while readers run in parallel).
 */
export class KeyGate {
  private readonly held = new Map<string, number>();

  /** Leases currently holding `key`. */
  count(key: string): number {
    return this.held.get(key) ?? 0;
  }

  /** Can one more lease take `key`? */
  allows(key: string | undefined, limit: number): boolean {
    return key === undefined || this.count(key) < limit;
  }

  /** Take one slot of `key`. */
  take(key: string | undefined): void {
    if (key !== undefined) this.held.set(key, this.count(key) + 1);
  }

  /** Give one slot of `key` back. */
  release(key: string | undefined): void {
    if (key === undefined) return;
    const n = this.count(key) - 1;
    if (n <= 0) this.held.delete(key);
    else this.held.set(key, n);
  }
}

/** Result of a ledger reservation. */
export type GateReservation =
  | {
      ok: true;
      /** Give it back; `'expired'`: its lease's TTL passed (the allocator records it as expired). */
      release(cause?: 'expired'): void;
      /** What was granted when the ledger's allocation policy sized it (else the request itself). */
      granted?: Partial<Record<ResourceName, number>>;
      /** The ledger's id of the allocation, when there is a ledger. */
      allocationId?: string;
    }
  | {
      ok: false;
      resource: string;
      requested: number;
      available: number;
      /** Which limit refused: the global one, or the pool's quota (system option `resourceScaling`). */
      scope?: 'global' | 'quota';
    };

/** The global resource ledger as pools see it. */
export interface ResourceGate {
  /**
   * Reserve `amounts` atomically for `owner`, or say which resource is short. `group` (the pool's
   * type) is the quota the reservation counts against. `exact`: grant exactly `amounts` (an agent's
   * base holding), not what the allocation policy would size.
   */
  reserve(
    owner: string,
    amounts: Partial<Record<ResourceName, number>>,
    group?: string,
    exact?: boolean,
  ): GateReservation;
}

/** A gate with no limits (used when no limits are configured). */
export const unlimitedGate: ResourceGate = {
  reserve: () => ({ ok: true, release: () => {} }),
};
