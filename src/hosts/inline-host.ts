/**
 * The inline host: the agent's handlers run on the caller's own event loop. Right for I/O-bound agents
 * (LLM calls) — pooling async work into threads only adds hops — and for deterministic simulation.
 * It cannot cap memory or kill a handler that ignores its abort signal: "terminate" abandons the task
 * (its promise is rejected; the handler keeps running in the background until it returns).
 */
import { type AgentDefinition, isAgentDefinition } from '../agent/define.js';
import type { Usage } from '../agent/define.js';
import { AgentRunner, type RunnerBridge, type TaskOutcome, type ToolAnswer } from '../agent/runner.js';
import { AgentCrashedError, AgentPoolError, type SerializedError } from '../core/errors.js';
import { sleep } from '../core/clock.js';
import {
  type Host,
  type HostListener,
  type HostOptions,
  refusedRun,
  type TaskLimits,
  type TaskReceiver,
} from './host.js';
import { relayTool } from './tool-relay.js';

/**
 * The runner's bridge to the host's listener. A class rather than an object of closures: one small
 * object per agent instead of six closures (heap per inline agent, issue 14).
 */
class ListenerBridge implements RunnerBridge {
  constructor(private readonly l: HostListener) {}
  heartbeat(t: string): void {
    this.l.onHeartbeat(t);
  }
  progress(t: string, v: unknown): void {
    if (this.l.onProgress) this.l.onProgress(t, v);
    else this.l.onHeartbeat(t);
  }
  usage(t: string, u: Usage): void {
    this.l.onUsage(t, u);
  }
  reserveTokens(t: string, n: number): Promise<SerializedError | undefined> {
    return this.l.reserveTokens(t, n);
  }
  settleTokens(t: string, r: number, a: number, i: number): void {
    this.l.settleTokens(t, r, a, i);
  }
  callTool(t: string, name: string, args: unknown): Promise<ToolAnswer> {
    return relayTool(this.l, t, name, args);
  }
}

/** Host that runs the agent in the current thread. */
export class InlineHost implements Host {
  readonly kind = 'inline' as const;
  private runner: AgentRunner | undefined;
  private dead: AgentCrashedError | undefined;
  /** Tasks running, with their receivers; created by the first task (an idle agent holds no Map). */
  private pending: Map<string, TaskReceiver> | undefined;
  private idleWaiters: (() => void)[] | undefined;

  constructor(private readonly opts: HostOptions) {}

  get alive(): boolean {
    return this.runner !== undefined && this.dead === undefined;
  }

  /** An inline host holds no thread or process. */
  readonly running = false;

  exited(): Promise<void> {
    return Promise.resolve();
  }

  async start(): Promise<string[]> {
    const def = await loadDefinition(this.opts.agent);
    this.runner = new AgentRunner(
      this.opts.agentId,
      def,
      this.opts.tools,
      new ListenerBridge(this.opts.listener),
    );
    await this.runner.setup();
    return this.runner.handlerNames();
  }

  // Memory limits are ignored: one task's memory cannot be told apart in a shared heap (see Host.run).
  run(taskId: string, task: string, input: unknown, limits?: TaskLimits): Promise<TaskOutcome> {
    return new Promise<TaskOutcome>((resolve, reject) =>
      this.runTo(taskId, task, input, limits, { resolve, reject }),
    );
  }

  /**
   * {@link run} without a promise. A synchronous handler's outcome is delivered in a microtask (never
   * from inside this call), an async one's when it settles; a task of a host that died meanwhile
   * hears of the death instead (once).
   */
  runTo(
    taskId: string,
    task: string,
    input: unknown,
    limits: TaskLimits | undefined,
    to: TaskReceiver,
  ): void {
    const runner = this.runner;
    if (refusedRun(this.dead, runner !== undefined, this.opts.agentId, to)) return;
    const pending = (this.pending ??= new Map());
    pending.set(taskId, to);
    const o = runner!.start(taskId, task, input, limits?.traceparent);
    if (o instanceof Promise) void o.then((outcome: TaskOutcome) => this.deliver(taskId, outcome));
    else queueMicrotask(() => this.deliver(taskId, o));
  }

  /** A task's outcome, unless the host died under it (its receiver already heard that). */
  private deliver(taskId: string, outcome: TaskOutcome): void {
    const pending = this.pending!;
    const to = pending.get(taskId);
    if (to && pending.delete(taskId)) to.resolve(outcome);
    if (pending.size === 0) this.wakeIdle();
  }

  isRunning(taskId: string): boolean {
    return this.pending?.has(taskId) === true;
  }

  // One task's memory cannot be told apart in a shared heap (see Host.run): nothing to enforce.
  limit(_taskId: string, _limits: TaskLimits): void {}

  abort(taskId: string, reason: string): void {
    this.runner?.abort(taskId, reason);
  }

  async ping(): Promise<void> {
    if (this.dead) throw this.dead;
  }

  async stop(graceMs: number, abortGraceMs = 0): Promise<void> {
    if (this.dead) return;
    // Running tasks get graceMs, then their abort signal, then abortGraceMs to settle; what is left is
    // abandoned (an inline handler cannot be killed: its promise is rejected, the code runs on).
    await this.whenIdle(graceMs);
    if (this.pending !== undefined && this.pending.size > 0) {
      this.runner?.abortAll('agent stopping');
      await this.whenIdle(abortGraceMs);
    }
    this.kill(new AgentCrashedError(this.opts.agentId, 'stopped', 'ERR_AGENT_STOPPED'));
  }

  async terminate(reason: string): Promise<void> {
    this.kill(new AgentCrashedError(this.opts.agentId, `terminated: ${reason}`, 'ERR_AGENT_TERMINATED'));
  }

  /** Resolves when no task is pending, or after `ms` on the host's clock. */
  private async whenIdle(ms: number): Promise<void> {
    if (this.pending === undefined || this.pending.size === 0 || ms <= 0) return;
    const cancel = new AbortController();
    await Promise.race([
      new Promise<void>((resolve) => (this.idleWaiters ??= []).push(resolve)),
      sleep(this.opts.clock, ms, cancel.signal).catch(() => {}),
    ]);
    cancel.abort();
  }

  private kill(err: AgentCrashedError): void {
    if (this.dead) return;
    this.dead = err;
    this.runner?.abortAll(err.message);
    if (this.pending) {
      for (const to of this.pending.values()) to.reject(err);
      this.pending.clear();
    }
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    if (waiters === undefined) return;
    this.idleWaiters = undefined;
    for (const w of waiters) w();
  }
}

/** Load an agent definition from a module URL/path, or accept one directly. */
export async function loadDefinition(agent: URL | string | AgentDefinition): Promise<AgentDefinition> {
  if (isAgentDefinition(agent)) return agent;
  const spec = agent instanceof URL ? agent.href : agent;
  let mod: { default?: unknown };
  try {
    mod = (await import(spec)) as { default?: unknown };
  } catch (cause) {
    throw new AgentPoolError(
      'ERR_AGENT_MODULE',
      `cannot load agent module ${spec}: ${(cause as Error).message}`,
      {
        cause,
        details: { module: spec },
      },
    );
  }
  if (!isAgentDefinition(mod.default)) {
    throw new AgentPoolError(
      'ERR_AGENT_MODULE',
      `agent module ${spec} has no default export made by defineAgent()`,
      {
        details: { module: spec },
      },
    );
  }
  return mod.default;
}
