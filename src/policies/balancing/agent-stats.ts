/**
 * Per-agent performance learned online from completions (EWMA of service time and of success),
 * shared by the workload-aware and predictive strategies.
 */
import type { TaskOutcome } from './types.js';
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

  /** Expected service time of `agentId`: its own average, else the pool's, else 1. */
  serviceTime(agentId: string): number {
    const own = this.byAgent.get(agentId)?.service.value;
    const v = own ?? this.globalService.value ?? 1;
    // Guard the divisions that use it: a zero service time would make scores infinite.
    return v > 1e-9 ? v : 1e-9;
  }

  /** Success probability of `agentId` (optimistic prior 1 so new agents get tried). */
  successRate(agentId: string): number {
    return this.byAgent.get(agentId)?.success.value ?? 1;
  }

  /** Forget an agent. */
  delete(agentId: string): void {
    this.byAgent.delete(agentId);
  }
}
