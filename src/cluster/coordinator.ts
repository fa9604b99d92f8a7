/**
 * What a system created with the `cluster` option gets: the NATS link its remote agents use and the
 * cluster-wide limits (src/cluster/limits.ts) that replace the in-process ones — one wiring point, so
 * src/runtime/system.ts only asks for the parts.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { KeyGate } from '../runtime/gates.js';
import type { RateLimitConfig, RateLimiter } from '../runtime/rate-limits.js';
import type { TokenBudgets } from '../structures/budget.js';
import type { ClusterConfig } from './config.js';
import { type DurableOwner, DurableTasks } from './durable.js';
import { ClusterLink } from './link.js';
import type { PlacementNeed } from './placement.js';
import { ClusterLimits } from './limits.js';
import { ClusterKeyGate } from './limits-keys.js';
import { ClusterRateLimiter, SharedBudget } from './limits-shared.js';

/** The cluster parts of one coordinator. */
export interface CoordinatorParts {
  /** The system's NATS link (remote agents, node registry). */
  link: ClusterLink;
  /** The limits store (tests read its id and claims). */
  limits: ClusterLimits;
  /** Concurrency keys held across the cluster; `wake` re-runs admission (pools and dispatcher). */
  keyGate(wake: () => void): KeyGate;
  /** A named rate limit held across the cluster. */
  rateLimiter(name: string, config: RateLimitConfig, onRequestRoom: () => void): RateLimiter;
  /** The cluster-wide pool and system budget levels. */
  budget(budgets: TokenBudgets): SharedBudget;
  /** Durable submits (src/cluster/durable.ts); undefined with `cluster.durable: false`. */
  durable: DurableTasks | undefined;
}

/**
 * Build the parts; `system.onShutdown` writes the outcomes still pending, gives every claim back,
 * deregisters, then closes the link (after the system's agents stopped and its leases ended). `needs`: what one agent of each remote
 * pool needs of a node (placement, src/cluster/placement.ts).
 */
export function coordinatorParts(
  config: ClusterConfig,
  clock: Clock,
  logger: Logger,
  system: DurableOwner & { onShutdown(hook: () => Promise<void>): unknown },
  needs?: ReadonlyMap<string, PlacementNeed>,
): CoordinatorParts {
  const link = new ClusterLink(config, clock, needs);
  const limits = new ClusterLimits(link, clock, logger);
  const durable = config.durable ? new DurableTasks(link, config.durable, clock, system) : undefined;
  system.onShutdown(async () => {
    await durable?.flush();
    await limits.close();
    await link.close();
  });
  return {
    link,
    limits,
    keyGate: (wake) => new ClusterKeyGate(limits, wake),
    rateLimiter: (name, rc, onRequestRoom) => new ClusterRateLimiter(name, rc, limits, onRequestRoom),
    budget: (budgets) => new SharedBudget(limits, budgets),
    durable,
  };
}
