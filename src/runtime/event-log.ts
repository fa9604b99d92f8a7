/**
 * What the system logs about its own events: warn on a crash, an eviction, an out-of-memory kill and a
 * budget refusal (each with its cause), info on every applied scale change and lost or expired lease;
 * nothing per task at info level (`task.finished` is debug). One child logger per pool (`pool` bound),
 * and the agent's id on its lines, so a user's pino setup can filter by either.
 */
import type { Logger } from '../core/logger.js';
import type { SystemEvent, SystemEventType } from './events.js';

/** A child logger for `pool` when the logger has `child` (pino), else the logger itself (`console`). */
function poolLogger(logger: Logger, pools: Map<string, Logger>, pool: string): Logger {
  let l = pools.get(pool);
  if (!l) {
    l = typeof logger.child === 'function' ? logger.child({ pool }) : logger;
    pools.set(pool, l);
  }
  return l;
}

/** The events the log reports (task.finished is left out: per-task lines belong to a user's own listener). */
export const LOGGED_EVENTS = [
  'agent.started',
  'agent.crashed',
  'agent.restarting',
  'agent.evicted',
  'agent.oom',
  'budget.refused',
  'scale.decided',
  'scale.applied',
  'lease.lost',
  'lease.expired',
  'security.denied',
  'agent.replaced',
] as const satisfies readonly SystemEventType[];

/** A listener for the {@link LOGGED_EVENTS} that logs them through `logger`. */
export function eventLogger(logger: Logger): (e: SystemEvent) => void {
  const pools = new Map<string, Logger>();
  return (e) => {
    const l = poolLogger(logger, pools, e.pool);
    switch (e.type) {
      case 'agent.crashed':
        l.warn(
          { agentId: e.agentId, failures: e.failures, cause: e.error },
          `agent ${e.agentId} crashed: ${e.error}`,
        );
        break;
      case 'agent.evicted':
        l.warn(
          { agentId: e.agentId, failures: e.failures, cause: e.error },
          `agent ${e.agentId} evicted after ${e.failures} failures in a row: ${e.error}`,
        );
        break;
      case 'agent.oom':
        l.warn({ agentId: e.agentId, cause: e.error }, `agent ${e.agentId} ran out of memory: ${e.error}`);
        break;
      case 'budget.refused':
        l.warn(
          { agentId: e.agentId, cycleId: e.cycleId, amount: e.amount, cause: e.error },
          `token reservation of ${e.amount} refused: ${e.error}`,
        );
        break;
      case 'security.denied':
        l.warn(
          {
            agentId: e.agentId,
            leaseId: e.leaseId,
            cycleId: e.cycleId,
            kind: e.kind,
            resource: e.resource,
            denials: e.denials,
          },
          `security: ${e.kind} ${e.resource} denied to agent ${e.agentId}: ${e.error}`,
        );
        break;
      case 'agent.replaced':
        l.info(
          { agentId: e.agentId, reason: e.reason },
          `agent ${e.agentId} drained to be replaced (${e.reason})`,
        );
        break;
      case 'scale.applied': {
        const r = e.record;
        l.info(
          {
            from: r.current,
            to: r.current + r.actualDelta,
            target: r.target,
            status: r.status,
            reason: r.reason,
          },
          `pool ${e.pool}: ${r.current} → ${r.current + r.actualDelta} agents (${r.status}: ${r.reason})`,
        );
        break;
      }
      case 'lease.lost':
        l.info(
          { leaseId: e.leaseId, cycleId: e.cycleId, reason: e.reason },
          `lease ${e.leaseId} lost: ${e.reason}`,
        );
        break;
      case 'lease.expired':
        l.info({ leaseId: e.leaseId, cycleId: e.cycleId }, `lease ${e.leaseId} expired`);
        break;
      default:
        l.debug(e, e.type);
        break;
    }
  };
}
