/**
 * Placement across cluster nodes (issue 17 item 3): the pure policy (src/cluster/placement.ts) and,
 * over a REAL nats-server with node processes, labels, memory fit, spread, scale-down freeing the
 * most loaded node, a typed failure naming why no node fits, and the autoscaler on a remote pool.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgentPoolSystem, type PoolOptions } from '../src/index.js';
import {
  chooseNode,
  describeMisfits,
  misfit,
  type NodeFit,
  parseLabelList,
  type PlacementNeed,
  placementNeeds,
  scaleDownOrder,
} from '../src/cluster/placement.js';
import { connect } from '@nats-io/transport-node';
import { type NodeRecord, subjects } from '../src/cluster/config.js';
import { openBucket } from '../src/cluster/node.js';
import { findNatsServer, type LocalNats, NATS_INSTALL_HINT, startNatsServer } from '../src/cluster/server.js';
import { clusterAgent as agent, killAll, startNodeProcess, until } from './helpers/cluster-nodes.js';

const node = (name: string, o: Partial<NodeFit> = {}): NodeFit => ({
  name,
  state: 'up',
  pools: [],
  labels: {},
  capacity: 4,
  agents: 0,
  poolAgents: 0,
  usedMemoryMb: 0,
  usedCpus: 0,
  ...o,
});
const need = (o: Partial<PlacementNeed> = {}): PlacementNeed => ({
  pool: 'work',
  labels: {},
  spread: true,
  memoryMb: 1024,
  cpuCores: 1,
  ...o,
});

describe('placement policy (pure)', () => {
  it('spread: the node with the fewest agents of the pool first, then the least loaded, ties by name', () => {
    const nodes = [
      node('a', { agents: 3, poolAgents: 1 }),
      node('b', { agents: 1, poolAgents: 1 }),
      node('c', { agents: 2, poolAgents: 0 }),
    ];
    expect(chooseNode(nodes, need()).node).toBe('c');
    // Same count of the pool everywhere: least loaded (b: 1/4) wins.
    expect(chooseNode(nodes.slice(0, 2), need()).node).toBe('b');
    expect(chooseNode([node('y'), node('x')], need()).node).toBe('x');
  });

  it('pack: the most loaded fitting node first', () => {
    const nodes = [node('a', { agents: 1 }), node('b', { agents: 3 }), node('c', { agents: 4 })];
    expect(chooseNode(nodes, need({ spread: false })).node).toBe('b'); // c is full
  });

  it('a node misfits by state, pool, labels, slots, memory or CPUs, and says so', () => {
    const n = need({ labels: { zone: ['a', 'b'] }, memoryMb: 512, cpuCores: 0.5 });
    expect(misfit(node('d', { state: 'draining' }), n)?.reason).toBe('draining');
    expect(misfit(node('p', { pools: ['other'] }), n)?.reason).toBe('pool');
    expect(misfit(node('l', { labels: { zone: 'c' } }), n)).toMatchObject({
      reason: 'labels',
      detail: 'label zone=c, wanted a|b',
    });
    expect(misfit(node('l2'), n)?.detail).toBe('label zone=(none), wanted a|b');
    const zoned = { labels: { zone: 'b' } };
    expect(misfit(node('f', { ...zoned, agents: 4 }), n)?.reason).toBe('full');
    expect(misfit(node('m', { ...zoned, memoryMb: 1000, usedMemoryMb: 600 }), n)).toMatchObject({
      reason: 'memory',
      detail: 'memoryMb 400 free, 512 needed',
    });
    expect(misfit(node('c', { ...zoned, cpus: 2, usedCpus: 1.75 }), n)?.reason).toBe('cpu');
    expect(
      misfit(node('ok', { ...zoned, memoryMb: 1024, usedMemoryMb: 512, cpus: 1, usedCpus: 0.5 }), n),
    ).toBe(undefined);
    // A node advertising no memory or CPUs is not limited in them.
    expect(misfit(node('free', { ...zoned, usedMemoryMb: 1e9, usedCpus: 1e9 }), n)).toBe(undefined);
    const none = chooseNode([node('l', { labels: { zone: 'c' } }), node('f', { ...zoned, agents: 4 })], n);
    expect(none.node).toBe(undefined);
    expect(describeMisfits('work', none.misfits!)).toBe(
      'no node fits pool work: l: label zone=c, wanted a|b; f: 4/4 agents',
    );
  });

  it('scale-down order frees the most loaded node first, re-weighing after each pick', () => {
    const nodes = new Map([
      ['a', node('a', { agents: 3, poolAgents: 3, memoryMb: 4096, usedMemoryMb: 3072 })],
      ['b', node('b', { agents: 1, poolAgents: 1, memoryMb: 4096, usedMemoryMb: 1024 })],
    ]);
    const agents = [
      { id: 'b1', on: 'b' },
      { id: 'a1', on: 'a' },
      { id: 'a2', on: 'a' },
      { id: 'a3', on: 'a' },
      { id: 'x', on: 'gone' },
    ];
    const order = scaleDownOrder(agents, (a) => a.on, nodes, need()).map((a) => a.id);
    // a (3/4) → a (2/4) → then a and b tie at load (1/4 vs 1/4)… a has 1 agent of the pool, b 1: first found wins.
    expect(order.slice(0, 2)).toEqual(['a1', 'a2']);
    expect(order.at(-1)).toBe('x'); // unknown node: last
  });

  it('needs come from agentResources, else the largest variant capacity; labels parse from the CLI form', () => {
    const needs = placementNeeds(
      new Map([
        [
          'r',
          {
            host: 'remote',
            placement: { labels: { zone: ['a'] }, spread: false },
            agentResources: { cpuCores: 0.5 },
            variants: [
              { capacity: { memoryMb: 256, cpuCores: 1 } },
              { capacity: { memoryMb: 512, cpuCores: 2 } },
            ],
          },
        ],
        [
          'local',
          { host: 'thread', agentResources: {}, variants: [{ capacity: { memoryMb: 1, cpuCores: 1 } }] },
        ],
      ]),
    );
    expect([...needs.keys()]).toEqual(['r']);
    expect(needs.get('r')).toEqual({
      pool: 'r',
      labels: { zone: ['a'] },
      spread: false,
      memoryMb: 512,
      cpuCores: 0.5,
    });
    expect(parseLabelList('zone=a, gpu=1')).toEqual({ zone: 'a', gpu: '1' });
    expect(() => parseLabelList('zone')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', path: '--labels' }),
    );
  });

  it('the placement option is validated: unknown keys, bad labels and local pools are typed errors', () => {
    const sys = (placement: unknown, host: 'remote' | 'thread' = 'remote') =>
      createAgentPoolSystem({
        pools: { work: { agent, host, placement } as PoolOptions },
        cluster: { servers: 'nats://127.0.0.1:1' },
      });
    expect(() => sys({ labels: { zone: 'a' }, sprad: true })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'pools.work.placement.sprad' }),
    );
    expect(() => sys({ labels: { zone: 'a b' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'pools.work.placement.labels.zone' }),
    );
    expect(() => sys({ labels: { zone: [] } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'pools.work.placement.labels.zone' }),
    );
    expect(() => sys({ spread: 'yes' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'pools.work.placement.spread' }),
    );
    expect(() => sys({ labels: { zone: 'a' } }, 'thread')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', path: 'pools.work.placement' }),
    );
  });
});

const hasNats = findNatsServer() !== undefined;
if (!hasNats) console.warn(`test/cluster-placement.test.ts cluster part skipped: ${NATS_INSTALL_HINT}`);

const HEARTBEAT_MS = 200;

describe.skipIf(!hasNats)('placement over a real nats-server', () => {
  let nats: LocalNats;
  let seq = 0;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => killAll());
  afterAll(async () => {
    await nats?.stop();
  });

  const cluster = (name: string) => ({
    servers: nats.url,
    name,
    heartbeatMs: HEARTBEAT_MS,
    lostAfterMs: 1_000,
    requestTimeoutMs: 1_000,
  });
  /** The pids the pool's agents run in: hold one lease per agent, ask each where it runs. */
  async function pidsOf(system: ReturnType<typeof createAgentPoolSystem>, pool: string, n: number) {
    const leases = await Promise.all(
      Array.from({ length: n }, () => system.acquire(pool, { cycleId: 'where', timeoutMs: 5_000 })),
    );
    const pids = await Promise.all(
      leases.map(async (l) => ((await l.run('whoami', { n: 0 })) as { pid: number }).pid),
    );
    for (const l of leases) await l.release();
    return pids;
  }
  const count = (pids: number[], c: ChildProcess) => pids.filter((p) => p === c.pid).length;

  it('agents go only to nodes with the labels and with memory left, spread over them', async () => {
    const sys = `p${++seq}`;
    const a = await startNodeProcess(nats.url, sys, 'a', ['--labels', 'zone=a', '--memory-mb', '2048']);
    const b = await startNodeProcess(nats.url, sys, 'b', ['--labels', 'zone=b', '--memory-mb', '8192']);
    const c = await startNodeProcess(nats.url, sys, 'c', ['--labels', 'zone=a,gpu=1', '--memory-mb', '1024']);
    const system = createAgentPoolSystem({
      pools: {
        work: {
          agent,
          host: 'remote',
          min: 3,
          max: 4,
          capacity: { memoryMb: 1024 },
          placement: { labels: { zone: 'a' } },
          healthCheckIntervalMs: 60_000,
        },
      },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    await system.start();
    try {
      const pids = await pidsOf(system, 'work', 3);
      // zone=a only (never b), 1024 MB each: a fits two, c one.
      expect(count(pids, b)).toBe(0);
      expect(count(pids, a)).toBe(2);
      expect(count(pids, c)).toBe(1);
      // A fourth agent fits nowhere: the scale-up fails, and the pool's last error says why per node.
      const r = await system.scalePool('work', 4);
      expect(r?.error).toMatch(/failed to start/);
      const last = system.status().pools.work!.lastError;
      expect(last?.code).toBe('ERR_AGENT_UNAVAILABLE');
      expect(last?.message).toContain('no node fits pool work');
      expect(last?.message).toContain('b: label zone=b, wanted a');
      expect(last?.message).toContain('a: memoryMb 0 free, 1024 needed');
    } finally {
      await system.shutdown();
    }
  }, 30_000);

  it('a node checks the fit itself: a start beyond its memory or without its labels is refused', async () => {
    const sys = `p${++seq}`;
    await startNodeProcess(nats.url, sys, 'n', ['--labels', 'zone=a', '--memory-mb', '1000', '--cpus', '1']);
    // Spoken to directly, as a coordinator with a stale view would (another one filled the node meanwhile).
    const nc = await connect({ servers: nats.url, timeout: 5_000 });
    try {
      const start = async (body: Record<string, unknown>) =>
        (
          await nc.request(
            subjects.node(sys, 'n', 'start'),
            JSON.stringify({ agentId: `x${++seq}`, pool: 'work', agent, tools: [], ...body }),
            { timeout: 5_000 },
          )
        ).json<{ ok: boolean; error?: { code?: string; message: string } }>();
      expect(await start({ need: { memoryMb: 1500, cpuCores: 0.5 } })).toMatchObject({
        ok: false,
        error: { code: 'ERR_RESOURCE_EXHAUSTED', message: 'node n: memoryMb 1000 free, 1500 needed' },
      });
      expect(await start({ need: { memoryMb: 100, cpuCores: 2 } })).toMatchObject({
        ok: false,
        error: { code: 'ERR_RESOURCE_EXHAUSTED', message: 'node n: cpus 1 free, 2 needed' },
      });
      expect(await start({ need: { memoryMb: 100, cpuCores: 0.5 }, labels: { zone: ['b'] } })).toMatchObject({
        ok: false,
        error: { code: 'ERR_ACCESS_DENIED', message: 'node n: label zone=a, wanted b' },
      });
      // One that fits starts; then the node has 400 MB left and says so.
      expect(await start({ need: { memoryMb: 600, cpuCores: 0.5 }, labels: { zone: ['a'] } })).toMatchObject({
        ok: true,
      });
      expect(await start({ need: { memoryMb: 600, cpuCores: 0.5 } })).toMatchObject({
        ok: false,
        error: { message: 'node n: memoryMb 400 free, 600 needed' },
      });
    } finally {
      await nc.close();
    }
  }, 30_000);

  it("two coordinators share nodes: the second places by the node's registration, around the first one's agents", async () => {
    const sys = `p${++seq}`;
    const a = await startNodeProcess(nats.url, sys, 'a', ['--labels', 'zone=a', '--memory-mb', '2048']);
    const b = await startNodeProcess(nats.url, sys, 'b', ['--labels', 'zone=b', '--memory-mb', '2048']);
    const pool = (o: Partial<PoolOptions>): PoolOptions => ({
      agent,
      host: 'remote',
      capacity: { memoryMb: 1024 },
      healthCheckIntervalMs: 60_000,
      ...o,
    });
    const first = createAgentPoolSystem({
      pools: { work: pool({ min: 2, max: 2, placement: { labels: { zone: 'a' } } }) },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    await first.start();
    const nc = await connect({ servers: nats.url, timeout: 5_000 });
    const second = createAgentPoolSystem({
      pools: { other: pool({ min: 2, max: 2 }) },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    try {
      // Node a's registration says it is full (2 × 1024 of 2048 MB), as the second coordinator will read it.
      const kv = await openBucket(nc, sys, HEARTBEAT_MS);
      for (let i = 0; i < 100; i++) {
        const r = (await kv.get('a'))?.json<NodeRecord>();
        if (r?.usedMemoryMb === 2048) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await second.start();
      expect(count(await pidsOf(first, 'work', 2), a)).toBe(2);
      // The second coordinator has no agent of its own on a, yet a is full: both of its agents are on b.
      expect(count(await pidsOf(second, 'other', 2), b)).toBe(2);
    } finally {
      await nc.close();
      await second.shutdown();
      await first.shutdown();
    }
  }, 30_000);

  it('no node with the labels: start fails with the typed error naming the labels', async () => {
    const sys = `p${++seq}`;
    await startNodeProcess(nats.url, sys, 'a', ['--labels', 'zone=a']);
    const system = createAgentPoolSystem({
      pools: {
        work: {
          agent,
          host: 'remote',
          min: 1,
          max: 1,
          placement: { labels: { gpu: '1' } },
          timings: { backoffBaseMs: 50, backoffMaxMs: 100 },
        },
      },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    try {
      // Three starts fail (each after requestTimeoutMs); start() rejects with the placement's reason.
      await expect(system.start()).rejects.toMatchObject({
        code: 'ERR_AGENT_START_FAILED',
        message: expect.stringContaining('no node fits pool work: a: label gpu=(none), wanted 1'),
      });
      const last = system.status().pools.work!.lastError;
      expect(last?.code).toBe('ERR_AGENT_UNAVAILABLE');
      expect(last?.message).toBe('no node fits pool work: a: label gpu=(none), wanted 1');
    } finally {
      await system.shutdown();
    }
  }, 30_000);

  it('scale-down retires the agent on the most loaded node first', async () => {
    const sys = `p${++seq}`;
    const a = await startNodeProcess(nats.url, sys, 'a', ['--labels', 'role=x', '--capacity', '4']);
    const b = await startNodeProcess(nats.url, sys, 'b', ['--capacity', '4']);
    const pool = (o: Partial<PoolOptions>): PoolOptions => ({
      agent,
      host: 'remote',
      healthCheckIntervalMs: 60_000,
      scaleDownGraceMs: 1_000,
      ...o,
    });
    const system = createAgentPoolSystem({
      pools: {
        // Two filler agents only fit node a (role=x): a is the loaded node.
        filler: pool({ min: 2, max: 2, placement: { labels: { role: 'x' } } }),
        work: pool({ min: 0, max: 2 }),
      },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    await system.start();
    try {
      await system.scalePool('work', 2);
      const before = await pidsOf(system, 'work', 2);
      // Spread: one work agent per node.
      expect(before.sort()).toEqual([a.pid, b.pid].sort());
      await system.scalePool('work', 1);
      await until(
        () => system.status().pools.work!.size === 1 && system.status().pools.work!.available === 1,
      );
      // a holds 3 of 4 slots, b 1: the agent on a went.
      expect(await pidsOf(system, 'work', 1)).toEqual([b.pid]);
    } finally {
      await system.shutdown();
    }
  }, 30_000);

  it('the autoscaler grows a remote pool over the nodes under load and shrinks it after', async () => {
    const sys = `p${++seq}`;
    const a = await startNodeProcess(nats.url, sys, 'a', ['--capacity', '2']);
    const b = await startNodeProcess(nats.url, sys, 'b', ['--capacity', '2']);
    const system = createAgentPoolSystem({
      pools: {
        work: {
          agent,
          host: 'remote',
          min: 1,
          max: 4,
          healthCheckIntervalMs: 60_000,
          scaleDownGraceMs: 1_000,
          autoscale: {
            intervalMs: 200,
            maxAcceptableWaitMs: 50,
            shortWaitMs: 40,
            stabilisationWindowMs: 1_000,
            scaleDownCooldownMs: 1_000,
            predictive: false,
            // The default sizing keeps a square-root margin and confirms a burst's end over two 30 s
            // rate windows (docs/guides/scaling.md): sized on the observed rate alone, the pool is back
            // at min one window after the backlog, which keeps this test short.
            staffingBeta: 0,
            rateSmoothingMs: 0,
          },
        },
      },
      cluster: cluster(sys),
      shutdownDeadlineMs: 2_000,
    });
    await system.start();
    let peak = 0;
    const sizes = setInterval(() => (peak = Math.max(peak, system.status().pools.work!.size)), 50);
    try {
      expect(system.status().pools.work!.size).toBe(1);
      // A backlog of 300 ms tasks: waits grow, the scaler adds agents (placed on both nodes).
      const results = (await Promise.all(
        Array.from({ length: 40 }, () => system.submit({ type: 'work', task: 'hold', input: { ms: 300 } })),
      )) as { pid: number }[];
      const pids = new Set(results.map((r) => r.pid));
      expect(peak).toBeGreaterThanOrEqual(3);
      expect(pids).toEqual(new Set([a.pid, b.pid]));
      // Idle now: the scaler brings it back to min.
      await until(() => system.status().pools.work!.size === 1, 70_000);
      const history = system.status().pools.work!.history;
      expect(history.some((h) => h.target > 1 && h.reason !== 'manual')).toBe(true);
      expect(history.at(-1)?.target).toBe(1);
      console.log(
        `autoscaled remote pool: peak ${peak} agents, history ${history.map((h) => h.target).join(' → ')}`,
      );
    } finally {
      clearInterval(sizes);
      await system.shutdown();
    }
  }, 120_000);
});
