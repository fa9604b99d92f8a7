/**
 * The `process` and `sandbox` tiers for real: agents in child Node processes under the permission
 * model, and inside bubblewrap. An agent that writes outside its workspace, reads outside its read
 * paths, connects to a local TCP server its profile does not allow, spawns a process or a worker, or
 * calls a tool outside its allowlist is refused with a typed error and a `security.denied` event, and
 * the pool keeps serving; an allowed tool call works and is audited; the workspace is gone after
 * release (emptied), crash and shutdown. bubblewrap is installed by .ci/run; where it cannot exist the
 * sandbox cases are skipped with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import type { SystemEvent } from '../../src/runtime/events.js';
import type { PoolOptions } from '../../src/runtime/config.js';
import { AgentPoolSystem } from '../../src/runtime/system.js';
import { tierAvailability } from '../../src/security/tiers.js';
import { ProcessHost } from '../../src/hosts/process-host.js';
import { ManualClock } from '../../src/core/clock.js';
import { fastTimings, fixture, until } from '../helpers/agents.js';

const agent = fixture('isolated');
const sandbox = tierAvailability('sandbox');
if (!sandbox.available) console.warn(`sandbox tier skipped: ${sandbox.reason}`);

let base: string;
let secretDir: string;
let readable: string;
let server: Server;
let port: number;
const systems: AgentPoolSystem[] = [];

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'ap-iso-'));
  secretDir = mkdtempSync(join(tmpdir(), 'ap-secret-'));
  writeFileSync(join(secretDir, 'key'), 'SECRET');
  readable = mkdtempSync(join(tmpdir(), 'ap-readable-'));
  writeFileSync(join(readable, 'notes.txt'), 'public notes');
  server = createServer((s) => {
    s.on('error', () => {});
    s.end('hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await Promise.all(systems.map((s) => s.shutdown({ graceful: false })));
  server.close();
  for (const d of [base, secretDir, readable]) rmSync(d, { recursive: true, force: true });
  expect(ProcessHost.live).toBe(0);
});

async function start(host: 'process' | 'sandbox', pool: Partial<PoolOptions> = {}) {
  const events: SystemEvent[] = [];
  const calls: unknown[] = [];
  const sys = new AgentPoolSystem({
    workspaceDir: base,
    tools: {
      git: {
        run: (args, ctx) => (calls.push({ args, ctx }), `git ${(args as { cmd: string }).cmd}`),
        schema: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
      },
      deploy: () => 'deployed',
    },
    pools: {
      iso: {
        agent,
        host,
        min: 1,
        max: 1,
        healthCheckIntervalMs: 0,
        timings: { ...fastTimings, startTimeoutMs: 20_000 },
        security: {
          tools: ['git'],
          network: host === 'sandbox' ? 'none' : 'full',
          files: { read: [readable] },
          limits: { memoryMb: 96 },
        },
        ...pool,
      },
    },
  });
  systems.push(sys);
  sys.on('*', (e) => events.push(e));
  await sys.start();
  return { sys, events, calls };
}

async function errorOf(p: Promise<unknown>): Promise<AgentPoolError> {
  try {
    await p;
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a rejection');
}

const denials = (events: SystemEvent[]) =>
  events.filter((e): e is Extract<SystemEvent, { type: 'security.denied' }> => e.type === 'security.denied');

describe.each([
  ['process', true],
  ['sandbox', sandbox.available],
] as const)('%s tier', (host, available) => {
  it.skipIf(!available)(
    'refuses what the profile does not allow, with a typed error and an event; the pool keeps serving',
    async () => {
      const { sys, events } = await start(host);
      const lease = await sys.acquire('iso', { cycleId: 'c1' });
      expect(lease.enforcement).toMatchObject({
        profile: 'iso',
        tier: host,
        tools: ['git'],
        limits: { memoryMb: 96 },
      });
      expect(lease.enforcement.startedAt).toBeTypeOf('number');
      const ws = lease.enforcement.workspace!;
      expect(ws.startsWith(join(base, 'agentpool-ws'))).toBe(true);

      // Allowed: its workspace, its read paths.
      expect(await lease.run('writeWorkspace', { name: 'out.txt' })).toBe(join(ws, 'out.txt'));
      expect(await lease.run('readFile', { path: join(readable, 'notes.txt') })).toBe('public notes');

      const outside = join(base, 'outside.txt');
      const write = await errorOf(lease.run('writeFile', { path: outside }));
      expect(write.code).toBe('ERR_ACCESS_DENIED');
      expect(write.details).toMatchObject({ kind: 'file' });
      expect(existsSync(outside)).toBe(false);

      const read = await errorOf(lease.run('readFile', { path: join(secretDir, 'key') }));
      expect(read.code).toBe('ERR_ACCESS_DENIED');
      expect(read.details).toMatchObject({ kind: 'file' });

      const spawn = await errorOf(lease.run('spawn'));
      expect(spawn.code).toBe('ERR_ACCESS_DENIED');
      expect(spawn.details).toMatchObject({ kind: 'process' });
      const worker = await errorOf(lease.run('worker'));
      expect(worker.code).toBe('ERR_ACCESS_DENIED');

      const tool = await errorOf(lease.run('callTool', { tool: 'deploy' }));
      expect(tool.code).toBe('ERR_TASK_ERROR');
      expect((tool.cause as AgentPoolError).code).toBe('ERR_TOOL_DENIED');

      const kinds = denials(events).map((e) => e.kind);
      expect(kinds).toEqual(['file', 'file', 'process', 'process', 'tool']);
      expect(denials(events).every((e) => e.leaseId === lease.id && e.cycleId === 'c1')).toBe(true);
      expect(sys.metrics()[0]!.incidents.security_denials).toBe(5);
      expect(sys.toolAudit().map((a) => [a.tool, a.outcome])).toEqual([['deploy', 'denied']]);

      // Still serving, on the same agent.
      expect(await lease.run('echo', 'still here')).toBe('still here');
      await lease.release();
    },
  );

  it.skipIf(!available)('an allowed tool call runs in the parent, validated and audited', async () => {
    const { sys, calls } = await start(host);
    const lease = await sys.acquire('iso', { cycleId: 'c2' });
    expect(await lease.run('callTool', { tool: 'git', args: { cmd: 'status' } })).toBe('git status');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      ctx: {
        agentId: lease.agentId,
        leaseId: lease.id,
        cycleId: 'c2',
        workspace: lease.enforcement.workspace,
      },
    });
    const bad = await errorOf(lease.run('callTool', { tool: 'git', args: { cmd: 3 } }));
    expect((bad.cause as AgentPoolError).code).toBe('ERR_INVALID_ARGUMENT');
    expect(calls).toHaveLength(1);
    const audit = sys.toolAudit();
    expect(audit.map((a) => [a.tool, a.outcome, a.agentId, a.leaseId, a.cycleId])).toEqual([
      ['git', 'ok', lease.agentId, lease.id, 'c2'],
      ['git', 'invalid', lease.agentId, lease.id, 'c2'],
    ]);
    expect(audit[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(sys.toolCounters()).toEqual({ git: { ok: 1, invalid: 1 } });
    await lease.release();
  });

  it.skipIf(!available)('the workspace is emptied on release and removed on crash and shutdown', async () => {
    const { sys } = await start(host);
    const l1 = await sys.acquire('iso', { cycleId: 'w1' });
    const ws = l1.enforcement.workspace!;
    await l1.run('writeWorkspace', { name: 'a.txt' });
    expect(readdirSync(ws)).toEqual(['a.txt']);
    await l1.release();
    expect(readdirSync(ws)).toEqual([]);

    const l2 = await sys.acquire('iso', { cycleId: 'w2' });
    expect(l2.enforcement.workspace).toBe(ws);
    await l2.run('writeWorkspace', { name: 'b.txt' });
    const crash = await errorOf(l2.run('exit'));
    expect(crash.code).toBe('ERR_AGENT_CRASHED');
    await l2.release();
    expect(existsSync(ws)).toBe(false);

    // The pool replaced the agent: a new environment with a new workspace.
    const l3 = await sys.acquire('iso', { cycleId: 'w3', timeoutMs: 20_000 });
    const ws3 = l3.enforcement.workspace!;
    expect(ws3).not.toBe(ws);
    await l3.run('writeWorkspace', { name: 'c.txt' });
    await sys.shutdown({ graceful: false });
    expect(existsSync(ws3)).toBe(false);
    expect(sys.status().threads).toBe(0);
  });
});

describe('network', () => {
  it.skipIf(!sandbox.available)(
    'a sandbox with network none cannot reach a local TCP server; the process tier with network full can',
    async () => {
      const { sys, events } = await start('sandbox');
      const lease = await sys.acquire('iso', { cycleId: 'n1' });
      const err = await errorOf(lease.run('connect', { port }));
      expect(err.code).toBe('ERR_ACCESS_DENIED');
      expect(err.details).toMatchObject({ kind: 'network' });
      expect(denials(events).map((e) => e.kind)).toEqual(['network']);
      expect(await lease.run('echo', 1)).toBe(1);
      await lease.release();

      const open = await start('process');
      const l2 = await open.sys.acquire('iso', { cycleId: 'n2' });
      expect(await l2.run('connect', { port })).toBe('connected');
      await l2.release();
    },
  );
});

describe('violations', () => {
  it('evictAfter drains and replaces an agent after that many denials', async () => {
    const { sys, events } = await start('process', {
      security: { tools: [], network: 'full', files: { read: [] }, violations: { evictAfter: 2 } },
    });
    const lease = await sys.acquire('iso', { cycleId: 'v1' });
    const first = lease.agentId;
    await errorOf(lease.run('spawn'));
    await errorOf(lease.run('readFile', { path: join(secretDir, 'key') }));
    expect(events.filter((e) => e.type === 'agent.replaced')).toMatchObject([
      { agentId: first, reason: 'violations' },
    ]);
    await lease.release();
    const next = await sys.acquire('iso', { cycleId: 'v2', timeoutMs: 20_000 });
    expect(next.agentId).not.toBe(first);
    await next.release();
  });
});

describe('lifetime, timeouts, memory and leftovers', () => {
  it('an environment lives at most maxLifetimeMs (ManualClock): drained, replaced, its workspace removed', async () => {
    const clock = new ManualClock();
    const events: SystemEvent[] = [];
    const sys = new AgentPoolSystem({
      clock,
      workspaceDir: base,
      pools: {
        iso: {
          agent,
          host: 'process',
          min: 1,
          max: 1,
          healthCheckIntervalMs: 0,
          timings: fastTimings,
          security: { network: 'full', limits: { maxLifetimeMs: 6 * 3600_000 } },
        },
      },
    });
    systems.push(sys);
    sys.on('*', (e) => events.push(e));
    await sys.start();
    const lease = await sys.acquire('iso', { cycleId: 'life' });
    const first = lease.agentId;
    const ws = lease.enforcement.workspace!;
    expect(lease.enforcement.limits.maxLifetimeMs).toBe(6 * 3600_000);
    clock.advance(6 * 3600_000 - 1);
    expect(events.some((e) => e.type === 'agent.replaced')).toBe(false);
    clock.advance(1);
    expect(events.filter((e) => e.type === 'agent.replaced')).toMatchObject([
      { agentId: first, reason: 'lifetime' },
    ]);
    // The lease in flight is not cut short: the environment is drained, not killed.
    expect(await lease.run('echo', 'finishing')).toBe('finishing');
    await lease.release();
    const next = await sys.acquire('iso', { cycleId: 'life2' });
    expect(next.agentId).not.toBe(first);
    await until(() => !existsSync(ws));
    await next.release();
    await sys.shutdown({ graceful: false });
    expect(clock.pending).toBe(0);
  });

  it('a task past its timeout is aborted, then its process is killed and its workspace removed', async () => {
    const { sys } = await start('process');
    const lease = await sys.acquire('iso', { cycleId: 't1' });
    const ws = lease.enforcement.workspace!;
    const err = await errorOf(lease.run('hang', undefined, { timeoutMs: 100 }));
    expect(err.code).toBe('ERR_TASK_TIMEOUT');
    await until(() => !existsSync(ws));
    await lease.release();
    const again = await sys.acquire('iso', { cycleId: 't2', timeoutMs: 20_000 });
    expect(await again.run('echo', 'ok')).toBe('ok');
    await again.release();
  });

  it('the heap is capped: an agent that grows past it dies with ERR_AGENT_OUT_OF_MEMORY', async () => {
    const { sys } = await start('process');
    const lease = await sys.acquire('iso', { cycleId: 'm1' });
    const err = await errorOf(lease.run('grow'));
    expect(err.code).toBe('ERR_AGENT_OUT_OF_MEMORY');
    await lease.release();
  });

  it('agents of a parent that died (SIGKILL) exit by themselves; the next system removes their workspaces', async () => {
    const script = fileURLToPath(new URL('../fixtures/isolated-parent.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, base, sandbox.available ? 'yes' : 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    await new Promise((r) => child.once('exit', r));
    const line = JSON.parse(out.trim()) as { parent: number; agents: { pid: number; workspace: string }[] };
    expect(line.agents).toHaveLength(sandbox.available ? 2 : 1);
    // The process tier's child sees its own pid; it must be gone (its IPC channel closed with the parent).
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive(line.agents[0]!.pid), 10_000, 'the orphaned agent process to exit');
    // A sandboxed agent has a pid of its own namespace: look for any process still naming its workspace.
    const naming = (ws: string) =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .some((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(ws);
          } catch {
            return false;
          }
        });
    if (line.agents[1])
      await until(() => !naming(line.agents[1]!.workspace), 10_000, 'the orphaned sandbox to exit');
    for (const a of line.agents) expect(existsSync(a.workspace)).toBe(true);
    new AgentPoolSystem({ workspaceDir: base, pools: { iso: { agent, host: 'process', min: 0 } } });
    for (const a of line.agents) expect(existsSync(a.workspace)).toBe(false);
  });

  it("a dead parent's workspaces are removed when the next system is created", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const left = join(base, 'agentpool-ws', String(dead), 'agent-x');
    mkdirSync(left, { recursive: true });
    writeFileSync(join(left, 'junk'), 'x');
    const mine = join(base, 'agentpool-ws', String(process.pid));
    mkdirSync(mine, { recursive: true });
    new AgentPoolSystem({ workspaceDir: base, pools: { iso: { agent, host: 'process', min: 0 } } });
    expect(existsSync(join(base, 'agentpool-ws', String(dead)))).toBe(false);
    expect(existsSync(mine)).toBe(true);
  });
});

describe('network allowlist (sandbox)', () => {
  it.skipIf(!sandbox.available)(
    'allowed host:port through the filtering proxy; others refused there and unreachable directly',
    async () => {
      const other = createServer((s) => {
        s.on('error', () => {});
        s.end('other');
      });
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const otherPort = (other.address() as { port: number }).port;
      try {
        const { sys, events } = await start('sandbox', {
          security: { network: { allow: [`127.0.0.1:${port}`] }, files: { read: [readable] } },
        });
        const lease = await sys.acquire('iso', { cycleId: 'a1' });
        const ok = (await lease.run('viaProxy', { host: '127.0.0.1', port })) as string;
        expect(ok).toMatch(/^HTTP\/1.1 200 /);
        expect(ok).toContain('hello');
        const refused = (await lease.run('viaProxy', { host: '127.0.0.1', port: otherPort })) as string;
        expect(refused).toMatch(/^HTTP\/1.1 403 /);
        // Seen by the parent even though the agent handled the answer itself.
        expect(denials(events)).toMatchObject([
          { kind: 'network', resource: `127.0.0.1:${otherPort}`, leaseId: lease.id },
        ]);
        // No way around the proxy: the sandbox has no route to the host's servers.
        const direct = await errorOf(lease.run('connect', { port }));
        expect(direct.code).toBe('ERR_ACCESS_DENIED');
        expect(lease.enforcement.network).toEqual({ allow: [`127.0.0.1:${port}`] });
        await lease.release();
      } finally {
        other.close();
      }
    },
  );
});
