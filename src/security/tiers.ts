/**
 * Isolation tiers: which exist on this machine, and whether a tier can enforce a profile. Both are
 * asked at config time, so an unavailable tier or a profile a tier cannot hold is `ERR_UNENFORCEABLE`
 * before anything starts, naming the tier and the reason — never a silent downgrade.
 *
 * Availability is probed with real attempts (a `bwrap` run, a container engine's `info`), once per
 * process and cached: they cost milliseconds, and the machine does not change under a running system.
 */
import { execFileSync } from 'node:child_process';
import { AgentPoolError } from '../core/errors.js';
import { vmProviders } from '../hosts/vm-provider.js';
import type { SecurityProfile } from './profile.js';

/** Every isolation tier, weakest first. */
export const TIERS = ['inline', 'thread', 'process', 'sandbox', 'container', 'vm'] as const;
/** An isolation tier (a pool's `host`). */
export type IsolationTier = (typeof TIERS)[number];

/** Whether a tier can run on this machine. */
export interface TierAvailability {
  available: boolean;
  /** Why not (or what it rests on). */
  reason?: string;
}

/** The permission-model flag of this Node (`--permission` from 22.13/23.5, `--experimental-permission` on 20). */
export function permissionFlag(): string | undefined {
  const flags = process.allowedNodeEnvironmentFlags;
  if (flags.has('--permission')) return '--permission';
  if (flags.has('--experimental-permission')) return '--experimental-permission';
  return undefined;
}

let sandboxProbe: TierAvailability | undefined;
let containerProbe: TierAvailability | undefined;

/** A sandbox needs bubblewrap that can really make namespaces here (it cannot in some containers). */
function probeSandbox(): TierAvailability {
  try {
    execFileSync(
      'bwrap',
      ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-net', '--die-with-parent', '--', 'true'],
      { stdio: 'pipe', timeout: 5_000 },
    );
    return { available: true, reason: 'bubblewrap creates mount, PID and network namespaces' };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT')
      return { available: false, reason: 'bubblewrap (bwrap) is not installed (apt-get install bubblewrap)' };
    const why = err.stderr?.toString().trim() || err.message;
    return { available: false, reason: `bubblewrap cannot create namespaces here: ${why}` };
  }
}

/** Is a container engine answering? Even then the tier is not offered: no container host exists yet. */
function probeContainer(): TierAvailability {
  const reasons: string[] = [];
  for (const engine of ['podman', 'docker']) {
    try {
      execFileSync(engine, ['info'], { stdio: 'pipe', timeout: 5_000 });
      return {
        available: false,
        reason: `${engine} answers, but agentpool has no container host yet (use 'sandbox')`,
      };
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
      reasons.push(
        err.code === 'ENOENT'
          ? `${engine} is not installed`
          : `${engine} has no working engine (${(err.stderr?.toString().trim().split('\n')[0] ?? err.message).slice(0, 160)})`,
      );
    }
  }
  return { available: false, reason: reasons.join('; ') };
}

/** Can `tier` run here? Cached per process (the VM answer is not: providers are registered at run time). */
export function tierAvailability(tier: IsolationTier): TierAvailability {
  switch (tier) {
    case 'inline':
    case 'thread':
      return { available: true };
    case 'process': {
      const flag = permissionFlag();
      return flag
        ? { available: true, reason: `child process under Node's permission model (${flag})` }
        : { available: false, reason: `this Node (${process.version}) has no permission model` };
    }
    case 'sandbox': {
      if (!permissionFlag())
        return { available: false, reason: `this Node (${process.version}) has no permission model` };
      return (sandboxProbe ??= probeSandbox());
    }
    case 'container':
      return (containerProbe ??= probeContainer());
    case 'vm': {
      const names = [...vmProviders.keys()];
      return names.length > 0
        ? { available: true, reason: `provider ${names[0]}` }
        : { available: false, reason: 'no VM provider registered (registerVmProvider)' };
    }
  }
}

function unenforceable(tier: IsolationTier, path: string, what: string, reason: string): AgentPoolError {
  return new AgentPoolError(
    'ERR_UNENFORCEABLE',
    `${path}: the ${tier} tier cannot enforce ${what}: ${reason}`,
    {
      details: { path, tier, reason },
    },
  );
}

/**
 * Throw `ERR_UNENFORCEABLE` unless `tier` is available and can hold `profile` (`path`: the pool's
 * option path). What each tier enforces is the table in docs/guides/security.md.
 */
export function checkEnforceable(tier: IsolationTier, profile: SecurityProfile, path: string): void {
  const avail = tierAvailability(tier);
  if (!avail.available) throw unenforceable(tier, `${path}.host`, 'anything', avail.reason ?? 'unavailable');
  const net = profile.network;
  const sharedProcess = tier === 'inline' || tier === 'thread';
  if (sharedProcess && profile.files !== 'full')
    throw unenforceable(
      tier,
      `${path}.security.files`,
      'a file policy',
      "its agents share this process's file access (use host 'process' or 'sandbox', or files: 'full')",
    );
  if (net === 'full') return;
  const what = net === 'none' ? "network: 'none'" : 'a network allowlist';
  if (sharedProcess || tier === 'process')
    throw unenforceable(
      tier,
      `${path}.security.network`,
      what,
      tier === 'process'
        ? "Node's permission model does not restrict sockets (use host 'sandbox', or network: 'full')"
        : "its agents share this process's sockets (use host 'sandbox', or network: 'full')",
    );
  // A sandbox holds 'none' (its own empty network namespace) and an allowlist (that namespace plus
  // the parent's filtering proxy, src/hosts/egress-proxy.ts); container and vm are their providers'.
}
