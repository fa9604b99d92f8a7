/**
 * The `vm` tier's seam: agentpool ships no virtual machine; a user plugs one in (Firecracker, E2B,
 * Daytona…) by registering a provider that makes a {@link Host} for an agent. With none registered
 * the tier is unavailable and a pool asking for it is `ERR_UNENFORCEABLE` at config time.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Host, HostOptions } from './host.js';

/** A VM provider: makes the host of one agent inside a VM it owns (and removes the VM when the host stops). */
export interface VmProvider {
  /** Start an agent host in a fresh VM; its `stop`/`terminate` must remove the VM. */
  createHost(options: HostOptions): Host;
}

/** Registered providers by name, in registration order (the first one serves `host: 'vm'`). */
export const vmProviders = new Map<string, VmProvider>();

/**
 * Register a VM provider (process-wide); returns the function that unregisters it.
 *
 * @throws {InvalidArgumentError} `name` empty or taken, `provider.createHost` not a function.
 */
export function registerVmProvider(name: string, provider: VmProvider): () => void {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError('name', name, 'a provider name');
  if (vmProviders.has(name)) throw new InvalidArgumentError('name', name, 'a name not registered yet');
  if (typeof provider?.createHost !== 'function')
    throw new InvalidArgumentError('provider.createHost', provider?.createHost, 'a function');
  vmProviders.set(name, provider);
  return () => {
    if (vmProviders.get(name) === provider) vmProviders.delete(name);
  };
}
