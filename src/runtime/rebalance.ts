/**
 * The rebalancer wired to the runtime: machines/rebalancer.machine.ts on the system's clock, reading
 * live lease allocations from the allocator's ledger and the use their leases report
 * (`lease.reportUsage`), and applying every opportunity as a RESIZE through the allocator actor — the
 * ledger's only writer — so a resize can never race a reservation.
 *
 * Which allocation is a lease's: {@link RebalancingGate} is the {@link AllocatorGate} that also
 * remembers, per reservation, the allocation id the allocator granted, keyed by the release function
 * the pool stores on the lease (`lease.releaseResources`).
 */
import type { ActorRefFrom } from 'xstate';
import type { AllocatorResult } from '../../machines/allocator.machine.js';
import type {
  RebalanceObservations,
  RebalancerInput,
  rebalancerMachine,
} from '../../machines/rebalancer.machine.js';
import {
  type AllocationObservation,
  type Opportunity,
  outcomeOf,
  type RebalanceOutcome,
  type ResizeThroughAllocator,
} from '../policies/rebalancing.js';
import { AllocatorGate, type AllocatorRef } from './allocator-gate.js';
import type { RebalanceSettings, ResourceName } from './config.js';
import type { GateReservation } from './gates.js';
import type { Lease } from './lease.js';
import type { Logger } from '../core/logger.js';

/** The rebalancer's actor: a child of the system actor while it runs. */
export type RebalancerRef = ActorRefFrom<typeof rebalancerMachine>;

/** An {@link AllocatorGate} that knows which allocation each reservation made, and can resize it. */
export class RebalancingGate extends AllocatorGate {
  /** Allocation id by the release function handed to the pool (weak: dropped with the lease). */
  private readonly ids = new WeakMap<() => void, string>();
  /** The result of the request being sent, captured while `send` runs (results are synchronous). */
  private captured: AllocatorResult | undefined;
  private resizeSeq = 0;

  constructor(actor: AllocatorRef) {
    super(actor);
    this.actor.on('allocator.result', (r) => {
      this.captured = r;
    });
  }

  override reserve(
    owner: string,
    amounts: Partial<Record<ResourceName, number>>,
    group?: string,
    exact?: boolean,
  ): GateReservation {
    this.captured = undefined;
    const r = super.reserve(owner, amounts, group, exact);
    const c = this.captured as AllocatorResult | undefined;
    if (r.ok && c?.ok === true && 'allocation' in c) this.ids.set(r.release, c.allocation.id);
    this.captured = undefined;
    return r;
  }

  /** The allocation a lease holds, if its reservation went through this gate and is still live. */
  allocationOf(lease: Lease): string | undefined {
    const release = lease.releaseResources;
    return release === undefined ? undefined : this.ids.get(release);
  }

  /**
   * One RESIZE through the allocator, answered synchronously; `before`/`after` are the allocation's
   * amounts of the resized resource, so a shrink clamped at the per-agent minimum reports what it
   * really freed.
   */
  readonly resize: ResizeThroughAllocator = (allocationId, delta) => {
    const resource = Object.keys(delta)[0];
    if (resource === undefined) return { ok: false, error: 'empty change' };
    const before = this.ledger().get(allocationId)?.amounts[resource];
    if (before === undefined) return { ok: false, error: `allocation ${allocationId} was released` };
    this.captured = undefined;
    const requestId = `rebalance-${++this.resizeSeq}`;
    this.actor.send({ type: 'RESIZE', requestId, allocationId, change: { delta } });
    const r = this.captured as AllocatorResult | undefined;
    this.captured = undefined;
    if (r === undefined || r.requestId !== requestId) return { ok: false, error: 'allocator did not answer' };
    if (r.ok && 'allocation' in r) return { ok: true, before, after: r.allocation.amounts[resource] ?? 0 };
    if (!r.ok && 'reason' in r) {
      const { resource: res, requested, available, scope } = r.reason;
      return { ok: false, error: `${res}: ${requested} requested, ${available} available (${scope} limit)` };
    }
    return { ok: false, error: 'error' in r ? r.error.message : 'refused' };
  };
}

/**
 * Runs the rebalancer machine for a system. Leases are registered with {@link track} when granted;
 * each round samples the peak use they reported since the previous round.
 */
