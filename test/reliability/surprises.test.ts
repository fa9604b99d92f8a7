/**
 * Small surprises that were fixed: `status().threads` counts this system's worker threads only;
 * shutdown is idempotent and quiet (no XState "sent to stopped actor" warning); a shut-down system
 * refuses to start again with a readable error; submit's relative `deadlineMs`, and durations beyond
 * the timer range refused instead of firing at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent } from '../../src/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { fastTimings, fixture, until } from '../helpers/agents.js';

let liveAtStart = 0;
const systems: AgentPoolSystem[] = [];

beforeAll(() => {
  liveAtStart = ThreadHost.live;
});

afterEach(() => {
  vi.restoreAllMocks();
});

// Every system a test created is shut down when the test ends, passed or failed (a no-op for the
// ones the test already shut down itself).
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.shutdown({ graceful: false })));
});

afterAll(async () => {
  await until(() => ThreadHost.live === liveAtStart, 10_000, 'every worker thread exited');
  expect(ThreadHost.live).toBe(liveAtStart);
});

const timings = { ...fastTimings, startTimeoutMs: 1_000, abortGraceMs: 100, stopGraceMs: 200 };

function threadSystem(agents: number): AgentPoolSystem {
  const sys = createAgentPoolSystem({
    pools: {
      work: {
        agent: fixture('reliability-exits'),
        host: 'thread',
        min: agents,
        max: agents,
        healthCheckIntervalMs: 0,
        timings: fastTimings,
      },
    },
    metricsIntervalMs: 0,
  });
  systems.push(sys);
  return sys;
}

function inlineSystem(clock?: ManualClock): AgentPoolSystem {
  const sys = createAgentPoolSystem({
    ...(clock ? { clock } : {}),
    pools: {
      work: {
        agent: defineAgent({ echo: (x: unknown) => x }),
        min: 1,
        max: 1,
        healthCheckIntervalMs: 0,
        timings,
      },
    },
    metricsIntervalMs: 0,
  });
  systems.push(sys);
  return sys;
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string; path?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string; path?: string };
  }
  throw new Error('expected a rejection, got a value');
}

/** console.warn / console.error calls that mention a stopped actor (XState's dev-mode warning). */
function watchConsole(): () => string[] {
  const warn = vi.spyOn(console, 'warn');
  const error = vi.spyOn(console, 'error');
  return () =>
    [...warn.mock.calls, ...error.mock.calls]
      .map((args) => args.map(String).join(' '))
      .filter((line) => /stopped actor/i.test(line));
}

describe('status().threads counts this system only', () => {
  it('two thread systems of 1 and 2 agents report 1 and 2, then 0 each after their shutdown', async () => {
    const one = threadSystem(1);
    const two = threadSystem(2);
    await Promise.all([one.start(), two.start()]);
    expect(one.status().threads).toBe(1);
    expect(two.status().threads).toBe(2);
    await one.shutdown({ graceful: false });
    expect(one.status().threads).toBe(0);
    expect(two.status().threads).toBe(2);
    await two.shutdown({ graceful: false });
    expect(two.status().threads).toBe(0);
    expect(ThreadHost.live).toBe(liveAtStart);
  });
});

describe('shutdown is idempotent and quiet', () => {
  for (const host of ['inline', 'thread'] as const) {
    it(`${host}: concurrent and repeated shutdown() calls all resolve, with no "stopped actor" warning`, async () => {
      const sys = host === 'thread' ? threadSystem(1) : inlineSystem();
      await sys.start();
      const stoppedActorWarnings = watchConsole();
      // Concurrent: a graceful one, another graceful one, and a forced one that cuts the drain short.
      await Promise.all([sys.shutdown(), sys.shutdown(), sys.shutdown({ graceful: false })]);
      expect(sys.state).toBe('stopped');
      // Repeated, after the system stopped.
      await sys.shutdown();
      await sys.shutdown({ graceful: false });
      await Promise.all([sys.shutdown(), sys.shutdown({ graceful: false, deadlineMs: 0 })]);
      expect(stoppedActorWarnings()).toEqual([]);
      expect(sys.status().threads).toBe(0);
    });
  }
});

describe('a shut-down system cannot start again', () => {
  it('start() rejects ERR_SHUTTING_DOWN with a message that says why (no "undefined")', async () => {
    const sys = inlineSystem();
    await sys.start();
    await sys.shutdown();
    const stoppedActorWarnings = watchConsole();
    const e = await errorOf(sys.start());
    expect(e.code).toBe('ERR_SHUTTING_DOWN');
    expect(e.message).not.toContain('undefined');
    expect(e.message).toMatch(/shut down/);
    // Again, and concurrently: same answer, nothing started.
    const again = await Promise.all([errorOf(sys.start()), errorOf(sys.start())]);
    expect(again.map((x) => x.code)).toEqual(['ERR_SHUTTING_DOWN', 'ERR_SHUTTING_DOWN']);
    expect(sys.state).toBe('stopped');
    expect(sys.pool('work').size).toBe(0);
    expect(stoppedActorWarnings()).toEqual([]);
  });
});

