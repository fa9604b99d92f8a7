/** Messages and API shared by the thread host (main side) and the worker entry. */
import type { Usage } from '../agent/define.js';
import type { TaskOutcome } from '../agent/runner.js';
import type { SerializedError } from '../errors/errors.js';

/** workerData given to a new agent thread. */
export interface WorkerInit {
  agentId: string;
  /** Module specifier (file URL) of the agent. */
  agent: string;
  tools: string[];
  /** Set in development: the TypeScript entry the bootstrap loads through tsx. */
  tsEntry?: string;
}

/** Result of loading the agent module in the worker. */
export type InitResult = { ok: true; handlers: string[] } | { ok: false; error: SerializedError };

/** The API a worker exposes over Comlink. */
export interface WorkerApi {
  init(): Promise<InitResult>;
  run(taskId: string, task: string, input: unknown): Promise<TaskOutcome>;
  abort(taskId: string, reason: string): void;
  ping(): number;
  drain(): void;
}

/** One-way side-channel messages (no `id`, so Comlink ignores them). */
export type SideMessage =
  | { type: 'ap:hb'; taskId: string }
  | { type: 'ap:usage'; taskId: string; usage: Usage }
  | { type: 'ap:reserve'; rid: number; taskId: string; amount: number }
  | { type: 'ap:reserve-reply'; rid: number; error?: SerializedError }
  | { type: 'ap:settle'; taskId: string; reserved: number; actual: number };
