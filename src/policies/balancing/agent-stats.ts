/**
 * Per-agent performance learned online from completions (EWMA of service time and of success),
 * shared by the workload-aware and predictive strategies.
 */
import type { AgentView, TaskOutcome } from './types.js';
import { Ewma } from './util.js';

/** What is known about one agent's past work. */
export interface AgentStats {
  /** EWMA of service time. */
  readonly service: Ewma;
  /** EWMA of success (1 = ok, 0 = failed). */
  readonly success: Ewma;
}

/** Learned statistics per agent, plus a pool-wide service-time average used as the prior. */
export class AgentStatsTable {
  private readonly byAgent = new Map<string, AgentStats>();
  private readonly cacheIds: (string | undefined)[] = [];
  private readonly cacheStats: (AgentStats | undefined)[] = [];
  /** Pool-wide EWMA of service time: the estimate for an agent with no history yet. */
  readonly globalService: Ewma;

  /** @param alpha EWMA weight of a new sample. */
  constructor(private readonly alpha: number) {
    this.globalService = new Ewma(alpha);
  }

  /** Record a completion. */
  record(agentId: string, outcome: TaskOutcome): void {
    let s = this.byAgent.get(agentId);
    if (!s) {
      s = { service: new Ewma(this.alpha), success: new Ewma(this.alpha) };
      this.byAgent.set(agentId, s);
    }
    s.success.add(outcome.ok ? 1 : 0);
    // A failed task's service time says little about speed (it may have died at once): learn speed
    // from successes only.
    if (outcome.ok) {
      s.service.add(outcome.serviceTime);
      this.globalService.add(outcome.serviceTime);
    }
  }

  /**
   * The statistics of every candidate, aligned with `candidates` (undefined = no history yet).
   * Strategies score all candidates on every dispatch, so the lookups dominate their cost; the
   * result is cached and revalidated by id, which makes repeated picks over the same agents free of
   * map lookups. The returned array is reused: read it before the next call.
   */
  resolve(candidates: readonly AgentView[]): readonly (AgentStats | undefined)[] {
    const ids = this.cacheIds;
    const out = this.cacheStats;
    if (ids.length !== candidates.length) {
      ids.length = candidates.length;
      out.length = candidates.length;
    }
    for (let i = 0; i < candidates.length; i++) {
      const id = (candidates[i] as AgentView).id;
      if (ids[i] !== id || out[i] === undefined) {
        ids[i] = id;
        out[i] = this.byAgent.get(id);
      }
    }
    return out;
  }

  /** The statistics of one agent, if it has completed anything. */
  get(agentId: string): AgentStats | undefined {
    return this.byAgent.get(agentId);
  }

  /** Expected service time from an agent's stats: its own average, else the pool's, else 1. */
  serviceOf(stats: AgentStats | undefined): number {
    const v = stats?.service.value ?? this.globalService.value ?? 1;
    // Guard the divisions that use it: a zero service time would make scores infinite.
    return v > 1e-9 ? v : 1e-9;
  }

  /** Success probability from an agent's stats (optimistic prior 1 so new agents get tried). */
  successOf(stats: AgentStats | undefined): number {
    return stats?.success.value ?? 1;
  }

  /** Expected service time of `agentId`. */
  serviceTime(agentId: string): number {
    return this.serviceOf(this.byAgent.get(agentId));
  }

  /** Success probability of `agentId`. */
  successRate(agentId: string): number {
    return this.successOf(this.byAgent.get(agentId));
  }

  /** Forget an agent. */
  delete(agentId: string): void {
    this.byAgent.delete(agentId);
    // Drop the lookup cache: it may hold the deleted entry.
    this.cacheIds.length = 0;
    this.cacheStats.length = 0;
  }
}
