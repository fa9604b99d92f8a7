/**
 * An index for XState's system scheduler, so stopping an actor costs O(its own timers).
 *
 * Why: XState v5 keeps one scheduler per actor system, and `cancelAll(actor)` — run whenever an actor
 * stops — walks every delayed event of the whole system. With one actor tree, 1,000 waiting
 * acquisitions (each with its timeout) made every hand-off walk 1,000 timers: measured 28.6 % of the
 * hand-off's CPU, p50 117 µs instead of 35 µs (bench/acquire.ts). This keeps, per source actor, the
 * ids of its scheduled events, and cancels exactly those. Delayed events are still XState's own (same
 * clock, same `_scheduledEvents` bookkeeping, same persistence); only the lookup changes.
 *
 * Defensive: installed only when the scheduler has the shape this was written against (xstate 5.x:
 * `schedule`, `cancel`, `cancelAll` and `system._snapshot._scheduledEvents`); otherwise XState's own
 * walk stays. The index never holds an id XState forgot: ids of fired events are pruned on the next
 * schedule from the same actor, and `cancel` of an unknown id is a no-op in XState.
 */
import type { AnyActorRef } from 'xstate';

type AnyActorSystem = AnyActorRef['system'];

interface SchedulerLike {
  schedule(source: AnyActorRef, target: AnyActorRef, event: unknown, delay: number, id?: string): void;
  cancel(source: AnyActorRef, id: string): void;
  cancelAll(source: AnyActorRef): void;
}

const INDEXED = Symbol('agentpool.indexedScheduler');

/** Index `system`'s scheduler by source actor (idempotent). Returns whether it is indexed. */
export function indexScheduler(system: AnyActorSystem): boolean {
  const sys = system as unknown as {
    scheduler?: Partial<SchedulerLike> & { [INDEXED]?: true };
    _snapshot?: { _scheduledEvents?: Record<string, unknown> };
  };
  const sch = sys.scheduler;
  const events = sys._snapshot?._scheduledEvents;
  if (!sch || sch[INDEXED]) return sch?.[INDEXED] === true;
  if (
    typeof sch.schedule !== 'function' ||
    typeof sch.cancel !== 'function' ||
    typeof sch.cancelAll !== 'function' ||
    typeof events !== 'object' ||
    events === null
  )
    return false;
  const schedule = sch.schedule.bind(sch);
  const cancel = sch.cancel.bind(sch);
  const bySource = new Map<AnyActorRef, Set<string>>();
  // XState's key of a scheduled event (createScheduledEventId): `${source.sessionId}.${id}`.
  const live = (source: AnyActorRef, id: string) =>
    `${source.sessionId}.${id}` in (sys._snapshot?._scheduledEvents ?? {});
  sch.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    schedule(source, target, event, delay, id);
    let ids = bySource.get(source);
    if (!ids) bySource.set(source, (ids = new Set()));
    else for (const old of ids) if (!live(source, old)) ids.delete(old); // fired since
    ids.add(id);
  };
  sch.cancel = (source, id) => {
    cancel(source, id);
    const ids = bySource.get(source);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) bySource.delete(source);
  };
  sch.cancelAll = (source) => {
    const ids = bySource.get(source);
    if (!ids) return;
    bySource.delete(source);
    for (const id of ids) cancel(source, id);
  };
  sch[INDEXED] = true;
  return true;
}
