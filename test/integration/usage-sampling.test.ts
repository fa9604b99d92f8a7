/**
 * Thread agents measure themselves while tasks run (heap in use, event-loop busy share) every second;
 * the pool's `used` resources and the lease's usage (what the rebalancer reads) come from those
 * samples without the caller's help. Real worker threads; liveness bounds only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { createAgentPoolSystem } from '../../src/index.js';
import { fastTimings, fixture, until } from '../helpers/agents.js';

const liveAtStart = ThreadHost.live;
afterAll(() => expect(ThreadHost.live).toBe(liveAtStart));

describe('usage sampling', () => {
  it('a running thread task shows up in metrics().used and in the lease usage, with no reportUsage call', async () => {
    const sys = createAgentPoolSystem({
      limits: { memoryMb: 4_096 },
      allocation: false,
      pools: { w: { agent: fixture('slow'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c', requirements: { memoryMb: 256 } });
    const run = lease.run('work', { ms: 2_500, step: 10, heartbeat: false });
    await until(() => sys.metrics()[0]!.used.memoryMb > 0, 10_000, 'a usage sample');
    const m = sys.metrics()[0]!;
    expect(m.allocated.memoryMb).toBe(256);
    expect(m.used.memoryMb).toBeGreaterThan(1); // a worker's heap is a few MB at least
    expect(m.efficiency.memoryMb).toBeGreaterThan(0);
    const usage = lease.takeUsage();
    expect(usage?.peak.memoryMb).toBeGreaterThan(1);
    expect(usage?.samples).toBeGreaterThanOrEqual(1);
    await run;
    await lease.release();
    await sys.shutdown();
  }, 20_000);

  // process.threadCpuUsage (Node ≥ 22.15 / 23.9) measures the thread's own CPU time; older Node has
  // only the event loop's busy share, and the sample says so by leaving `cpu` out.
  const perThreadCpu = typeof (process as { threadCpuUsage?: unknown }).threadCpuUsage === 'function';
  it(`a CPU-bound thread task is sampled as ${perThreadCpu ? 'CPU time per thread' : 'event-loop share (no per-thread CPU on this Node)'}`, async () => {
    const sys = createAgentPoolSystem({
      pools: { w: { agent: fixture('slow'), host: 'thread', min: 1, max: 1, timings: fastTimings } },
    });
    await sys.start();
    const lease = await sys.acquire('w', { cycleId: 'c' });
    const run = lease.run('burn', { ms: 2_500 });
    const agent = sys.pool('w').agentList()[0]!;
    await until(() => agent.sample !== undefined, 10_000, 'a usage sample');
    const sample = agent.sample!;
    expect(sample.elu).toBeGreaterThan(0);
    if (perThreadCpu) {
      expect(sample.cpu).toBeGreaterThan(0);
      expect(sample.cpu).toBeLessThan(1.5); // one thread: about one core at most (rounding, timer skew)
      expect(sys.metrics()[0]!.used.cpuCores).toBe(sample.cpu);
    } else {
      expect(sample.cpu).toBeUndefined();
      expect(sys.metrics()[0]!.used.cpuCores).toBe(sample.elu);
    }
    await run;
    await lease.release();
    await sys.shutdown();
  }, 20_000);
});
