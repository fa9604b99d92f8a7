/**
 * Resource scaler: per-pool quotas of CPU, memory, disk, network (and tokens), grown and shrunk from observed
 * usage within bounds, in steps, with separate up/down cooldowns, and never beyond what is free under
 * the global limit shared by every pool.
 *
 * Pure: {@link decideResourceQuotas} takes the previous state, one observation and `now`, and returns a
 * new state; nothing is mutated, so a caller that rejects the decision simply keeps its old state.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { invalid, type Kind, knownKeys, num, record, reqNum } from '../../core/validate.js';
import { STANDARD_RESOURCES, type StandardResource } from '../../structures/ledger.js';

/**
 * The resources the scaler manages: the ledger's standard ones (the seed's cpu, memory, storage and
 * network are `cpuCores`, `memoryMb`, `diskMb` and `networkMbps`; `tokens` can have a quota too).
 */
export type ResourceName = StandardResource;

/** Every {@link ResourceName}, in the order decisions are made. */
export const RESOURCE_NAMES: readonly ResourceName[] = STANDARD_RESOURCES;

/** Resolved scaling rule of one resource of one pool. */
export interface ResourceScalingConfig {
  /** Smallest quota; always granted (the validator checks the mins fit under the global limit). @default 0 */
  min: number;
  /** Largest quota. */
  max: number;
  /** Quota changes are whole multiples of this (except when clipped by a bound or the global limit). */
  step: number;
  /** Utilization (used / quota) a resize aims for. In (0, 1]. @default 0.7 */
  targetUtilization: number;
  /** Grow when utilization is above this. In [0, 1], > `scaleDownThreshold`. @default 0.85 */
  scaleUpThreshold: number;
  /** Shrink when utilization is below this. In [0, 1]. @default 0.4 */
  scaleDownThreshold: number;
  /** Minimum time between two increases of this quota. @default 0 */
  upCooldownMs: number;
  /**
   * Minimum time after any change of this quota (up or down) before a decrease: shrinking right after a
   * grant would hand back capacity that was just asked for. @default 300000
   */
  downCooldownMs: number;
}

/** User-facing form of {@link ResourceScalingConfig}: `max` and `step` are required. */
export type ResourceScalingConfigInput = Partial<ResourceScalingConfig> &
  Pick<ResourceScalingConfig, 'max' | 'step'>;

/** Resolved configuration of the resource scaler. */
export interface ResourceScalerConfig {
  /** Global limit per resource, shared by every pool. A resource without a limit cannot be scaled. */
  limits: Partial<Record<ResourceName, number>>;
  /** Per pool, the rule of each resource it scales. */
  pools: Record<string, Partial<Record<ResourceName, ResourceScalingConfig>>>;
}

/** User-facing form of {@link ResourceScalerConfig}. */
export interface ResourceScalerConfigInput {
  /** Global limit per resource. */
  limits: Partial<Record<ResourceName, number>>;
  /** Per pool, per resource rules. */
  pools: Record<string, Partial<Record<ResourceName, ResourceScalingConfigInput>>>;
}

/** Defaults of the optional per-resource fields. */
export const DEFAULT_RESOURCE_SCALING: Readonly<Omit<ResourceScalingConfig, 'max' | 'step'>> = Object.freeze({
  min: 0,
  targetUtilization: 0.7,
  scaleUpThreshold: 0.85,
  scaleDownThreshold: 0.4,
  upCooldownMs: 0,
  downCooldownMs: 300_000,
});

const RESOURCE_KEYS: ReadonlySet<string> = new Set(RESOURCE_NAMES);
const RULE_KEYS: ReadonlySet<string> = new Set([...Object.keys(DEFAULT_RESOURCE_SCALING), 'max', 'step']);
const TOP_KEYS: ReadonlySet<string> = new Set(['limits', 'pools']);

