/**
 * shutdown() keeps its contract with real worker threads, timed on a ManualClock: graceful shutdown
 * lets in-flight tasks run until `deadlineMs`, then aborts them (their signal fires) and kills what is
 * still running after the pool's abort grace; forced shutdown aborts and kills at once. It resolves
 * only once no worker thread of the system is left, and in-flight calls have settled with a typed
 * error. A child process that calls nothing but shutdown() exits by itself.
 *
 * On the old main, each agent waited its stopGraceMs (30 s) before its task was even signalled, the
 * shutdown's deadline was not passed down, and the system resolved after its own 10 s with a worker
 * still alive: every test here failed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { ManualClock } from '../../src/index.js';
import { hangsSystem, until } from '../helpers/agents.js';
import { track } from '../runtime/helpers.js';
import { runTsFixture } from '../helpers/ts-child.js';

const liveAtStart = ThreadHost.live;
afterAll(() => expect(ThreadHost.live).toBe(liveAtStart));

async function startedHangs(clock: ManualClock) {
  const sys = hangsSystem({ clock });
  await sys.start();
  return sys;
}

describe('shutdown with work in flight (thread agents)', () => {
  it('graceful: the task runs until deadlineMs, then its signal fires; shutdown resolves with no thread left', async () => {
    const clock = new ManualClock();
    const sys = await startedHangs(clock);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const run = track(lease.run('waitForAbort', null), clock);
    const done = track(sys.shutdown({ graceful: true, deadlineMs: 1_000 }), clock);
    await clock.advanceAsync(999);
    expect(run.state).toBe('pending');
    expect(done.state).toBe('pending');
    expect(sys.status().threads).toBe(1);
    // The deadline passes: the task is aborted; it honours its signal, so no abort grace is needed.
    await clock.advanceAsync(1);
    await until(() => done.state !== 'pending', 10_000, 'shutdown');
    expect(done.state).toBe('fulfilled');
    expect(done.at).toBe(1_000);
    expect(run.state).toBe('rejected');
    expect(run.error!.code).toBe('ERR_AGENT_STOPPED');
    expect(sys.status().threads).toBe(0);
    expect(sys.state).toBe('stopped');
  });

  it('graceful, with a task that ignores its signal: killed after the abort grace, not later', async () => {
    const clock = new ManualClock();
    const sys = await startedHangs(clock);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const run = track(lease.run('spin', null), clock);
    const done = track(sys.shutdown({ graceful: true, deadlineMs: 1_000 }), clock);
    await clock.advanceAsync(1_000);
    // Aborted (its caller already knows), but the thread is still spinning within the abort grace.
    await until(() => run.state !== 'pending', 10_000, 'caller settled');
    expect(run.error!.code).toBe('ERR_AGENT_STOPPED');
    expect(done.state).toBe('pending');
    await clock.advanceAsync(299);
    expect(done.state).toBe('pending');
    await clock.advanceAsync(1);
    await until(() => done.state !== 'pending', 10_000, 'shutdown');
    expect(done.at).toBe(1_300);
    expect(sys.status().threads).toBe(0);
  });

  it('forced: aborts and kills at once, even a task that ignores its signal', async () => {
    const clock = new ManualClock();
    const sys = await startedHangs(clock);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const run = track(lease.run('spin', null), clock);
    const done = track(sys.shutdown({ graceful: false }), clock);
    await until(() => done.state !== 'pending', 10_000, 'shutdown');
    expect(done.at).toBe(0); // no clock time needed at all
    expect(run.state).toBe('rejected');
    expect(run.error!.code).toBe('ERR_AGENT_STOPPED');
    expect(sys.status().threads).toBe(0);
  });

  it('a forced call during a graceful drain cuts it short; later calls wait for the same shutdown', async () => {
    const clock = new ManualClock();
    const sys = await startedHangs(clock);
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const run = track(lease.run('spin', null), clock);
    const graceful = track(sys.shutdown({ graceful: true, deadlineMs: 60_000 }), clock);
    await clock.advanceAsync(10);
    const forced = track(sys.shutdown({ graceful: false }), clock);
    await until(() => graceful.state !== 'pending' && forced.state !== 'pending', 10_000, 'shutdown');
    expect([graceful.state, forced.state]).toEqual(['fulfilled', 'fulfilled']);
    expect(graceful.at).toBe(10);
    expect(run.error!.code).toBe('ERR_AGENT_STOPPED');
    await expect(sys.shutdown()).resolves.toBeUndefined();
    expect(sys.status().threads).toBe(0);
  });
});

describe('a program that only calls shutdown()', () => {
  it('exits by itself, soon after the deadline', async () => {
    // A liveness bound, not a timing claim: the old main kept the process alive ~31 s after shutdown.
    const { code, out, err } = await runTsFixture('shutdown-child.ts', 20_000);
    expect(err).toBe('');
    expect(code).toBe(0);
    const line = JSON.parse(out.trim()) as { shutdownMs: number; run: string; threads: number };
    expect(line).toMatchObject({ run: 'ERR_AGENT_STOPPED', threads: 0 });
  }, 30_000);
});
