/**
 * Allocation optimisation: how much to grant for a request, given how full each resource is.
 *
 * Per resource, on the utilization *before* the grant (used / global limit):
 * - below `lowUtilization` (60 %): grant up to `growFactor` × the request (1.5×) — spare capacity is
 *   cheap now and saves a resize later — capped by the per-agent max and by what is free;
 * - below `highUtilization` (80 %): grant exactly the request;
 * - at or above it: squeeze to `shrinkFactor` × the request (0.8×) to keep headroom for others, but
 *   never below the per-agent minimum nor the request's own stated minimum, and never above the request.
 *
 * A resource is granted exactly as asked when the caller says so (`exact: true`, or a list of names),
 * when the resource is in {@link AllocationPolicyConfig.exactResources} (tokens by default: a token
 * grant is a spending limit, not a capacity estimate), or when the policy is disabled.
 *
 * Pure: takes a view of the ledger, returns amounts. The allocator feeds the result to the ledger,
 * which does the final fit check.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { bool, invalid, type Kind, knownKeys, num, record, strings } from '../core/validate.js';
import type { ResourceAmounts } from '../structures/ledger.js';

/** Resolved policy configuration. */
export interface AllocationPolicyConfig {
  /** Turn the optimisation off entirely (every grant = request). @default true */
  enabled: boolean;
  /** Below this utilization requests are grown. @default 0.6 */
  lowUtilization: number;
  /** At or above this utilization requests are squeezed. @default 0.8 */
  highUtilization: number;
  /** Most a grant grows a request by, below `lowUtilization`. @default 1.5 */
  growFactor: number;
  /** Least a squeezed grant keeps of the request, from `highUtilization` on. @default 0.8 */
  shrinkFactor: number;
  /** Resources always granted exactly as asked. @default ['tokens'] */
  exactResources: readonly string[];
  /**
   * Grant granularity per resource: grown grants round down and squeezed grants round up to a
   * multiple of it, so nobody gets 818.4 MB. Resources not listed are not rounded.
   * @default { memoryMb: 1, diskMb: 1, tokens: 1, networkMbps: 1, cpuCores: 0.05 }
   */
  step: Readonly<Record<string, number>>;
}

/** User-facing form: every field optional. */
export type AllocationPolicyInput = Partial<AllocationPolicyConfig>;

/** Defaults of every option. */
export const DEFAULT_ALLOCATION_POLICY: Readonly<AllocationPolicyConfig> = Object.freeze({
  enabled: true,
  lowUtilization: 0.6,
  highUtilization: 0.8,
  growFactor: 1.5,
  shrinkFactor: 0.8,
  exactResources: Object.freeze(['tokens']),
  step: Object.freeze({ memoryMb: 1, diskMb: 1, tokens: 1, networkMbps: 1, cpuCores: 0.05 }),
});

const KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_ALLOCATION_POLICY));

/**
 * Validate user input into an {@link AllocationPolicyConfig}.
 *
 * @throws {ConfigError} unknown keys, out-of-range numbers, `lowUtilization > highUtilization`.
 * @example
 * ```ts
 * const policy = resolveAllocationPolicy({ growFactor: 1.25, exactResources: ['tokens', 'gpus'] });
 * ```
 */
export function resolveAllocationPolicy(input: unknown = {}, path = 'allocation'): AllocationPolicyConfig {
  const kind: Kind = 'config';
  const o = record(kind, path, input);
  knownKeys(kind, path, o, KEYS);
  const d = DEFAULT_ALLOCATION_POLICY;
  const lowUtilization = num(kind, `${path}.lowUtilization`, o.lowUtilization, d.lowUtilization, {
    min: 0,
    max: 1,
  });
  const highUtilization = num(kind, `${path}.highUtilization`, o.highUtilization, d.highUtilization, {
    min: 0,
    max: 1,
  });
  if (lowUtilization > highUtilization) {
    invalid(kind, `${path}.lowUtilization`, lowUtilization, `<= highUtilization (${highUtilization})`);
  }
  let step: Record<string, number> = { ...d.step };
  if (o.step !== undefined) {
    const s = record(kind, `${path}.step`, o.step);
    step = {};
    for (const k in s) step[k] = num(kind, `${path}.step.${k}`, s[k], 0, { gt: 0 });
  }
  return {
    enabled: bool(kind, `${path}.enabled`, o.enabled, d.enabled),
    lowUtilization,
    highUtilization,
    growFactor: num(kind, `${path}.growFactor`, o.growFactor, d.growFactor, { min: 1 }),
    shrinkFactor: num(kind, `${path}.shrinkFactor`, o.shrinkFactor, d.shrinkFactor, { gt: 0, max: 1 }),
    exactResources: strings(kind, `${path}.exactResources`, o.exactResources, d.exactResources),
    step,
  };
}

/** What the policy needs to know about the ledger (a {@link Ledger} provides all of it). */
export interface LedgerView {
  /** Current sum of live allocations. */
  usage(): Record<string, number>;
  /** Global totals (`Infinity` = unlimited). */
  limits(): Record<string, number>;
  /** Free now. */
  available(): Record<string, number>;
  /** Per-agent maxima. */
  perAgentMax(): Record<string, number>;
  /** Per-agent minima. */
  perAgentMin(): Record<string, number>;
}