function validateRule(kind: Kind, path: string, input: unknown): ResourceScalingConfig {
  const o = record(kind, path, input);
  knownKeys(kind, path, o, RULE_KEYS);
  const p = (k: string) => `${path}.${k}`;
  const d = DEFAULT_RESOURCE_SCALING;
  const ratio = (k: keyof ResourceScalingConfig, fb: number) => num(kind, p(k), o[k], fb, { min: 0, max: 1 });
  const rule: ResourceScalingConfig = {
    min: num(kind, p('min'), o.min, d.min, { min: 0 }),
    max: reqNum(kind, p('max'), o.max, { gt: 0 }),
    step: reqNum(kind, p('step'), o.step, { gt: 0 }),
    targetUtilization: num(kind, p('targetUtilization'), o.targetUtilization, d.targetUtilization, {
      gt: 0,
      max: 1,
    }),
    scaleUpThreshold: ratio('scaleUpThreshold', d.scaleUpThreshold),
    scaleDownThreshold: ratio('scaleDownThreshold', d.scaleDownThreshold),
    upCooldownMs: num(kind, p('upCooldownMs'), o.upCooldownMs, d.upCooldownMs, { min: 0 }),
    downCooldownMs: num(kind, p('downCooldownMs'), o.downCooldownMs, d.downCooldownMs, { min: 0 }),
  };
  if (rule.min > rule.max) invalid(kind, p('min'), rule.min, `a number <= max (${rule.max})`);
  if (rule.scaleUpThreshold <= rule.scaleDownThreshold) {
    invalid(
      kind,
      p('scaleUpThreshold'),
      rule.scaleUpThreshold,
      `a number > scaleDownThreshold (${rule.scaleDownThreshold})`,
    );
  }
  return rule;
}

/**
 * Validate a resource scaler configuration. Throws a {@link ConfigError} naming the option path and
 * the value received: unknown keys, thresholds outside 0..1, up ≤ down, min > max, negative cooldowns,
 * a resource scaled without a global limit, or pool minimums that together exceed the global limit.
 *
 * @param path option path used in error messages.
 * @example
 * ```ts
 * const cfg = validateResourceScalerConfig({
 *   limits: { cpuCores: 32, memoryMb: 65536 },
 *   pools: { code: { cpuCores: { min: 2, max: 16, step: 2 }, memoryMb: { min: 2048, max: 32768, step: 1024 } } },
 * });
 * ```
 */
export function validateResourceScalerConfig(
  input: unknown,
  path = 'resourceScaling',
  kind: Kind = 'config',
): ResourceScalerConfig {
  const o = record(kind, path, input);
  knownKeys(kind, path, o, TOP_KEYS);
  const limitsIn = record(kind, `${path}.limits`, o.limits);
  knownKeys(kind, `${path}.limits`, limitsIn, RESOURCE_KEYS);
  const limits: Partial<Record<ResourceName, number>> = {};
  for (const r of RESOURCE_NAMES) {
    if (limitsIn[r] !== undefined) limits[r] = reqNum(kind, `${path}.limits.${r}`, limitsIn[r], { min: 0 });
  }
  const poolsIn = record(kind, `${path}.pools`, o.pools);
  const pools: ResourceScalerConfig['pools'] = {};
  const minSum: Partial<Record<ResourceName, number>> = {};
  for (const pool of Object.keys(poolsIn)) {
    const pp = `${path}.pools.${pool}`;
    const resIn = record(kind, pp, poolsIn[pool]);
    knownKeys(kind, pp, resIn, RESOURCE_KEYS);
    const rules: Partial<Record<ResourceName, ResourceScalingConfig>> = {};
    for (const r of RESOURCE_NAMES) {
      if (resIn[r] === undefined) continue;
      const rule = validateRule(kind, `${pp}.${r}`, resIn[r]);
      const limit = limits[r];
      if (limit === undefined)
        invalid(kind, `${pp}.${r}`, resIn[r], `a resource with a global limit (limits.${r})`);
      minSum[r] = (minSum[r] ?? 0) + rule.min;
      if ((minSum[r] ?? 0) > limit) {
        invalid(
          kind,
          `${pp}.${r}.min`,
          rule.min,
          `pool minimums of ${r} summing to <= the global limit (${limit})`,
        );
      }
      rules[r] = rule;
    }
    pools[pool] = rules;
  }
  return { limits, pools };
}

/** Quota per resource of one pool (only scaled resources appear). */
export type PoolQuotas = Partial<Record<ResourceName, number>>;

/** Scaler state: the configuration, current quotas and the cooldown clocks. Treat as immutable. */
export interface ResourceScalerState {
  /** The validated configuration the decisions follow. */
  config: ResourceScalerConfig;
  /** Current quota of each scaled resource of each pool. */
  quotas: Record<string, PoolQuotas>;
  /** When each quota last increased (ms); absent = never. */
  lastUpAt: Record<string, Partial<Record<ResourceName, number>>>;
  /** When each quota last changed in either direction (ms); absent = never. */
  lastChangeAt: Record<string, Partial<Record<ResourceName, number>>>;
}

