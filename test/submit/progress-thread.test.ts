/** ctx.progress from a worker-thread agent travels over the thread protocol, in order (issue 16). */
import { describe, expect, it } from 'vitest';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { fixture, useThreadSystems } from '../helpers/agents.js';

describe('progress from a thread agent', () => {
  const systems = useThreadSystems();

  it('reaches onProgress and task.progress in order, before the result', async () => {
    const sys = new AgentPoolSystem({
      pools: { t: { agent: fixture('echo'), host: 'thread', min: 1, max: 1, healthCheckIntervalMs: 0 } },
    });
    systems.push(sys);
    await sys.start();
    const seen: unknown[] = [];
    const events: unknown[] = [];
    sys.on('task.progress', (e) => events.push(e.value));
    const n = await sys.submit({
      type: 't',
      task: 'progress',
      input: { steps: 20 },
      onProgress: (v) => seen.push(v),
    });
    expect(n).toBe(20);
    const expected = Array.from({ length: 20 }, (_, i) => ({ step: i + 1 }));
    expect(seen).toEqual(expected);
    expect(events).toEqual(expected);
  });
});
