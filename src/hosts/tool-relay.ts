/** The host side of `ctx.tools.call`: every host hands the call to its listener (the runtime's broker). */
import type { ToolAnswer } from '../agent/runner.js';
import { serializeError } from '../core/errors.js';
import type { HostListener } from './host.js';

/** Run an agent's tool call through the listener; never rejects (a failure is an answer). */
export function relayTool(l: HostListener, taskId: string, name: string, args: unknown): Promise<ToolAnswer> {
  if (!l.callTool)
    return Promise.resolve({
      ok: false,
      error: { name: 'AgentPoolError', code: 'ERR_TOOL_DENIED', message: `no tool broker: ${name} refused` },
    });
  return l.callTool(taskId, name, args).catch((e: unknown) => ({ ok: false, error: serializeError(e) }));
}
