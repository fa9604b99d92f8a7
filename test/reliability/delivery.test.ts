/**
 * "A result posted before a worker exits is delivered (no task runs twice)."
 *
 * A worker that posts a task's outcome and then dies (process.exit) leaves the outcome queued on the
 * host's task port while its `exit` event races it to the main thread. The host must read what is
 * queued before failing the pending tasks: else a finished task is reported as crashed, and the submit
 * path runs it again. These tests go through the public API with real worker threads
 * (test/fixtures/reliability-exits.agent.ts); no wall-clock duration is asserted, only generous
 * liveness bounds.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem } from '../../src/index.js';
import { fastTimings, fixture, useThreadSystems } from '../helpers/agents.js';

const AGENT = fixture('reliability-exits');

const systems = useThreadSystems();
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function threadSystem(size: number, concurrency: number): AgentPoolSystem {
  const sys = createAgentPoolSystem({
    pools: {
      work: {
        agent: AGENT,
        host: 'thread',
        min: size,
        max: size,
        concurrency,
        // Crashes are what these tests are made of: they must never open the circuit breaker.
        maxFailures: 1000,
        healthCheckIntervalMs: 0,
        timings: fastTimings,
      },
    },
    metricsIntervalMs: 0,
  });
  systems.push(sys);
  return sys;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  throw new Error('expected a rejection, got a value');
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Block this thread for `ms` of real time (no event-loop turn: nothing queued is handled meanwhile). */
function hold(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Resolves with `p`'s settlements, or rejects once `ms` of real time passed (a hang). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what} not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

describe('delivery: a result posted before a worker exits is delivered', () => {
  // `busy`: the test also holds the main thread (a synchronous wait) while the worker answers and
  // exits, so the outcome on the task port and the worker's exit are both pending when the event loop
  // next looks — the order in which Node then reports them is the race the host must not lose.
  for (const busy of [false, true]) {
    it(`minimal: one agent, concurrency 2 — a quick task next to one that kills the worker resolves every time${busy ? ' (main thread busy meanwhile)' : ''}`, async () => {
      const sys = threadSystem(1, 2);
      await sys.start();
      // The busy variant hits the race on every try (20 of 20 before the fix): a few tries suffice.
      const tries = busy ? 6 : 4;
      const outcomes: { i: number; a: unknown; b: string | undefined }[] = [];
      for (let i = 0; i < tries; i++) {
        // Waits for the agent to be back from the previous crash (restart with backoff).
        const a = await sys.acquire('work', { cycleId: `a-${i}`, timeoutMs: 10_000 });
        const b = await sys.acquire('work', { cycleId: `b-${i}`, timeoutMs: 10_000 });
        expect(b.agentId).toBe(a.agentId);
        // Same tick: one batch; the worker answers `quick` and then (after 0 or 1 ms) exits.
        const pb = codeOf(b.run('exitSoon', { ms: i % 2 }));
        const pa = a.run('quick', i).then(
          (v) => v,
          (e: { code?: string }) => `rejected ${e.code}`,
        );
        if (busy) {
          // The batch is posted on process.nextTick; then hold the thread without entering the loop.
          await new Promise<void>((r) => process.nextTick(r));
          hold(100);
        }
        const [va, cb] = await within(Promise.all([pa, pb]), 10_000, `try ${i}`);
        outcomes.push({ i, a: va, b: cb });
        await a.release();
        await b.release();
      }
      expect(outcomes).toEqual(
        Array.from({ length: tries }, (_, i) => ({ i, a: i, b: 'ERR_AGENT_CRASHED' })),
      );
      await sys.shutdown({ graceful: false });
      expect(sys.status().threads).toBe(0);
    }, 120_000);
  }

  // The worker has posted the outcome (the test holds the main thread until it surely has), and a
  // forced shutdown kills the worker in the same turn, before the event loop reads the port: the
  // kill must read what is queued first, so the caller gets its result and not ERR_AGENT_STOPPED.
  it('a result posted just before a forced shutdown kills the worker is delivered', async () => {
    for (let i = 0; i < 3; i++) {
      const sys = threadSystem(1, 1);
      await sys.start();
      const lease = await sys.acquire('work', { cycleId: `c-${i}` });
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const settled = lease.run('flagThenReturn', { flag, value: `v${i}` }).then(
        (v) => ({ value: v }),
        (e: { code?: string }) => ({ code: e.code }),
      );
      // The run is posted on process.nextTick; resume right after it without entering the event loop.
      await new Promise<void>((r) => process.nextTick(r));
      expect(Atomics.wait(flag, 0, 0, 10_000)).not.toBe('timed-out');
      // The worker posts the outcome just after the handler returned: give it ample time to.
      hold(50);
      const down = sys.shutdown({ graceful: false });
      expect(await within(settled, 10_000, 'the run')).toEqual({ value: `v${i}` });
      await down;
      expect(sys.status().threads).toBe(0);
    }
  }, 60_000);

  // Chaos: about 5 % of tasks kill their worker on their first attempt — half before their body
  // completes (their co-tenants die mid-body too and are re-queued), half right AFTER their body
  // completed and posted its result (which must be delivered, not re-run). Every task body appends its
  // id to a file when it completes, so a task whose body completed twice shows up twice.
  for (const concurrency of [1, 2]) {
    it(`chaos at concurrency ${concurrency}: 300 submits, 0 lost, 0 run twice, 0 hung`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `agentpool-delivery-c${concurrency}-`));
      dirs.push(dir);
      const sys = threadSystem(3, concurrency);
      await sys.start();
      const random = rng(0xc0ffee + concurrency);
      const N = 300;
      const exits = new Map<number, 'before' | 'after'>();
      // A loaded orchestrator: the main thread is regularly busy for a while, so outcomes and worker
      // exits pile up and reach the event loop together (see the minimal case above). `jamming` is
      // 1 while it is held: an 'after' task completes, posts its result and exits only then.
      const jamming = new Int32Array(new SharedArrayBuffer(4));
      const inputs = Array.from({ length: N }, (_, id) => {
        const exit = random() < 0.05 ? (random() < 0.5 ? 'before' : 'after') : false;
        if (exit) exits.set(id, exit);
        return { id, exit, dir, ms: Math.floor(random() * 3), jam: jamming };
      });
      const jam = setInterval(() => {
        Atomics.store(jamming, 0, 1);
        Atomics.notify(jamming, 0);
        hold(25);
        Atomics.store(jamming, 0, 0);
      }, 30);
      const results = await within(
        Promise.allSettled(
          inputs.map((input) => sys.submit({ type: 'work', task: 'work', input, maxAttempts: 5 })),
        ),
        60_000,
        'the 300 submits',
      ).finally(() => clearInterval(jam));
      const lost = results
        .map((r, id) => ({ r, id }))
        .filter(({ r, id }) => r.status !== 'fulfilled' || r.value !== id)
        .map(({ r, id }) => ({ id, ...(r.status === 'rejected' ? { error: String(r.reason) } : {}) }));
      expect(lost).toEqual([]);
      const counts = new Map<number, number>();
      for (const line of readFileSync(join(dir, 'done'), 'utf8').split('\n')) {
        if (line === '') continue;
        counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
      }
      const twice = [...counts].filter(([, n]) => n > 1).map(([id, n]) => ({ id, n, exit: exits.get(id) }));
      expect(twice).toEqual([]);
      expect(counts.size).toBe(N);
      // The chaos really happened: every exit-marked task killed a worker once.
      expect(exits.size).toBeGreaterThan(5);
      for (const id of exits.keys()) expect(existsSync(join(dir, `m-${id}`))).toBe(true);
      const beforeExits = [...exits.values()].filter((e) => e === 'before').length;
      expect(sys.status().tasks.requeued).toBeGreaterThanOrEqual(beforeExits);
      await sys.shutdown({ graceful: false });
      expect(sys.status().threads).toBe(0);
    }, 120_000);
  }
});
