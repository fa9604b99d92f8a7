/**
 * Per-agent performance learned online from completions, shared by the workload-aware and
 * predictive strategies: a typical service time and a success rate (EWMAs).
 *
 * The service time is averaged in the **log domain** (an EWMA of ln t, reported as e^mean, a
 * running geometric mean). Service times of agent work are heavy-tailed: with lognormal CV 3 a
 * plain EWMA jumps by a factor of ten on one outlier and marks a fast agent slow for dozens of tasks,
 * and the strategies then route on noise. In the log domain one outlier moves the estimate by a
 * bounded factor. The geometric mean sits below the arithmetic mean by a factor that is the same
 * for every agent with the same task mix, and strategies only compare agents with each other, so
 * the bias cancels.
 */
import type { AgentView, TaskOutcome } from './types.js';
import { Ewma } from './util.js';

/** What is known about one agent's past work. */
export interface AgentStats {
  /** EWMA of ln(service time) over successful tasks. */
  readonly logService: Ewma;
  /** e^logService: the typical service time (cached here so hot loops do not call Math.exp). */
  typicalService: number | undefined;
  /** EWMA of success (1 = ok, 0 = failed). */
  readonly success: Ewma;
}

/** Smallest service time taken into the log average (a 0 would be ln 0 = −∞). */
const MIN_SERVICE = 1e-9;

/** Learned statistics per agent, plus a pool-wide typical service time used as the prior. */
export class AgentStatsTable {
  private readonly byAgent = new Map<string, AgentStats>();
  private readonly cacheIds: (string | undefined)[] = [];
  private readonly cacheStats: (AgentStats | undefined)[] = [];
  /** Pool-wide EWMA of ln(service time): the estimate for an agent with no history yet. */
  private readonly globalLog: Ewma;
  private globalTypical: number | undefined;

  /** @param alpha EWMA weight of a new sample. */
  constructor(private readonly alpha: number) {
    this.globalLog = new Ewma(alpha);
  }

  /** Record a completion. */
  record(agentId: string, outcome: TaskOutcome): void {
    let s = this.byAgent.get(agentId);
    if (!s) {
      // Start from the pool's typical service time and an optimistic success rate, not from the
      // first sample: one lucky 0.01 s first task would otherwise make the agent look 50× faster
      // than it is, every strategy would pile work onto it, and the estimate would need hundreds
      // of samples to recover (seen in simulation: a queue of 133 tasks on one agent).
      const prior = this.globalLog.value;
      s = {
        logService: new Ewma(this.alpha, prior),
        typicalService: prior === undefined ? undefined : Math.exp(prior),
        success: new Ewma(this.alpha, 1),
      };
      this.byAgent.set(agentId, s);
    }
    s.success.add(outcome.ok ? 1 : 0);
    // A failed task's service time says little about speed (it may have died at once): learn speed
    // from successes only.
    if (outcome.ok && Number.isFinite(outcome.serviceTime)) {
      const x = Math.log(Math.max(MIN_SERVICE, outcome.serviceTime));
      s.logService.add(x);
      s.typicalService = Math.exp(s.logService.value as number);
      this.globalLog.add(x);
      this.globalTypical = Math.exp(this.globalLog.value as number);
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

  /** Typical service time from an agent's stats: its own, else the pool's, else 1. */
  serviceOf(stats: AgentStats | undefined): number {
    // Never below MIN_SERVICE: the strategies divide by it.
    return stats?.typicalService ?? this.globalTypical ?? 1;
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