/**
 * The starting state: every quota at its minimum (which the validator guarantees fits globally) and
 * no cooldown running.
 */
export function initialResourceScalerState(config: ResourceScalerConfig): ResourceScalerState {
  const quotas: Record<string, PoolQuotas> = {};
  for (const [pool, rules] of Object.entries(config.pools)) {
    const q: PoolQuotas = {};
    for (const r of RESOURCE_NAMES) {
      const rule = rules[r];
      if (rule) q[r] = rule.min;
    }
    quotas[pool] = q;
  }
  return { config, quotas, lastUpAt: {}, lastChangeAt: {} };
}

/** Observed usage per pool per resource (same units as the quotas). Missing entries mean "no data". */
export type ResourceObservation = Record<string, Partial<Record<ResourceName, number>>>;

/** Why a quota changed. */
export type ResourceDecisionReason =
  'utilization-above-threshold' | 'utilization-below-threshold' | 'below-min' | 'above-max';

/** One quota change. */
export interface ResourceDecision {
  pool: string;
  resource: ResourceName;
  from: number;
  to: number;
  reason: ResourceDecisionReason;
  /** used / from at decision time (Infinity when `from` was 0 and something was used). */
  utilization: number;
  /** True when the global limit granted less than the rule asked for. */
  cappedByGlobalLimit: boolean;
}

/** Result of {@link decideResourceQuotas}. */
export interface ResourceQuotaResult {
  /** The next state (a new object; the input state is untouched). */
  state: ResourceScalerState;
  /** Quotas after the decisions (same as `state.quotas`). */
  quotas: Record<string, PoolQuotas>;
  /** Changes made, downs first (they free capacity for the ups), then ups by decreasing pressure. */
  decisions: ResourceDecision[];
}

function util(used: number, quota: number): number {
  if (quota > 0) return used / quota;
  return used > 0 ? Number.POSITIVE_INFINITY : 0;
}

// Floating-point steps (0.1 + 0.2…) must not leave a quota a hair above max or the limit.
const EPS = 1e-9;

/** The quota a scale-up asks for: enough to bring utilization to target, in whole steps, at least one. */
function upTarget(rule: ResourceScalingConfig, quota: number, used: number): number {
  const want = used / rule.targetUtilization;
  const steps = Math.max(1, Math.ceil((want - quota) / rule.step - EPS));
  return Math.min(rule.max, quota + steps * rule.step);
}

/**
 * The quota a scale-down goes to: toward target in whole steps, at least one, never below min, and
 * never so low that the next evaluation would see utilization above the up threshold (that would flap).
 */
function downTarget(rule: ResourceScalingConfig, quota: number, used: number): number {
  const want = used / rule.targetUtilization;
  let steps = Math.max(1, Math.floor((quota - want) / rule.step + EPS));
  for (; steps > 0; steps--) {
    const to = Math.max(rule.min, quota - steps * rule.step);
    if (util(used, to) <= rule.scaleUpThreshold) return to;
  }
  return quota;
}

interface UpCandidate {
  pool: string;
  resource: ResourceName;
  rule: ResourceScalingConfig;
  quota: number;
  used: number;
  u: number;
}

function validateObservation(config: ResourceScalerConfig, obs: unknown): ResourceObservation {
  const o = record('argument', 'observation', obs);
  for (const pool of Object.keys(o)) {
    if (!(pool in config.pools)) {
      throw new InvalidArgumentError(`observation.${pool}`, o[pool], 'a configured pool');
    }
    const res = record('argument', `observation.${pool}`, o[pool]);
    knownKeys('argument', `observation.${pool}`, res, RESOURCE_KEYS);
    for (const r of Object.keys(res)) {
      if (res[r] !== undefined) reqNum('argument', `observation.${pool}.${r}`, res[r], { min: 0 });
    }
  }
  return o as ResourceObservation;
}

/**
 * Decide the next quotas. Per pool and resource: clamp into [min, max]; shrink when utilization is
 * below the down threshold and the down cooldown (since the last change) has passed; grow when it is
 * above the up threshold and the up cooldown (since the last increase) has passed. Growth is limited to
 * what is free under the global limit after every shrink of this round, and handed out to the most
 * pressed quota first (ties by pool name) so the outcome is deterministic.
 *
 * Throws {@link InvalidArgumentError} for an observation naming an unknown pool or resource or holding
 * a negative/non-finite amount; nothing is returned, and the caller's state is unchanged.
 *
 * @param now current time in ms (the injected clock's, never `Date.now()` here).
 * @example
 * ```ts
 * let state = initialResourceScalerState(cfg);
 * const r = decideResourceQuotas(state, { code: { cpuCores: 3.8 } }, clock.now());
 * state = r.state; // r.decisions: [{ pool: 'code', resource: 'cpuCores', from: 2, to: 6, … }]
 * ```
 */
