/**
 * A host is where an agent's code runs. One interface, several kinds:
 * - `thread`: a worker thread spoken to over Comlink (CPU-bound tools, memory caps);
 * - `inline`: the caller's own thread (I/O-bound LLM agents, thousands of them, and simulation).
 *
 * Contract every host keeps: `run()` always settles. When the host dies (exit, crash, termination,
 * out of memory) every pending and every later call rejects with an {@link AgentCrashedError}.
 */
import type { AgentDefinition, Usage } from '../agent/define.js';
import type { TaskOutcome } from '../agent/runner.js';
import type { AgentCrashedError, SerializedError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';

/** Kinds of host. */
export type HostKind = 'thread' | 'inline';

/** Callbacks from a host to the runtime. */
export interface HostListener {
  /** The host died without being asked to stop. */
  onExit(error: AgentCrashedError): void;
  onHeartbeat(taskId: string): void;
  /** The task reported progress (`ctx.progress(value)`); also a heartbeat. */
  onProgress?(taskId: string, value: unknown): void;
  onUsage(taskId: string, usage: Usage): void;
  /** The worker measured itself (thread hosts, every second while tasks run). */
  onSample?(sample: { heapMb: number; elu: number }): void;
  /** Token reservation check; resolve `undefined` to grant. */
  reserveTokens(taskId: string, amount: number): Promise<SerializedError | undefined>;
  /** Settle the task's `index`-th reservation (its `index`-th `reserve` call, refused ones included). */
  settleTokens(taskId: string, reserved: number, actual: number, index: number): void;
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
}

/** Per-task limits a host enforces where it can (see {@link Host.run}). */
export interface TaskLimits {
  /** The task's memory allocation in MB. */
  memoryMb?: number;
}

/** A running (or stopped) agent host. */
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
