/**
 * Known upcoming demand (the seed's "event-based demand"): a burst of `tasks` due at `at`, e.g. a
 * sprint start, told to the scaler by `system.expect()`. Pure and plain-data (the list lives in the
 * scaler machine's context).
 *
 * A burst of N tasks landing at once is served without waiting by N ready agents (whatever the
 * service time, which may not be known yet), so the forecast hint carries N as a floor on the
 * recommendation (`minAgents`) with confidence 1. It speaks from
 * `at − leadMs` (the forecast horizon: agent start-up plus an interval) until `at + S`, when the burst
 * is in the pool and the reactive rules take over.
 */

/** A burst the pool was told to expect. */
export interface ExpectedBurst {
  /** When the tasks arrive (ms, on the runtime's clock). */
  at: number;
  /** How many tasks arrive together. */
  tasks: number;
}

/** Most bursts kept: a bound on context size whatever a caller sends. */
export const MAX_EXPECTED = 100;

/** Add a burst and forget those already over (older than `now − keepMs`). Pure. */
export function addExpected(
  list: readonly ExpectedBurst[],
  burst: ExpectedBurst,
  now: number,
  keepMs: number,
): ExpectedBurst[] {
  const kept = list.filter((b) => b.at + keepMs >= now);
  kept.push({ at: burst.at, tasks: burst.tasks });
  kept.sort((a, b) => a.at - b.at);
  return kept.length > MAX_EXPECTED ? kept.slice(kept.length - MAX_EXPECTED) : kept;
}

/**
 * Agents the pool should hold at `now` because of expected bursts: the tasks of every burst due within
 * [now, now + leadMs] or landed less than `holdMs` ago (one mean service time: then it is in the
 * pool and the reactive rules take over). 0 when none applies.
 */
export function expectedAgents(
  list: readonly ExpectedBurst[],
  now: number,
  leadMs: number,
  holdMs: number,
): number {
  let tasks = 0;
  for (const b of list) if (now >= b.at - leadMs && now <= b.at + holdMs) tasks += b.tasks;
  return tasks;
}
