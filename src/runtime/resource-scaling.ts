/**
 * The resource scaler wired to the runtime (system option `resourceScaling`): the machine
 * machines/resource-scaler.machine.ts on the system's clock, observing each pool's holdings and the
 * demand its quota refused through the allocator, and applying every quota change as a SET_QUOTA
 * through the allocator actor — the ledger's only writer, and the one owner of the quotas. Pools
 * reserve under their own group, so a quota caps what one pool's leases and agents hold together.
 */
import type { ActorRefFrom } from 'xstate';
import type {
  ResourceQuotaOutcome,
  ResourceScalerInput,
  ResourceScalingRound,
  ResourceUsageObservation,
  resourceScalerMachine,
} from '../../machines/resource-scaler.machine.js';
import type { Clock } from '../core/clock.js';
import {
  type PoolQuotas,
  RESOURCE_NAMES,
  type ResourceDecision,
  type ResourceName,
  type ResourceObservation,
} from '../policies/scaling/resource-scaler.js';
import type { AllocatorGate } from './allocator-gate.js';
import type { ResourceScalingSettings } from './resource-scaling-config.js';

export {
  initialQuotas,
  type ResourceScalingOptions,
  type ResourceScalingRuleOptions,
  type ResourceScalingSettings,
} from './resource-scaling-config.js';

/** The resource scaler actor: the system actor's child `resourceScaler`, while running. */
export type ResourceScalerRef = ActorRefFrom<typeof resourceScalerMachine>;

/** What `system.resourceScaling()` returns. */
export interface ResourceScalingView {
  /** The quotas the ledger enforces now, per pool per scaled resource. */
  quotas: Record<string, PoolQuotas>;
  /** What each pool holds now (leases and agents together), per scaled resource. */
  held: Record<string, PoolQuotas>;
  /** Rounds that changed (or tried to change) something, oldest first. */
  history: readonly ResourceScalingRound[];
  /** Rounds run, including those that changed nothing. */
  rounds: number;
  /** The last observe/apply failure, if the last round failed. */
  lastError: string | undefined;
}

/** The runtime side of the resource scaler actor. */
export class ResourceScaling {
  private actor: ResourceScalerRef | undefined;

  constructor(
    private readonly settings: ResourceScalingSettings,
    private readonly gate: AllocatorGate,
    private readonly clock: Clock,
  ) {}

  /** The machine's input. */
  static input(settings: ResourceScalingSettings): ResourceScalerInput {
    return { config: settings.config, intervalMs: settings.intervalMs, historySize: settings.historySize };
  }

  /** The system spawned the actor (on entering `running`): follow it. */
  attach(actor: ResourceScalerRef): void {
    this.actor = actor;
  }

  /**
   * The machine's `observeUsage`: per pool, what it holds of each scaled resource, raised to the
   * demand its quota refused since the last round (held + the largest refused request), and the
   * quotas the ledger enforces now.
   */
  observe(): ResourceUsageObservation {
    const pressure = this.gate.takePressure();
    const ledger = this.gate.ledger();
    const usage: ResourceObservation = {};
    const quotas: Record<string, PoolQuotas> = {};
    for (const [pool, rules] of Object.entries(this.settings.config.pools)) {
      const held = ledger.groupUsage(pool);
      const enforced = ledger.quotas(pool);
      const u: Partial<Record<ResourceName, number>> = {};
      const q: PoolQuotas = {};
      for (const r of RESOURCE_NAMES) {
        if (!rules[r]) continue;
        u[r] = Math.max(held[r] ?? 0, pressure[pool]?.[r] ?? 0);
        const e = enforced[r];
        if (e !== undefined) q[r] = e;
      }
      usage[pool] = u;
      quotas[pool] = q;
    }
    return { usage, quotas, at: this.clock.now() };
  }

