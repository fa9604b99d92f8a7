/**
 * Tools as capabilities on the shared-process tiers (inline, thread): `ctx.tools.call` crosses to the
 * parent, a tool outside the profile is refused with ERR_TOOL_DENIED before it runs (and recorded as
 * a security event), arguments are checked against the tool's schema, and every call is audited.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import type { AgentPoolError } from '../../src/core/errors.js';
import type { SystemEvent } from '../../src/runtime/events.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { checkSchema, parseTools } from '../../src/security/tools.js';
import { fastTimings, fixture } from '../helpers/agents.js';

const systems: AgentPoolSystem[] = [];
afterAll(() => Promise.all(systems.map((s) => s.shutdown({ graceful: false }))));

const inlineAgent = defineAgent({
  callTool: (input: { tool: string; args?: unknown }, ctx) => ctx.tools.call(input.tool, input.args),
});

describe.each(['inline', 'thread'] as const)('%s agents', (host) => {
  it('call granted tools in the parent; others are refused before they run', async () => {
    const ran: string[] = [];
    const events: SystemEvent[] = [];
    const sys = new AgentPoolSystem({
      tools: {
        read: (args) => (ran.push('read'), `read ${(args as { path: string }).path}`),
        deploy: () => (ran.push('deploy'), 'deployed'),
      },
      pools: {
        p: {
          agent: host === 'inline' ? inlineAgent : fixture('isolated'),
          host,
          healthCheckIntervalMs: 0,
          timings: fastTimings,
          capacity: { tools: ['read'] },
        },
      },
    });
    systems.push(sys);
    sys.on('security.denied', (e) => events.push(e));
    await sys.start();
    const lease = await sys.acquire('p', { cycleId: 'c' });
    expect(await lease.run('callTool', { tool: 'read', args: { path: '/x' } })).toBe('read /x');
    const denied = await lease.run('callTool', { tool: 'deploy' }).catch((e: AgentPoolError) => e);
    expect((denied as AgentPoolError).code).toBe('ERR_TASK_ERROR');
    expect(((denied as AgentPoolError).cause as AgentPoolError).code).toBe('ERR_TOOL_DENIED');
    expect(ran).toEqual(['read']);
    expect(events).toMatchObject([
      {
        kind: 'tool',
        resource: 'deploy',
        agentId: lease.agentId,
        leaseId: lease.id,
        cycleId: 'c',
        denials: 1,
      },
    ]);
    expect(sys.toolAudit().map((a) => `${a.tool}:${a.outcome}`)).toEqual(['read:ok', 'deploy:denied']);
    expect(sys.toolCounters()).toEqual({ read: { ok: 1 }, deploy: { denied: 1 } });
    await lease.release();
  });
});

describe('tool signal', () => {
  it("a tool still running when its task times out sees ctx.signal abort; the call's audit says error", async () => {
    let seen: AbortSignal | undefined;
    const sys = new AgentPoolSystem({
      tools: {
        slow: (_args, ctx) =>
          new Promise((_resolve, reject) => {
            seen = ctx.signal;
            ctx.signal.addEventListener('abort', () => reject(new Error('tool stopped')), { once: true });
          }),
      },
      pools: {
        p: {
          agent: inlineAgent,
          healthCheckIntervalMs: 0,
          timings: fastTimings,
          capacity: { tools: ['slow'] },
        },
      },
    });
    systems.push(sys);
    await sys.start();
    const lease = await sys.acquire('p', { cycleId: 'c' });
    const err = await lease
      .run('callTool', { tool: 'slow' }, { timeoutMs: 50 })
      .catch((e: AgentPoolError) => e);
    expect((err as AgentPoolError).code).toBe('ERR_TASK_TIMEOUT');
    expect(seen?.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(sys.toolAudit()).toMatchObject([{ tool: 'slow', outcome: 'error', error: 'tool stopped' }]);
    await lease.release();
  });
});

describe('tool registration and schemas', () => {
  it('bad tool options are config errors naming the path', () => {
    expect(() => parseTools({ git: 3 })).toThrow(/tools\.git/);
    expect(() => parseTools({ git: { run: () => 1, retries: 2 } })).toThrow(/tools\.git/);
    expect(() => parseTools({ git: { schema: {} } })).toThrow(/tools\.git\.run/);
  });

  it('checkSchema names the first bad argument', () => {
    const schema = {
      type: 'object' as const,
      properties: {
        cmd: { type: 'string' as const, enum: ['status', 'diff'] },
        n: { type: 'integer' as const },
        files: { type: 'array' as const, items: { type: 'string' as const } },
      },
      required: ['cmd'],
      additionalProperties: false,
    };
    expect(checkSchema(schema, { cmd: 'status', n: 2, files: ['a'] })).toBeUndefined();
    expect(checkSchema(schema, {})?.details.path).toBe('args.cmd');
    expect(checkSchema(schema, { cmd: 'push' })?.details.path).toBe('args.cmd');
    expect(checkSchema(schema, { cmd: 'diff', n: 1.5 })?.details.path).toBe('args.n');
    expect(checkSchema(schema, { cmd: 'diff', files: ['a', 2] })?.details.path).toBe('args.files[1]');
    expect(checkSchema(schema, { cmd: 'diff', force: true })?.details.path).toBe('args.force');
    expect(checkSchema(schema, 'status')?.code).toBe('ERR_INVALID_ARGUMENT');
  });
});
