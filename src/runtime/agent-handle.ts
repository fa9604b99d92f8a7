/**
 * One live agent: its statechart actor (machines/agent.machine.ts) wired to a host.
 *
 * The actor owns the lifecycle (start, health, escalation, restart, eviction, stop); this class
 * owns the data plane: the host, the tasks in flight (their count included) and their promises. The
 * actor hears only the edges that change its state — the first task of a busy spell, the last one
 * ending, tasks ending while one is overdue or failures are counted — not two events per task; timers
 * for deadlines go through the injected clock.
 *
 * Large because it is the agent machine's data plane: host lifecycle, every task's promise and
 * deadlines, and the implementations of the machine's named actors and actions.
 *
 * Over 400 lines because it is the data plane of one agent actor: the host, in-flight tasks and their
 * deadlines, and every named actor/action the agent machine is provided with; the host kinds, the
 * health timer and the hooks already live in their own modules.
 */
import type { ActorRefFrom } from 'xstate';
import type {
  AgentInput,
  AgentTimings,
  agentMachine,
  SecurityDenialPayload,
} from '../../machines/agent.machine.js';
import type { TaskResult } from '../metrics/pool-metrics.js';
import type { AgentDefinition, Usage } from '../agent/define.js';
import type { TaskOutcome, ToolAnswer } from '../agent/runner.js';
import {
  AbortedError,
  AgentCrashedError,
  AgentPoolError,
  BudgetExhaustedError,
  deserializeError,
  findUncloneable,
  InvalidArgumentError,
  type SerializedError,
  TaskError,
  TaskTimeoutError,
} from '../core/errors.js';
import type {
  Host,
  HostIsolation,
  HostKind,
  HostListener,
  HostOptions,
  TaskReceiver,
  UsageSample,
} from '../hosts/host.js';
import { InlineHost } from '../hosts/inline-host.js';
import { ProcessHost } from '../hosts/process-host.js';
import { ThreadHost } from '../hosts/thread-host.js';
import { vmProviders } from '../hosts/vm-provider.js';
import type { SecurityProfile } from '../security/profile.js';
import { classifyDenial, type Denial } from '../security/violations.js';
import { type Clock, sleep, type TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { AgentVariant } from './config.js';
import type { RunSpan, Telemetry } from './telemetry.js';
import type { ClusterLink } from '../cluster/link.js';
import { RemoteHost } from '../cluster/remote-host.js';

/**
 * Coarse availability an agent reports to its pool. `overdue`: a task was aborted and has not let go
 * yet — the agent keeps its leases but is offered to nobody until it is idle again or replaced.
 */
export type AgentAvailability = 'idle' | 'busy' | 'overdue' | 'unavailable' | 'gone';

/** An agent's actor: a child of its pool's actor. */
export type AgentRef = ActorRefFrom<typeof agentMachine>;

/** How to create one agent. */
export interface AgentSpec {
  agentId: string;
  pool: string;
  host: HostKind;
  agent: URL | string | AgentDefinition;
  tools: readonly string[];
  memoryMb?: number;
  /** The system's cluster connection (`host: 'remote'` agents run on its nodes). */
  remote?: ClusterLink;
  /** The kind of agent it is in its pool (see `PoolOptions.variants`); the pool reads it to place work. */
  variant?: AgentVariant;
  maxFailures: number;
  timings: AgentTimings;
  clock: Clock;
  logger: Logger;
  /** Called on every availability change (from the actor's entry actions). */
  onAvailability(agent: AgentHandle, availability: AgentAvailability): void;
  /** Token reservation check for this agent's task; resolve undefined to grant. */
  reserveTokens?(agent: AgentHandle, taskId: string, amount: number): Promise<SerializedError | undefined>;
  settleTokens?(agent: AgentHandle, taskId: string, reserved: number, actual: number, index: number): void;
  onUsage?(agent: AgentHandle, taskId: string, usage: Usage): void;
  /** The host let go of a task (it returned, threw, or the host died): its token reservations end. */
  onTaskEnd?(agent: AgentHandle, taskId: string): void;
  /** A running task reported progress (`ctx.progress(value)`), before its caller's `onProgress`. */
  onProgress?(agent: AgentHandle, taskId: string, task: string, value: unknown): void;
  /** A task's caller got its answer: how the run ended and how long it took (ms). */
  onTaskSettled?(agent: AgentHandle, result: TaskResult, runMs: number, task: string): void;
  /** The worker measured itself (thread agents, every second while tasks run). */
  onSample?(agent: AgentHandle, sample: UsageSample): void;
  /** Spans of task runs (OpenTelemetry, optional). */
  telemetry?: Telemetry;
  /** The host died of memory (hard cap, or the tasks' allocation for too long). */
  onOom?(agent: AgentHandle, error: Error): void;
  /** A start attempt succeeded (the agent reached idle). */
  onStarted?(agent: AgentHandle): void;
  /** A start attempt failed (module error, setup error, start timeout, exit during start). */
  onStartFailed?(agent: AgentHandle, error: Error): void;
  /** The pool's security profile (what the tier enforces was checked at config time). */
  security?: SecurityProfile;
  /** Where isolated tiers create workspaces (system option `workspaceDir`). */
  workspaceBase?: string;
  /** The agent called a tool: check it against the profile and run it (the system's broker). */
  callTool?(agent: AgentHandle, taskId: string, name: string, args: unknown): Promise<ToolAnswer>;
  /** Something was refused by the profile (a tool call, or an access seen in a failed task). */
  onSecurityDenied?(agent: AgentHandle, denial: SecurityDenial): void;
  /** The isolated environment reached the profile's `limits.maxLifetimeMs`: drain and replace it. */
  onLifetimeOver?(agent: AgentHandle): void;
}

/** A refusal, as the agent reports it to its pool (the agent machine's payload). */
export type SecurityDenial = SecurityDenialPayload;

/** What an agent's isolation really enforces, as started (`lease.enforcement`). */
export interface EnforcementRecord {
  /** The profile's name. */
  profile: string;
  /** The host tier the agent runs in. */
  tier: HostKind;
  /** Tools `ctx.tools.call` may reach. */
  tools: readonly string[];
  network: SecurityProfile['network'];
  files: SecurityProfile['files'];
  /** Limits as enforced: `memoryMb` is a hard heap cap (thread: resourceLimits; process, sandbox: --max-old-space-size), `cpuCores` only a weight. */
  limits: { memoryMb: number | undefined; cpuCores: number | undefined; maxLifetimeMs: number | undefined };
  /** The agent's workspace (isolated tiers). */
  workspace: string | undefined;
  /** When the current environment started (clock ms). */
  startedAt: number | undefined;
  /** Denials recorded for this agent so far. */
  denials: number;
}

const ISOLATED: ReadonlySet<HostKind> = new Set(['process', 'sandbox', 'container', 'vm']);

/** Options of one task run. */
export interface RunOptions {
  /** Wall-clock limit for the task; the caller's promise rejects with `ERR_TASK_TIMEOUT` at the deadline. */
  timeoutMs?: number;
  /** Cancels the task: the caller's promise rejects with `ERR_ABORTED` at once. */
  signal?: AbortSignal;
  /** Cycle charged for the task's token reservations (set by the lease). */
  cycleId?: string;
  /** The task's memory allocation in MB (set by the lease from its allocation); see `Host.run`. */
  memoryMb?: number;
  /** The OTel context to parent the run's span (the caller's, or the submitted task's span). */
  trace?: unknown;
  /** The lease the task runs under (set by the lease): its allocation's resizes and expiry reach it. */
  leaseId?: string;
  /** Called with every `ctx.progress(value)` of the task, in order, until it settles. */
  onProgress?: (value: unknown) => void;
  /** How an input the worker cannot receive is named in the error (`submit.input` for submits). */
  inputPath?: string;
}

/** Who hears how a run ended (see {@link AgentHandle.start}): called once, with the result or the error. */
export interface RunReceiver {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Tell `to` how a run ended, in a microtask (its own function: no closure context on the hot path). */
function later(to: RunReceiver, ok: boolean, value: unknown): void {
  queueMicrotask(ok ? () => to.resolve(value) : () => to.reject(value));
}

/**
 * A task in flight on this agent, and its host's receiver (Host.runTo): the host tells it how the task
 * ended, with no promise or closure per task (issue 14).
 */
class Pending implements TaskReceiver {
  timer: TimerHandle | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** Aborted when the task settles for its caller: what the task's tool calls run under (lazy). */
  tools?: AbortController;
  readonly cycleId: string | undefined;
  readonly leaseId: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((value: unknown) => void) | undefined;
  /** How an input the worker cannot receive is named in the error. */
  readonly inputPath: string | undefined;

  constructor(
    private readonly agent: AgentHandle,
    readonly taskId: string,
    readonly task: string,
    /** Kept for the error of an input the worker cannot receive (found only then). */
    readonly input: unknown,
    opts: RunOptions,
    /** Who hears how it ended. */
    readonly to: RunReceiver,
    /** When run() was called (clock ms). */
    readonly startedAt: number,
    /** Its `invoke_agent` span (undefined when tracing is off). */
    readonly span: RunSpan | undefined,
  ) {
    this.cycleId = opts.cycleId;
    this.leaseId = opts.leaseId;
    this.signal = opts.signal;
    this.onProgress = opts.onProgress;
    this.inputPath = opts.inputPath;
  }

  resolve(outcome: TaskOutcome): void {
    this.agent.hostOutcome(this, outcome);
  }

  reject(error: unknown): void {
    this.agent.hostFailed(this, error);
  }
}

/** The last handler set built: agents of one pool share theirs (read-only), not one Set each. */
let lastHandlers: Set<string> | undefined;

/** A read-only set of handler names, shared with the previous agent's when it has the same names. */
function handlerSet(names: readonly string[]): Set<string> {
  const last = lastHandlers;
  if (last && last.size === names.length && names.every((n) => last.has(n))) return last;
  return (lastHandlers = new Set(names));
}

/** A live agent. */
export class AgentHandle implements HostListener {
  readonly id: string;
  /** Pool type the agent belongs to. */
  readonly pool: string;
  /** The agent's actor, a child of its pool's actor (set by {@link attach} right after the spawn). */
  actor!: AgentRef;
  /** Availability as last reported by the actor. */
  availability: AgentAvailability = 'unavailable';
  /** Its variant in the pool (undefined: the pool's only kind of agent). */
  readonly variant: AgentVariant | undefined;
  /** Leases currently held on this agent (managed by the pool). */
  leases = 0;
  /** The worker's last self-measurement (thread agents): heap MB in use, event-loop busy share, CPU cores. */
  sample: UsageSample | undefined;
  /** What those leases hold, per resource (managed by the pool at grant and release; a cache). */
  readonly held: Record<string, number> = {};
  /** Tasks completed, failed. */
  completed = 0;
  failed = 0;
  private host: Host | undefined;
  private handlers: Set<string> | undefined;
  private readonly pending = new Map<string, Pending>();
  /** {@link whenSettled} hooks; created on first use (only rate-limited waits need one). */
  private settleHooks: Map<string, (() => void)[]> | undefined;
  /**
   * Tasks the host is running (started, not yet returned by the host): the agent's in-flight count,
   * owned here. The actor hears only the edges of it that change its state (see {@link taskEnded}).
   */
  private readonly running = new Set<string>();
  /**
   * The busy → idle edge of a busy spell that just ended, held for a 0 ms timer of the injected
   * clock (live: the next timers phase, ≥ 1 ms; simulated: the next `advance`): a task started before
   * then continues the spell, and neither edge is sent. Sequential work — a caller that awaits one task
   * and submits the next at once — costs the actor nothing per task instead of two transitions
   * (issue 14). See {@link taskEnded}.
   */
  private idleEdge: { taskId: string; handle: TimerHandle } | undefined;
  /** Since when the agent has been waiting for its next health check (idle entry or last check). */
  private healthFrom = 0;
  /** The one health timer of this agent (see {@link armHealth}); undefined when checks are off or gone. */
  private healthTimer: TimerHandle | undefined;
  private seq = 0;
  private lastCrash: AgentCrashedError | undefined;
  /** The error of the start attempt in progress, kept for `reportStartFailed`. */
  private lastStartError: Error | undefined;
  /** The last start failure (module path and original error when the module is at fault). */
  lastError: Error | undefined;
  /** Security denials recorded for this agent. */
  private denials = 0;
  /** When the current host finished starting (clock ms). */
  private hostStartedAt: number | undefined;
  /** Fires at the profile's maximum lifetime of an isolated environment. */
  private lifetimeTimer: TimerHandle | undefined;

  constructor(private readonly spec: AgentSpec) {
    this.id = spec.agentId;
    this.variant = spec.variant;
    this.pool = spec.pool;
  }

  // ---- HostListener: the handle is its host's listener -------------------------------------------
  // Methods on the prototype rather than a listener object of closures per agent: at 10,000 agents the
  // ten closures and their object were ~0.4 KB of heap each (issue 14's memory goal).

  /** The host died without being asked to stop. */
  onExit(err: AgentCrashedError): void {
    this.lastCrash = err;
    this.endLifetime();
    if (err.code === 'ERR_AGENT_OUT_OF_MEMORY') this.spec.onOom?.(this, err);
    this.actor.send({ type: 'HOST_EXITED', error: err.message });
  }

  /** `ctx.heartbeat()` of a running task. */
  onHeartbeat(): void {
    if (this.spec.timings.heartbeatTimeoutMs > 0) this.actor.send({ type: 'HEARTBEAT' });
  }

  /** `ctx.progress(value)` of a running task. */
  onProgress(taskId: string, value: unknown): void {
    const spec = this.spec;
    // Progress is a sign of life too: it resets the heartbeat like ctx.heartbeat().
    if (spec.timings.heartbeatTimeoutMs > 0) this.actor.send({ type: 'HEARTBEAT' });
    const p = this.pending.get(taskId);
    if (!p) return; // settled already (timeout, abort): the caller has its answer
    spec.onProgress?.(this, taskId, p.task, value);
    if (p.onProgress) {
      try {
        p.onProgress(value);
      } catch (err) {
        spec.logger.error({ err, taskId }, 'an onProgress callback threw');
      }
    }
  }

  /** Usage a running task reported (`ctx.usage`). */
  onUsage(taskId: string, usage: Usage): void {
    this.pending.get(taskId)?.span?.usage(usage);
    this.spec.onUsage?.(this, taskId, usage);
  }

  /** The worker measured itself. */
  onSample(sample: UsageSample): void {
    this.sample = sample;
    this.spec.onSample?.(this, sample);
  }

  /** A task's `ctx.tokens.reserve`. */
  reserveTokens(taskId: string, amount: number): Promise<SerializedError | undefined> {
    const spec = this.spec;
    return spec.reserveTokens ? spec.reserveTokens(this, taskId, amount) : Promise.resolve(undefined);
  }

  /** A task settled one of its token reservations. */
  settleTokens(taskId: string, reserved: number, actual: number, index: number): void {
    this.spec.settleTokens?.(this, taskId, reserved, actual, index);
  }

  /** The sandbox's proxy refused a destination. */
  onNetworkDenied(destination: string): void {
    // Which task asked cannot be told from a proxied connection: the lease is known when only one runs.
    const only = this.pending.size === 1 ? [...this.pending.values()][0] : undefined;
    this.recordDenial({
      kind: 'network',
      resource: destination,
      error: `connection to ${destination} refused by the network allowlist`,
      leaseId: only?.leaseId,
      cycleId: only?.cycleId,
    });
  }

  /** A task called a tool: the system's broker checks and runs it (refused without one). */
  callTool(taskId: string, name: string, args: unknown): Promise<ToolAnswer> {
    const spec = this.spec;
    return spec.callTool
      ? spec.callTool(this, taskId, name, args)
      : Promise.resolve({
          ok: false,
          error: {
            name: 'AgentPoolError',
            code: 'ERR_TOOL_DENIED',
            message: `no tool broker: ${name} refused`,
          },
        });
  }

  /** A new host of the agent's tier (one per start attempt). */
  private newHost(): Host {
    const spec = this.spec;
    const opts: HostOptions = {
      agentId: spec.agentId,
      agent: spec.agent,
      tools: spec.tools,
      listener: this,
      clock: spec.clock,
    };
    if (spec.memoryMb !== undefined) opts.memoryMb = spec.memoryMb;
    if (ISOLATED.has(spec.host)) opts.isolation = this.isolation();
    switch (spec.host) {
      case 'thread':
        return new ThreadHost(opts);
      case 'process':
        return new ProcessHost(opts);
      case 'sandbox':
        return new ProcessHost(opts, true);
      case 'vm': {
        const provider = vmProviders.values().next().value;
        if (provider) return provider.createHost(opts);
        throw new AgentPoolError('ERR_UNENFORCEABLE', 'no VM provider registered any more', {
          details: { tier: 'vm' },
        });
      }
      case 'remote':
        if (spec.remote) return new RemoteHost(opts, spec.pool, spec.remote);
        throw new AgentPoolError('ERR_UNENFORCEABLE', 'a remote agent needs the cluster option', {
          details: { tier: 'remote' },
        });
      case 'container':
        throw new AgentPoolError('ERR_UNENFORCEABLE', 'the container tier has no host', {
          details: { tier: 'container' },
        });
      default:
        return new InlineHost(opts);
    }
  }

  /** What the host enforces on the agent's own code (isolated tiers). */
  private isolation(): HostIsolation {
    const p = this.spec.security;
    const files = p?.files ?? 'full';
    return {
      read: files === 'full' ? 'full' : files.read,
      write: files === 'full' ? 'full' : files.write,
      network: (p?.network ?? 'full') === 'full',
      ...(typeof p?.network === 'object' ? { allow: p.network.allow } : {}),
      ...(this.spec.workspaceBase !== undefined ? { workspaceBase: this.spec.workspaceBase } : {}),
    };
  }

  /** The enforcement record of the agent as it runs now (profile, tier, enforced limits, start time). */
  get enforcement(): EnforcementRecord {
    const p = this.spec.security;
    const isolated = ISOLATED.has(this.spec.host);
    return {
      profile: p?.name ?? this.pool,
      tier: this.spec.host,
      tools: this.spec.tools,
      network: p?.network ?? 'full',
      files: p?.files ?? 'full',
      limits: {
        memoryMb: this.spec.host === 'inline' ? undefined : this.spec.memoryMb,
        cpuCores: undefined,
        maxLifetimeMs: isolated ? p?.limits.maxLifetimeMs : undefined,
      },
      workspace: this.workspace,
      startedAt: this.hostStartedAt,
      denials: this.denials,
    };
  }

  /** The agent's workspace directory (isolated tiers, while the host lives). */
  get workspace(): string | undefined {
    return (this.host as { workspace?: string } | undefined)?.workspace;
  }

  /** A lease was released and none is left on the agent: its workspace starts empty for the next one. */
  clearWorkspace(): void {
    (this.host as { clearWorkspace?: () => void } | undefined)?.clearWorkspace?.();
  }

  /**
   * The signal a task's tool calls get: aborted once the task has settled for its caller (returned,
   * failed, timed out, cancelled, agent lost), so a tool still running can stop. Already aborted for
   * a task that is not in flight.
   */
  toolSignal(taskId: string): AbortSignal {
    const p = this.pending.get(taskId);
    if (!p) return AbortSignal.abort(new Error('task no longer in flight'));
    return (p.tools ??= new AbortController()).signal;
  }

  /** The lease of a task still in flight for its caller. */
  leaseOf(taskId: string): string | undefined {
    return this.pending.get(taskId)?.leaseId;
  }

  /**
   * Record a refusal (tool calls come from the system's broker, accesses from failed tasks): the agent
   * actor emits it as `security.denied` (relayed to `system.on`), then the pool may evict.
   */
  recordDenial(d: Omit<SecurityDenial, 'denials'>): void {
    this.denials++;
    const denial = { ...d, denials: this.denials };
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'SECURITY_DENIED', denial });
    this.spec.onSecurityDenied?.(this, denial);
  }

  /** The clock the agent's timers use. */
  get clock(): Clock {
    return this.spec.clock;
  }

  /** The agent machine's input for this agent (its pool spawns the actor with it). */
  machineInput(): AgentInput {
    const { agentId, pool, maxFailures, timings } = this.spec;
    return { agentId, pool, maxFailures, timings };
  }

  /**
   * Attach the agent's actor, spawned by its pool actor (child `agentId`, systemId `agent:<id>`). The
   * actor's named implementations are this handle's methods below (see src/runtime/tree.ts).
   */
  attach(ref: AgentRef): void {
    this.actor = ref;
    ref.subscribe({
      error: (err) => this.spec.logger.error({ err, agentId: this.id }, 'agent actor error'),
    });
  }

  // ---- the agent machine's named implementations (wired by agentLogic in src/runtime/tree.ts) -----

  /** `startHost`: spawn the host and load the module; `signal` aborts when `starting` is left. */
  async startHost(signal: AbortSignal): Promise<void> {
    // An agent owns at most one host: a restart first ends the previous one.
    const old = this.host;
    if (old?.alive) await old.terminate('replaced by a restart').catch(() => {});
    if (signal.aborted) throw new Error('start abandoned');
    const host = this.newHost();
    this.host = host;
    // Leaving `starting` (timeout, stop) aborts this actor: end the host it was starting. Not for an
    // inline host: it holds nothing to end before its start returns (the check below ends it then),
    // and adding and removing the listener was 5 % of starting 10,000 inline agents.
    const onAbort = () => void host.terminate('start abandoned').catch(() => {});
    const watch = host.kind !== 'inline';
    if (watch) signal.addEventListener('abort', onAbort, { once: true });
    try {
      const handlers = await host.start();
      if (signal.aborted) throw new Error('start abandoned');
      this.handlers = handlerSet(handlers);
      this.startLifetime(host);
    } catch (e) {
      // A start abandoned half-way may have spawned a worker after the abort: end it too.
      if (signal.aborted) await host.terminate('start abandoned').catch(() => {});
      this.lastStartError = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      if (watch) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Isolated environments live at most `limits.maxLifetimeMs` (on the clock), then are drained and replaced. */
  private startLifetime(host: Host): void {
    this.hostStartedAt = this.spec.clock.now();
    if (this.lifetimeTimer !== undefined) this.spec.clock.clearTimeout(this.lifetimeTimer);
    this.lifetimeTimer = undefined;
    const ms = this.spec.security?.limits.maxLifetimeMs;
    if (!ISOLATED.has(this.spec.host) || ms === undefined) return;
    this.lifetimeTimer = this.spec.clock.setTimeout(() => {
      this.lifetimeTimer = undefined;
      if (this.host === host && host.alive) this.spec.onLifetimeOver?.(this);
    }, ms);
  }

  /** The lifetime timer goes with the host it was set for. */
  private endLifetime(): void {
    if (this.lifetimeTimer !== undefined) this.spec.clock.clearTimeout(this.lifetimeTimer);
    this.lifetimeTimer = undefined;
  }

  /** `stopHost`: running tasks get `graceMs`, then their abort signal and `abortGraceMs`, then the kill. */
  async stopHost(graceMs: number, abortGraceMs: number): Promise<void> {
    const host = this.host;
    if (!host) return;
    // No grace left (shutdown past its deadline, a drain that timed out): the callers of the tasks
    // still running hear now that the agent was stopped under them; the tasks themselves get their
    // abort signal and abortGraceMs before the host is killed.
    if (graceMs <= 0 && this.pending.size > 0) {
      const err = new AgentCrashedError(
        this.id,
        'stopped before the task finished (shutdown or scale-down)',
        'ERR_AGENT_STOPPED',
      );
      // A task whose outcome the agent already posted finished: its caller gets the outcome instead.
      for (const id of [...this.pending.keys()]) if (host.isRunning(id)) this.settle(id, err, false);
    }
    this.endLifetime();
    await host.stop(graceMs, abortGraceMs);
  }

  /** `killHost`: the agent is unresponsive; its tasks are lost with `ERR_AGENT_TERMINATED`. */
  async killHost(reason: string): Promise<void> {
    this.endLifetime();
    await this.host?.terminate(reason);
  }

  /** `checkHealth`: a round trip to the agent. */
  async checkHealth(): Promise<void> {
    if (!this.host) throw new Error('no host');
    await this.host.ping();
    // Back to `waiting`: the next check is an interval from now, as the chart's old timer had it.
    this.healthFrom = this.spec.clock.now();
  }

  /**
   * The health timer: one per agent, armed once and re-armed only when it fires — never on the
   * idle⇄busy edges. Firing, it sends HEALTH_DUE if the agent has been waiting for a check for the
   * whole interval, else sleeps until that moment (exactly when the chart's own `after` timer would
   * have fired) or, while the agent is not waiting, for one interval (the next wait starts later).
   */
  private armHealth(ms: number): void {
    this.healthTimer = this.spec.clock.setTimeout(() => {
      this.healthTimer = undefined;
      if (this.availability === 'gone') return;
      const interval = this.spec.timings.healthIntervalMs;
      if (this.actor.getSnapshot().matches({ idle: 'waiting' })) {
        const left = this.healthFrom + interval - this.spec.clock.now();
        if (left > 0) return this.armHealth(left);
        this.actor.send({ type: 'HEALTH_DUE' });
      }
      this.armHealth(interval);
    }, ms);
  }

  /** `abortTask`: the overdue task's abort signal; `'*'` (missed heartbeat): every task times out. */
  abortTask(taskId: string): void {
    const host = this.host;
    if (!host) return;
    if (taskId !== '*') {
      host.abort(taskId, 'task overdue');
      return;
    }
    const ms = this.spec.timings.heartbeatTimeoutMs;
    for (const [id, p] of [...this.pending]) {
      this.settle(id, new TaskTimeoutError(p.task, ms, 'heartbeat'), false);
      host.abort(id, 'heartbeat missed');
    }
  }

  /** `reportStarted`: the pool resets its count of failed starts. */
  reportStarted(): void {
    this.lastError = undefined;
    queueMicrotask(() => this.spec.onStarted?.(this));
  }

  /** `reportStartFailed`: log the cause; the pool counts it. */
  reportStartFailed(reason: string | undefined): void {
    const err =
      this.lastStartError ??
      new AgentPoolError('ERR_AGENT_START_FAILED', reason ?? 'start failed', {
        details: { agentId: this.id },
      });
    this.lastStartError = undefined;
    this.lastError = err;
    this.spec.logger.warn(
      { err, agentId: this.id, pool: this.pool },
      `agent ${this.id} failed to start: ${err.message}`,
    );
    // Like availability: the pool reacts after this transition, not inside it.
    queueMicrotask(() => this.spec.onStartFailed?.(this, err));
  }

  /** A lease's allocation was resized: its running tasks' memory watchdog follows the new size. */
  setLeaseMemory(leaseId: string, memoryMb: number): void {
    const host = this.host;
    if (!host) return;
    for (const [id, p] of this.pending) if (p.leaseId === leaseId) host.limit(id, { memoryMb });
  }

  /**
   * A lease ended under its running tasks (its allocation expired): their callers get `err` now, and
   * each task is escalated like an overdue one (abort signal, then the kill after `abortGraceMs`), so
   * the agent is offered to nobody until it let go.
   */
  endLeaseTasks(leaseId: string, err: Error): void {
    for (const [id, p] of [...this.pending]) {
      if (p.leaseId !== leaseId) continue;
      if (this.settle(id, err, false))
        this.actor.send({ type: 'TASK_OVERDUE', taskId: id, reason: 'cancelled' });
    }
  }

  /** `killHostNow`: no host is left running (crashed and final states). Idempotent. */
  killHostNow(): void {
    const h = this.host;
    if (h?.alive) h.terminate('agent stopped').catch(() => {});
  }

  /** The machine's state value, e.g. `'idle'` or `{ busy: 'running' }`. */
  get state(): string {
    if (this.actor === undefined) return 'starting';
    const v = this.actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0]!;
  }

  /** Can take a task now. */
  get accepting(): boolean {
    return this.availability === 'idle' || this.availability === 'busy';
  }

  /** True when the agent is gone for good. */
  get gone(): boolean {
    return this.availability === 'gone';
  }

  /** Tasks in flight. */
  get inflight(): number {
    return this.pending.size;
  }

  /** The cycle of a task still in flight for its caller (undefined once settled). */
  cycleOf(taskId: string): string | undefined {
    return this.pending.get(taskId)?.cycleId;
  }

  /**
   * Call `fn` once when `taskId` settles for its caller (result, error, timeout, abort, agent lost):
   * what bounds a wait the task started (a rate-limited token reservation).
   */
  whenSettled(taskId: string, fn: () => void): void {
    if (!this.pending.has(taskId)) {
      fn();
      return;
    }
    const hooks = (this.settleHooks ??= new Map());
    const list = hooks.get(taskId);
    if (list) list.push(fn);
    else hooks.set(taskId, [fn]);
  }

  /** Whether a task is still in flight for its caller. */
  isPending(taskId: string): boolean {
    return this.pending.has(taskId);
  }

  /** The task handlers the agent module exports (known once started). */
  hasTask(task: string): boolean | undefined {
    return this.handlers?.has(task);
  }

  /** Why the agent cannot take `task` now (unavailable, no such handler, already aborted), if it cannot. */
  private refusal(task: string, opts: RunOptions): AgentPoolError | undefined {
    if (!this.host || !this.accepting)
      return new AgentPoolError(
        'ERR_AGENT_UNAVAILABLE',
        `agent ${this.id} is ${this.state}, not accepting tasks`,
        {
          details: { agentId: this.id, state: this.state },
        },
      );
    if (this.handlers && !this.handlers.has(task))
      return new AgentPoolError(
        'ERR_UNKNOWN_TASK',
        `task: agent ${this.id} has no handler ${JSON.stringify(task)}`,
        {
          details: { path: 'task', received: task, known: [...this.handlers] },
        },
      );
    if (opts.signal?.aborted) return new AbortedError(`task ${task}`, opts.signal.reason);
    return undefined;
  }

  /**
   * Run one task. Settles exactly once: the result, or a typed error (`ERR_TASK_ERROR`,
   * `ERR_TASK_TIMEOUT`, `ERR_ABORTED`, `ERR_AGENT_CRASHED`, `ERR_AGENT_OUT_OF_MEMORY`, `ERR_BUDGET_EXHAUSTED`…).
   */
  run(task: string, input: unknown, opts: RunOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => this.start(task, input, opts, { resolve, reject }));
  }

  /**
   * {@link run} without a promise: `to` hears the task's end once, never synchronously (a refusal
   * arrives in a microtask, as a rejected promise's would). The dispatcher's way: one small object per
   * task instead of a promise, its resolving functions and the reactions on it (issue 14).
   */
  start(task: string, input: unknown, opts: RunOptions, to: RunReceiver): void {
    const refused = this.refusal(task, opts);
    if (refused) {
      queueMicrotask(() => to.reject(refused));
      return;
    }
    const host = this.host!;
    const taskId = `${this.id}#${++this.seq}`;
    const span = this.spec.telemetry?.active ? this.runSpan(task, opts) : undefined;
    const traceparent = span?.traceparent;
    const p = new Pending(this, taskId, task, input, opts, to, this.spec.clock.now(), span);
    this.pending.set(taskId, p);
    if (opts.timeoutMs !== undefined) this.armTimeout(p, opts.timeoutMs);
    if (opts.signal) this.watchSignal(p, opts.signal);
    // Only the first task of a busy spell changes the actor's state (idle → busy); a spell whose
    // idle edge is still held (same event-loop turn) just goes on.
    if (this.running.size === 0) {
      if (this.idleEdge) {
        this.spec.clock.clearTimeout(this.idleEdge.handle);
        this.idleEdge = undefined;
      } else this.actor.send({ type: 'TASK_START', taskId });
    }
    this.running.add(taskId);
    const limits =
      opts.memoryMb !== undefined || traceparent !== undefined
        ? {
            ...(opts.memoryMb !== undefined ? { memoryMb: opts.memoryMb } : {}),
            ...(traceparent !== undefined ? { traceparent } : {}),
          }
        : undefined;
    if (host.runTo) host.runTo(taskId, task, input, limits, p);
    else
      host.run(taskId, task, input, limits).then(
        (o) => p.resolve(o),
        (e: unknown) => p.reject(e),
      );
  }

  /** The run's `invoke_agent` span (tracing on). */
  private runSpan(task: string, opts: RunOptions): RunSpan {
    return this.spec.telemetry!.startRun(
      `invoke_agent ${this.pool}`,
      () => ({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': this.pool,
        'gen_ai.agent.id': this.id,
        'agentpool.task': task,
        ...(opts.cycleId !== undefined ? { 'gen_ai.conversation.id': opts.cycleId } : {}),
        ...(opts.leaseId !== undefined ? { 'agentpool.lease_id': opts.leaseId } : {}),
      }),
      opts.trace,
    );
  }

  /** The task's wall-clock limit (`timeoutMs`): its caller gets ERR_TASK_TIMEOUT, the actor escalates. */
  private armTimeout(p: Pending, ms: number): void {
    p.timer = this.spec.clock.setTimeout(() => {
      p.timer = undefined;
      if (this.settle(p.taskId, new TaskTimeoutError(p.task, ms, 'wall-clock'), false)) {
        this.actor.send({ type: 'TASK_OVERDUE', taskId: p.taskId, reason: 'timeout' });
      }
    }, ms);
  }

  /** The task's signal: its caller gets ERR_ABORTED at once, the actor escalates. */
  private watchSignal(p: Pending, signal: AbortSignal): void {
    p.onAbort = () => {
      if (this.settle(p.taskId, new AbortedError(`task ${p.task}`, signal.reason), false)) {
        this.actor.send({ type: 'TASK_OVERDUE', taskId: p.taskId, reason: 'cancelled' });
      }
    };
    signal.addEventListener('abort', p.onAbort, { once: true });
  }

  /** The host's outcome of a task (its {@link Pending} heard it). @internal */
  hostOutcome(p: Pending, outcome: TaskOutcome): void {
    this.spec.onTaskEnd?.(this, p.taskId);
    this.settleOutcome(p.taskId, p.task, outcome);
    this.taskEnded(p.taskId);
  }

  /** The host could not run a task: its input could not be cloned, or the host died. @internal */
  hostFailed(p: Pending, err: unknown): void {
    const taskId = p.taskId;
    this.spec.onTaskEnd?.(this, taskId);
    if ((err as Error)?.name === 'DataCloneError') {
      const at = p.inputPath ?? 'input';
      const bad = findUncloneable(p.input, at) ?? { path: at, value: p.input };
      this.settle(
        taskId,
        new InvalidArgumentError(bad.path, bad.value, 'structured-cloneable data for a thread agent'),
        false,
      );
      this.taskEnded(taskId);
      return;
    }
    // Host died: the machine hears it through HOST_EXITED; the caller hears it here.
    this.settle(taskId, err, false);
  }

  /** Ask the agent to finish its work and stop (graceful). */
  drain(): void {
    this.takeIdleEdge(); // a held idle edge first: draining an idle agent stops it at once
    this.actor.send({ type: 'DRAIN' });
  }

  /**
   * Stop the agent: running tasks get `graceMs` (default `timings.stopGraceMs`), then their abort
   * signal and `abortGraceMs` (default `timings.abortGraceMs`) to let go, then the host is killed.
   */
  stop(graceMs?: number, abortGraceMs?: number): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    this.takeIdleEdge();
    this.actor.send({
      type: 'STOP',
      ...(graceMs !== undefined ? { graceMs } : {}),
      ...(abortGraceMs !== undefined ? { abortGraceMs } : {}),
    });
  }

  /** True while this agent's worker thread is still running (thread hosts only). */
  get hasLiveThread(): boolean {
    return this.host?.running ?? false;
  }

  /** Resolves once the agent's host holds nothing any more (its worker thread exited), or after `ms`. */
  async whenHostExited(ms: number): Promise<void> {
    const host = this.host;
    if (!host?.running) return;
    const cancel = new AbortController();
    await Promise.race([host.exited(), sleep(this.spec.clock, ms, cancel.signal).catch(() => {})]);
    cancel.abort();
  }

  /** Resolves when the actor reached a final state (stopped or evicted), or after `ms` on the clock. */
  whenGone(ms: number): Promise<boolean> {
    if (this.actor.getSnapshot().status !== 'active') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.spec.clock.setTimeout(() => {
        sub.unsubscribe();
        resolve(false);
      }, ms);
      const sub = this.actor.subscribe({
        complete: () => {
          this.spec.clock.clearTimeout(timer);
          resolve(true);
        },
        error: () => {
          this.spec.clock.clearTimeout(timer);
          resolve(true);
        },
      });
    });
  }

  /** `report*`: the availability the machine's state implies, reported to the pool. */
  setAvailability(a: AgentAvailability): void {
    if (this.availability === a) return;
    this.availability = a;
    if (a === 'idle') {
      const interval = this.spec.timings.healthIntervalMs;
      if (interval > 0) {
        this.healthFrom = this.spec.clock.now();
        if (this.healthTimer === undefined) this.armHealth(interval);
      }
    } else if (a === 'gone') {
      if (this.healthTimer !== undefined) this.spec.clock.clearTimeout(this.healthTimer);
      this.healthTimer = undefined;
      if (this.idleEdge) this.spec.clock.clearTimeout(this.idleEdge.handle);
      this.idleEdge = undefined;
    }
    // Called from the actor's entry actions: the pool reacts (and drives other actors) just after
    // this transition, not inside it — XState actions must not synchronously run other actors.
    queueMicrotask(() => this.spec.onAvailability(this, a));
  }

  private settleOutcome(taskId: string, task: string, o: TaskOutcome): void {
    if (o.ok) {
      this.settle(taskId, o.value, true, true);
      return;
    }
    // An isolated agent's access refused by its sandbox: a typed error and a security event.
    const denial = ISOLATED.has(this.spec.host)
      ? classifyDenial(o.error, this.spec.host === 'sandbox' && this.spec.security?.network !== 'full')
      : undefined;
    if (denial) {
      const p = this.pending.get(taskId);
      const err = accessDenied(this.id, task, denial, outcomeError(task, o.error, undefined));
      this.recordDenial({ ...denial, error: err.message, leaseId: p?.leaseId, cycleId: p?.cycleId });
      this.settle(taskId, err, false, true);
      return;
    }
    this.settle(taskId, outcomeError(task, o.error, 'partial' in o ? o.partial : undefined), false, true);
  }

  /**
   * Settle a pending task once; returns false if it was already settled. `now`: the host's outcome for
   * the task — its receiver hears it at once (the dispatcher may start the next task on this agent
   * before this one's end reaches the actor, so a busy spell stays busy). Any other end (timeout,
   * abort, crash, a lease's expiry) reaches the receiver in a microtask, after the transition it
   * causes, as a promise's reaction would.
   */
  private settle(taskId: string, value: unknown, ok: boolean, now = false): boolean {
    const p = this.pending.get(taskId);
    if (!p) return false;
    // A task settled early (timeout/abort) stays "in flight" for the machine until the host lets go.
    this.pending.delete(taskId);
    if (p.timer !== undefined) this.spec.clock.clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    const hooks = this.settleHooks?.get(taskId);
    if (hooks) {
      this.settleHooks!.delete(taskId);
      for (const hook of hooks) hook();
    }
    p.tools?.abort(new Error(`task ${p.task} ended`));
    const result = ok ? 'succeeded' : resultOf(value);
    this.spec.onTaskSettled?.(this, result, this.spec.clock.now() - p.startedAt, p.task);
    p.span?.end(result, ok ? undefined : value);
    if (ok) this.completed++;
    else this.failed++;
    if (!now) later(p.to, ok, value);
    else if (ok) p.to.resolve(value);
    else p.to.reject(value);
    return true;
  }

  /** `failInflight`: every task in flight failed with the agent. */
  /**
   * The host returned a task. The actor hears it only when that changes its state: the last task
   * ended (busy → idle, draining → stopping), a task is overdue (the overdue one may be this one), or
   * failures are being counted (a task that ends resets them). Otherwise the actor's state and
   * context would come out the same, so no event is sent.
   */
  private taskEnded(taskId: string): void {
    if (!this.running.delete(taskId)) return; // a task of a host that already crashed
    const last = this.running.size === 0;
    const s = this.actor.getSnapshot();
    const c = s.context;
    const clean = c.overdueTaskId === undefined && c.failures === 0;
    if (!last) {
      if (clean) return;
    } else if (clean && this.spec.timings.heartbeatTimeoutMs === 0 && inBusy(s.value)) {
      // A clean end of a busy spell: the idle edge waits for a 0 ms timer (idleEdge).
      // Not with heartbeats (the next task must re-arm the heartbeat deadline on busy entry), not
      // while draining or stopping (they wait for this edge to go on).
      this.idleEdge = { taskId, handle: this.spec.clock.setTimeout(this.flushIdleEdge, 0) };
      return;
    }
    this.actor.send({ type: 'TASK_END', taskId, ok: true, last });
  }

  /** Send a held idle edge now (before a drain or stop, which must see the agent as it is). */
  private takeIdleEdge(): void {
    if (!this.idleEdge) return;
    this.spec.clock.clearTimeout(this.idleEdge.handle);
    this.flushIdleEdge();
  }

  /** Send the held idle edge (see {@link idleEdge}), unless a task continued the spell. */
  private readonly flushIdleEdge = (): void => {
    const edge = this.idleEdge;
    this.idleEdge = undefined;
    if (!edge || this.running.size > 0 || this.actor.getSnapshot().status !== 'active') return;
    this.actor.send({ type: 'TASK_END', taskId: edge.taskId, ok: true, last: true });
  };

  failAll(): void {
    // The host is gone with its tasks: the next task starts a new busy spell.
    this.running.clear();
    if (this.idleEdge) this.spec.clock.clearTimeout(this.idleEdge.handle);
    this.idleEdge = undefined;
    const err =
      this.lastCrash ??
      new AgentPoolError(
        'ERR_AGENT_CRASHED',
        `agent ${this.id} failed: ${this.actor.getSnapshot().context.lastError}`,
      );
    for (const id of [...this.pending.keys()]) this.settle(id, err, false);
    this.lastCrash = undefined;
  }
}

