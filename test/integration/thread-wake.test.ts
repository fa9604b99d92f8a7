/**
 * The Atomics wake path of the thread host (issue 14; src/hosts/thread-worker.ts `idle`): with it on,
 * real worker threads still run every task exactly once with its own input, through sequential and
 * bursty submits with idle gaps on both sides of the 1 ms hold; the agent's own timer keeps firing
 * while tasks arrive back to back; an abort, progress and a tool call reach their task. No wall-clock
 * durations are asserted: the gaps only decide which path a message takes.
 */
import { describe, expect, it } from 'vitest';
import { IGNORING_LISTENER } from '../../src/hosts/host.js';
import { ATOMICS_WAKE, ThreadHost } from '../../src/hosts/thread-host.js';
import { WAKE_WAITING } from '../../src/hosts/thread-protocol.js';
import { realClock } from '../../src/core/clock.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import type { PoolOptions } from '../../src/runtime/config.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { useThreadSystems } from '../helpers/agents.js';

const agent = new URL('../fixtures/wake.agent.mjs', import.meta.url);

interface Echo {
  input: unknown;
  ticks: number;
}
interface Counts {
  runs: number;
  ticks: number;
  aborted: number;
}

/** Hosts started inside `fn` use the Atomics wake path (it is read once, when a host starts). */
async function withWake<T>(fn: () => Promise<T>): Promise<T> {
  const before = ThreadHost.wake;
  ThreadHost.wake = ATOMICS_WAKE;
  try {
    return await fn();
  } finally {
    ThreadHost.wake = before;
  }
}

/** A real (macrotask) pause: long enough gaps let the worker's hold run out, short ones do not. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('thread host: Atomics wake path', () => {
  const systems = useThreadSystems();

  async function system(pool: Partial<PoolOptions> = {}): Promise<AgentPoolSystem> {
    return withWake(async () => {
      const sys = new AgentPoolSystem({
        tools: { add: (args) => (args as { a: number; b: number }).a + (args as { a: number; b: number }).b },
        pools: {
          w: {
            agent,
            host: 'thread',
            min: 1,
            max: 1,
            concurrency: 64,
            healthCheckIntervalMs: 0,
            capacity: { tools: ['add'] },
            ...pool,
          },
        },
      });
      systems.push(sys);
      await sys.start();
      return sys;
    });
  }

  const counts = (sys: AgentPoolSystem) => sys.submit({ type: 'w', task: 'counts' }) as Promise<Counts>;

  it('is in use: an idle worker blocks on the shared word after a task', async () => {
    const h = await withWake(async () => {
      const host = new ThreadHost({
        agentId: 'wake-0',
        agent,
        tools: [],
        listener: IGNORING_LISTENER,
        clock: realClock,
      });
      await host.start();
      return host;
    });
    try {
      const words = (h as unknown as { wakeWords: Int32Array }).wakeWords;
      expect(words).toBeInstanceOf(Int32Array);
      // Right after a result the worker is inside its hold: watch the waiting flag for a while.
      let seen = false;
      for (let attempt = 0; attempt < 50 && !seen; attempt++) {
        expect((await h.run(`t${attempt}`, 'echo', attempt)).ok).toBe(true);
        const end = performance.now() + 5;
        while (!seen && performance.now() < end) seen = Atomics.load(words, WAKE_WAITING) === 1;
      }
      expect(seen).toBe(true);
    } finally {
      await h.terminate('test done');
    }
  });

  it('sequential and bursty submits across the hold: every task runs once with its own input', async () => {
    const sys = await system();
    const sent: number[] = [];
    const got: unknown[] = [];
    let n = 0;
    // Back to back (each arrives while the worker holds), then gaps of 0–3 ms (some within the hold,
    // some past it, so the message arrives through the port's event instead).
    for (let i = 0; i < 400; i++) {
      sent.push(n);
      got.push(
        ((await sys.submit({ type: 'w', task: i % 4 === 0 ? 'asyncEcho' : 'echo', input: n++ })) as Echo)
          .input,
      );
      if (i % 10 === 9) await pause(i % 40 < 20 ? 0 : 3);
    }
    for (let burst = 0; burst < 30; burst++) {
      const ids = Array.from({ length: 1 + ((burst * 37) % 150) }, () => n++);
      sent.push(...ids);
      const out = await Promise.all(
        ids.map((id) => sys.submit({ type: 'w', task: id % 3 === 0 ? 'asyncEcho' : 'echo', input: id })),
      );
      got.push(...out.map((o) => (o as Echo).input));
      await pause(burst % 3);
    }
    expect(got).toEqual(sent);
    // One agent: a task run twice (or lost and retried) would show in its own count.
    expect((await counts(sys)).runs).toBe(n);
  });

  it("the agent's own setInterval keeps firing while tasks arrive back to back", async () => {
    const sys = await system();
    const first = ((await sys.submit({ type: 'w', task: 'echo', input: 0 })) as Echo).ticks;
    // Tasks arrive one after the other with no gap, each while the worker holds: were the event loop
    // held for as long as tasks keep coming, the timer would never run and this loop would not end.
    let ticks = first;
    let tasks = 0;
    while (ticks < first + 5 && tasks < 200_000) {
      ticks = ((await sys.submit({ type: 'w', task: 'echo', input: tasks++ })) as Echo).ticks;
    }
    expect(ticks).toBeGreaterThanOrEqual(first + 5);
    // And while nothing arrives at all.
    const idleFrom = (await counts(sys)).ticks;
    let now = idleFrom;
    for (let i = 0; i < 1_000 && now < idleFrom + 5; i++) {
      await pause(2);
      now = (await counts(sys)).ticks;
    }
    expect(now).toBeGreaterThanOrEqual(idleFrom + 5);
  });

  it('an abort reaches a task that arrived while the worker held; the agent then keeps serving', async () => {
    const sys = await system();
    for (let round = 0; round < 20; round++) {
      await sys.submit({ type: 'w', task: 'echo', input: round }); // the worker is in its hold now
      const ac = new AbortController();
      const p = sys.submit({ type: 'w', task: 'waitForAbort', signal: ac.signal });
      if (round % 2 === 0) await pause(0);
      ac.abort();
      const e = (await p.then(
        () => undefined,
        (x: unknown) => x,
      )) as AgentPoolError | undefined;
      expect(e?.code).toBe('ERR_ABORTED');
    }
    let c = await counts(sys);
    for (let i = 0; i < 1_000 && c.aborted < 20; i++) {
      await pause(2);
      c = await counts(sys);
    }
    expect(c.aborted).toBe(20); // every abort reached its own task, none was lost
    expect(((await sys.submit({ type: 'w', task: 'echo', input: 'after' })) as Echo).input).toBe('after');
  });

  it('progress and a tool call from a task that arrived through the wake path', async () => {
    const sys = await system();
    for (let round = 0; round < 10; round++) {
      await sys.submit({ type: 'w', task: 'echo', input: round });
      const seen: unknown[] = [];
      expect(
        await sys.submit({
          type: 'w',
          task: 'progress',
          input: { steps: 5 },
          onProgress: (v) => seen.push(v),
        }),
      ).toBe(5);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      expect(await sys.submit({ type: 'w', task: 'tool', input: { a: round, b: 1 } })).toBe(round + 1);
    }
  });
});
