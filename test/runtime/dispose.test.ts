/**
 * `await using` (explicit resource management): a lease is released and a system shut down when the
 * scope that holds it ends, also when it ends by a throw. Node ≥ 20.19 defines `Symbol.asyncDispose`;
 * the syntax is compiled (tsc, the test transform), so it runs on Node 20 and 22 too.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createAgentPoolSystem, defineAgent } from '../../src/index.js';
import { testTimings } from './helpers.js';

const agent = defineAgent({ double: (n: number) => n * 2 });

function makeSystem() {
  return createAgentPoolSystem({
    pools: { w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, timings: testTimings } },
    clock: new ManualClock(),
  });
}

describe('await using', () => {
  it('releases a lease at the end of its scope, also when the scope throws', async () => {
    const system = makeSystem();
    await system.start();
    let held: { released: boolean } | undefined;
    {
      await using lease = await system.acquire('w', { cycleId: 'c' });
      held = lease;
      expect(await lease.run('double', 21)).toBe(42);
      expect(system.status().pools.w!.leased).toBe(1);
    }
    expect(held.released).toBe(true);
    expect(system.status().pools.w!.leased).toBe(0);

    const boom = async () => {
      await using lease = await system.acquire('w', { cycleId: 'c' });
      held = lease;
      throw new Error('step failed');
    };
    await expect(boom()).rejects.toThrow('step failed');
    expect(held.released).toBe(true);
    expect(system.status().pools.w!.available).toBe(1);
    await system.shutdown();
  });

  it('shuts the system down at the end of its scope', async () => {
    let sys: ReturnType<typeof makeSystem> | undefined;
    {
      await using system = makeSystem();
      sys = system;
      await system.start();
      expect(await system.submit({ type: 'w', task: 'double', input: 4 })).toBe(8);
    }
    expect(sys.status().state).toBe('stopped');
    await expect(sys.submit({ type: 'w', task: 'double', input: 1 })).rejects.toMatchObject({
      code: 'ERR_SHUTTING_DOWN',
    });
  });
});