/** Is the agent chart's state `busy.*` (its value read directly: `matches()` costs more per task)? */
function inBusy(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'busy' in value;
}

/** How a failed run ended, for metrics: by its error's code. */
function resultOf(err: unknown): TaskResult {
  switch ((err as { code?: string } | undefined)?.code) {
    case 'ERR_TASK_TIMEOUT':
      return 'timed_out';
    case 'ERR_ABORTED':
      return 'cancelled';
    case 'ERR_AGENT_CRASHED':
    case 'ERR_AGENT_OUT_OF_MEMORY':
    case 'ERR_AGENT_STOPPED':
    case 'ERR_AGENT_TERMINATED':
    case 'ERR_AGENT_LOST':
    case 'ERR_LEASE_EXPIRED':
      return 'lost';
    default:
      return 'failed';
  }
}

/** The caller's error for an access an isolated agent's profile refused. */
function accessDenied(agentId: string, task: string, d: Denial, cause: Error): AgentPoolError {
  return new AgentPoolError(
    'ERR_ACCESS_DENIED',
    `task ${JSON.stringify(task)} on agent ${agentId}: ${d.kind} access ${d.resource} refused by its security profile`,
    { cause, details: { task, agentId, kind: d.kind, resource: d.resource } },
  );
}

/** Map an agent-side failure to the typed error the caller sees. */
function outcomeError(task: string, e: SerializedError, partial: unknown): Error {
  if (e.code === 'ERR_BUDGET_EXHAUSTED') return new BudgetExhaustedError(e.message, e.details ?? {}, partial);
  if (e.code === 'ERR_UNKNOWN_TASK')
    return new AgentPoolError('ERR_UNKNOWN_TASK', e.message, { details: { task } });
  return new TaskError(task, deserializeError(e));
}
