/**
 * A hung agent is not handed to the next lease: after a task's timeout the agent is `overdue` (its
 * abort signal sent) and offered to nobody until it lets go or is replaced; an innocent task never dies
 * for another task's hang; a task lost because its agent was terminated says so (ERR_AGENT_TERMINATED),
 * distinct from a stop on request (ERR_AGENT_STOPPED).
 *
 * On the old main, the next acquire got the still-spinning agent at once and its task died ~abortGraceMs
 * later with ERR_AGENT_STOPPED (through submit() it silently cost an attempt).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { type AgentPoolError, createAgentPoolSystem } from '../../src/index.js';
import { fastTimings, fixture, hangsSystem } from '../helpers/agents.js';

const liveAtStart = ThreadHost.live;
afterAll(() => expect(ThreadHost.live).toBe(liveAtStart));

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as AgentPoolError,
  );

describe('a hung agent', () => {
  it('is not offered to the next lease until it was replaced; that lease works', async () => {
    const sys = hangsSystem();
    await sys.start();
    const first = await sys.acquire('w', { cycleId: 'a' });
    const hungAgent = first.agentId;
    expect((await errorOf(first.run('spin', null, { timeoutMs: 200 })))?.code).toBe('ERR_TASK_TIMEOUT');
    await first.release();
    // Not free: the agent is overdue; the waiter is served by the restarted agent.
    expect(sys.status().pools.w!.available).toBe(0);
    const next = await sys.acquire('w', { cycleId: 'b', timeoutMs: 10_000 });
    await expect(next.run('ok', null)).resolves.toBe('fine');
    await next.release();
    // Same agent id (restarted in place), new worker: one restart, nothing lost.
    expect(next.agentId).toBe(hungAgent);
    expect(sys.status().pools.w!.agents).toMatchObject({ idle: 1 });
    await sys.shutdown();
  }, 20_000);

  it('through submit(): the next task does not lose an attempt to the hang', async () => {
    const sys = hangsSystem();
    await sys.start();
    const hung = errorOf(sys.submit({ type: 'w', task: 'spin', timeoutMs: 200 }));
    const next = sys.submit({ type: 'w', task: 'ok', maxAttempts: 1 });
    expect((await hung)?.code).toBe('ERR_TASK_TIMEOUT');
    // maxAttempts 1: had it been placed on the hung agent it would have failed.
    await expect(next).resolves.toBe('fine');
    await sys.shutdown();
  }, 20_000);

  it('a task lost because its agent was terminated is ERR_AGENT_TERMINATED, not ERR_AGENT_STOPPED', async () => {
    const sys = hangsSystem({ concurrency: 2 });
    await sys.start();
    const a = await sys.acquire('w', { cycleId: 'a' });
    const b = await sys.acquire('w', { cycleId: 'b' });
    const bystander = errorOf(b.run('waitForAbort', null));
    expect((await errorOf(a.run('spin', null, { timeoutMs: 200 })))?.code).toBe('ERR_TASK_TIMEOUT');
    // The spinning task never lets go: after the abort grace the worker is killed, and b's task with it.
    const lost = await bystander;
    expect(lost?.code).toBe('ERR_AGENT_TERMINATED');
    await sys.shutdown();
  }, 20_000);

  it('through submit(): a task lost with ERR_AGENT_TERMINATED (killed with a hung neighbour) is re-queued and runs', async () => {
    const sys = createAgentPoolSystem({
      pools: {
        w: {
          agent: fixture('spin-and-work'),
          host: 'thread',
          min: 1,
          max: 1,
          concurrency: 2,
          healthCheckIntervalMs: 0,
          timings: { ...fastTimings, abortGraceMs: 300 },
        },
      },
    });
    await sys.start();
    const bystander = sys.submit({ type: 'w', task: 'work', input: { ms: 1_000 }, maxAttempts: 2 });
    const hung = errorOf(sys.submit({ type: 'w', task: 'spin', timeoutMs: 200, maxAttempts: 1 }));
    expect((await hung)?.code).toBe('ERR_TASK_TIMEOUT');
    await expect(bystander).resolves.toBe('done');
    expect(sys.status().tasks.requeued).toBeGreaterThanOrEqual(1);
    await sys.shutdown();
  }, 20_000);
});