/** A request as the caller states it. */
export interface GrantRequest {
  /** What the caller asks for. */
  requested: ResourceAmounts;
  /** The least the caller can work with, per resource; a squeeze never goes below it. */
  minimum?: ResourceAmounts;
  /** `true`: every resource exactly as asked; a list: those resources exactly. @default false */
  exact?: boolean | readonly string[];
}

/** Which rule decided one resource's grant (for logs and tests). */
export type GrantRule = 'exact' | 'grow' | 'as-requested' | 'squeeze';

/** Result of {@link decideGrant}. */
export interface Grant {
  /** Amounts to reserve. */
  amounts: Record<string, number>;
  /** The rule applied to each requested resource. */
  rules: Record<string, GrantRule>;
}

/** Limits that {@link decideGrant} reads, pre-fetched once per request. */
export interface LedgerNumbers {
  used: Readonly<Record<string, number>>;
  limits: Readonly<Record<string, number>>;
  available: Readonly<Record<string, number>>;
  perAgentMax: Readonly<Record<string, number>>;
  perAgentMin: Readonly<Record<string, number>>;
}

/** Snapshot the numbers of a {@link LedgerView}. */
export function ledgerNumbers(view: LedgerView): LedgerNumbers {
  return {
    used: view.usage(),
    limits: view.limits(),
    available: view.available(),
    perAgentMax: view.perAgentMax(),
    perAgentMin: view.perAgentMin(),
  };
}

function roundTo(x: number, step: number | undefined, mode: 'down' | 'up'): number {
  if (step === undefined) return x;
  const q = x / step;
  // Nudge before rounding so 1.5 × 1000 / 1 does not become 1499 through float error.
  const r = mode === 'down' ? Math.floor(q + 1e-9) : Math.ceil(q - 1e-9);
  return r * step;
}

/**
 * Decide what to grant for `req` on a ledger in state `ledger`. O(requested resources).
 * The result may still not fit (e.g. the request itself is larger than what is free); the ledger
 * then refuses with a reason.
 *
 * @throws {InvalidArgumentError} a stated minimum above the request, or a non-object request.
 * @example
 * ```ts
 * const grant = decideGrant({ requested: { memoryMb: 1024 } }, ledgerNumbers(ledger), policy);
 * ledger.reserve({ owner, amounts: grant.amounts });
 * ```
 */
export function decideGrant(req: GrantRequest, ledger: LedgerNumbers, policy: AllocationPolicyConfig): Grant {
  const requested = record('argument', 'request.requested', req.requested);
  const minimum = req.minimum === undefined ? undefined : record('argument', 'request.minimum', req.minimum);
  const amounts: Record<string, number> = {};
  const rules: Record<string, GrantRule> = {};
  const exactAll = req.exact === true || !policy.enabled;
  const exactList = Array.isArray(req.exact) ? (req.exact as readonly string[]) : undefined;
  for (const k in requested) {
    const want = requested[k];
    // Non-numbers are passed through untouched: the ledger's validator names them precisely.
    if (typeof want !== 'number' || !Number.isFinite(want) || want < 0) {
      amounts[k] = want as number;
      rules[k] = 'exact';
      continue;
    }
    const statedMin = minimum?.[k];
    if (statedMin !== undefined && (typeof statedMin !== 'number' || !(statedMin <= want) || statedMin < 0)) {
      throw new InvalidArgumentError(
        `request.minimum.${k}`,
        statedMin,
        `a number between 0 and the request (${want})`,
      );
    }
    if (exactAll || exactList?.includes(k) || policy.exactResources.includes(k)) {
      amounts[k] = want;
      rules[k] = 'exact';
      continue;
    }
    const limit = ledger.limits[k] ?? Number.POSITIVE_INFINITY;
    const used = ledger.used[k] ?? 0;
    const util = Number.isFinite(limit) && limit > 0 ? used / limit : 0;
    const step = policy.step[k];
    if (util < policy.lowUtilization) {
      const cap = Math.min(
        want * policy.growFactor,
        ledger.perAgentMax[k] ?? Number.POSITIVE_INFINITY,
        ledger.available[k] ?? Number.POSITIVE_INFINITY,
      );
      // Growing is opportunistic: never grant less than asked because of it.
      amounts[k] = Math.max(want, roundTo(cap, step, 'down'));
      rules[k] = amounts[k] > want ? 'grow' : 'as-requested';
    } else if (util < policy.highUtilization) {
      amounts[k] = want;
      rules[k] = 'as-requested';
    } else {
      const floor = Math.max(ledger.perAgentMin[k] ?? 0, statedMin ?? 0);
      amounts[k] = Math.min(want, Math.max(floor, roundTo(want * policy.shrinkFactor, step, 'up')));
      rules[k] = amounts[k] < want ? 'squeeze' : 'as-requested';
    }
  }
  return { amounts, rules };
}

/** Guard used by callers that accept `exact` from users: validates its shape. */
export function validateExact(value: unknown, path = 'exact'): boolean | readonly string[] | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return strings('argument', path, value, []);
}
