/**
 * The system's event API: `system.on(type, listener)` → unsubscribe. Lifecycle events come from the
 * machines themselves (`emit` in machines/agent.machine.ts and pool.machine.ts), so what a listener
 * hears is what an inspector sees; the runtime adds what only it knows (task results, OOM, leases
 * lost or expired, budget refusals). A listener that throws is logged and never disturbs the system.
 */
import type { AgentEmitted } from '../../machines/agent.machine.js';
import type { PoolEmitted } from '../../machines/pool.machine.js';
import type { Logger } from '../core/logger.js';
import type { TaskResult } from '../metrics/pool-metrics.js';

/** Events the runtime adds to the machines' own. */
export type RuntimeEvent =
  /** A thread agent ran out of memory (its hard cap, or its tasks' allocation for too long). */
  | { type: 'agent.oom'; agentId: string; pool: string; error: string }
  /** A task run's caller got its answer. */
  | { type: 'task.finished'; agentId: string; pool: string; task: string; outcome: TaskResult; runMs: number }
  /** A running task reported progress (`ctx.progress(value)`), in the order the handler reported it. */
  | { type: 'task.progress'; agentId: string; pool: string; task: string; taskId: string; value: unknown }
  /** A lease ended without its holder releasing it (its agent failed or went, or the pool stopped). */
  | { type: 'lease.lost'; pool: string; leaseId: string; cycleId: string; reason: string }
  /** A lease's allocation TTL passed: resources back, the lease ended with ERR_LEASE_EXPIRED. */
  | { type: 'lease.expired'; pool: string; leaseId: string; cycleId: string; allocationId: string }
  /** A token reservation was refused (a budget would be exceeded). */
  | { type: 'budget.refused'; pool: string; agentId: string; cycleId: string; amount: number; error: string }
  /** An isolated agent was drained to be replaced: its environment reached its maximum lifetime or its violation limit. */
  | { type: 'agent.replaced'; pool: string; agentId: string; reason: 'lifetime' | 'violations' };

/** Every event `system.on()` delivers. */
export type SystemEvent = AgentEmitted | PoolEmitted | RuntimeEvent;
/** An event's type. */
export type SystemEventType = SystemEvent['type'];
/** The event of one type. */
export type SystemEventOf<T extends SystemEventType> = Extract<SystemEvent, { type: T }>;

/** Every event type (what `system.on` accepts besides `'*'`). */
export const SYSTEM_EVENT_TYPES: ReadonlySet<string> = new Set<SystemEventType>([
  'agent.started',
  'agent.crashed',
  'agent.restarting',
  'agent.evicted',
  'agent.oom',
  'task.finished',
  'task.progress',
  'scale.decided',
  'scale.applied',
  'lease.lost',
  'lease.expired',
  'budget.refused',
  'security.denied',
  'agent.replaced',
]);

/** A typed, synchronous event hub (listeners run in registration order). */
export class SystemEvents {
  private readonly listeners = new Map<string, Set<(e: SystemEvent) => void>>();

  constructor(private readonly logger: Logger) {}

  /** Listen to one type, or to every event with `'*'`. Returns the unsubscribe function. */
  on<T extends SystemEventType>(type: T, listener: (e: SystemEventOf<T>) => void): () => void;
  on(type: '*', listener: (e: SystemEvent) => void): () => void;
  on(type: string, listener: (e: never) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const fn = listener as (e: SystemEvent) => void;
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /** Does anyone listen to `type` (or to everything)? Lets a hot path skip building an event. */
  wants(type: SystemEventType): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0 || (this.listeners.get('*')?.size ?? 0) > 0;
  }

  /** Deliver `e` to its type's listeners, then to `'*'` listeners. Cheap when nobody listens. */
  emit(e: SystemEvent): void {
    if (this.listeners.size === 0) return;
    for (const key of [e.type, '*']) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(e);
        } catch (err) {
          this.logger.error({ err, event: e.type }, `a system event listener threw on ${e.type}`);
        }
      }
    }
  }
}
