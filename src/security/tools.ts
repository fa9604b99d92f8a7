/**
 * Tools as capabilities. The embedding application registers tool implementations with the system
 * (`tools: { git: async (args, ctx) => … }`); an agent calls them with `ctx.tools.call(name, args)`.
 * The call crosses the host boundary and runs HERE, in the parent, after the checks: a tool outside
 * the caller's profile (or not registered) is refused with `ERR_TOOL_DENIED` before it runs, arguments
 * are validated against the tool's schema if it declares one (`ERR_INVALID_ARGUMENT`), and every call
 * — allowed or not — is audited (agent, lease, cycle, tool, outcome, duration) and counted.
 *
 * Below the runtime: denials and audit entries leave through callbacks the system wires to its
 * event hub, logger and counters.
 */
import { AgentPoolError, ConfigError, type SerializedError, serializeError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { invalid, knownKeys, record } from '../core/validate.js';

/** What a tool implementation receives besides its arguments. */
export interface ToolContext {
  readonly agentId: string;
  readonly pool: string;
  readonly taskId: string;
  /** The lease the calling task runs under (undefined for a task with none). */
  readonly leaseId: string | undefined;
  readonly cycleId: string | undefined;
  /** The security profile's name. */
  readonly profile: string;
  /** The agent's workspace directory, for isolated tiers (undefined otherwise). */
  readonly workspace: string | undefined;
  /** Aborted once the calling task has ended for its caller (timed out, cancelled, agent lost…): stop then. */
  readonly signal: AbortSignal;
}

/** A tool implementation. */
export type ToolFunction = (args: unknown, ctx: ToolContext) => unknown;

/**
 * A JSON-Schema subset for tool arguments: `type` (`object`, `array`, `string`, `number`, `integer`,
 * `boolean`), `properties`, `required`, `additionalProperties: false`, `items`, `enum`.
 */
export interface ToolSchema {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  properties?: Record<string, ToolSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: ToolSchema;
  enum?: unknown[];
}

/** A tool with options. */
export interface ToolDefinition {
  run: ToolFunction;
  /** Arguments are checked against it before the tool runs. */
  schema?: ToolSchema;
}

/** One audited tool call. */
export interface ToolAuditEntry {
  /** Clock ms when the call arrived. */
  at: number;
  agentId: string;
  pool: string;
  leaseId: string | undefined;
  cycleId: string | undefined;
  tool: string;
  /** `ok`: ran and returned; `error`: ran and threw; `denied`: refused before it ran; `invalid`: bad arguments. */
  outcome: 'ok' | 'error' | 'denied' | 'invalid';
  /** Clock ms the call took (0 when refused). */
  durationMs: number;
  /** The refusal's or the failure's message. */
  error?: string;
}

/** Who is calling: the agent, its task's lease and the profile it runs under. */
export interface ToolCaller {
  agentId: string;
  pool: string;
  taskId: string;
  leaseId: string | undefined;
  cycleId: string | undefined;
  profile: string;
  allowed: readonly string[];
  workspace: string | undefined;
  /** See {@link ToolContext.signal}. */
  signal: AbortSignal;
}

/** The answer that crosses back to the agent. */
export type ToolReply = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** Validate the system option `tools` (a function or a `{ run, schema }` per name). */
export function parseTools(raw: unknown): Map<string, ToolDefinition> {
  const out = new Map<string, ToolDefinition>();
  if (raw === undefined) return out;
  const o = record('config', 'tools', raw);
  for (const [name, t] of Object.entries(o)) {
    const path = `tools.${name}`;
    if (typeof t === 'function') {
      out.set(name, { run: t as ToolFunction });
      continue;
    }
    const d = record('config', path, t);
    knownKeys('config', path, d, new Set(['run', 'schema']));
    if (typeof d.run !== 'function') invalid('config', `${path}.run`, d.run, 'a function');
    if (d.schema !== undefined) record('config', `${path}.schema`, d.schema);
    out.set(name, d.schema === undefined ? { run: d.run as ToolFunction } : (d as unknown as ToolDefinition));
  }
  return out;
}

/** Where `value` breaks `schema` (a path and what was expected), or undefined. */
export function checkSchema(schema: ToolSchema, value: unknown, path = 'args'): ConfigError | undefined {
  if (schema.enum && !schema.enum.some((e) => Object.is(e, value)))
    return new ConfigError(path, value, `one of ${JSON.stringify(schema.enum)}`, 'ERR_INVALID_ARGUMENT');
  const t = schema.type;
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const ok =
    t === undefined ||
    (t === 'integer'
      ? Number.isInteger(value)
      : t === 'number'
        ? typeof value === 'number' && Number.isFinite(value)
        : actual === t);
  if (!ok) return new ConfigError(path, value, `a value of type ${t}`, 'ERR_INVALID_ARGUMENT');
  if (
    actual === 'object' &&
    (schema.properties || schema.required || schema.additionalProperties === false)
  ) {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? [])
      if (o[k] === undefined)
        return new ConfigError(`${path}.${k}`, undefined, 'a value (required)', 'ERR_INVALID_ARGUMENT');
    for (const [k, v] of Object.entries(o)) {
      const sub = schema.properties?.[k];
      if (sub) {
        const e = checkSchema(sub, v, `${path}.${k}`);
        if (e) return e;
      } else if (schema.additionalProperties === false)
        return new ConfigError(`${path}.${k}`, v, 'no such argument', 'ERR_INVALID_ARGUMENT');
    }
  }
  if (actual === 'array' && schema.items) {
    const a = value as unknown[];
    for (let i = 0; i < a.length; i++) {
      const e = checkSchema(schema.items, a[i], `${path}[${i}]`);
      if (e) return e;
    }
  }
  return undefined;
}

