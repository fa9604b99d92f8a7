/**
 * Over the thread protocol (issue 16): ctx.progress arrives in order, and an error marked
 * `retryable: false` keeps the mark, so `retry` does not run it again.
 */
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

  it('an error marked retryable: false in a worker is not retried', async () => {
    const sys = new AgentPoolSystem({
      pools: { t: { agent: fixture('echo'), host: 'thread', min: 1, max: 1, healthCheckIntervalMs: 0 } },
    });
    systems.push(sys);
    await sys.start();
    const e = await sys.submit({ type: 't', task: 'final', retry: { attempts: 3, baseMs: 1 } }).then(
      () => undefined,
      (x: { code?: string; cause?: { retryable?: boolean } }) => x,
    );
    expect(e?.code).toBe('ERR_TASK_ERROR');
    expect(e?.cause?.retryable).toBe(false);
    expect(sys.status().tasks.retried).toBe(0);
  });
});
