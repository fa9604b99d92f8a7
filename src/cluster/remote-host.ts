/**
 * The `remote` host: an agent that runs on an agentpool node, spoken to over NATS. It keeps the
 * contract of src/hosts/host.ts, so the agent machine, leases, `run()` and `submit()` treat it like
 * any other host: `run()` always settles — with the node's outcome, or, when the node is lost (its
 * registration not refreshed for `lostAfterMs`, "no responders", a deregistration), with an
 * {@link AgentCrashedError} `ERR_AGENT_LOST` within `lostAfterMs + heartbeatMs` of its last
 * heartbeat. Submitted tasks re-queue on that error as on a local crash.
 */
import type { Subscription } from '@nats-io/transport-node';
import type { TaskOutcome, ToolAnswer } from '../agent/runner.js';
import { AgentCrashedError, AgentPoolError, type SerializedError } from '../core/errors.js';
import type { Host, HostOptions, TaskLimits } from '../hosts/host.js';
import { subjects } from './config.js';
import type { ClusterLink, RemoteEnd } from './link.js';

type CrashCode = ConstructorParameters<typeof AgentCrashedError>[2];
const CRASH_CODES = new Set<string>([
  'ERR_AGENT_CRASHED',
  'ERR_AGENT_OUT_OF_MEMORY',
  'ERR_AGENT_STOPPED',
  'ERR_AGENT_TERMINATED',
  'ERR_AGENT_LOST',
]);

interface Pending {
  resolve(o: TaskOutcome): void;
  reject(e: AgentCrashedError): void;
}

type Reply = { ok: true; handlers?: string[]; node?: string } | { ok: false; error: SerializedError };

/** Host of an agent that runs on a cluster node. */
export class RemoteHost implements Host, RemoteEnd {
  readonly kind = 'remote' as const;
  /** The node the agent was placed on (once started). */
  node: string | undefined;
  private dead: AgentCrashedError | undefined;
  private started = false;
  private readonly pending = new Map<string, Pending>();
  private sub: Subscription | undefined;

  constructor(
    private readonly opts: HostOptions,
    readonly pool: string,
    private readonly link: ClusterLink,
  ) {}

  get agentId(): string {
    return this.opts.agentId;
  }

  get alive(): boolean {
    return this.started && this.dead === undefined;
  }

  /** A remote agent holds no thread or process here. */
  readonly running = false;

  exited(): Promise<void> {
    return Promise.resolve();
  }

  async start(): Promise<string[]> {
    const { nc } = await this.link.ready();
    const agent = this.opts.agent;
    if (typeof agent !== 'string' && !(agent instanceof URL))
      throw new AgentPoolError('ERR_AGENT_MODULE', 'a remote agent needs a module URL/path', {
        details: { agentId: this.opts.agentId },
      });
    const node = await this.link.place(this.pool);
    const need = this.link.needOf(this.pool);
    this.node = node;
    const id = this.opts.agentId;
    this.sub = nc.subscribe(subjects.agent(this.link.config.name, id, '*'), {
      callback: (err, msg) => {
        if (err) return;
        const op = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        this.onEvent(op, msg.json<Record<string, unknown>>(), (body) => msg.respond(JSON.stringify(body)));
      },
    });
    this.link.attach(this);
    let reply: Reply;
    try {
      reply = (await this.link.request(node, 'start', {
        agentId: id,
        pool: this.pool,
        // The node loads the module by URL: the same path must exist there (docs/guides/cluster.md).
        agent: agent instanceof URL ? agent.href : agent,
        tools: this.opts.tools,
        ...(this.opts.memoryMb !== undefined ? { memoryMb: this.opts.memoryMb } : {}),
        ...(this.opts.isolation !== undefined ? { isolation: this.opts.isolation } : {}),
        // The node checks the fit again (another coordinator may have filled it since its last beat).
        need: { memoryMb: need.memoryMb, cpuCores: need.cpuCores },
        labels: need.labels,
      })) as Reply;
    } catch (cause) {
      this.close(new AgentCrashedError(id, `start on node ${node} failed`, 'ERR_AGENT_LOST', cause));
      throw new AgentPoolError(
        'ERR_AGENT_UNAVAILABLE',
        `node ${node} did not start ${id}: ${(cause as Error).message}`,
        {
          cause,
          details: { node },
        },
      );
    }
    if (!reply.ok) {
      this.close(new AgentCrashedError(id, 'start refused', 'ERR_AGENT_STOPPED'));
      throw revive(reply.error);
    }
    if (this.dead) throw this.dead; // lost while starting
    this.started = true;
    return reply.handlers ?? [];
  }

  run(taskId: string, task: string, input: unknown, limits?: TaskLimits): Promise<TaskOutcome> {
    if (this.dead) return Promise.reject(this.dead);
    const node = this.node;
    if (!this.started || node === undefined)
      return Promise.reject(new AgentCrashedError(this.opts.agentId, 'not started', 'ERR_AGENT_STOPPED'));
    return new Promise<TaskOutcome>((resolve, reject) => {
      this.pending.set(taskId, { resolve, reject });
      this.link
        .request(node, 'run', {
          agentId: this.opts.agentId,
          taskId,
          task,
          input,
          ...(limits ? { limits } : {}),
        })
        .then(
          (r) => {
            const reply = r as Reply;
            if (!reply.ok && this.pending.delete(taskId)) reject(this.crash(reply.error));
          },
          // The hand-over went unanswered: the node is unreachable for this task (no responders
          // already declared it lost; a timeout loses this agent only).
          (err: unknown) => this.lose(`run hand-over to node ${node} failed: ${(err as Error).message}`),
        );
    });
  }

