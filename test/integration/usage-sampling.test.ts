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
});
