/**
 * Dominant Resource Fairness for a pool's waiting acquisitions (pool option `admission: 'drf'`): which
 * waiter is offered the next free agent. The pure choice is src/policies/drf.ts (`drfPick`); this module
 * feeds it from the live system — what each tenant (cycle) holds in the allocator's ledger plus the
 * offers not yet reserved.
 */
import { drfPick } from '../policies/drf.js';
import { AllocatorGate } from './allocator-gate.js';
import type { KeyGate, ResourceGate } from './gates.js';
import { amountsOf, type Requirements } from './requirements.js';

/** What DRF reads of a waiting acquisition. */
export interface DrfWaiter {
  req: {
    cycleId: string;
    requirements: Requirements;
    concurrencyKey: string | undefined;
    concurrencyLimit: number;
  };
  /** Set once an agent was offered to it. */
  agent: unknown;
  /** Set once its reservation went through. */
  reservation: unknown;
}

/** One pool's DRF admission. */
export class DrfAdmission<W extends DrfWaiter> {
  /**
   * Offers not yet reserved in the ledger (the reservation runs a microtask after the offer): DRF
   * charges them to their tenant so that several agents freed in one turn are not all handed to the
   * same lowest-share tenant. Pruned lazily once the offer is granted or withdrawn.
   */
  private readonly offered = new Set<W>();

  constructor(
    private readonly keys: KeyGate,
    private readonly gate: ResourceGate,
  ) {}

  /** `w` was offered an agent (charged to its tenant until its reservation lands). */
  offer(w: W): void {
    this.offered.add(w);
  }

  /**
   * The waiter DRF admits next: among waiters not blocked by their concurrency key whose requirements
   * fit what the ledger has free, the one whose tenant (cycle) holds the lowest dominant share of the
   * global limits, ties FIFO. What a tenant holds is read from the allocator's ledger (every pool's
   * leases, owner `type:cycle`) plus its offers not yet reserved. A waiter that does not fit keeps
   * waiting rather than being offered an agent its reservation would fail on. Without an allocator
   * (no global limits, or a custom gate) there is nothing to share fairly: FIFO.
   * O(allocations + waiters × resources).
   */
  next(waiters: Iterable<W>): W | undefined {
    const eligible: W[] = [];
    for (const w of waiters) {
      if (w.agent === undefined && this.keys.allows(w.req.concurrencyKey, w.req.concurrencyLimit))
        eligible.push(w);
    }
    const gate = this.gate;
    if (eligible.length === 0 || !(gate instanceof AllocatorGate)) return eligible[0];
    const ledger = gate.ledger();
    const held = new Map<string, Record<string, number>>();
    const free = ledger.available();
    const charge = (tenant: string, amounts: Readonly<Record<string, number>>, pending: boolean) => {
      const h = held.get(tenant) ?? {};
      for (const k in amounts) {
        const v = amounts[k] ?? 0;
        h[k] = (h[k] ?? 0) + v;
        if (pending && free[k] !== undefined) free[k] -= v;
      }
      held.set(tenant, h);
    };
    for (const a of ledger.allocations()) {
      if (a.owner === undefined) continue;
      // Pool names cannot contain ':', so the tenant is everything after the first one.
      const i = a.owner.indexOf(':');
      charge(i < 0 ? a.owner : a.owner.slice(i + 1), a.amounts, false);
    }
    for (const w of this.offered) {
      if (w.agent === undefined) this.offered.delete(w);
      else if (w.reservation === undefined) charge(w.req.cycleId, amountsOf(w.req.requirements), true);
    }
    const i = drfPick(
      eligible.map((w) => ({ tenant: w.req.cycleId, demand: amountsOf(w.req.requirements) })),
      held,
      ledger.limits(),
      free,
    );
    return i < 0 ? undefined : eligible[i];
  }
}
