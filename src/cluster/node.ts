/**
 * An agentpool node: a process that hosts agents for a coordinator over NATS. It registers itself in
 * the system's KV bucket (refreshed every heartbeat, so a silent node's entry ages and then expires),
 * answers requests on `ap.<system>.node.<name>.<op>` and publishes what its agents report on
 * `ap.<system>.agent.<agentId>.<event>`. The agents run in the node's own hosts (thread, process,
 * sandbox, inline): the node is the far end of the coordinator's `remote` host, nothing more — which
 * agents exist, their state and their leases stay with the coordinator's actors.
 */
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import type { TaskOutcome, ToolAnswer } from '../agent/runner.js';
import { realClock } from '../core/clock.js';
import { AgentCrashedError, AgentPoolError, serializeError, type SerializedError } from '../core/errors.js';
import type { Host, HostIsolation, HostListener, TaskLimits } from '../hosts/host.js';
import { InlineHost } from '../hosts/inline-host.js';
import { ProcessHost } from '../hosts/process-host.js';
import { ThreadHost } from '../hosts/thread-host.js';
import { checkNodeName, type NodeRecord, subjects } from './config.js';
import { misfit } from './placement.js';
import {
  type AuthNames,
  type ClusterAuthOptions,
  connectFailure,
  connectOptions,
  parseAuth,
} from './auth.js';

const NODE_NAMES: AuthNames = {
  user: 'node.user',
  pass: 'node.pass',
  token: 'node.token',
  nkeySeed: 'node.nkeySeed',
  tls: 'node.tls',
  caFile: 'node.tls.caFile',
  certFile: 'node.tls.certFile',
};

/** The host kinds a node runs its agents in. */
export type NodeHostKind = 'thread' | 'process' | 'sandbox' | 'inline';

/**
 * Options of {@link startNode}. Credentials and TLS ({@link ClusterAuthOptions}: `user`/`pass`,
 * `token`, `nkeySeed`/`nkeySeedFile`, `tls`) go to the NATS client; a refused one rejects
 * `ERR_ACCESS_DENIED` naming it (as `authNames` call it).
 */
export interface NodeOptions extends ClusterAuthOptions {
  /** NATS server URLs. */
  servers: string | string[];
  /** The system served (see `cluster.name`). @default 'default' */
  system?: string;
  /** The node's name (unique in the system). @default `node-<pid>` */
  name?: string;
  /** Pools the node runs; a start for another pool is refused (`ERR_ACCESS_DENIED`). @default any */
  pools?: string[];
  /** Agents hosted at most; a start beyond is refused (`ERR_RESOURCE_EXHAUSTED`). @default 4 */
  capacity?: number;
  /** Where the agents run. @default 'thread' */
  host?: NodeHostKind;
  /** Labels a pool's `placement.labels` match (e.g. `{ zone: 'a', gpu: '1' }`). @default {} */
  labels?: Record<string, string>;
  /**
   * Memory the node offers its agents, MB: an agent needing more than is left is not placed here (and
   * a start is refused `ERR_RESOURCE_EXHAUSTED`). @default not limited
   */
  memoryMb?: number;
  /** CPU cores the node offers its agents, like `memoryMb`. @default not limited */
  cpus?: number;
  /** Registration refresh period; match the coordinator's `cluster.heartbeatMs`. @default 1000 */
  heartbeatMs?: number;
  /** How errors name the credential settings (the CLI passes its flags). @default `node.<key>` */
  authNames?: AuthNames;
  /** Diagnostics (`console.error` in the CLI). */
  log?: (line: string) => void;
}

/** A running node. */
export interface ClusterNode {
  readonly name: string;
  /** Agents hosted now. */
  readonly agents: number;
  /**
   * Drain: take no new agents, let running tasks finish for `deadlineMs` (then they are stopped and
   * their callers hear `ERR_AGENT_STOPPED`), deregister, close. Resolves when the node is gone.
   */
  drain(deadlineMs: number): Promise<void>;
}