  /**
   * The machine's `applyQuotas`: each decision through the allocator, shrinks first, each on its own
   * (allSettled): a lowering below what the pool holds is refused and reported; a growth is cut to
   * what the global limit leaves after the quotas that really changed (a refused shrink freed
   * nothing), so the quotas' sum never exceeds the limit.
   */
  apply(decisions: readonly ResourceDecision[]): ResourceQuotaOutcome[] {
    const ledger = this.gate.ledger();
    const limits = this.settings.config.limits;
    // Sum of the quotas in force, per resource, as the decisions are applied.
    const sum: Partial<Record<ResourceName, number>> = {};
    for (const pool of Object.keys(this.settings.config.pools)) {
      const q = ledger.quotas(pool);
      for (const r of RESOURCE_NAMES) if (q[r] !== undefined) sum[r] = (sum[r] ?? 0) + q[r];
    }
    const ordered = [...decisions].sort((a, b) => Number(a.to > a.from) - Number(b.to > b.from));
    const out: ResourceQuotaOutcome[] = [];
    for (const d of ordered) {
      let to = d.to;
      let cut: string | undefined;
      const limit = limits[d.resource];
      if (to > d.from && limit !== undefined) {
        const room = limit - (sum[d.resource] ?? 0);
        if (to - d.from > room + 1e-9) {
          to = Math.max(d.from, d.from + room);
          cut = `cut to ${to}: the global limit of ${d.resource} (${limit}) has no more room`;
        }
      }
      if (to === d.from) {
        out.push({ ...d, ok: false, applied: d.from, error: cut ?? 'no change' });
        continue;
      }
      try {
        const r = this.gate.setQuota(d.pool, d.resource, to);
        if (r.ok) {
          sum[d.resource] = (sum[d.resource] ?? 0) + (to - d.from);
          out.push({ ...d, ok: true, applied: to, ...(cut ? { error: cut } : {}) });
        } else {
          out.push({
            ...d,
            ok: false,
            applied: d.from,
            error: `${d.pool} holds ${r.held} ${d.resource}: more than ${to}`,
          });
        }
      } catch (e) {
        out.push({ ...d, ok: false, applied: d.from, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return out;
  }

  /**
   * Run a round now instead of at the next interval, and resolve once it ended (a round in progress
   * counts). Bounded: each step of the machine has its own timeout, and a stopped scaler resolves.
   */
  runNow(): Promise<void> {
    const actor = this.actor;
    if (!actor || actor.getSnapshot().status !== 'active') return Promise.resolve();
    const before = actor.getSnapshot().context.rounds;
    if (actor.getSnapshot().matches('monitoring')) actor.send({ type: 'TRIGGER' });
    return new Promise((resolve) => {
      const done = (s: ReturnType<ResourceScalerRef['getSnapshot']>) =>
        s.status !== 'active' || s.context.rounds > before;
      if (done(actor.getSnapshot())) return resolve();
      const sub = actor.subscribe({
        next: (s) => {
          if (!done(s)) return;
          sub.unsubscribe();
          resolve();
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
    });
  }

  /** Quotas, holdings and the history of rounds. */
  view(): ResourceScalingView {
    const ledger = this.gate.ledger();
    const quotas: Record<string, PoolQuotas> = {};
    const held: Record<string, PoolQuotas> = {};
    for (const [pool, rules] of Object.entries(this.settings.config.pools)) {
      const q = ledger.quotas(pool);
      const h = ledger.groupUsage(pool);
      quotas[pool] = {};
      held[pool] = {};
      for (const r of RESOURCE_NAMES) {
        if (!rules[r]) continue;
        if (q[r] !== undefined) quotas[pool][r] = q[r];
        held[pool][r] = h[r] ?? 0;
      }
    }
    const ctx = this.actor?.getSnapshot().context;
    return {
      quotas,
      held,
      history: ctx?.history ?? [],
      rounds: ctx?.rounds ?? 0,
      lastError: ctx?.lastError,
    };
  }
}