  isRunning(taskId: string): boolean {
    return this.pending.has(taskId);
  }

  limit(taskId: string, limits: TaskLimits): void {
    if (this.node && !this.dead)
      this.link.publish(this.node, 'limit', { agentId: this.opts.agentId, taskId, limits });
  }

  abort(taskId: string, reason: string): void {
    if (this.node && !this.dead)
      this.link.publish(this.node, 'abort', { agentId: this.opts.agentId, taskId, reason });
  }

  async ping(): Promise<void> {
    if (this.dead) throw this.dead;
    if (!this.node) throw new AgentCrashedError(this.opts.agentId, 'not started', 'ERR_AGENT_STOPPED');
    const r = (await this.link.request(this.node, 'ping', { agentId: this.opts.agentId })) as Reply;
    if (!r.ok) throw revive(r.error);
  }

  async stop(graceMs: number, abortGraceMs = 0): Promise<void> {
    if (this.dead) return;
    const node = this.node;
    if (node !== undefined && this.started) {
      // The node applies the grace; this side waits for it plus one request's deadline.
      await this.link
        .request(
          node,
          'stop',
          { agentId: this.opts.agentId, graceMs, abortGraceMs },
          graceMs + abortGraceMs + this.link.config.requestTimeoutMs,
        )
        .catch(() => {});
    }
    this.close(new AgentCrashedError(this.opts.agentId, 'stopped', 'ERR_AGENT_STOPPED'));
  }

  async terminate(reason: string): Promise<void> {
    if (this.dead) return;
    if (this.node !== undefined)
      this.link.publish(this.node, 'terminate', { agentId: this.opts.agentId, reason });
    this.close(new AgentCrashedError(this.opts.agentId, `terminated: ${reason}`, 'ERR_AGENT_TERMINATED'));
  }

  /** The node is lost: every call fails `ERR_AGENT_LOST` and the agent machine hears of the death. */
  lose(reason: string): void {
    if (this.dead) return;
    const err = new AgentCrashedError(this.opts.agentId, reason, 'ERR_AGENT_LOST');
    // Should the node come back (a paused process resumed), it drops the agent rather than run on.
    if (this.node !== undefined)
      this.link.publish(this.node, 'terminate', { agentId: this.opts.agentId, reason: 'declared lost' });
    this.close(err);
    if (this.started) this.opts.listener.onExit(err);
  }

  private close(err: AgentCrashedError): void {
    if (this.dead) return;
    this.dead = err;
    this.sub?.unsubscribe();
    this.link.detach(this);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private crash(e: SerializedError): AgentCrashedError {
    const code = CRASH_CODES.has(e.code ?? '') ? (e.code as CrashCode) : 'ERR_AGENT_CRASHED';
    return new AgentCrashedError(this.opts.agentId, `on node ${this.node}: ${e.message}`, code);
  }

  /** What the node reports of the agent (`ap.<system>.agent.<id>.<op>`). */
  private onEvent(op: string, b: Record<string, unknown>, respond: (body: unknown) => void): void {
    if (this.dead) return;
    const l = this.opts.listener;
    const taskId = b.taskId as string;
    switch (op) {
      case 'hb':
        return l.onHeartbeat(taskId);
      case 'progress':
        return l.onProgress ? l.onProgress(taskId, b.value) : l.onHeartbeat(taskId);
      case 'usage':
        return l.onUsage(taskId, b.usage as Parameters<typeof l.onUsage>[1]);
      case 'settle':
        return l.settleTokens(taskId, b.reserved as number, b.actual as number, b.index as number);
      case 'reserve':
        void l.reserveTokens(taskId, b.amount as number).then((error) => respond(error ? { error } : {}));
        return;
      case 'tool': {
        const answer: Promise<ToolAnswer> = l.callTool
          ? l.callTool(taskId, b.name as string, b.args)
          : Promise.resolve({
              ok: false,
              error: { name: 'AgentPoolError', code: 'ERR_TOOL_DENIED', message: 'no tool broker' },
            });
        void answer.then(respond);
        return;
      }
      case 'outcome': {
        const p = this.pending.get(taskId);
        if (!p) return;
        this.pending.delete(taskId);
        if (b.crash) p.reject(this.crash(b.crash as SerializedError));
        else p.resolve(b.outcome as TaskOutcome);
        return;
      }
      case 'exit': {
        const err = this.crash(b.error as SerializedError);
        this.close(err);
        l.onExit(err);
        return;
      }
    }
  }
}

/** An error the node serialized, as a typed error here. */
function revive(e: SerializedError): AgentPoolError {
  return new AgentPoolError((e.code ?? 'ERR_AGENT_START_FAILED') as 'ERR_AGENT_START_FAILED', e.message, {
    ...(e.details ? { details: e.details } : {}),
  });
}