export function decideResourceQuotas(
  state: ResourceScalerState,
  observation: ResourceObservation,
  now: number,
): ResourceQuotaResult {
  reqNum('argument', 'now', now);
  const config = state.config;
  const obs = validateObservation(config, observation);
  const quotas: Record<string, PoolQuotas> = {};
  const lastUpAt: ResourceScalerState['lastUpAt'] = {};
  const lastChangeAt: ResourceScalerState['lastChangeAt'] = {};
  for (const pool of Object.keys(config.pools)) {
    quotas[pool] = { ...state.quotas[pool] };
    lastUpAt[pool] = { ...state.lastUpAt[pool] };
    lastChangeAt[pool] = { ...state.lastChangeAt[pool] };
  }
  const decisions: ResourceDecision[] = [];
  const ups: UpCandidate[] = [];
  const set = (c: Omit<ResourceDecision, 'cappedByGlobalLimit'>, capped = false) => {
    (quotas[c.pool] as PoolQuotas)[c.resource] = c.to;
    (lastChangeAt[c.pool] as Partial<Record<ResourceName, number>>)[c.resource] = now;
    if (c.to > c.from) (lastUpAt[c.pool] as Partial<Record<ResourceName, number>>)[c.resource] = now;
    decisions.push({ ...c, cappedByGlobalLimit: capped });
  };

  // Pass 1: shrinks and max-clamps (they only free capacity), and collect grow candidates.
  for (const [pool, rules] of Object.entries(config.pools)) {
    for (const resource of RESOURCE_NAMES) {
      const rule = rules[resource];
      if (!rule) continue;
      const quota = quotas[pool]?.[resource] ?? rule.min;
      (quotas[pool] as PoolQuotas)[resource] = quota;
      const used = obs[pool]?.[resource];
      const u = util(used ?? 0, quota);
      if (quota > rule.max) {
        set({ pool, resource, from: quota, to: rule.max, reason: 'above-max', utilization: u });
        continue;
      }
      if (quota < rule.min) {
        ups.push({ pool, resource, rule, quota, used: used ?? 0, u: Number.POSITIVE_INFINITY });
        continue;
      }
      if (used === undefined) continue;
      const sinceChange = now - (lastChangeAt[pool]?.[resource] ?? Number.NEGATIVE_INFINITY);
      const sinceUp = now - (lastUpAt[pool]?.[resource] ?? Number.NEGATIVE_INFINITY);
      if (u < rule.scaleDownThreshold && quota > rule.min && sinceChange >= rule.downCooldownMs) {
        const to = downTarget(rule, quota, used);
        if (to < quota)
          set({ pool, resource, from: quota, to, reason: 'utilization-below-threshold', utilization: u });
      } else if (u > rule.scaleUpThreshold && quota < rule.max && sinceUp >= rule.upCooldownMs) {
        ups.push({ pool, resource, rule, quota, used, u });
      }
    }
  }

  // Pass 2: grows, most pressed first, each limited by what is still free globally.
  const free: Partial<Record<ResourceName, number>> = {};
  for (const r of RESOURCE_NAMES) {
    const limit = config.limits[r];
    if (limit === undefined) continue;
    let sum = 0;
    for (const q of Object.values(quotas)) sum += q[r] ?? 0;
    free[r] = limit - sum;
  }
  ups.sort((a, b) => b.u - a.u || (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
  for (const c of ups) {
    const below = c.quota < c.rule.min;
    const want = below ? c.rule.min : upTarget(c.rule, c.quota, c.used);
    const avail = Math.max(0, free[c.resource] ?? 0);
    const to = Math.min(want, c.quota + avail);
    if (!(to > c.quota + EPS)) continue;
    free[c.resource] = (free[c.resource] ?? 0) - (to - c.quota);
    set(
      {
        pool: c.pool,
        resource: c.resource,
        from: c.quota,
        to,
        reason: below ? 'below-min' : 'utilization-above-threshold',
        utilization: util(c.used, c.quota),
      },
      to < want,
    );
  }
  return { state: { config, quotas, lastUpAt, lastChangeAt }, quotas, decisions };
}
