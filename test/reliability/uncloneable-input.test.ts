/**
 * A task input a worker cannot receive is a typed error that names the property at fault (the old
 * main said `received {}`), on both paths into a thread agent; nothing already running is affected.
 */
import { describe, expect, it } from 'vitest';
import { type AgentPoolError, createAgentPoolSystem } from '../../src/index.js';
import { fastTimings, fixture } from '../helpers/agents.js';

describe('an input that cannot be cloned to a worker', () => {
  it('lease.run and submit name the property and its value; the agent keeps serving', async () => {
    const sys = createAgentPoolSystem({
      pools: { w: { agent: fixture('hangs'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const input = { story: 42, nested: { callback: function notify() {} } };
    const viaLease = (await lease.run('ok', input).catch((e: unknown) => e)) as AgentPoolError;
    expect(viaLease.code).toBe('ERR_INVALID_ARGUMENT');
    expect(viaLease.message).toBe(
      'input.nested.callback: expected structured-cloneable data for a thread agent, received function notify',
    );
    await expect(lease.run('ok', null)).resolves.toBe('fine');
    await lease.release();
    // A submit that starts at once: its host refuses the input (no walk of every input up front).
    const viaSubmit = (await sys
      .submit({ type: 'w', task: 'ok', input })
      .catch((e: unknown) => e)) as AgentPoolError;
    expect(viaSubmit.code).toBe('ERR_INVALID_ARGUMENT');
    expect(viaSubmit.message).toMatch(/^submit\.input\.nested\.callback: .*received function notify$/);
    expect(sys.status().tasks).toMatchObject({ submitted: 1, failed: 1, requeued: 0 }); // not retried
    await expect(sys.submit({ type: 'w', task: 'ok', input: null })).resolves.toBe('fine');
    await sys.shutdown();
  });

  it('a submit that must wait is refused at the boundary, before it queues', async () => {
    const sys = createAgentPoolSystem({
      pools: { w: { agent: fixture('hangs'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
    });
    await sys.start();
    const held = await sys.acquire('w', { cycleId: 'c' }); // the only agent is taken: submits must wait
    const bad = (await sys
      .submit({ type: 'w', task: 'ok', input: { f: () => 1 } })
      .catch((e: unknown) => e)) as AgentPoolError;
    expect(bad.message).toMatch(/^submit\.input\.f: expected structured-cloneable data/);
    expect(sys.status().tasks.submitted).toBe(0); // never queued
    const ok = sys.submit({ type: 'w', task: 'ok', input: null });
    await held.release();
    await expect(ok).resolves.toBe('fine');
    await sys.shutdown();
  });
});
