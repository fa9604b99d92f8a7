/**
 * Security profiles: what the agents of one pool may do — which tools they may call, which network
 * they may reach, which files they may read and write, how long one isolated environment may live,
 * and what a violation costs. Validated at the boundary like every option (unknown keys, wrong types
 * and impossible combinations are `ERR_INVALID_CONFIG` naming the path), and checked against what the
 * pool's isolation tier can really enforce (src/security/tiers.ts): a profile a tier cannot hold is
 * `ERR_UNENFORCEABLE` at config time, never a silent downgrade.
 */
import { isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import { duration, invalid, knownKeys, num, record, str, strings } from '../core/validate.js';

/** Network an agent's own code may reach (tools run in the parent and are governed by the tool list). */
export type NetworkPolicy = 'none' | 'full' | { allow: string[] };

/** A security profile as the user writes it (`pools.<type>.security`). */
export interface SecurityProfileInput {
  /** A label for logs and the enforcement record. @default the pool's type */
  name?: string;
  /**
   * Tools the agents may call through `ctx.tools.call(name, args)`; anything else is refused with
   * `ERR_TOOL_DENIED` before it runs. Sets `capacity.tools` (giving both, different, is an error).
   * @default []
   */
  tools?: string[];
  /**
   * The agent's own sockets: `'none'`, `'full'`, or `{ allow: ['host:port', …] }` (sandbox: through
   * its filtering proxy, for clients that honour `HTTP(S)_PROXY`). Which a tier
   * enforces: docs/guides/security.md. @default 'none'
   */
  network?: NetworkPolicy;
  /**
   * File access of the agent's own code (besides its module, the runtime and its workspace, always
   * readable; the workspace also writable), or `'full'` for no file restriction (the only value the
   * `thread` and `inline` tiers can honour).
   */
  files?:
    | 'full'
    | {
        /** Absolute paths (files or directories, recursively) the agent may read. @default [] */
        read?: string[];
        /** Absolute paths the agent may write (and read). @default [] */
        write?: string[];
      };
  /** Limits of one agent. Memory and CPU set `capacity.memoryMb` / `capacity.cpuCores`. */
  limits?: {
    /** Heap cap, MB. @default capacity.memoryMb */
    memoryMb?: number;
    /** CPU cores: a scheduling weight, never a hard cap. @default capacity.cpuCores */
    cpuCores?: number;
    /**
     * Longest life of one isolated environment (process, sandbox): after it the agent is drained and
     * replaced, its workspace removed. @default 21_600_000 (6 h)
     */
    maxLifetimeMs?: number;
  };
  /**
   * What a denial costs. Every denial is refused and recorded (event `security.denied`, a counter,
   * a warn log line); after `evictAfter` denials the agent is drained and replaced. 0 never evicts.
   * @default { evictAfter: 0 }
   */
  violations?: { evictAfter?: number };
}

/** A validated profile. `restricted: false` is the profile of a pool that gave none. */
export interface SecurityProfile {
  name: string;
  /** False when the pool has no `security` option: tools as labels, no file or network restriction. */
  restricted: boolean;
  tools: string[];
  network: NetworkPolicy;
  /** `'full'`: no file restriction. */
  files: 'full' | { read: string[]; write: string[] };
  limits: { memoryMb?: number; cpuCores?: number; maxLifetimeMs: number };
  violations: { evictAfter: number };
}

/** Default lifetime of one isolated environment: the seed's 6 hours. */
export const DEFAULT_MAX_LIFETIME_MS = 6 * 60 * 60 * 1000;

const PROFILE_KEYS = new Set(['name', 'tools', 'network', 'files', 'limits', 'violations']);
const FILE_KEYS = new Set(['read', 'write']);
const LIMIT_KEYS = new Set(['memoryMb', 'cpuCores', 'maxLifetimeMs']);
const VIOLATION_KEYS = new Set(['evictAfter']);
const HOST_PORT = /^(\*|[a-z0-9.-]+|\[[0-9a-f:]+\]):(\*|\d{1,5})$/i;

/** The profile of a pool without a `security` option: only its tool list is enforced. */
export function unrestrictedProfile(name: string, tools: readonly string[]): SecurityProfile {
  return {
    name,
    restricted: false,
    tools: [...tools],
    network: 'full',
    files: 'full',
    limits: { maxLifetimeMs: DEFAULT_MAX_LIFETIME_MS },
    violations: { evictAfter: 0 },
  };
}

/** Validate `pools.<type>.security`; `path` is that option's path. */
export function parseSecurityProfile(raw: unknown, path: string, name: string): SecurityProfile {
  const o = record('config', path, raw);
  knownKeys('config', path, o, PROFILE_KEYS);
  const full = o.files === 'full';
  const files = full ? {} : record('config', `${path}.files`, o.files ?? {});
  knownKeys('config', `${path}.files`, files, FILE_KEYS);
  const limits = record('config', `${path}.limits`, o.limits ?? {});
  knownKeys('config', `${path}.limits`, limits, LIMIT_KEYS);
  const violations = record('config', `${path}.violations`, o.violations ?? {});
  knownKeys('config', `${path}.violations`, violations, VIOLATION_KEYS);
  const paths = (key: 'read' | 'write') => {
    const list = strings('config', `${path}.files.${key}`, files[key], []);
    return list.map((p, i) => {
      if (!isAbsolute(p)) invalid('config', `${path}.files.${key}[${i}]`, p, 'an absolute path');
      // The permission model grants a directory with a trailing separator; keep paths normalised.
      return resolve(p);
    });
  };
  const profile: SecurityProfile = {
    name: str('config', `${path}.name`, o.name, name),
    restricted: true,
    tools: strings('config', `${path}.tools`, o.tools, []),
    network: parseNetwork(o.network, `${path}.network`),
    files: full ? 'full' : { read: paths('read'), write: paths('write') },
    limits: {
      maxLifetimeMs: duration(
        'config',
        `${path}.limits.maxLifetimeMs`,
        limits.maxLifetimeMs,
        DEFAULT_MAX_LIFETIME_MS,
        {
          positive: true,
        },
      ),
    },
    violations: {
      evictAfter: num('config', `${path}.violations.evictAfter`, violations.evictAfter, 0, {
        min: 0,
        integer: true,
      }),
    },
  };
  if (limits.memoryMb !== undefined)
    profile.limits.memoryMb = num('config', `${path}.limits.memoryMb`, limits.memoryMb, 0, { gt: 0 });
  if (limits.cpuCores !== undefined)
    profile.limits.cpuCores = num('config', `${path}.limits.cpuCores`, limits.cpuCores, 0, { gt: 0 });
  // A path both readable-only and writable is fine (write implies read); the root is not a profile.
  const f = profile.files;
  for (const key of ['read', 'write'] as const) {
    if (f === 'full') break;
    f[key].forEach((p, i) => {
      if (p === '/')
        invalid(
          'config',
          `${path}.files.${key}[${i}]`,
          p,
          'a path below / (use no profile to allow everything)',
        );
    });
  }
  return profile;
}

function parseNetwork(raw: unknown, path: string): NetworkPolicy {
  if (raw === undefined) return 'none';
  if (raw === 'none' || raw === 'full') return raw;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    invalid('config', path, raw, "'none', 'full' or { allow: ['host:port', …] }");
  const o = raw as Record<string, unknown>;
  knownKeys('config', path, o, new Set(['allow']));
  const allow = strings('config', `${path}.allow`, o.allow, []);
  if (allow.length === 0)
    invalid('config', `${path}.allow`, allow, "at least one 'host:port' (or network: 'none')");
  allow.forEach((hp, i) => {
    const m = HOST_PORT.exec(hp);
    if (!m || (m[2] !== '*' && Number(m[2]) > 65_535))
      invalid('config', `${path}.allow[${i}]`, hp, "'host:port' (host or *, port 1-65535 or *)");
  });
  return { allow };
}

/** The seed's three agent profiles (see {@link tddSecurity}). */
export type TddProfileType = 'design' | 'qa' | 'code';

/**
 * The TDD preset's security profile for one agent type — a preset, never applied because of a pool's
 * name: spread it into a pool's `security` option. `root` is the project the agents work on.
 *
 * - **design**: tools `read`, `write_docs`, `web_fetch`; files read-only on `root`; 1,024 MB, 1 core.
 * - **qa**: tools `read`, `test_execution`, `coverage_analysis`; read `root`, write `root/test`; 2,048 MB, 2 cores.
 * - **code**: tools `read`, `write`, `git`, `test_execution`; read `root`, write `root/src`; 4,096 MB, 2 cores.
 *
 * The seed's "network limited / test-only" is `network: 'none'` for the agent's own code: what it
 * reaches of the network it reaches through its tools (`web_fetch`, `test_execution`, `git`), which
 * run in the parent, are audited and are the only way out. Every tier that enforces files enforces it.
 *
 * @throws {InvalidArgumentError} unknown `type`, or `root` not an absolute path.
 * @example
 * ```ts
 * pools: { code: { agent, host: 'sandbox', security: tddSecurity('code', { root: '/repo' }) } }
 * ```
 */
export function tddSecurity(type: TddProfileType, options: { root: string }): SecurityProfileInput {
  const root = options?.root;
  if (typeof root !== 'string' || !isAbsolute(root))
    throw new InvalidArgumentError('options.root', root, 'an absolute path');
  switch (type) {
    case 'design':
      return {
        name: 'design',
        tools: ['read', 'write_docs', 'web_fetch'],
        network: 'none',
        files: { read: [root] },
        limits: { memoryMb: 1024, cpuCores: 1 },
      };
    case 'qa':
      return {
        name: 'qa',
        tools: ['read', 'test_execution', 'coverage_analysis'],
        network: 'none',
        files: { read: [root], write: [resolve(root, 'test')] },
        limits: { memoryMb: 2048, cpuCores: 2 },
      };
    case 'code':
      return {
        name: 'code',
        tools: ['read', 'write', 'git', 'test_execution'],
        network: 'none',
        files: { read: [root], write: [resolve(root, 'src')] },
        limits: { memoryMb: 4096, cpuCores: 2 },
      };
    default:
      throw new InvalidArgumentError('type', type, 'a TDD profile type (design, qa, code)');
  }
}
