/**
 * The simulated clock of a replay. XState-clock compatible (`setTimeout`/`clearTimeout`), and it knows
 * which event each timer will deliver, so a replay can fire exactly the `xstate.after.*` timer the
 * graph chose.
 *
 * Why not {@link ManualClock}.advance(): advancing to a timer's due time fires every earlier timer
 * first. The graph treats concurrent timers (a per-state retry and an enclosing deadline, say) as
 * unordered choices, so the replay must be able to take any one of them; time still moves to that
 * timer's due time, which is what the machine would observe.
 */
import type { EventObject } from 'xstate';
import type { VerifyClock } from './types.js';

interface PendingTimer {
  handle: number;
  due: number;
  fn: () => void;
  /** The event the timer delivers, read from the actor system's scheduler when it was set. */
  eventType: string | undefined;
}

/** The part of XState's actor system the clock reads: the scheduler's record of pending events. */
export interface SchedulerView {
  getSnapshot(): { _scheduledEvents: Record<string, { event: EventObject }> };
}

/** A manual, event-aware clock for one replay. Not shared between replays. */
export class ReplayClock implements VerifyClock {
  private time = 0;
  private seq = 0;
  private readonly timers = new Map<number, PendingTimer>();
  /** Set after `createActor` and before `start()`: the system whose scheduler calls this clock. */
  system: SchedulerView | undefined;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const handle = ++this.seq;
    this.timers.set(handle, {
      handle,
      due: this.time + Math.max(0, ms),
      fn,
      eventType: this.lastScheduledType(),
    });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Event types of the timers still pending, earliest first. */
  pendingTypes(): string[] {
    return [...this.timers.values()].sort((a, b) => a.due - b.due).map((t) => t.eventType ?? '(unknown)');
  }

  fire(eventType: string): boolean {
    let pick: PendingTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.eventType === eventType && (!pick || t.due < pick.due)) pick = t;
    }
    if (!pick) return false;
    this.timers.delete(pick.handle);
    this.time = Math.max(this.time, pick.due);
    pick.fn();
    return true;
  }

  /**
   * XState's scheduler records the scheduled event in the system snapshot immediately before it calls
   * `clock.setTimeout`, so the most recently inserted entry is the one this timer delivers.
   */
  private lastScheduledType(): string | undefined {
    if (!this.system) return undefined;
    const scheduled = Object.values(this.system.getSnapshot()._scheduledEvents);
    return scheduled[scheduled.length - 1]?.event.type;
  }
}
