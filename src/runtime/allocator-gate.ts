/**
 * The pools' view of the global ledger, backed by the allocator actor (machines/allocator.machine.ts),
 * the ledger's only writer. A reservation is one RESERVE event; the allocator answers with an
 * emitted `allocator.result` that is delivered while the event is processed, so the answer is there
 * when `send` returns — no promise, no check-then-act window.
 */
import type { ActorRefFrom } from 'xstate';
import type { AllocatorInput, AllocatorResult, allocatorMachine } from '../../machines/allocator.machine.js';
import { type AllocationPolicyConfig, DEFAULT_ALLOCATION_POLICY } from '../policies/allocation.js';
import { Ledger, type ResizeChange } from '../structures/ledger.js';
import type { ResourceName } from './config.js';
import type { GateReservation, ResourceGate } from './gates.js';

/** The allocator's actor: a child of the system actor. */
export type AllocatorRef = ActorRefFrom<typeof allocatorMachine>;

/** A {@link ResourceGate} over the allocator actor. */
export class AllocatorGate implements ResourceGate {
  /** The allocator actor: the system actor's child `allocator`. */
  readonly actor: AllocatorRef;
  /** Answers to this gate's own reserves only (other senders' results are not kept: no leak). */
  private readonly results = new Map<string, AllocatorResult>();
  private readonly awaiting = new Set<string>();
  private seq = 0;

  /**
   * The allocator machine's input for the system's global limits (the system spawns it with this).
   * `policy` is the allocation optimiser (src/policies/allocation.ts; system option `allocation`): on by
   * default, it grows a grant up to 1.5× while the ledger is below 60 % used, grants exactly the
   * request below 80 %, and squeezes to 0.8× above; `false` grants every request exactly.
   */
  static input(
    limits: Partial<Record<ResourceName, number>>,
    policy: AllocationPolicyConfig | false,
    quotas?: Readonly<Record<string, Partial<Record<ResourceName, number>>>>,
  ): AllocatorInput {
    return {
      // `quotas`: each pool's starting quotas (the resource scaler's minimums), if it scales any.
      ledger: new Ledger({ limits, ...(quotas === undefined ? {} : { quotas }) }),
      policy: policy === false ? { ...DEFAULT_ALLOCATION_POLICY, enabled: false } : policy,
    };
  }

  constructor(actor: AllocatorRef) {
    this.actor = actor;
    this.actor.on('allocator.result', (r) => {
      if (this.awaiting.has(r.requestId)) this.results.set(r.requestId, r);
    });
  }

  reserve(
    owner: string,
    amounts: Partial<Record<ResourceName, number>>,
    group?: string,
    exact = false,
  ): GateReservation {
    if (Object.keys(amounts).length === 0) return { ok: true, release: () => {} };
    const requestId = `r${++this.seq}`;
    this.awaiting.add(requestId);
    this.actor.send({
      type: 'RESERVE',
      requestId,
      owner,
      ...(group === undefined ? {} : { group }),
      request: amounts as Record<string, number>,
      // The allocator's policy sizes the grant (exact when the optimiser is off, or asked).
      exact,
    });
    this.awaiting.delete(requestId);
    const r = this.results.get(requestId);
    this.results.delete(requestId);
    if (r?.ok === true && 'allocation' in r) {
      const id = r.allocation.id;
      let released = false;
      return {
        ok: true,
        granted: { ...r.allocation.amounts } as Partial<Record<ResourceName, number>>,
        allocationId: id,
        release: (cause) => {
          if (released) return;
          released = true;
          this.actor.send({ type: cause === 'expired' ? 'EXPIRE' : 'RELEASE', allocationId: id });
        },
      };
    }
    if (r && r.ok === false && 'reason' in r) {
      return {
        ok: false,
        resource: r.reason.resource,
        requested: r.reason.requested,
        available: r.reason.available,
        scope: r.reason.scope === 'quota' ? 'quota' : 'global',
      };
    }
    const why = r && 'error' in r ? r.error.message : 'allocator did not answer';
    return { ok: false, resource: why, requested: 0, available: 0 };
  }

  /**
   * No more reservations: the allocator closes (machine state `closing`, then `closed` once every
   * allocation is back). The system sends it when its pools have stopped.
   */
  close(): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'CLOSE' });
  }

  /**
   * Resize an allocation through the allocator (answered while the event is processed); returns the
   * new amounts. Throws when refused (the reason names the resource) or when the allocation is gone.
   */
  resizeTo(allocationId: string, change: ResizeChange): Record<string, number> {
    const requestId = `z${++this.seq}`;
    this.awaiting.add(requestId);
    this.actor.send({ type: 'RESIZE', requestId, allocationId, change });
    this.awaiting.delete(requestId);
    const r = this.results.get(requestId);
    this.results.delete(requestId);
    if (r?.ok === true && 'allocation' in r) return { ...r.allocation.amounts };
    if (r && r.ok === false && 'reason' in r) {
      const { resource, requested, available, scope } = r.reason;
      throw new Error(`${resource}: ${requested} requested, ${available} available (${scope} limit)`);
    }
    throw new Error(r && 'error' in r ? r.error.message : 'allocator did not answer');
  }

  /**
   * Set `group`'s quota on `resource` through the allocator (answered while the event is processed).
   * `{ ok: false, held }` when the group holds more than `amount` (nothing changed); throws for a
   * request that can never succeed (unknown resource, bad amount).
   */
  setQuota(
    group: string,
    resource: string,
    amount: number | undefined,
  ): { ok: true } | { ok: false; held: number } {
    const requestId = `q${++this.seq}`;
    this.awaiting.add(requestId);
    this.actor.send({ type: 'SET_QUOTA', requestId, group, resource, amount });
    this.awaiting.delete(requestId);
    const r = this.results.get(requestId);
    this.results.delete(requestId);
    if (r?.op === 'quota' && r.ok) return { ok: true };
    if (r?.op === 'quota' && r.held !== undefined) return { ok: false, held: r.held };
    throw r && 'error' in r && r.error ? r.error : new Error('allocator did not answer');
  }

  /**
   * The demand each group's quota refused since the last call (per group per resource: what it held
   * plus the largest refused request), and start collecting afresh — the resource scaler's input.
   */
  takePressure(): Record<string, Record<string, number>> {
    const requestId = `p${++this.seq}`;
    this.awaiting.add(requestId);
    this.actor.send({ type: 'TAKE_PRESSURE', requestId });
    this.awaiting.delete(requestId);
    const r = this.results.get(requestId);
    this.results.delete(requestId);
    return r?.op === 'pressure' ? r.pressure : {};
  }

  /**
   * The ledger the allocator owns, as a view over its context's plain-data state (read-only use:
   * the allocator is the only writer).
   */
  ledger(): Ledger {
    return Ledger.over(this.actor.getSnapshot().context.ledger);
  }

  /** Ledger usage and availability, per resource. */
  usage(): { used: Record<string, number>; available: Record<string, number> } {
    const l = this.ledger();
    return { used: l.usage(), available: l.available() };
  }
}
