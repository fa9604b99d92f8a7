/**
 * Durable submits over a REAL nats-server (issue 17 item 4): one server for this file on its own
 * loopback port and store directory; a coordinator in a child process is SIGKILLed, the server itself
 * is SIGKILLed and restarted on the same store. Skipped, with the reason printed, only when the
 * nats-server binary is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgentPoolSystem } from '../src/index.js';
import { findNatsServer, type LocalNats, NATS_INSTALL_HINT, startNatsServer } from '../src/cluster/server.js';
import { parseCluster } from '../src/cluster/config.js';
import { nodeReady } from '../src/cluster/demo.js';
import { durableNames, idOfKey } from '../src/cluster/task-handle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const agent = fileURLToPath(new URL('./fixtures/durable.agent.ts', import.meta.url));
const coordinator = fileURLToPath(new URL('./fixtures/durable-coordinator.ts', import.meta.url));
const hasNats = findNatsServer() !== undefined;
if (!hasNats)
  console.warn(`test/cluster-durable.test.ts skipped: nats-server is not installed; ${NATS_INSTALL_HINT}`);

let nats: LocalNats;
const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'agentpool-durable-'));
let seq = 0;

/** A system of this file: one inline pool `work` of `size` agents, durable cluster mode on `name`. */
function localSystem(name: string, size = 1, durable: Record<string, unknown> | boolean = true) {
  return createAgentPoolSystem({
    pools: { work: { agent, host: 'inline', min: size, max: size } },
    cluster: { servers: nats.url, name, heartbeatMs: 200, lostAfterMs: 1000, durable },
    shutdownDeadlineMs: 1_000,
  });
}

/** Runs of each task number in a fixture agent's log. */
function runsIn(log: string): Map<number, number> {
  const runs = new Map<number, number>();
  if (!existsSync(log)) return runs;
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean))
    runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  return runs;
}

/** What is in the task stream and the results bucket of `name`, read with a client of our own. */
async function storeOf(name: string): Promise<{ queued: number; results: Map<string, unknown> }> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(durableNames.stream(name));
    const kv = await new Kvm(nc).open(durableNames.results(name));
    const results = new Map<string, unknown>();
    for await (const k of await kv.keys()) {
      const e = await kv.get(k);
      if (e?.operation === 'PUT') results.set(k, e.json());
    }
    return { queued: info.state.messages, results };
  } finally {
    await nc.close();
  }
}

async function startNodeProcess(system: string, name: string, capacity: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'node',
      '--nats',
      nats.url,
      '--system',
      system,
      '--name',
      name,
      '--host',
      'inline',
      '--capacity',
      String(capacity),
      '--heartbeat-ms',
      '200',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  await nodeReady(child, name);
  return child;
}

