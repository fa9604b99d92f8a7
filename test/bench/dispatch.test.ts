/**
 * The dispatch bench (a tiny smoke run: shape and sanity only, never timing) and the batched task
 * channel of the thread host it measures: every task of a batch settles on its own, a bad input or
 * result fails only its own task, an abort never overtakes its task, and a dying worker rejects
 * everything pending and later.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONTENDERS,
  PAYLOADS,
  gcFunction,
  jsonPayload,
  median,
  quantile,
  ratioSpread,
  renderDispatchMarkdown,
  rotate,
  runDispatchBench,
} from '../../bench/dispatch.js';
import type { TaskOutcome } from '../../src/agent/runner.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import { IGNORING_LISTENER } from '../../src/hosts/host.js';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { ManualClock, realClock } from '../../src/core/clock.js';
import { makeAgent, startAgent, until } from '../helpers/agents.js';

const mixed = pathToFileURL(join(import.meta.dirname, '../../bench/fixtures/mixed.agent.mjs'));

const listener = IGNORING_LISTENER;

const hosts: ThreadHost[] = [];
async function host(clock = realClock): Promise<ThreadHost> {
  const h = new ThreadHost({ agentId: `t-${hosts.length}`, agent: mixed, tools: [], listener, clock });
  hosts.push(h);
  await h.start();
  return h;
}

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.terminate('test done')));
  await until(() => ThreadHost.live === 0, 5_000, 'all workers exited');
});

interface Settled {
  ok: boolean;
  value: unknown;
}

async function settle(p: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, value: e };
  }
}

describe('median', () => {
  it('splits a list in halves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 50 }),
        (xs) => {
          const m = median(xs);
          expect(xs.filter((x) => x <= m).length).toBeGreaterThanOrEqual(Math.ceil(xs.length / 2));
          expect(xs.filter((x) => x >= m).length).toBeGreaterThanOrEqual(Math.ceil(xs.length / 2));
        },
      ),
    );
  });
  it('averages the two middle values of an even list', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});

describe('thread host task channel (batched)', () => {
  it('a tick of mixed sync and async tasks: every task gets its own result', async () => {
    const h = await host();
    const inputs = Array.from({ length: 300 }, (_, i) => ({ i, s: `x${i}` }));
    const out = await Promise.all(
      inputs.map((x, i) => h.run(`t${i}`, i % 3 === 0 ? 'asyncEcho' : 'echo', x)),
    );
    expect(out.map((o) => (o.ok ? o.value : o.error))).toEqual(inputs);
  });

  it('a non-cloneable input fails only its own task (DataCloneError); the rest of the batch runs', async () => {
    const h = await host();
    const ps = [h.run('a', 'echo', 1), h.run('b', 'echo', { f: () => 1 }), h.run('c', 'echo', 3)];
    const [a, b, c] = (await Promise.all(ps.map(settle))) as [Settled, Settled, Settled];
    expect(a).toEqual({ ok: true, value: { ok: true, value: 1, usage: {} } });
    expect(b.ok).toBe(false);
    expect((b.value as Error).name).toBe('DataCloneError');
    expect(c).toEqual({ ok: true, value: { ok: true, value: 3, usage: {} } });
    await expect(h.run('d', 'echo', 'still serving')).resolves.toMatchObject({
      ok: true,
      value: 'still serving',
    });
  });

  it('a result that cannot be cloned is a task error for that task only', async () => {
    const h = await host();
    const [a, bad, c] = await Promise.all([
      h.run('a', 'echo', 'a'),
      h.run('b', 'badResult', null),
      h.run('c', 'echo', 'c'),
    ]);
    expect(a).toMatchObject({ ok: true, value: 'a' });
    expect(c).toMatchObject({ ok: true, value: 'c' });
    expect(bad?.ok).toBe(false);
    expect((bad as Extract<TaskOutcome, { ok: false }>).error.message).toMatch(/not structured-cloneable/);
  });

  it('an abort sent in the same tick as its task still reaches it (never overtakes the batched run)', async () => {
    const h = await host();
    const p = h.run('w1', 'waitForAbort', null);
    h.abort('w1', 'cancelled');
    await expect(p).resolves.toMatchObject({ ok: true, value: 'aborted' });
  });

  it('thrown errors keep their code across the batch boundary', async () => {
    const h = await host();
    const o = await h.run('t', 'throws', { message: 'boom', code: 'E_CUSTOM' });
    expect(o).toMatchObject({ ok: false, error: { message: 'boom', code: 'E_CUSTOM' } });
  });

  it('a worker dying mid-batch rejects every pending task and every later one with ERR_AGENT_CRASHED', async () => {
    const h = await host();
    const live = ThreadHost.live;
    const pending = [
      h.run('w', 'waitForAbort', null),
      h.run('x', 'exit', { code: 5 }),
      h.run('y', 'waitForAbort', null),
    ];
    const results = await Promise.all(pending.map(settle));
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(results.map((r) => (r.value as AgentPoolError).code)).toEqual([
      'ERR_AGENT_CRASHED',
      'ERR_AGENT_CRASHED',
      'ERR_AGENT_CRASHED',
    ]);
    expect(h.alive).toBe(false);
    expect(((await settle(h.run('z', 'echo', 1))).value as AgentPoolError).code).toBe('ERR_AGENT_CRASHED');
    await until(() => ThreadHost.live === live - 1, 5_000, 'worker gone');
  });

  it('graceful stop waits for tasks on the injected clock, then drains and terminates', async () => {
    const clock = new ManualClock();
    const h = await host(clock);
    const p = settle(h.run('w', 'waitForAbort', null));
    const stopped = h.stop(1_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.alive).toBe(true); // grace period not over on the manual clock
    clock.advance(1_000);
    await stopped;
    expect(h.alive).toBe(false);
    const r = await p;
    // Drain (abort) and terminate race: the task either saw its abort or was rejected as stopped.
    expect(r.ok ? (r.value as TaskOutcome).ok : (r.value as AgentPoolError).code).toSatisfy(
      (v: unknown) => v === true || v === 'ERR_AGENT_STOPPED',
    );
  });

  it('through an agent: a non-cloneable result is ERR_TASK_ERROR and the agent goes back to idle', async () => {
    const a = startAgent(makeAgent({ agent: mixed }));
    try {
      await until(() => a.accepting, 10_000, 'agent start');
      const e = (await a.run('badResult', null).catch((x: unknown) => x)) as AgentPoolError;
      expect(e.code).toBe('ERR_TASK_ERROR');
      await until(() => a.state === 'idle', 5_000, 'idle');
      await expect(a.run('echo', 7)).resolves.toBe(7);
    } finally {
      a.stop();
      await a.whenGone(5_000);
    }
  });
});

describe('dispatch bench helpers', () => {
  it('quantile by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
  });

  it('ratios are taken per round, then summarised as median and min–max', () => {
    // Round 2 is slow for both (a loaded machine): its ratio is still 2.
    expect(ratioSpread([200, 100, 330], [100, 50, 110])).toEqual({ median: 2, min: 2, max: 3 });
    // Rounds where the reference is missing or 0 are skipped.
    expect(ratioSpread([10, 20], [5, 0])).toEqual({ median: 2, min: 2, max: 2 });
    expect(Number.isNaN(ratioSpread([1], []).median)).toBe(true);
  });

  it('rotate gives every contender every position over the rounds', () => {
    expect(rotate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 3)).toEqual([]);
  });

  it('json payloads are distinct objects of about the asked size', () => {
    const a = jsonPayload(1_024, 1);
    const b = jsonPayload(1_024, 2);
    expect(a).not.toEqual(b);
    expect(JSON.stringify(a).length).toBeGreaterThanOrEqual(1_024);
    expect(JSON.stringify(a).length).toBeLessThan(1_200);
    expect(JSON.stringify(jsonPayload(65_536, 3)).length).toBeGreaterThanOrEqual(65_536);
  });

  it('a gc function is available (exposed at run time when Node was not started with --expose-gc)', () => {
    expect(typeof gcFunction()).toBe('function');
  });
});

describe('dispatch bench (smoke: shape only, no timing)', () => {
  it('measures every contender on every payload and returns the issue JSON shape', async () => {
    const report = await runDispatchBench({ tasks: 40, inflight: 8, roundTrips: 5, rounds: 2 });
    expect(report.results.map((r) => `${r.name}|${r.payload}`)).toEqual(
      PAYLOADS.flatMap((p) => CONTENDERS.map((n) => `${n}|${p}`)),
    );
    for (const r of report.results) {
      expect(r).toMatchObject({ name: expect.any(String), config: expect.any(String), inFlight: 8 });
      expect(r.runs).toHaveLength(2);
      expect(r.throughputPerSec).toBeGreaterThan(0);
      // the median of the rounds (runs are listed rounded, hence ±1)
      expect(Math.abs(r.throughputPerSec - median(r.runs))).toBeLessThanOrEqual(1);
    }
    // The reference's ratio to itself is 1 in every round.
    for (const r of report.results.filter((x) => x.name === 'agentpool-submit'))
      expect(r.ratioVsSubmit).toEqual({ median: 1, min: 1, max: 1 });
    expect(report.sequential.map((s) => s.name)).toEqual([...CONTENDERS]);
    for (const s of report.sequential) {
      expect(s.runs).toHaveLength(2);
      expect(s.p99Us).toBeGreaterThanOrEqual(s.p50Us);
      expect(s.bestP50Us).toBe(Math.min(...s.runs.map((x) => x.p50Us)));
    }
    expect(report.params).toMatchObject({ rounds: 2, inflight: 8, gc: true });
    expect(report.params.spinPerMs).toBeGreaterThan(0);
    const md = renderDispatchMarkdown(report);
    for (const n of CONTENDERS) expect(md).toContain(`| ${n} |`);
    expect(md).toMatch(/none: submit \/ best peer \(\S+\) \*\*\d+\.\d\d×\*\*/);
    expect(md).toMatch(/load average/);
    const json = JSON.parse(JSON.stringify(report)) as { results: unknown[]; sequential: unknown[] };
    expect(json.results[0]).toMatchObject({
      name: 'agentpool-submit',
      config: expect.any(String),
      inFlight: 8,
      payload: 'none',
      throughputPerSec: expect.any(Number),
      runs: expect.any(Array),
    });
    expect(json.sequential[0]).toMatchObject({
      name: 'agentpool-submit',
      p50Us: expect.any(Number),
      p99Us: expect.any(Number),
    });
    // A hang guard, not a timing: the run takes 18–30 s on this shared 2-core machine under load.
  }, 90_000);

  it('rejects bad options with typed errors before starting anything', async () => {
    const live = ThreadHost.live;
    const code = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as AgentPoolError).code;
    expect(await code(runDispatchBench({ tasks: 0 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(runDispatchBench({ tasks: 1.5 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(runDispatchBench({ only: ['nope'] }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(runDispatchBench({ payloads: ['2kb'] }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(runDispatchBench({ bogus: 1 } as never))).toBe('ERR_INVALID_ARGUMENT');
    expect(ThreadHost.live).toBe(live);
  });
});