describe("submit's relative deadlineMs", () => {
  it('a task that cannot start within deadlineMs rejects ERR_DEADLINE_EXCEEDED at that time', async () => {
    // The clock does not start at 0, so a relative deadline cannot pass for an absolute one.
    const clock = new ManualClock(50_000);
    const sys = inlineSystem(clock);
    await sys.start();
    const busy = await sys.acquire('work', { cycleId: 'busy' });
    const submittedAt = clock.now();
    let settled: { at: number; code?: string | undefined } | undefined;
    void sys.submit({ type: 'work', task: 'echo', input: 1, deadlineMs: 1_000 }).then(
      () => (settled = { at: clock.now() }),
      (e: { code?: string }) => (settled = { at: clock.now(), code: e.code }),
    );
    await clock.advanceAsync(999);
    expect(settled).toBeUndefined();
    expect(sys.status().tasks.queued).toBe(1);
    await clock.advanceAsync(1);
    expect(settled).toEqual({ at: submittedAt + 1_000, code: 'ERR_DEADLINE_EXCEEDED' });
    expect(sys.status().tasks).toMatchObject({ queued: 0, expired: 1 });
    await busy.release();
    await sys.shutdown();
  });

  it('a task that can start within deadlineMs runs (at once, or when an agent frees up in time)', async () => {
    const clock = new ManualClock(50_000);
    const sys = inlineSystem(clock);
    await sys.start();
    await expect(sys.submit({ type: 'work', task: 'echo', input: 'now', deadlineMs: 1_000 })).resolves.toBe(
      'now',
    );
    const busy = await sys.acquire('work', { cycleId: 'busy' });
    let result: unknown;
    void sys.submit({ type: 'work', task: 'echo', input: 'later', deadlineMs: 1_000 }).then(
      (v) => (result = v),
      (e: { code?: string }) => (result = e.code),
    );
    await clock.advanceAsync(600);
    expect(result).toBeUndefined();
    await busy.release();
    await clock.advanceAsync(0);
    expect(result).toBe('later');
    // Its deadline passing afterwards changes nothing.
    await clock.advanceAsync(1_000);
    expect(result).toBe('later');
    expect(sys.status().tasks).toMatchObject({ expired: 0, completed: 2 });
    await sys.shutdown();
  });

  it('deadline and deadlineMs together: ERR_INVALID_ARGUMENT naming submit.deadlineMs', async () => {
    const clock = new ManualClock(50_000);
    const sys = inlineSystem(clock);
    await sys.start();
    const e = await errorOf(
      sys.submit({ type: 'work', task: 'echo', deadline: clock.now() + 1_000, deadlineMs: 1_000 }),
    );
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.path).toBe('submit.deadlineMs');
    expect(e.message).toContain('submit.deadlineMs');
    expect(sys.status().tasks.submitted).toBe(0);
    // Each alone is fine.
    const alone = [{ deadline: clock.now() + 1_000 }, { deadlineMs: 1_000 }].map((d) =>
      sys.submit({ type: 'work', task: 'echo', input: 'alone', ...d }),
    );
    await expect(Promise.all(alone)).resolves.toEqual(['alone', 'alone']);
    await sys.shutdown();
  });

  it('deadlineMs / timeoutMs of 3e9 (beyond the timer range): ERR_INVALID_ARGUMENT naming the option, not a timeout', async () => {
    // The real clock: a Node timer of more than 2^31 - 1 ms would fire after 1 ms.
    const sys = inlineSystem();
    await sys.start();
    for (const option of ['deadlineMs', 'timeoutMs'] as const) {
      const e = await errorOf(sys.submit({ type: 'work', task: 'echo', input: 1, [option]: 3e9 }));
      expect({ code: e.code, path: e.path }).toEqual({
        code: 'ERR_INVALID_ARGUMENT',
        path: `submit.${option}`,
      });
      expect(e.message).toContain(`submit.${option}`);
    }
    // Nothing was queued or run; the agent still takes work.
    expect(sys.status().tasks).toMatchObject({ submitted: 0, queued: 0, running: 0 });
    await expect(sys.submit({ type: 'work', task: 'echo', input: 'ok', timeoutMs: 60_000 })).resolves.toBe(
      'ok',
    );
    await sys.shutdown();
  });
});
