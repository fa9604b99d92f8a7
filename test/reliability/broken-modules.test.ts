/**
 * A broken agent module fails loudly, with its cause, and not forever: start() rejects with
 * ERR_AGENT_MODULE (module path in `details`, the original error as `cause`) after stopping what had
 * started; later start failures are logged, shown in status(), retried with backoff, and after
 * `maxFailures` failed starts in a row the pool gives up and fails its waiting acquires and queued
 * submits with that error instead of letting them hang.
 *
 * On the old main, start() resolved `running` for every one of these modules, the error appeared
 * nowhere, agents were replaced without pause, acquire waited its whole timeout (ERR_POOL_EXHAUSTED)
 * and submit() waited forever.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { type AgentPoolError, createAgentPoolSystem } from '../../src/index.js';
import { fastTimings, until } from '../helpers/agents.js';

const liveAtStart = ThreadHost.live;
afterAll(() => expect(ThreadHost.live).toBe(liveAtStart));

const broken = (name: string) => new URL(`../fixtures/broken-${name}.agent.mjs`, import.meta.url);

/** Every error in a cause chain, outermost first. */
function chain(e: unknown): Error[] {
  const out: Error[] = [];
  for (let c = e; c instanceof Error && out.length < 6; c = c.cause) out.push(c);
  return out;
}

describe('start() with a broken agent module', () => {
  it.each([
    ['syntax', /SyntaxError|Unexpected|Parse error/],
    ['throws', /boom on import/],
    ['named-only', /no default export made by defineAgent/],
    ['plain-object', /no default export made by defineAgent/],
  ])(
    '%s: rejects ERR_AGENT_MODULE with the module and the original error; nothing is left running',
    async (name, why) => {
      const sys = createAgentPoolSystem({
        pools: { w: { agent: broken(name), host: 'thread', min: 1, max: 2, timings: fastTimings } },
      });
      const err = (await sys.start().catch((e: unknown) => e)) as AgentPoolError;
      expect(err).toMatchObject({
        code: 'ERR_AGENT_MODULE',
        details: { pool: 'w', module: broken(name).href },
      });
      const messages = chain(err).map((e) => e.message);
      expect(
        messages.some((m) => why.test(m)),
        messages.join(' <- '),
      ).toBe(true);
      // The original error's stack travels too (from inside the worker).
      expect(chain(err).at(-1)!.stack).toMatch(why);
      expect(sys.state).toBe('stopped');
      expect(sys.status().threads).toBe(0);
      await sys.shutdown();
    },
  );

  it('a missing module file is refused by the config check, before anything starts', () => {
    let err: AgentPoolError | undefined;
    try {
      createAgentPoolSystem({
        pools: { w: { agent: broken('missing'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
      });
    } catch (e) {
      err = e as AgentPoolError;
    }
    expect(err?.code).toBe('ERR_AGENT_MODULE');
    expect(err?.message).toMatch(/^pools\.w\.agent: /);
  });
});

describe('start failures after start()', () => {
  it('are visible in status(), bounded, and fail waiting acquires and queued submits with the cause', async () => {
    const sys = createAgentPoolSystem({
      pools: {
        w: { agent: broken('throws'), host: 'thread', min: 0, max: 2, maxFailures: 3, timings: fastTimings },
      },
    });
    await sys.start(); // min 0: nothing to start yet
    const t0 = Date.now();
    const acquire = sys.acquire('w', { cycleId: 'c', timeoutMs: 60_000 }).catch((e: unknown) => e);
    const submit = sys.submit({ type: 'w', task: 'run' }).catch((e: unknown) => e);
    const [a, s] = (await Promise.all([acquire, submit])) as AgentPoolError[];
    // Long before the acquire's own 60 s timeout: the pool gave up after 3 failed starts in a row.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(a).toMatchObject({ code: 'ERR_AGENT_MODULE', details: { pool: 'w' } });
    expect(s).toMatchObject({ code: 'ERR_AGENT_MODULE' });
    expect(chain(a).some((e) => /boom on import/.test(e.message))).toBe(true);
    const st = sys.status().pools.w!;
    expect(st.lastError).toMatchObject({ code: 'ERR_AGENT_MODULE', failed: true });
    expect(st.lastError!.startFailures).toBeGreaterThanOrEqual(3);
    // No replacement storm: the pool stopped trying.
    const starts = st.history.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(sys.status().pools.w!.history.length).toBe(starts);
    expect(sys.status().threads).toBe(0);
    // New work fails at once with the same error.
    await expect(sys.acquire('w', { cycleId: 'd' })).rejects.toMatchObject({ code: 'ERR_AGENT_MODULE' });
    await expect(sys.submit({ type: 'w', task: 'run' })).rejects.toMatchObject({ code: 'ERR_AGENT_MODULE' });
    await sys.shutdown();
  }, 30_000);
});

describe('timed-out agent starts', () => {
  it('an agent owns at most one worker: a start that times out terminates it', async () => {
    const sys = createAgentPoolSystem({
      pools: {
        w: {
          agent: new URL('../fixtures/slow-setup.agent.ts', import.meta.url),
          host: 'thread',
          min: 0,
          max: 1,
          maxFailures: 100,
          timings: { ...fastTimings, startTimeoutMs: 300, backoffBaseMs: 20, backoffMaxMs: 50 },
        },
      },
    });
    await sys.start();
    void sys.scalePool('w', 1);
    let most = 0;
    const end = Date.now() + 2_500;
    while (Date.now() < end) {
      most = Math.max(most, sys.status().threads);
      await new Promise((r) => setTimeout(r, 10));
    }
    // The old main had 7 live workers for 1 agent after 2.5 s, and 6 left after shutdown.
    expect(most).toBeLessThanOrEqual(1);
    await sys.shutdown({ graceful: false });
    expect(sys.status().threads).toBe(0);
    await until(() => ThreadHost.live === liveAtStart, 5_000, 'every worker exited');
  }, 20_000);
});
