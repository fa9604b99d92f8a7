/** Messages between a process host and its agent child (src/hosts/process-worker.ts). */
import type { InitResult, SideMessage } from './thread-protocol.js';

/** The thread tier's task channel messages, plus the control calls Comlink carries for threads. */
export type ProcessMessage =
  | SideMessage
  /** child → parent: the entry loaded; the parent sends `ap:init`. */
  | { type: 'ap:hello' }
  /** parent → child: load the agent module. */
  | { type: 'ap:init'; agentId: string; agent: string; tools: string[]; workspace: string | undefined }
  /** child → parent: the module loaded (or why not). */
  | { type: 'ap:ready'; result: InitResult }
  | { type: 'ap:ping'; id: number }
  | { type: 'ap:pong'; id: number };
