/**
 * Real worker threads: every misbehaving fixture settles the caller's promise with the right typed
 * error, the agent machine ends where it should, a replacement starts, and no worker is left.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import type { AgentHandle } from '../../src/runtime/agent-handle.js';
import { fixture, makeAgent, startAgent, until } from '../helpers/agents.js';

const started: AgentHandle[] = [];
function agent(...args: Parameters<typeof makeAgent>): AgentHandle {
  const a = startAgent(makeAgent(...args));
  started.push(a);
  return a;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as AgentPoolError).code ?? (e as Error).name;
  }
}

afterAll(async () => {
  for (const a of started) a.stop();
  await Promise.all(started.map((a) => a.whenGone(5_000)));
  await until(() => ThreadHost.live === 0, 5_000, 'all workers exited');
  expect(ThreadHost.live).toBe(0);
});

describe('thread agents with misbehaving fixtures', () => {
  it('echo: round trip, agent back to idle', async () => {
    const a = agent({ agent: fixture('echo') });
    await until(() => a.accepting, 10_000, 'start');
    await expect(a.run('echo', { x: [1, 2] })).resolves.toEqual({ x: [1, 2] });
    await expect(a.run('add', { a: 2, b: 40 })).resolves.toBe(42);
    // The idle edge is taken on a 0 ms timer after the last task (see AgentHandle.idleEdge).
    await until(() => a.state === 'idle', 5_000, 'idle');
    expect(a.completed).toBe(2);
  });

  it('setup runs in the worker once, before the first task', async () => {
    const a = agent({ agent: fixture('setup') });
    await until(() => a.accepting, 10_000, 'start');
    await expect(a.run('whoWarmed', null)).resolves.toBe(`setup:${a.id}`);
  });

  it('unknown handler and non-cloneable input are typed errors; the agent keeps serving', async () => {
    const a = agent({ agent: fixture('echo') });
    await until(() => a.accepting);
    const e = await a.run('nope', 1).catch((x: AgentPoolError) => x);
    expect((e as AgentPoolError).code).toBe('ERR_UNKNOWN_TASK');
    expect(await code(a.run('echo', { f: () => 1 }))).toBe('ERR_INVALID_ARGUMENT');
    await expect(a.run('echo', 'still fine')).resolves.toBe('still fine');
  });

  it('throws: ERR_TASK_ERROR with the original code preserved; agent not crashed', async () => {
    const a = agent({ agent: fixture('throws') });
    await until(() => a.accepting);
    const err = (await a
      .run('fail', { message: 'boom', code: 'E_CUSTOM' })
      .catch((x) => x)) as AgentPoolError;
    expect(err.code).toBe('ERR_TASK_ERROR');
    expect((err.cause as { code?: string }).code).toBe('E_CUSTOM');
    expect((err.cause as Error).message).toBe('boom');
    await until(() => a.state === 'idle', 5_000, 'idle');
    expect(a.actor.getSnapshot().context.failures).toBe(0);
  });

  it('process.exit mid-task: ERR_AGENT_CRASHED, restart with backoff, replacement serves', async () => {
    const a = agent({ agent: fixture('exits') });
    await until(() => a.accepting);
    expect(await code(a.run('exitMidTask', { code: 7 }))).toBe('ERR_AGENT_CRASHED');
    await until(() => a.actor.getSnapshot().context.restarts === 1 && a.accepting, 10_000, 'restart');
    expect(a.actor.getSnapshot().context.failures).toBe(1);
    await expect(a.run('ok', null)).resolves.toBe('fine');
    // a success closes the failure count again
    expect(a.actor.getSnapshot().context.failures).toBe(0);
  });

  it('hangs and ignores abort: ERR_TASK_TIMEOUT, then the worker is terminated and replaced', async () => {
    const a = agent({ agent: fixture('hangs') }, { abortGraceMs: 200 });
    await until(() => a.accepting);
    const states: string[] = [];
    a.actor.subscribe((s) => states.push(JSON.stringify(s.value)));
    expect(await code(a.run('spin', null, { timeoutMs: 150 }))).toBe('ERR_TASK_TIMEOUT');
    await until(() => a.actor.getSnapshot().context.restarts === 1 && a.accepting, 10_000, 'replacement');
    expect(states).toContain('{"busy":"overdue"}');
    expect(states).toContain('"terminating"');
    expect(states).toContain('"restarting"'); // via the transient 'crashed' state
    await expect(a.run('ok', null)).resolves.toBe('fine');
  });

  it('hangs but honours abort: cancelled task settles ERR_ABORTED and the agent is not killed', async () => {
    const a = agent({ agent: fixture('hangs') });
    await until(() => a.accepting);
    const ac = new AbortController();
    const p = a.run('waitForAbort', null, { signal: ac.signal });
    ac.abort();
    expect(await code(p)).toBe('ERR_ABORTED');
    await until(() => a.state === 'idle', 5_000, 'idle again');
    expect(a.actor.getSnapshot().context.restarts).toBe(0);
  });

  it('allocates past its memory cap: ERR_AGENT_OUT_OF_MEMORY, replacement starts', async () => {
    const a = agent({ agent: fixture('oom'), memoryMb: 32 });
    await until(() => a.accepting);
    expect(await code(a.run('hog', null))).toBe('ERR_AGENT_OUT_OF_MEMORY');
    await until(() => a.actor.getSnapshot().context.restarts === 1 && a.accepting, 10_000, 'replacement');
    await expect(a.run('ok', null)).resolves.toBe('fine');
  });

  it('slow with heartbeats survives a heartbeat timeout shorter than the task', async () => {
    const a = agent({ agent: fixture('slow') }, { heartbeatTimeoutMs: 250 });
    await until(() => a.accepting);
    await expect(a.run('work', { ms: 600, step: 30, heartbeat: true })).resolves.toBe(600);
    expect(a.state).toBe('idle');
  });

  it('slow without heartbeats: missed heartbeat → ERR_TASK_TIMEOUT (heartbeat), task aborted, agent kept', async () => {
    const a = agent({ agent: fixture('slow') }, { heartbeatTimeoutMs: 150, abortGraceMs: 1_000 });
    await until(() => a.accepting);
    const err = (await a
      .run('work', { ms: 5_000, step: 20, heartbeat: false })
      .catch((x) => x)) as AgentPoolError;
    expect(err.code).toBe('ERR_TASK_TIMEOUT');
    expect(err.details.kind).toBe('heartbeat');
    await until(() => a.state === 'idle', 5_000, 'idle after abort');
    expect(a.actor.getSnapshot().context.restarts).toBe(0);
  });

  it('circuit breaker: repeated crashes evict the agent; calls reject, never hang', async () => {
    const a = agent({ agent: fixture('exits'), maxFailures: 2 });
    await until(() => a.accepting);
    expect(await code(a.run('exitMidTask', { code: 1 }))).toBe('ERR_AGENT_CRASHED');
    await until(() => a.accepting, 10_000, 'restart');
    expect(await code(a.run('exitMidTask', { code: 1 }))).toBe('ERR_AGENT_CRASHED');
    await until(() => a.gone, 10_000, 'evicted');
    expect(a.actor.getSnapshot().value).toBe('evicted');
    expect(await code(a.run('ok', null))).toBe('ERR_AGENT_UNAVAILABLE');
  });

  it('missing agent module: start fails with the agent evicted after its retries', async () => {
    const a = agent({
      agent: new URL('../fixtures/does-not-exist.agent.ts', import.meta.url),
      maxFailures: 1,
    });
    await until(() => a.gone, 10_000, 'evicted');
    expect(a.actor.getSnapshot().context.lastError).toMatch(/agent module not found/);
  });
});
