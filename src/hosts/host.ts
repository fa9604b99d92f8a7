/**
 * A host is where an agent's code runs. One interface, several kinds:
 * - `thread`: a worker thread spoken to over Comlink (CPU-bound tools, memory caps);
 * - `inline`: the caller's own thread (I/O-bound LLM agents, thousands of them, and simulation).
 *
 * Contract every host keeps: `run()` always settles. When the host dies (exit, crash, termination,
 * out of memory) every pending and every later call rejects with an {@link AgentCrashedError}.
 */
import type { AgentDefinition, Usage } from '../agent/define.js';
import type { TaskOutcome, ToolAnswer } from '../agent/runner.js';
import { AgentCrashedError, type SerializedError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';

/**
 * Kinds of host, weakest isolation first: `process` (child process under Node's permission model,
 * src/hosts/process-host.ts), `sandbox` (that process inside bubblewrap namespaces), `container` and
 * `vm` (providers; see src/security/tiers.ts for what each enforces and when it is available), and
 * `remote`: an agent on a cluster node over NATS (src/cluster/remote-host.ts, docs/guides/cluster.md).
 */
export type HostKind = 'inline' | 'thread' | 'process' | 'sandbox' | 'container' | 'vm' | 'remote';

/** What a thread agent measures of itself, every second while tasks run. */
export interface UsageSample {
  /** V8 heap in use, MB. */
  heapMb: number;
  /** Event-loop utilisation over the period, 0..1. */
  elu: number;
  /** CPU cores the thread used over the period (its own CPU time / wall time), where Node measures it per thread (≥ 22.15). */
  cpu?: number;
}

/** Callbacks from a host to the runtime. */
export interface HostListener {
  /** The host died without being asked to stop. */
  onExit(error: AgentCrashedError): void;
  onHeartbeat(taskId: string): void;
  /** The task reported progress (`ctx.progress(value)`); also a heartbeat. */
  onProgress?(taskId: string, value: unknown): void;
  onUsage(taskId: string, usage: Usage): void;
  /** The worker measured itself (thread hosts, every second while tasks run). */
  onSample?(sample: UsageSample): void;
  /** Token reservation check; resolve `undefined` to grant. */
  reserveTokens(taskId: string, amount: number): Promise<SerializedError | undefined>;
  /** Settle the task's `index`-th reservation (its `index`-th `reserve` call, refused ones included). */
  settleTokens(taskId: string, reserved: number, actual: number, index: number): void;
  /** The sandbox's filtering proxy refused a destination (`host:port`). */
  onNetworkDenied?(destination: string): void;
  /** The agent called a tool (`ctx.tools.call`): check and run it in the parent; never rejects. */
  callTool?(taskId: string, name: string, args: unknown): Promise<ToolAnswer>;
}

/** A listener that ignores everything and grants every token reservation (benchmarks, bare hosts). */
export const IGNORING_LISTENER: HostListener = {
  onExit: () => {},
  onHeartbeat: () => {},
  onUsage: () => {},
  reserveTokens: async () => undefined,
  settleTokens: () => {},
};

/** What a host needs to start an agent. */
export interface HostOptions {
  agentId: string;
  /** Agent module (file URL or path) or, for inline hosts, the definition itself. */
  agent: URL | string | AgentDefinition;
  /** Tools granted by the security profile. */
  tools: readonly string[];
  /** Heap cap in MB (thread hosts enforce it with `resourceLimits`). */
  memoryMb?: number;
  listener: HostListener;
  /** Clock for grace periods. */
  clock: Clock;
  /** What an isolated host (process, sandbox) enforces on the agent's own code. */
  isolation?: HostIsolation;
}

/** The file view of an isolated agent: its workspace (read-write) and the profile's paths. */
export interface HostIsolation {
  /**
   * Where the host creates the agent's workspace (`<base>/agentpool-ws/<pid>/<agent>-…`, removed when
   * the agent's process is gone). @default the OS temporary directory
   */
  workspaceBase?: string;
  /** Readable paths beyond the runtime, the agent module and the workspace; `'full'`: everything. */
  read: readonly string[] | 'full';
  /** Writable paths beyond the workspace; `'full'`: everything. */
  write: readonly string[] | 'full';
  /** The agent's own sockets: `false` cuts them (sandbox: a network namespace of its own). */
  network: boolean;
  /**
   * With `network: false`, `host:port`s still reachable through the filtering proxy
   * (src/hosts/egress-proxy.ts; sandbox only).
   */
  allow?: readonly string[];
}

/** Per-task limits a host enforces where it can (see {@link Host.run}). */
export interface TaskLimits {
  /** The task's memory allocation in MB. */
  memoryMb?: number;
  /** W3C `traceparent` of the run's span (tracing on): the agent's `ctx.traceparent`, its OTel parent. */
  traceparent?: string;
}

/** A running (or stopped) agent host. */
/**
 * A host's {@link Host.runTo} that cannot run the task: `to` hears why in a microtask (never from
 * inside the call) — the host's death, or that it was never started. False when the host can run it.
 */
export function refusedRun(
  death: AgentCrashedError | undefined,
  started: boolean,
  agentId: string,
  to: TaskReceiver,
): boolean {
  const err =
    death ?? (started ? undefined : new AgentCrashedError(agentId, 'not started', 'ERR_AGENT_STOPPED'));
  if (err === undefined) return false;
  queueMicrotask(() => to.reject(err));
  return true;
}

/** Who hears how one task ended on a host (see {@link Host.runTo}). */
export interface TaskReceiver {
  resolve(outcome: TaskOutcome): void;
  reject(error: unknown): void;
}

export interface Host {
  readonly kind: HostKind;
  /** False once the host died or was stopped. */
  readonly alive: boolean;
  /**
   * True while the host still holds an OS resource (a worker thread not yet exited): what
   * `status().threads` counts and what shutdown waits for. False for inline hosts.
   */
  readonly running: boolean;
  /** Resolves once nothing of the host is left running (the worker thread exited). */
  exited(): Promise<void>;
  /** Load the agent; resolves with its handler names, rejects `ERR_AGENT_MODULE`. */
  start(): Promise<string[]>;
  /**
   * Run one task; resolves with its outcome, rejects only when the host dies. `limits.memoryMb` is the
   * task's memory allocation: a thread host stops the agent (`ERR_AGENT_OUT_OF_MEMORY`) when the heap
   * stays above it; the inline host cannot measure one task's memory and ignores it.
   */
  run(taskId: string, task: string, input: unknown, limits?: TaskLimits): Promise<TaskOutcome>;
  /**
   * {@link run} without a promise (the hosts on the hot path have it; the agent handle falls back to
   * `run` for the others): `to` hears the outcome, or the host's death, once — never synchronously
   * from inside this call.
   */
  runTo?(
    taskId: string,
    task: string,
    input: unknown,
    limits: TaskLimits | undefined,
    to: TaskReceiver,
  ): void;
  /** Is `taskId` still running (its outcome not yet received)? Reads outcomes already posted first. */
  isRunning(taskId: string): boolean;
  /** Change a running task's limits (its allocation was resized); hosts that cannot enforce them ignore it. */
  limit(taskId: string, limits: TaskLimits): void;
  /** Signal one task to stop (its `ctx.signal` fires). */
  abort(taskId: string, reason: string): void;
  /** Round trip to the agent; rejects if it does not answer. */
  ping(): Promise<void>;
  /**
   * Stop: running tasks get `graceMs` to finish, then their abort signal fires and they get
   * `abortGraceMs` to let go, then the host is killed. Pending calls reject `ERR_AGENT_STOPPED`.
   */
  stop(graceMs: number, abortGraceMs?: number): Promise<void>;
  /** Kill at once (the agent is unresponsive). Pending calls reject `ERR_AGENT_TERMINATED`. */
  terminate(reason: string): Promise<void>;
}
