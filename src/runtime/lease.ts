/**
 * A lease: the right to run tasks on one agent for a cycle, until released. Released exactly once —
 * by the caller, or automatically when the agent dies or the system shuts down.
 */
import { AgentPoolError } from '../errors/errors.js';
import type { AgentHandle, RunOptions } from './agent-handle.js';
import type { Requirements } from './requirements.js';

/** What the pool needs to take a lease back. */
export interface LeaseOwner {
  releaseLease(lease: Lease): void;
}

/** A granted acquisition. */
export class Lease {
  private releasedFlag = false;
  /** Why the lease ended without the caller releasing it, if it did. */
  lostReason: string | undefined;
  /** Give back what the global ledger reserved for this lease (set by the pool). */
  releaseResources: (() => void) | undefined;

  constructor(
    /** Unique id. */
    readonly id: string,
    /** Pool type. */
    readonly type: string,
    /** The cycle (e.g. a TDD story) this lease serves. */
    readonly cycleId: string,
    /** What was asked for. */
    readonly requirements: Requirements,
    /** Concurrency key held, if any. */
    readonly concurrencyKey: string | undefined,
    /** The agent. */
    readonly agent: AgentHandle,
    private readonly owner: LeaseOwner,
    /** When it was granted (clock ms). */
    readonly grantedAt: number,
    /** How long the acquire waited (ms). */
    readonly waitedMs: number,
  ) {}

  /** The agent's id. */
  get agentId(): string {
    return this.agent.id;
  }

  /** True once released (by the caller or automatically). */
  get released(): boolean {
    return this.releasedFlag;
  }

  /**
   * Run a task on the leased agent.
   *
   * @example
   * ```ts
   * const out = await lease.run('implement', { story }, { timeoutMs: 60_000, signal });
   * ```
   */
  run(task: string, input?: unknown, opts: RunOptions = {}): Promise<unknown> {
    if (this.releasedFlag) {
      return Promise.reject(
        new AgentPoolError(
          'ERR_LEASE_RELEASED',
          `lease ${this.id} was released${this.lostReason ? `: ${this.lostReason}` : ''}`,
          {
            details: { leaseId: this.id },
          },
        ),
      );
    }
    return this.agent.run(task, input, { ...opts, cycleId: this.cycleId });
  }

  /** Give the agent back. Idempotent. */
  release(): Promise<void> {
    if (!this.releasedFlag) {
      this.releasedFlag = true;
      this.owner.releaseLease(this);
    }
    return Promise.resolve();
  }

  /** Released by the runtime (agent lost, shutdown). */
  markLost(reason: string): void {
    if (this.releasedFlag) return;
    this.lostReason = reason;
    this.releasedFlag = true;
    this.owner.releaseLease(this);
  }
}