/** Callbacks of a {@link ToolBroker}. */
export interface ToolBrokerHooks {
  /** A call was refused before it ran (outside the profile, or not registered). */
  onDenied(caller: ToolCaller, tool: string, error: AgentPoolError): void;
  /** Every call, once it is over. */
  onAudit?(entry: ToolAuditEntry): void;
}

/** Audit entries kept for {@link ToolBroker.audit}. */
const AUDIT_SIZE = 1_000;

/** Runs tool calls for agents, in the parent, after the profile check. */
export class ToolBroker {
  private readonly entries: ToolAuditEntry[] = [];
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly tools: ReadonlyMap<string, ToolDefinition>,
    private readonly clock: Clock,
    private readonly hooks: ToolBrokerHooks,
  ) {}

  /** Names of the registered tools. */
  get names(): string[] {
    return [...this.tools.keys()];
  }

  /** The last {@link AUDIT_SIZE} calls, oldest first. */
  audit(): ToolAuditEntry[] {
    return [...this.entries];
  }

  /** Calls per `tool` and outcome, since start: `{ git: { ok: 3, denied: 1 } }`. */
  counters(): Record<string, Partial<Record<ToolAuditEntry['outcome'], number>>> {
    const out: Record<string, Partial<Record<ToolAuditEntry['outcome'], number>>> = {};
    for (const [key, n] of this.counts) {
      const [tool, outcome] = key.split('\u0000') as [string, ToolAuditEntry['outcome']];
      (out[tool] ??= {})[outcome] = n;
    }
    return out;
  }

  /** Check and run one call; never rejects (a failure is a reply). */
  async call(caller: ToolCaller, tool: string, args: unknown): Promise<ToolReply> {
    const at = this.clock.now();
    const def = this.tools.get(tool);
    const deny = (reason: string) => {
      const e = new AgentPoolError(
        'ERR_TOOL_DENIED',
        `tool ${JSON.stringify(tool)} refused for agent ${caller.agentId} (profile ${caller.profile}): ${reason}`,
        { details: { tool, agentId: caller.agentId, pool: caller.pool, profile: caller.profile, reason } },
      );
      this.hooks.onDenied(caller, tool, e);
      return this.finish(caller, tool, at, 'denied', e);
    };
    if (!caller.allowed.includes(tool))
      return deny(`not in the profile's tools (${caller.allowed.join(', ') || 'none'})`);
    if (!def) return deny('no such tool is registered with the system');
    if (def.schema) {
      const bad = checkSchema(def.schema, args);
      if (bad) return this.finish(caller, tool, at, 'invalid', bad);
    }
    const ctx: ToolContext = {
      agentId: caller.agentId,
      pool: caller.pool,
      taskId: caller.taskId,
      leaseId: caller.leaseId,
      cycleId: caller.cycleId,
      profile: caller.profile,
      workspace: caller.workspace,
      signal: caller.signal,
    };
    // The task already ended: nobody waits for this call any more.
    if (caller.signal.aborted)
      return this.finish(
        caller,
        tool,
        at,
        'error',
        new AgentPoolError('ERR_ABORTED', `tool ${tool}: the calling task already ended`),
      );
    try {
      const value = await def.run(args, ctx);
      return this.finish(caller, tool, at, 'ok', undefined, value);
    } catch (e) {
      return this.finish(caller, tool, at, 'error', e);
    }
  }

  private finish(
    caller: ToolCaller,
    tool: string,
    at: number,
    outcome: ToolAuditEntry['outcome'],
    error: unknown,
    value?: unknown,
  ): ToolReply {
    const entry: ToolAuditEntry = {
      at,
      agentId: caller.agentId,
      pool: caller.pool,
      leaseId: caller.leaseId,
      cycleId: caller.cycleId,
      tool,
      outcome,
      durationMs: this.clock.now() - at,
    };
    if (error !== undefined) entry.error = error instanceof Error ? error.message : String(error);
    this.entries.push(entry);
    if (this.entries.length > AUDIT_SIZE) this.entries.shift();
    const key = `${tool}\u0000${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.hooks.onAudit?.(entry);
    return error === undefined ? { ok: true, value } : { ok: false, error: serializeError(error) };
  }
}
