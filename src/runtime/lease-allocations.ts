/**
 * The allocation actors of one pool's leases (machines/allocation.machine.ts): every lease that
 * reserved resources owns one, created in the pool's `<type>-leases` child group (a child of the pool
 * actor: src/runtime/child-group.ts; systemId `allocation:<id>`). Its TTL ends a forgotten lease (`ERR_LEASE_EXPIRED`), the rebalancer resizes
 * through it (the lease and its running tasks follow the new size), and its one final state gives the
 * resources back to the ledger exactly once — on release, expiry or agent loss.
 */
import type { ActorRefFrom, AnyActorLogic } from 'xstate';
import type { AllocationReleaseCause, allocationMachine } from '../../machines/allocation.machine.js';
import { stopChildActor } from './actor-done.js';
import type { GateReservation } from './gates.js';
import type { Lease } from './lease.js';
import { ChildIds } from '../structures/slot-ids.js';

type AllocationRef = ActorRefFrom<typeof allocationMachine>;

/** A reservation the gate granted. */
export type Granted = Extract<GateReservation, { ok: true }>;

/** What one resize did to the changed resource (the rebalancer's outcome). */
export type ResizeResult = { ok: true; before: number; after: number } | { ok: false; error: string };

/** How the allocations create their actors (the pool's `<type>-leases` group). */
export type CreateChild = (
  logic: AnyActorLogic,
  id: string,
  input: unknown,
  systemId: string,
) => AllocationRef;

/** One pool's live allocation actors. */
export class LeaseAllocations {
  /** Live allocation actors by id. */
  private readonly refs = new Map<string, AllocationRef>();
  /** Live leases by their allocation's id (the actors' implementations find them here). */
  private readonly leases = new Map<string, Lease>();
  /** Actor ids of the live allocation actors (recycled), by allocation id. */
  private readonly actorIds: ChildIds<string>;

  constructor(
    private readonly pool: string,
    private readonly logic: AnyActorLogic,
    private readonly create: CreateChild,
  ) {
    this.actorIds = new ChildIds(`${pool}-alloc-`);
  }

  /** A lease was granted with `r`: give it its allocation actor when it reserved anything. */
  open(
    lease: Lease,
    r: Granted,
    requested: Readonly<Record<string, number>>,
    ttlMs: number,
    now: number,
  ): void {
    if (Object.keys(requested).length === 0) return;
    const amounts = { ...(r.granted ?? requested) } as Record<string, number>;
    const id = r.allocationId ?? lease.id;
    lease.allocation = { id, amounts, expiresAt: now + ttlMs };
    this.leases.set(id, lease);
    const input = {
      allocationId: id,
      owner: lease.agent.id,
      pool: this.pool,
      cycleId: lease.cycleId,
      amounts,
      ttlMs,
    };
    // The actor's own id is a recycled slot (src/structures/slot-ids.ts: XState's per-event-type cache
    // would keep every allocation's done event type); the allocation id is its systemId and input.
    const ref = this.create(this.logic, this.actorIds.take(id), input, `allocation:${id}`);
    this.refs.set(id, ref);
    ref.start();
    ref.send({ type: 'ACTIVATE' });
  }

  /**
   * The lease ended (released, or lost with its agent): through its allocation actor when there is one
   * (whose final state releases), else straight back to the ledger.
   */
  close(lease: Lease): void {
    const ref = lease.allocation && this.refs.get(lease.allocation.id);
    if (ref && ref.getSnapshot().status === 'active') {
      const lost = lease.lostReason === 'agent gone' || lease.lostReason === 'agent failed';
      ref.send({ type: lost ? 'AGENT_LOST' : 'RELEASE' });
      return;
    }
    if (lease.allocation) this.leases.delete(lease.allocation.id);
    lease.releaseResources?.();
    lease.releaseResources = undefined;
  }

  /** The machine's `releaseAllocation` (its final state): the ledger gets the resources back. */
  released(allocationId: string, cause: AllocationReleaseCause): void {
    this.refs.delete(allocationId);
    this.actorIds.release(allocationId);
    const lease = this.leases.get(allocationId);
    if (!lease) return;
    this.leases.delete(allocationId);
    const release = lease.releaseResources;
    lease.releaseResources = undefined;
    // After this transition: giving back drives the allocator actor, ending the lease drives the agent.
    queueMicrotask(() => {
      release?.(cause === 'expired' ? 'expired' : undefined);
      if (cause === 'expired') lease.expire();
    });
  }

  /** The machine's `reportResized`: the lease and its running tasks follow the new size. */
  resized(allocationId: string, amounts: Readonly<Record<string, number>>): void {
    const lease = this.leases.get(allocationId);
    if (!lease?.allocation) return;
    const before = lease.allocation.amounts.memoryMb;
    lease.allocation = { ...lease.allocation, amounts: { ...amounts } };
    const mb = amounts.memoryMb;
    if (mb !== undefined && mb !== before) queueMicrotask(() => lease.agent.setLeaseMemory(lease.id, mb));
  }

  /**
   * Resize through the allocation actor (the rebalancer's way): resolves once the actor is back in
   * `active`, with the amount of the changed resource before and after, or why it was refused.
   */
  resize(allocationId: string, delta: Readonly<Record<string, number>>): Promise<ResizeResult> {
    const ref = this.refs.get(allocationId);
    const resource = Object.keys(delta)[0];
    if (!ref || ref.getSnapshot().status !== 'active' || resource === undefined)
      return Promise.resolve({ ok: false, error: `allocation ${allocationId} is not live` });
    const before = ref.getSnapshot().context.amounts[resource] ?? 0;
    return new Promise((resolve) => {
      let sent = false;
      const sub = ref.subscribe({
        next: (s) => {
          if (!sent || s.context.pendingChange !== undefined) return;
          sub.unsubscribe();
          const error = s.context.lastResizeError;
          resolve(
            error !== undefined
              ? { ok: false, error }
              : { ok: true, before, after: s.context.amounts[resource] ?? 0 },
          );
        },
        complete: () => resolve({ ok: false, error: `allocation ${allocationId} was released` }),
        error: () => resolve({ ok: false, error: `allocation ${allocationId} failed` }),
      });
      sent = true;
      ref.send({ type: 'RESIZE', change: { delta } });
    });
  }

  /** The pool stopped: no allocation actor outlives it. */
  stopAll(): void {
    for (const ref of this.refs.values()) stopChildActor(ref);
    this.refs.clear();
  }
}