describe.skipIf(!hasNats)('durable submits over a real nats-server', () => {
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('a SIGKILLed coordinator: a new one with the same name resumes every task, each recorded once; attach() returns all results', async () => {
    const sys = `d${++seq}`;
    const log = join(dir, `${sys}.log`);
    const N = 8;
    // Room for the dead coordinator's orphaned agents (they finish their task on the node) and the new ones.
    await startNodeProcess(sys, 'n1', 6);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        coordinator,
        JSON.stringify({ url: nats.url, name: sys, n: N, ms: 400, log, agent }),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    const enqueued = new Set<string>();
    const doneBeforeKill = new Set<string>();
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n').slice(0, -1)) {
        const [what, id] = line.split(' ');
        if (what === 'enqueued') enqueued.add(id!);
        if (what === 'done') doneBeforeKill.add(id!);
      }
      out = out.slice(out.lastIndexOf('\n') + 1);
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // Killed once every task is acknowledged and a few have finished (the rest queued or running).
    await until(
      () => enqueued.size === N && doneBeforeKill.size >= 2,
      () => `coordinator output: ${err}`,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const finishedBefore = new Set(doneBeforeKill);
    expect(enqueued.size).toBe(N);
    expect(finishedBefore.size).toBeLessThan(N);

    const t0 = Date.now();
    const system = createAgentPoolSystem({
      pools: { work: { agent, host: 'remote', min: 2, max: 2, healthCheckIntervalMs: 60_000 } },
      cluster: { servers: nats.url, name: sys, heartbeatMs: 200, lostAfterMs: 1000 },
      shutdownDeadlineMs: 2_000,
    });
    try {
      await system.start(); // resumes what the dead coordinator left in the stream
      const resumedIn = Date.now() - t0;
      const results = await Promise.all(
        [...enqueued].map((id) => system.attach(id, { timeoutMs: 20_000 }) as Promise<{ n: number }>),
      );
      expect(results.map((r) => r.n)).toEqual([...enqueued].map((id) => Number(id.split('-')[1])));
      const store = await storeOf(sys);
      expect(store.queued).toBe(0);
      expect([...store.results.keys()].sort()).toEqual([...enqueued].sort());
      for (const v of store.results.values()) expect(v).toMatchObject({ ok: true });
      // Executions: at least once each; a task recorded before the kill never ran again; only tasks
      // running at the kill (at most the pool's 2 agents) ran twice.
      const runs = runsIn(log);
      for (let i = 0; i < N; i++) expect(runs.get(i) ?? 0).toBeGreaterThanOrEqual(1);
      for (const id of finishedBefore) expect(runs.get(Number(id.split('-')[1]))).toBe(1);
      const twice = [...runs.values()].filter((c) => c > 1).length;
      expect(twice).toBeLessThanOrEqual(2);
      expect(Math.max(...runs.values())).toBeLessThanOrEqual(2);
      console.log(
        `coordinator restart: start() with resume took ${resumedIn} ms; ${finishedBefore.size} of ${N} recorded before the kill, ${twice} ran twice`,
      );
    } finally {
      await system.shutdown();
    }
  }, 60_000);

  it('nats-server SIGKILLed and restarted on its store between PubAck and run: nothing acknowledged is lost', async () => {
    const sys = `d${++seq}`;
    const log = join(dir, `${sys}.log`);
    const a = localSystem(sys);
    await a.start();
    // One task settles before the restart: its recorded outcome must survive it too.
    const first = await a.enqueue({
      type: 'work',
      task: 'step',
      input: { n: 0, ms: 0, log },
      taskId: 'early',
    });
    expect(await first.result).toMatchObject({ n: 0 });
    // The pool's only agent is held: what is enqueued now is acknowledged but cannot run.
    const lease = await a.acquire('work', { cycleId: 'hold', timeoutMs: 5_000 });
    const handles = [];
    for (let i = 1; i <= 5; i++)
      handles.push(await a.enqueue({ type: 'work', task: 'step', input: { n: i, ms: 0, log } }));
    expect(handles.every((h) => h.durable)).toBe(true);
    const { port, storeDir } = nats;
    await nats.stop(true); // SIGKILL, store kept
    nats = await startNatsServer(10_000, { reuse: { port, storeDir } });
    // The first coordinator goes away without running them (its queued tasks stay in the stream).
    await a.shutdown({ graceful: false });
    await lease.release().catch(() => {});
    for (const h of handles) await expect(h.result).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    expect(runsIn(log).size).toBe(1);

    const b = localSystem(sys);
    try {
      await b.start();
      expect(await b.attach('early')).toMatchObject({ n: 0 });
      const results = await Promise.all(handles.map((h) => b.attach(h.id, { timeoutMs: 20_000 })));
      expect(results.map((r) => (r as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
      const runs = runsIn(log);
      for (let i = 0; i <= 5; i++) expect(runs.get(i)).toBe(1);
      expect((await storeOf(sys)).queued).toBe(0);
    } finally {
      await b.shutdown();
    }
  }, 60_000);

  it('coordinator shutdown: a graceful drain records the running task, queued ones stay for the next coordinator; a forced one leaves the running task too', async () => {
    const sys = `d${++seq}`;
    const log = join(dir, `${sys}.log`);
    const a = localSystem(sys);
    await a.start();
    const running = await a.enqueue({
      type: 'work',
      task: 'step',
      input: { n: 1, ms: 300, log },
      taskId: 'r1',
    });
    const queued = await a.enqueue({ type: 'work', task: 'step', input: { n: 2, ms: 0, log }, taskId: 'q2' });
    await until(() => a.status().tasks.running === 1);
    await a.shutdown({ graceful: true, deadlineMs: 5_000 });
    expect(await running.result).toMatchObject({ n: 1 });
    await expect(queued.result).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    expect((await storeOf(sys)).queued).toBe(1); // q2 only
    const b = localSystem(sys);
    await b.start();
    const r3 = await b.enqueue({ type: 'work', task: 'step', input: { n: 3, ms: 5_000, log }, taskId: 'r3' });
    expect(await b.attach('q2', { timeoutMs: 20_000 })).toMatchObject({ n: 2 });
    await until(() => b.status().tasks.running === 1);
    await b.shutdown({ graceful: false });
    await expect(r3.result).rejects.toBeDefined();
    const c = localSystem(sys);
    try {
      await c.start();
      expect(await c.attach('r1')).toMatchObject({ n: 1 });
      expect(await c.attach('r3', { timeoutMs: 20_000 })).toMatchObject({ n: 3 });
      const runs = runsIn(log);
      expect([runs.get(1), runs.get(2), runs.get(3)]).toEqual([1, 1, 1]); // r3's first run was aborted
    } finally {
      await c.shutdown();
    }
  }, 60_000);

  it('a record whose outcome is already in the bucket (a crash between the two writes) is removed at resume, not run', async () => {
    const sys = `d${++seq}`;
    const log = join(dir, `${sys}.log`);
    const a = localSystem(sys);
    await a.start();
    const lease = await a.acquire('work', { cycleId: 'hold', timeoutMs: 5_000 });
    await a.enqueue({ type: 'work', task: 'step', input: { n: 1, ms: 0, log }, taskId: 'half-done' });
    await a.shutdown({ graceful: false });
    await lease.release().catch(() => {});
    expect((await storeOf(sys)).queued).toBe(1);
    // What the dead coordinator had written before it could delete the record.
    const nc = await connect({ servers: nats.url });
    const kv = await new Kvm(nc).open(durableNames.results(sys));
    await kv.put(
      'half-done',
      JSON.stringify({
        v: 1,
        id: 'half-done',
        type: 'work',
        task: 'step',
        ok: true,
        value: { n: 1, recorded: true },
        settledAt: 0,
      }),
    );
    await nc.close();
    const b = localSystem(sys);
    try {
      await b.start();
      expect(await b.attach('half-done')).toEqual({ n: 1, recorded: true });
      expect((await storeOf(sys)).queued).toBe(0);
      expect(runsIn(log).size).toBe(0);
    } finally {
      await b.shutdown();
    }
  }, 30_000);

  it('a resumed task the new coordinator cannot serve (its pool is gone) is refused as a new submit would be, and that is its outcome', async () => {
    const sys = `d${++seq}`;
    const a = localSystem(sys);
    await a.start();
    const lease = await a.acquire('work', { cycleId: 'hold', timeoutMs: 5_000 });
    await a.enqueue({ type: 'work', task: 'step', input: { n: 1, ms: 0 }, taskId: 'orphan' });
    await a.shutdown({ graceful: false });
    await lease.release().catch(() => {});
    const b = createAgentPoolSystem({
      pools: { other: { agent, host: 'inline', min: 1, max: 1 } },
      cluster: { servers: nats.url, name: sys },
    });
    try {
      await b.start();
      await expect(b.attach('orphan', { timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_POOL',
      });
      const store = await storeOf(sys);
      expect(store.queued).toBe(0);
      expect(store.results.get('orphan')).toMatchObject({ ok: false, error: { code: 'ERR_UNKNOWN_POOL' } });
    } finally {
      await b.shutdown();
    }
  }, 30_000);

  it('a store that does not answer: enqueue() rejects ERR_STORE_UNAVAILABLE after writeTimeoutMs', async () => {
    const own = await startNatsServer();
    const s = createAgentPoolSystem({
      pools: { work: { agent, host: 'inline', min: 1, max: 1 } },
      cluster: { servers: own.url, name: 'down', durable: { writeTimeoutMs: 300 } },
      shutdownDeadlineMs: 1_000,
    });
    try {
      await s.start();
      expect(await s.submit({ type: 'work', task: 'step', input: { n: 1, ms: 0 } })).toMatchObject({ n: 1 });
      await own.stop();
      await expect(s.enqueue({ type: 'work', task: 'step', input: { n: 2, ms: 0 } })).rejects.toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
      });
    } finally {
      await s.shutdown({ graceful: false });
      await own.stop();
    }
  }, 30_000);

  it('idempotencyKey: the same key is the same task and the same result — concurrently, after it settled and after a restart', async () => {
    const sys = `d${++seq}`;
    const log = join(dir, `${sys}.log`);
    const a = localSystem(sys, 2);
    await a.start();
    const opts = {
      type: 'work' as const,
      task: 'step',
      input: { n: 7, ms: 100, log },
      idempotencyKey: 'order 7/charge',
    };
    const [h1, h2] = await Promise.all([a.enqueue(opts), a.enqueue(opts)]);
    expect(h1.id).toBe(idOfKey('order 7/charge'));
    expect(h2.id).toBe(h1.id);
    expect([h1.deduplicated, h2.deduplicated].sort()).toEqual([false, true]);
    expect(await h1.result).toEqual(await h2.result);
    const again = await a.enqueue(opts);
    expect(again.deduplicated).toBe(true);
    expect(await again.result).toEqual(await h1.result);
    // Both joins are counted where local dedupes are.
    expect(a.status().tasks.deduplicated).toBe(2);
    await a.shutdown();
    const b = localSystem(sys, 2);
    try {
      await b.start();
      const later = await b.enqueue(opts);
      expect(later).toMatchObject({ id: h1.id, deduplicated: true });
      expect(b.status().tasks.deduplicated).toBe(1); // answered from the results bucket
      expect(await later.result).toMatchObject({ n: 7 });
      expect(await b.submit(opts)).toMatchObject({ n: 7 });
      expect(runsIn(log).get(7)).toBe(1); // ran once for four submits across two coordinators
      // A failed task may be submitted again under its key (as locally): it runs again.
      const failing = {
        type: 'work' as const,
        task: 'fail',
        input: { n: 100, log },
        idempotencyKey: 'flaky',
      };
      const failed = { code: 'ERR_TASK_ERROR', message: 'task "fail" failed: task 100 fails' };
      await expect(b.submit(failing)).rejects.toMatchObject(failed);
      await expect(b.attach(idOfKey('flaky'))).rejects.toMatchObject(failed); // from the bucket
      const retried = await b.enqueue(failing);
      expect(retried.deduplicated).toBe(false);
      await expect(retried.result).rejects.toMatchObject(failed);
      expect(runsIn(log).get(100)).toBe(2);
    } finally {
      await b.shutdown();
    }
  }, 60_000);

  it('attach(): unknown id ERR_TASK_NOT_FOUND, bad id and options ERR_INVALID_ARGUMENT, every wait bounded; results expire after resultTtlMs (a changed one applies)', async () => {
    const sys = `d${++seq}`;
    const s = localSystem(sys, 1, { resultTtlMs: 1_000 });
    await s.start();
    try {
      await expect(s.attach('never-submitted')).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
      await expect(s.attach('no spaces')).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        path: 'taskId',
      });
      await expect(s.attach('x', { timeoutMs: -1 })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        path: 'options.timeoutMs',
      });
      await expect(s.attach('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: 'ERR_ABORTED',
      });
      // A running task outlives a short attach; the attach ends, the task does not.
      const slow = await s.enqueue({ type: 'work', task: 'step', input: { n: 1, ms: 600 }, taskId: 'slow' });
      await expect(s.attach('slow', { timeoutMs: 50 })).rejects.toMatchObject({
        code: 'ERR_DEADLINE_EXCEEDED',
      });
      const ac = new AbortController();
      const aborted = s.attach('slow', { signal: ac.signal });
      ac.abort();
      await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      expect(await slow.result).toMatchObject({ n: 1 });
      expect(await s.attach('slow')).toMatchObject({ n: 1 });
      // resultTtlMs: the outcome leaves the bucket, then the id is unknown.
      await until(
        async () => (await s.attach('slow').catch((e: { code?: string }) => e.code)) === 'ERR_TASK_NOT_FOUND',
      );
    } finally {
      await s.shutdown();
    }
    // A coordinator started later with another resultTtlMs applies it to the existing bucket.
    const later = localSystem(sys, 1, { resultTtlMs: 60_000 });
    await later.start();
    await later.shutdown();
    const nc = await connect({ servers: nats.url });
    expect((await (await new Kvm(nc).open(durableNames.results(sys))).status()).ttl).toBe(60_000);
    await nc.close();
    // Without the cluster option there is nothing to attach to.
    const local = createAgentPoolSystem({ pools: { work: { agent, host: 'inline', min: 1, max: 1 } } });
    await local.start();
    try {
      await expect(local.attach('t-1')).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
      // taskId works locally too: the handle names it, a second submit with it joins the first.
      const [x, y] = await Promise.all([
        local.enqueue({ type: 'work', task: 'step', input: { n: 3, ms: 50 }, taskId: 'local-3' }),
        local.enqueue({ type: 'work', task: 'step', input: { n: 3, ms: 50 }, taskId: 'local-3' }),
      ]);
      expect([x.id, x.durable, y.deduplicated]).toEqual(['local-3', false, true]);
      expect(await y.result).toMatchObject({ n: 3 });
    } finally {
      await local.shutdown();
    }
  }, 60_000);

  it('durable submit input must be JSON data: refused with a typed error naming the path, nothing stored', async () => {
    const sys = `d${++seq}`;
    const s = localSystem(sys);
    await s.start();
    try {
      const bad: [unknown, string][] = [
        [{ when: new Date(0) }, 'submit.input.when'],
        [{ m: new Map() }, 'submit.input.m'],
        [{ f: () => 1 }, 'submit.input.f'],
        [{ big: 1n }, 'submit.input.big'],
        [{ xs: [1, Number.NaN] }, 'submit.input.xs[1]'],
        [{ xs: [undefined] }, 'submit.input.xs[0]'],
      ];
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      bad.push([cyclic, 'submit.input.self']);
      for (const [input, path] of bad) {
        await expect(s.submit({ type: 'work', task: 'step', input })).rejects.toMatchObject({
          code: 'ERR_INVALID_ARGUMENT',
          path,
        });
      }
      await expect(
        s.enqueue({ type: 'work', task: 'step', input: { n: 1 }, taskId: 'a', idempotencyKey: 'b' }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'submit.taskId' });
      await expect(s.enqueue({ type: 'work', task: 'step', taskId: 'a.b' })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        path: 'submit.taskId',
      });
      // The dispatcher's own checks come first too (nothing stored for them either).
      await expect(s.enqueue({ type: 'nope' as 'work', task: 'step' })).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_POOL',
      });
      await expect(
        s.enqueue({ type: 'work', task: 'step', priority: 'urgent' as never }),
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        path: 'submit.priority',
      });
      // undefined properties are fine (JSON drops them; the handler reads undefined either way).
      expect(
        await s.submit({ type: 'work', task: 'step', input: { n: 2, ms: 0, log: undefined } }),
      ).toMatchObject({ n: 2 });
      // A result JSON cannot carry: the caller here gets it as it is, attach() its JSON form.
      const d = await s.enqueue({ type: 'work', task: 'date', taskId: 'date' });
      expect(((await d.result) as { when: unknown }).when).toBeInstanceOf(Date);
      expect(await s.attach('date')).toEqual({ when: '1970-01-01T00:00:00.000Z' });
      const b = await s.enqueue({ type: 'work', task: 'big', taskId: 'big' });
      expect(await b.result).toBe(10n);
      await expect(s.attach('big')).rejects.toMatchObject({ code: 'ERR_SERIALIZATION' });
      const store = await storeOf(sys);
      expect(store.queued).toBe(0);
      expect(store.results.size).toBe(3);
    } finally {
      await s.shutdown();
    }
  }, 30_000);

  it('a full queue refuses before anything is stored: ERR_QUEUE_FULL, one record in the stream', async () => {
    const sys = `d${++seq}`;
    const s = createAgentPoolSystem({
      pools: { work: { agent, host: 'inline', min: 1, max: 1, maxQueue: 1 } },
      cluster: { servers: nats.url, name: sys },
    });
    await s.start();
    try {
      const lease = await s.acquire('work', { cycleId: 'hold', timeoutMs: 5_000 });
      const queued = await s.enqueue({ type: 'work', task: 'step', input: { n: 1, ms: 0 } });
      await expect(s.enqueue({ type: 'work', task: 'step', input: { n: 2, ms: 0 } })).rejects.toMatchObject({
        code: 'ERR_QUEUE_FULL',
      });
      expect((await storeOf(sys)).queued).toBe(1);
      await lease.release();
      expect(await queued.result).toMatchObject({ n: 1 });
    } finally {
      await s.shutdown();
    }
  }, 30_000);

  it('the cluster.durable option is validated: typed ERR_INVALID_CONFIG naming the path', () => {
    const base = { servers: 'nats://127.0.0.1:1' };
    expect(parseCluster(base).durable).toEqual({ resultTtlMs: 86_400_000, writeTimeoutMs: 5000 });
    expect(parseCluster({ ...base, durable: false }).durable).toBeUndefined();
    expect(() => parseCluster({ ...base, durable: 'yes' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'cluster.durable' }),
    );
    expect(() => parseCluster({ ...base, durable: { resultTtlMs: 0 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'cluster.durable.resultTtlMs' }),
    );
    expect(() => parseCluster({ ...base, durable: { ttl: 5 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'cluster.durable.ttl' }),
    );
  });
});

/**
 * Wait (polling) for `cond`. A hang guard, not a speed check: 40 s, because a coordinator child on
 * Node 24 under the full suite on 2 shared cores once took over 20 s to enqueue its tasks (alone: 3 s).
 */
async function until(cond: () => boolean | Promise<boolean>, why: () => string = () => ''): Promise<void> {
  const end = Date.now() + 40_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within 40 s ${why()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
