/**
 * The age of the oldest task queued for each pool type, for the scaler: a queued `submit()` task is
 * waiting demand exactly like a waiting `acquire()`, and the scaler must see how long it has waited.
 *
 * Tasks leave the dispatcher's queues in priority order, not arrival order, so the oldest one cannot
 * be read off a queue head. Entries are kept in arrival order and deleted lazily: an entry is stale
 * once its task is no longer queued, or was queued again since (a re-queue after an agent loss counts
 * from the re-queue). Stale heads are dropped when read, and the list is compacted when stale entries
 * outnumber live ones, so memory stays O(queued) even when one old task is starved for a long time.
 */
import { Deque } from '../structures/work-stealing.js';

interface Entry<J> {
  job: J;
  at: number;
}

/** Oldest-queued tracking for one pool type. */
export class Backlog<J extends { queuedAt: number }> {
  private readonly entries = new Deque<Entry<J>>();

  /**
   * @param isQueued whether a task is still queued (owned by the dispatcher's queues)
   * @param count how many tasks of the type are queued now
   */
  constructor(
    private readonly isQueued: (job: J) => boolean,
    private readonly count: () => number,
  ) {}

  /** A task was queued (or re-queued) at `job.queuedAt`. */
  add(job: J): void {
    this.entries.pushBottom({ job, at: job.queuedAt });
    if (this.entries.size > 64 && this.entries.size > 2 * this.count()) this.compact();
  }

  /** Queued count and the time the oldest of them was queued. */
  read(): { count: number; oldestAt: number | undefined } {
    for (let e = this.entries.peekTop(); e && this.stale(e); e = this.entries.peekTop())
      this.entries.popTop();
    return { count: this.count(), oldestAt: this.entries.peekTop()?.at };
  }

  private stale(e: Entry<J>): boolean {
    return e.job.queuedAt !== e.at || !this.isQueued(e.job);
  }

  private compact(): void {
    const live = this.entries.toArray().filter((e) => !this.stale(e));
    while (this.entries.size > 0) this.entries.popTop();
    for (const e of live) this.entries.pushBottom(e);
  }
}
