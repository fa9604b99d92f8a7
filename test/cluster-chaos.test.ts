/**
 * Chaos over a REAL nats-server (issue 17): the cluster demo with one node SIGKILLed and one
 * SIGSTOPped/SIGCONTed at random points (every submit settles, none lost, duplicates only re-runs
 * after a node loss), and the deadline path of a node's drain (a task longer than `--drain-ms`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgentPoolSystem } from '../src/index.js';
import { runClusterDemo } from '../src/cluster/demo.js';
import { findNatsServer, type LocalNats, NATS_INSTALL_HINT, startNatsServer } from '../src/cluster/server.js';
import { clusterAgent as agent, killAll, root, startNodeProcess, until } from './helpers/cluster-nodes.js';

const hasNats = findNatsServer() !== undefined;
if (!hasNats) console.warn(`test/cluster-chaos.test.ts skipped: ${NATS_INSTALL_HINT}`);

describe.skipIf(!hasNats)('cluster chaos over a real nats-server', () => {
  let nats: LocalNats;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => killAll());
  afterAll(async () => {
    await nats?.stop();
  });

  it('cluster demo: 3 nodes, one SIGKILLed and one paused at random points — none lost, hung, wrong or unexplained', async () => {
    const s = await runClusterDemo({
      nodes: 3,
      kill: 1,
      pause: 1,
      pauseMs: 2_500,
      tasks: 150,
      seed: 'chaos-test',
      deadlineMs: 60_000,
      nats: nats.url,
      cli: ['--import', 'tsx', `${root}src/cli/main.ts`],
    });
    console.log(`chaos demo: ${JSON.stringify(s)}`);
    expect(s).toMatchObject({
      nodes: 3,
      killedNodes: 1,
      pausedNodes: 1,
      tasks: 150,
      completed: 150,
      failed: 0,
      lost: 0,
      hung: 0,
      wrong: 0,
      unexplainedDuplicates: 0,
    });
    expect(s.agentsPeak).toBeGreaterThanOrEqual(3);
  }, 90_000);

  it('drain deadline: a task longer than --drain-ms is stopped on SIGTERM, the node exits 0, the submit re-runs on the other node', async () => {
    const sys = `d${Date.now().toString(36)}`;
    const a = await startNodeProcess(nats.url, sys, 'a', ['--drain-ms', '300']);
    const b = await startNodeProcess(nats.url, sys, 'b', ['--drain-ms', '300']);
    const system = createAgentPoolSystem({
      pools: { work: { agent, host: 'remote', min: 1, max: 1, healthCheckIntervalMs: 60_000 } },
      cluster: { servers: nats.url, name: sys, heartbeatMs: 200, lostAfterMs: 1_000 },
      shutdownDeadlineMs: 2_000,
    });
    await system.start();
    try {
      const starts: number[] = [];
      const submitted = system.submit({
        type: 'work',
        task: 'hold',
        input: { ms: 3_000 },
        maxAttempts: 3,
        onProgress: (v) => starts.push((v as { pid: number }).pid),
      });
      const outcome = submitted.then(
        (r) => ({ r: r as { pid: number } }),
        (e: unknown) => ({ e }),
      );
      await until(() => starts.length > 0);
      const draining = starts[0] === a.pid ? a : b;
      const other = draining === a ? b : a;
      const exited = new Promise<number | null>((r) => draining.once('exit', (code) => r(code)));
      const t0 = Date.now();
      draining.kill('SIGTERM');
      expect(await exited).toBe(0);
      const drainedIn = Date.now() - t0;
      const got = await outcome;
      expect(got).not.toHaveProperty('e');
      const result = (got as { r: { pid: number } }).r;
      // Stopped at the deadline (not run to its 3 s end there), then run again in full on the other node.
      expect(starts).toEqual([draining.pid, other.pid]);
      expect(result.pid).toBe(other.pid);
      console.log(`node with a 3 s task and --drain-ms 300 exited after ${drainedIn} ms`);
    } finally {
      await system.shutdown();
    }
  }, 30_000);
});
