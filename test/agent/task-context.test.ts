/**
 * A task's `ctx` (src/agent/runner.ts, `TaskContext`) through the public API: every member works when
 * destructured and called unbound, usage adds up, progress reaches `onProgress`, and a traced-off run
 * has no `traceparent` key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentPoolSystem, createAgentPoolSystem, defineAgent } from '../../src/index.js';

const systems: AgentPoolSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ graceful: false });
});

const agent = defineAgent({
  destructured: async (_: unknown, ctx) => {
    const { agentId, taskId, task, signal, tools, heartbeat, progress, reportUsage, requireTool, tokens } =
      ctx;
    heartbeat();
    progress('half');
    reportUsage({ inputTokens: 3 });
    reportUsage({ inputTokens: 4, outputTokens: 1 });
    requireTool('git');
    let denied: unknown;
    try {
      requireTool('docker');
    } catch (e) {
      denied = (e as { code?: string }).code;
    }
    const r = await tokens.reserve(5);
    r.settle(2);
    return {
      agentId,
      taskId,
      task,
      aborted: signal.aborted,
      tools: [...tools],
      denied,
      hasTraceparent: 'traceparent' in ctx,
      sameSignal: ctx.signal === signal,
    };
  },
});

describe('task context', () => {
  it('members work destructured (unbound); progress, usage and tools behave as documented', async () => {
    const sys = createAgentPoolSystem({
      pools: {
        w: { agent, min: 1, max: 1, healthCheckIntervalMs: 0, capacity: { tools: ['git'] } },
      },
      telemetry: false,
    });
    systems.push(sys);
    await sys.start();
    const seen: unknown[] = [];
    const out = (await sys.submit({
      type: 'w',
      task: 'destructured',
      onProgress: (v) => seen.push(v),
    })) as Record<string, unknown>;
    expect(out).toMatchObject({
      task: 'destructured',
      aborted: false,
      tools: ['git'],
      denied: 'ERR_UNENFORCEABLE',
      hasTraceparent: false,
      sameSignal: true,
    });
    expect(out.agentId).toMatch(/^w-/);
    expect(String(out.taskId)).toContain(String(out.agentId));
    expect(seen).toEqual(['half']);
  });
});
