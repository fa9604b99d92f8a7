/**
 * Dominant Resource Fairness (Ghodsi et al., NSDI 2011) as an admission order.
 *
 * A tenant's *dominant share* is the largest, over resources, of (what it holds / capacity). DRF admits
 * next the tenant with the smallest dominant share whose next demand fits, which equalises dominant
 * shares: no tenant can gain by lying about its demand, and none envies another's allocation.
 *
 * Used by the runtime to order waiting acquisitions across tenants (cycles, stories, users) when
 * resources are contended; within a tenant the order stays FIFO.
 *
 * Pure; O(tenants × resources) per pick.
 */
import type { ResourceAmounts } from '../structures/ledger.js';

/**
 * Dominant share of `held` against `capacity`: max over resources of held / capacity. Resources with
 * no (or infinite, or zero) capacity are ignored — they cannot be contended.
 *
 * @example dominantShare({ cpuCores: 3, memoryMb: 12 }, { cpuCores: 9, memoryMb: 18 }) // 2/3
 */
export function dominantShare(held: ResourceAmounts, capacity: ResourceAmounts): number {
  let best = 0;
  for (const k in held) {
    const cap = capacity[k];
    if (cap === undefined || !Number.isFinite(cap) || cap <= 0) continue;
    const s = (held[k] ?? 0) / cap;
    if (s > best) best = s;
  }
  return best;
}

/** True when `demand` fits in `free` (missing free = unlimited). */
export function fits(demand: ResourceAmounts, free: ResourceAmounts): boolean {
  for (const k in demand) {
    const f = free[k];
    if (f !== undefined && (demand[k] ?? 0) > f + 1e-9) return false;
  }
  return true;
}

function add(into: Record<string, number>, d: ResourceAmounts, sign: 1 | -1): void {
  for (const k in d) into[k] = (into[k] ?? 0) + sign * (d[k] ?? 0);
}

/** One tenant's repeated demand, for {@link drfAllocate}. */
export interface DrfTenant {
  id: string;
  /** Resources one task needs. */
  perTask: ResourceAmounts;
  /** Most tasks it wants. @default Infinity */
  maxTasks?: number;
}

/** Result of {@link drfAllocate}. */
export interface DrfAllocation {
  /** Tasks admitted per tenant. */
  tasks: Record<string, number>;
  /** Final dominant share per tenant. */
  shares: Record<string, number>;
  /** What is left of the capacity. */
  free: Record<string, number>;
}

/**
 * Progressive filling: repeatedly admit one task of the tenant with the lowest dominant share whose
 * next task still fits, until none fits. Ties go to the tenant listed first.
 *
 * @example
 * ```ts
 * drfAllocate({ cpuCores: 9, memoryMb: 18_432 }, [
 *   { id: 'A', perTask: { cpuCores: 1, memoryMb: 4096 } },
 *   { id: 'B', perTask: { cpuCores: 3, memoryMb: 1024 } },
 * ]).tasks // { A: 3, B: 2 }
 * ```
 */
export function drfAllocate(capacity: ResourceAmounts, tenants: readonly DrfTenant[]): DrfAllocation {
  const free: Record<string, number> = { ...capacity };
  const held = tenants.map(() => ({}) as Record<string, number>);
  const tasks = tenants.map(() => 0);
  const shares = tenants.map(() => 0);
  const blocked = tenants.map((t) => Object.values(t.perTask).every((v) => v <= 0)); // zero demand: never pick (would loop)
  for (;;) {
    let pick = -1;
    for (let i = 0; i < tenants.length; i++) {
      const t = tenants[i]!;
      if (blocked[i] || tasks[i]! >= (t.maxTasks ?? Number.POSITIVE_INFINITY)) continue;
      if (!fits(t.perTask, free)) {
        // Free only shrinks during filling, so a tenant that does not fit now never will.
        blocked[i] = true;
        continue;
      }
      if (pick < 0 || shares[i]! < shares[pick]!) pick = i;
    }
    if (pick < 0) break;
    const t = tenants[pick]!;
    add(held[pick]!, t.perTask, 1);
    add(free, t.perTask, -1);
    tasks[pick]!++;
    shares[pick] = dominantShare(held[pick]!, capacity);
  }
  const out: DrfAllocation = { tasks: {}, shares: {}, free };
  tenants.forEach((t, i) => {
    out.tasks[t.id] = tasks[i]!;
    out.shares[t.id] = shares[i]!;
  });
  return out;
}

/** A waiting acquisition, for {@link drfPick} / {@link drfOrder}. */
export interface DrfWaiter {
  /** Tenant (cycle, story, user) it is charged to. */
  tenant: string;
  /** Resources it needs. */
  demand: ResourceAmounts;
}

/**
 * Which waiter to admit next: among tenants with a waiter whose demand fits `free`, the tenant with the
 * lowest dominant share of what it holds now; within the tenant, its oldest waiter that fits.
 * Returns the waiter's index, or -1 when nothing fits. `waiters` must be in arrival order.
 *
 * @param held What each tenant holds now (tenants not listed hold nothing).
 */
export function drfPick(
  waiters: readonly DrfWaiter[],
  held: ReadonlyMap<string, ResourceAmounts>,
  capacity: ResourceAmounts,
  free: ResourceAmounts,
): number {
  let best = -1;
  let bestShare = Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  for (let i = 0; i < waiters.length; i++) {
    const w = waiters[i]!;
    // FIFO within a tenant: only its first fitting waiter competes.
    if (seen.has(w.tenant) || !fits(w.demand, free)) continue;
    seen.add(w.tenant);
    const s = dominantShare(held.get(w.tenant) ?? {}, capacity);
    if (s < bestShare) {
      best = i;
      bestShare = s;
    }
  }
  return best;
}

/**
 * The full admission order DRF would use if every waiter were admitted in turn and nothing released
 * meanwhile: repeated {@link drfPick}, charging each admitted demand to its tenant. Waiters that never
 * fit are left out. O(waiters² × resources) — for planning and tests, not the hot path.
 */
export function drfOrder(
  waiters: readonly DrfWaiter[],
  held: ReadonlyMap<string, ResourceAmounts>,
  capacity: ResourceAmounts,
): number[] {
  const h = new Map<string, Record<string, number>>();
  for (const [k, v] of held) h.set(k, { ...v });
  const free: Record<string, number> = { ...capacity };
  for (const v of held.values()) add(free, v, -1);
  const left = waiters.map((w, i) => ({ w, i }));
  const order: number[] = [];
  for (;;) {
    const j = drfPick(
      left.map((x) => x.w),
      h,
      capacity,
      free,
    );
    if (j < 0) break;
    const { w, i } = left[j]!;
    left.splice(j, 1);
    order.push(i);
    const t = h.get(w.tenant) ?? {};
    add(t, w.demand, 1);
    h.set(w.tenant, t);
    add(free, w.demand, -1);
  }
  return order;
}