export class Rebalancer {
  /** The rebalancer actor (the system actor's child `rebalancer`, while the system runs). */
  private actor: RebalancerRef | undefined;
  private readonly leases = new Set<Lease>();
  /** Outcomes, kept from the actor's snapshots (they outlive the actor, stopped at shutdown). */
  private outcomes: readonly RebalanceOutcome[] = [];

  /**
   * @param resizeLease resizes a lease's allocation through its allocation actor (the pool's
   *   `resizeAllocation`), so the lease and its agent's memory watchdog follow the new size
   */
  constructor(
    private readonly gate: RebalancingGate,
    private readonly logger: Logger,
    private readonly resizeLease: (
      lease: Lease,
      delta: Readonly<Record<string, number>>,
    ) => Promise<ReturnType<ResizeThroughAllocator>>,
  ) {}

  /** The rebalancer machine's input for these settings (the system spawns it while running). */
  static input(settings: RebalanceSettings): RebalancerInput {
    return {
      config: settings.rules,
      intervalMs: settings.intervalMs,
      stepTimeoutMs: settings.stepTimeoutMs,
      historySize: settings.historySize,
    };
  }

  /** The system spawned the rebalancer actor (on entering `running`): follow it. */
  attach(actor: RebalancerRef): void {
    this.actor = actor;
    actor.subscribe({
      next: (s) => (this.outcomes = s.context.history),
      error: (err) => this.logger.error({ err }, 'rebalancer actor error'),
    });
    actor.on('rebalancer.outcome', ({ outcome }) => this.logger.debug({ outcome }, 'rebalance'));
  }

  /**
   * The machine's `applyOpportunities`: every planned resize, in order, through the lease's allocation
   * actor (which asks the allocator, the ledger's only writer).
   */
  async apply(opportunities: readonly Opportunity[]): Promise<RebalanceOutcome[]> {
    const out: RebalanceOutcome[] = [];
    for (const opportunity of opportunities) {
      let lease: Lease | undefined;
      for (const l of this.leases) if (l.allocation?.id === opportunity.allocationId) lease = l;
      const r =
        lease && !lease.released
          ? await this.resizeLease(lease, { [opportunity.resource]: opportunity.delta })
          : ({ ok: false, error: `allocation ${opportunity.allocationId} was released` } as const);
      out.push(outcomeOf(opportunity, r));
    }
    return out;
  }

  /** Follow a granted lease: its reported use drives its allocation's size. */
  track(lease: Lease): void {
    if (!lease.released && this.gate.allocationOf(lease) !== undefined) this.leases.add(lease);
  }

  /** Run a round now instead of at the next interval (ignored while a round is running). */
  trigger(): void {
    if (this.actor?.getSnapshot().status === 'active') this.actor.send({ type: 'TRIGGER' });
  }

  /** Recorded outcomes, oldest first (bounded by `historySize`). */
  history(): readonly RebalanceOutcome[] {
    return this.outcomes;
  }

  /** Stop following leases (the actor itself is stopped by the system machine). */
  stop(): void {
    this.leases.clear();
  }

  /**
   * One observation per live tracked lease that reported use this interval. Only reported resources
   * appear in `allocated`: a resource nobody measured must not look unused and be shrunk.
   * The ledger's free amounts are not passed as a planning limit: the allocator is the authority, so
   * a grow it cannot fit is attempted and recorded as refused instead of silently dropped.
   */
  /** The machine's `collectObservations`. @internal */
  collect(): RebalanceObservations {
    const ledger = this.gate.ledger();
    const observations: AllocationObservation[] = [];
    for (const lease of [...this.leases]) {
      const id = this.gate.allocationOf(lease);
      const allocation = id === undefined ? undefined : ledger.get(id);
      if (lease.released || id === undefined || allocation === undefined) {
        this.leases.delete(lease);
        continue;
      }
      const usage = lease.takeUsage();
      if (usage === undefined) continue;
      const allocated: Record<string, number> = {};
      const used: Record<string, number> = {};
      for (const k of ['memoryMb', 'cpuCores'] as const) {
        const u = usage.peak[k];
        if (u === undefined) continue;
        allocated[k] = allocation.amounts[k] ?? 0;
        used[k] = u;
      }
      observations.push({
        allocationId: id,
        owner: allocation.owner ?? lease.cycleId,
        allocated,
        used,
        samples: usage.samples,
      });
    }
    return {
      observations,
      limits: { available: {}, perAgentMax: ledger.perAgentMax(), perAgentMin: ledger.perAgentMin() },
    };
  }
}