interface Hosted {
  host: Host;
  pool: string;
  /** What the coordinator placed it with (src/cluster/placement.ts). */
  need: { memoryMb: number; cpuCores: number };
  /** The drain's deadline passed: its tasks were aborted by the node, not failed by themselves. */
  cutOff?: boolean;
}

type Reply = ({ ok: true } & Record<string, unknown>) | { ok: false; error: SerializedError };

/**
 * Start a node: connect, register, serve. Rejects `ERR_AGENT_UNAVAILABLE` when the server cannot be
 * reached (10 s), `ERR_ACCESS_DENIED` naming the setting when it refuses the credentials or TLS.
 */
export async function startNode(options: NodeOptions): Promise<ClusterNode> {
  const system = options.system ?? 'default';
  const name = checkNodeName(options.name ?? `node-${process.pid}`, 'name');
  const capacity = options.capacity ?? 4;
  const pools = options.pools ?? [];
  const hostKind = options.host ?? 'thread';
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const log = options.log ?? (() => {});
  const auth = parseAuth({ ...options }, 'node', 'argument');
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: `agentpool-node-${name}`,
      timeout: 10_000,
      maxReconnectAttempts: -1,
      ...connectOptions(auth),
    });
  } catch (cause) {
    throw connectFailure(cause, servers, auth, options.authNames ?? NODE_NAMES);
  }
  const kv = await openBucket(nc, system, heartbeatMs);
  const hosted = new Map<string, Hosted>();
  let state: NodeRecord['state'] = 'up';
  const labels = options.labels ?? {};
  const record = (): NodeRecord => {
    const byPool: Record<string, number> = {};
    let usedMemoryMb = 0;
    let usedCpus = 0;
    for (const h of hosted.values()) {
      byPool[h.pool] = (byPool[h.pool] ?? 0) + 1;
      usedMemoryMb += h.need.memoryMb;
      usedCpus += h.need.cpuCores;
    }
    return {
      name,
      pools,
      capacity,
      agents: hosted.size,
      state,
      pid: process.pid,
      host: hostKind,
      labels,
      ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}),
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
      usedMemoryMb,
      usedCpus,
      byPool,
    };
  };
  const beat = async () => {
    try {
      await kv.put(name, JSON.stringify(record()));
    } catch (err) {
      log(`heartbeat failed: ${(err as Error).message}`);
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), heartbeatMs);

  const publish = (agentId: string, op: string, body: unknown) => {
    if (!nc.isClosed()) nc.publish(subjects.agent(system, agentId, op), JSON.stringify(body));
  };
  const ask = async <T>(agentId: string, op: string, body: unknown): Promise<T> => {
    const m = await nc.request(subjects.agent(system, agentId, op), JSON.stringify(body), {
      timeout: 30_000,
    });
    return m.json<T>();
  };
  const listenerFor = (agentId: string): HostListener => ({
    onExit: (error) => {
      hosted.delete(agentId);
      publish(agentId, 'exit', { error: serializeError(error) });
    },
    onHeartbeat: (taskId) => publish(agentId, 'hb', { taskId }),
    onProgress: (taskId, value) => publish(agentId, 'progress', { taskId, value }),
    onUsage: (taskId, usage) => publish(agentId, 'usage', { taskId, usage }),
    // Budgets live with the coordinator: ask it; an unanswered ask refuses (never a silent grant).
    reserveTokens: async (taskId, amount) => {
      try {
        const r = await ask<{ error?: SerializedError }>(agentId, 'reserve', { taskId, amount });
        return r.error;
      } catch (err) {
        return serializeError(
          new AgentPoolError(
            'ERR_BUDGET_EXHAUSTED',
            `token reservation unanswered: ${(err as Error).message}`,
          ),
        );
      }
    },
    settleTokens: (taskId, reserved, actual, index) =>
      publish(agentId, 'settle', { taskId, reserved, actual, index }),
    callTool: async (taskId, tool, args) => {
      try {
        return await ask<ToolAnswer>(agentId, 'tool', { taskId, name: tool, args });
      } catch (err) {
        return { ok: false, error: serializeError(err) };
      }
    },
  });

  const handlers: Record<string, (body: Record<string, unknown>) => Promise<Reply> | Reply> = {
    start: async (b) => {
      const agentId = b.agentId as string;
      const pool = b.pool as string;
      if (state !== 'up') return refuse('ERR_AGENT_UNAVAILABLE', `node ${name} is draining`, { node: name });
      if (pools.length > 0 && !pools.includes(pool))
        return refuse('ERR_ACCESS_DENIED', `node ${name} does not run pool ${pool}`, { node: name, pool });
      if (hosted.size >= capacity)
        return refuse('ERR_RESOURCE_EXHAUSTED', `node ${name} is full (${capacity} agents)`, {
          node: name,
        });
      const n = b.need as { memoryMb?: number; cpuCores?: number } | undefined;
      const need = { memoryMb: n?.memoryMb ?? 0, cpuCores: n?.cpuCores ?? 0 };
      // The coordinator placed by a view a heartbeat old: check the fit against what is here now.
      const r = record();
      const m = misfit(
        { ...r, labels, poolAgents: 0, usedMemoryMb: r.usedMemoryMb ?? 0, usedCpus: r.usedCpus ?? 0 },
        {
          pool,
          labels: (b.labels as Record<string, string[]> | undefined) ?? {},
          spread: true,
          ...need,
        },
      );
      if (m)
        return refuse(
          m.reason === 'labels' ? 'ERR_ACCESS_DENIED' : 'ERR_RESOURCE_EXHAUSTED',
          `node ${name}: ${m.detail}`,
          {
            node: name,
            reason: m.reason,
          },
        );
      const opts = {
        agentId,
        agent: b.agent as string,
        tools: b.tools as string[],
        listener: listenerFor(agentId),
        clock: realClock,
        ...(typeof b.memoryMb === 'number' ? { memoryMb: b.memoryMb } : {}),
        ...(b.isolation !== undefined ? { isolation: b.isolation as HostIsolation } : {}),
      };
      const host =
        hostKind === 'thread'
          ? new ThreadHost(opts)
          : hostKind === 'inline'
            ? new InlineHost(opts)
            : new ProcessHost(opts, hostKind === 'sandbox');
      hosted.set(agentId, { host, pool, need });
      try {
        const names = await host.start();
        return { ok: true, handlers: names, node: name };
      } catch (err) {
        hosted.delete(agentId);
        void host.terminate('start failed').catch(() => {});
        return { ok: false, error: serializeError(err) };
      }
    },
    // Accepted at once; the outcome (or the host's death) follows on the agent's `outcome` subject,
    // so a long task holds no request open.
    run: (b) => {
      const h = agentOf(b);
      const taskId = b.taskId as string;
      h.host.run(taskId, b.task as string, b.input, b.limits as TaskLimits | undefined).then(
        (outcome: TaskOutcome) =>
          publish(
            b.agentId as string,
            'outcome',
            // A task the drain's deadline aborted failed because the node left, not by itself: an agent
            // stop (re-queued by submit()), never the task's own "aborted" error.
            h.cutOff && !outcome.ok
              ? {
                  taskId,
                  crash: serializeError(
                    new AgentCrashedError(
                      b.agentId as string,
                      `node ${name} drained: the task outlived the drain deadline`,
                      'ERR_AGENT_STOPPED',
                    ),
                  ),
                }
              : { taskId, outcome },
          ),
        (err: unknown) => publish(b.agentId as string, 'outcome', { taskId, crash: serializeError(err) }),
      );
      return { ok: true };
    },
    abort: (b) => {
      agentOf(b).host.abort(b.taskId as string, b.reason as string);
      return { ok: true };
    },
    limit: (b) => {
      agentOf(b).host.limit(b.taskId as string, b.limits as TaskLimits);
      return { ok: true };
    },
    ping: async (b) => {
      await agentOf(b).host.ping();
      return { ok: true };
    },
    stop: async (b) => {
      const h = agentOf(b);
      hosted.delete(b.agentId as string);
      await h.host.stop(b.graceMs as number, b.abortGraceMs as number);
      return { ok: true };
    },
    terminate: async (b) => {
      const h = hosted.get(b.agentId as string);
      hosted.delete(b.agentId as string);
      await h?.host.terminate(b.reason as string);
      return { ok: true };
    },
  };
  const agentOf = (b: Record<string, unknown>): Hosted => {
    const h = hosted.get(b.agentId as string);
    if (!h)
      throw new AgentPoolError('ERR_AGENT_STOPPED', `node ${name} hosts no agent ${String(b.agentId)}`, {
        details: { node: name },
      });
    return h;
  };
  const sub: Subscription = nc.subscribe(subjects.node(system, name, '*'), {
    callback: (err, msg) => {
      if (err) return log(`subscription: ${err.message}`);
      void serve(msg);
    },
  });
  const serve = async (msg: Msg) => {
    const op = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    let reply: Reply;
    try {
      const handler = handlers[op];
      if (!handler) throw new AgentPoolError('ERR_INVALID_ARGUMENT', `unknown node operation ${op}`);
      reply = await handler(msg.json<Record<string, unknown>>());
    } catch (err) {
      reply = { ok: false, error: serializeError(err) };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  };
  log(
    `node ${name} serving system ${system} (capacity ${capacity}, host ${hostKind}` +
      `${options.memoryMb !== undefined ? `, ${options.memoryMb} MB` : ''}` +
      `${options.cpus !== undefined ? `, ${options.cpus} cpus` : ''}` +
      `${Object.keys(labels).length > 0 ? `, labels ${JSON.stringify(labels)}` : ''})`,
  );

  let draining: Promise<void> | undefined;
  return {
    name,
    get agents() {
      return hosted.size;
    },
    drain(deadlineMs: number) {
      draining ??= (async () => {
        state = 'draining';
        await beat();
        // Running tasks get the deadline, then their abort signal and a second to let go.
        const leaving = [...hosted.entries()];
        hosted.clear();
        const cut = setTimeout(() => {
          for (const [, h] of leaving) h.cutOff = true;
        }, deadlineMs);
        await Promise.allSettled(leaving.map(([, h]) => h.host.stop(deadlineMs, 1000)));
        clearTimeout(cut);
        // The coordinator restarts these agents elsewhere (a stop is no crash: tell it).
        for (const [id] of leaving)
          publish(id, 'exit', {
            error: serializeError(new AgentCrashedError(id, `node ${name} drained`, 'ERR_AGENT_STOPPED')),
          });
        clearInterval(timer);
        sub.unsubscribe();
        await kv.delete(name).catch(() => {});
        await nc.drain().catch(() => {});
      })();
      return draining;
    },
  };
}

function refuse(
  code: 'ERR_AGENT_UNAVAILABLE' | 'ERR_ACCESS_DENIED' | 'ERR_RESOURCE_EXHAUSTED',
  message: string,
  details: Record<string, unknown>,
): Reply {
  return { ok: false, error: serializeError(new AgentPoolError(code, message, { details })) };
}

/**
 * Open the system's node bucket, creating it when missing. Entries expire after 10 heartbeats: the
 * coordinator declares a node lost much earlier (`lostAfterMs`); the TTL only clears out the dead.
 */
export async function openBucket(nc: NatsConnection, system: string, heartbeatMs: number): Promise<KV> {
  // Creates the bucket or opens it (the same options on every side, so either may come first).
  return new Kvm(nc).create(subjects.bucket(system), {
    history: 1,
    ttl: Math.max(10 * heartbeatMs, 5000),
  });
}
