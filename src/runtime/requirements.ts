/**
 * Acquire-time requirements: validation at the boundary, and the "can this pool ever serve it?" check
 * that lets an impossible request fail fast instead of waiting out its timeout.
 */
import { AgentPoolError, ResourceExhaustedError } from '../core/errors.js';
import { duration, knownKeys, num, record, str, strings } from '../core/validate.js';
import {
  type AgentCapacity,
  ISOLATION_LEVELS,
  type IsolationLevel,
  type PoolConfig,
  RESOURCE_NAMES,
  type ResourceName,
  SECURITY_LEVELS,
  type SecurityLevel,
} from './config.js';

/** What a caller needs from an agent. */
export interface Requirements {
  /** Heap MB. */
  memoryMb?: number;
  /** CPU cores (a scheduling weight). */
  cpuCores?: number;
  /** Token budget for the lease. */
  tokens?: number;
  diskMb?: number;
  networkMbps?: number;
  /** Tools the agent must be granted (⊆ the pool's tools). */
  tools?: string[];
  /** Minimum security clearance. */
  securityLevel?: SecurityLevel;
  /** Isolation the work needs; refused with `ERR_UNENFORCEABLE` when the pool's host cannot give it. */
  isolation?: IsolationLevel;
  /** Preferred specialisation (a balancing hint). */
  specialization?: string;
}

const REQ_KEYS = new Set<string>([
  ...RESOURCE_NAMES,
  'tools',
  'securityLevel',
  'isolation',
  'specialization',
]);

/**
 * Validate requirements; throws `ERR_INVALID_ARGUMENT` naming the path and value. A numeric resource
 * the caller leaves out takes the pool's `requirementDefaults` value, if it has one.
 */
export function parseRequirements(
  raw: unknown,
  path = 'requirements',
  defaults?: Partial<Record<ResourceName, number>>,
): Requirements {
  if (raw === undefined && (defaults === undefined || Object.keys(defaults).length === 0)) return {};
  const o = record('argument', path, raw ?? {});
  knownKeys('argument', path, o, REQ_KEYS);
  const r: Requirements = {};
  for (const k of RESOURCE_NAMES) {
    if (o[k] !== undefined) r[k] = num('argument', `${path}.${k}`, o[k], 0, { min: 0 });
    else if (defaults?.[k] !== undefined) r[k] = defaults[k];
  }
  if (o.tools !== undefined) r.tools = strings('argument', `${path}.tools`, o.tools, []);
  if (o.securityLevel !== undefined)
    r.securityLevel = str('argument', `${path}.securityLevel`, o.securityLevel, 'low', SECURITY_LEVELS);
  if (o.isolation !== undefined)
    r.isolation = str('argument', `${path}.isolation`, o.isolation, 'none', ISOLATION_LEVELS);
  if (o.specialization !== undefined)
    r.specialization = str('argument', `${path}.specialization`, o.specialization, 'x');
  return r;
}

/** True when `r` names an amount of some resource (what {@link amountsOf} would return non-empty). */
export function hasAmounts(r: Requirements): boolean {
  // Over the object's own keys (none, for most tasks): the numeric fields are exactly the resources.
  for (const k in r) {
    const v = r[k as keyof Requirements];
    if (typeof v === 'number' && v > 0) return true;
  }
  return false;
}

/** Numeric amounts to reserve in the global ledger for a lease with these requirements. */
export function amountsOf(r: Requirements): Partial<Record<ResourceName, number>> {
  const out: Partial<Record<ResourceName, number>> = {};
  for (const k of RESOURCE_NAMES) if (r[k] !== undefined && r[k] > 0) out[k] = r[k];
  return out;
}

/**
 * Why an agent of capacity `cap` in `pool` cannot serve `r` (resources, tools, clearance), or undefined
 * if it can. O(resources + tools).
 */
export function misfit(r: Requirements, cap: AgentCapacity, pool: PoolConfig): AgentPoolError | undefined {
  for (const k of RESOURCE_NAMES) {
    const want = r[k];
    if (want !== undefined && want > cap[k])
      return new ResourceExhaustedError(k, want, cap[k], `per-agent capacity of pool ${pool.type}`);
  }
  if (r.tools) {
    const missing = r.tools.filter((t) => !cap.tools.includes(t));
    if (missing.length > 0) {
      return new ResourceExhaustedError(
        'tools',
        missing.join(','),
        cap.tools.join(',') || 'none',
        `tools of pool ${pool.type}`,
      );
    }
  }
  if (
    r.securityLevel &&
    SECURITY_LEVELS.indexOf(r.securityLevel) > SECURITY_LEVELS.indexOf(cap.securityLevel)
  ) {
    return new ResourceExhaustedError(
      'securityLevel',
      r.securityLevel,
      cap.securityLevel,
      `clearance of pool ${pool.type}`,
    );
  }
  return undefined;
}

/**
 * Why `pool` can never serve `r` — no variant of its agents fits, a global limit is smaller than the
 * request, or the isolation asked for is not what its host gives — or undefined if it can. One check per
 * variant (a pool has a handful), not a scan over agents.
 */
export function neverFits(
  r: Requirements,
  pool: PoolConfig,
  limits: Partial<Record<ResourceName, number>>,
): AgentPoolError | undefined {
  for (const k of RESOURCE_NAMES) {
    const want = r[k];
    const limit = limits[k];
    if (want !== undefined && limit !== undefined && want > limit)
      return new ResourceExhaustedError(k, want, limit, 'global limit');
  }
  let first: AgentPoolError | undefined;
  for (const v of pool.variants) {
    const e = misfit(r, v.capacity, pool);
    if (!e) {
      first = undefined;
      break;
    }
    first ??= e;
  }
  if (first) return first;
  if (r.isolation) {
    // A remote agent's tier is its node's, unknown here: promise none rather than guess.
    const offered: IsolationLevel = pool.host === 'inline' || pool.host === 'remote' ? 'none' : pool.host;
    if (ISOLATION_LEVELS.indexOf(r.isolation) > ISOLATION_LEVELS.indexOf(offered)) {
      return new AgentPoolError(
        'ERR_UNENFORCEABLE',
        `requirements.isolation: pool ${pool.type} runs ${pool.host} agents and cannot enforce ${JSON.stringify(r.isolation)} isolation`,
        { details: { path: 'requirements.isolation', received: r.isolation, offered } },
      );
    }
  }
  return undefined;
}

/** Every tool and specialization some agent of `pool` has (what a submit's `capabilities` may name). */
export function poolOffers(pool: PoolConfig): Set<string> {
  const out = new Set<string>();
  for (const v of pool.variants)
    for (const x of [...v.capacity.tools, ...v.capacity.specializations]) out.add(x);
  return out;
}

/**
 * Validate an optional timeout argument: a duration in ms, > 0 and <= `MAX_DURATION_MS`; throws
 * `ERR_INVALID_ARGUMENT` naming `path` and the value received. When `v` is undefined the `fallback`
 * is returned as it is: it is a config value (e.g. the pool's `acquireTimeoutMs`), already validated
 * at its own path (`pools.<type>.acquireTimeoutMs`) before the system started, so an error here only
 * ever names the argument the caller gave.
 */
export function parseTimeout(v: unknown, path: string, fallback: number): number {
  return duration('argument', path, v, fallback, { positive: true });
}
