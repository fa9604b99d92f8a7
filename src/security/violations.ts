/**
 * Denials seen from the parent. A tool refusal happens here (src/security/tools.ts); a file, process
 * or worker refusal happens inside the isolated agent (Node's permission model throws
 * `ERR_ACCESS_DENIED`) and a network one in its empty network namespace (the connection fails): the
 * parent sees them when the task fails with that error and turns them into a typed
 * `ERR_ACCESS_DENIED` and a security event. An agent that catches such an error itself is still
 * refused — the access did not happen — but the parent cannot see it (docs/guides/security.md).
 */
import type { SerializedError } from '../core/errors.js';

/** What was refused. */
export interface Denial {
  kind: 'file' | 'network' | 'process';
  resource: string;
}

/** Connection errors of a process with no network at all (its own namespace, loopback only). */
const NO_NETWORK = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Is this task failure a refusal by the agent's isolation? `networkCut`: the agent has no network
 * (a sandbox with `network: 'none'`), so any connection failure is the policy at work.
 */
export function classifyDenial(e: SerializedError, networkCut: boolean): Denial | undefined {
  for (let cur: SerializedError | undefined = e, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    if (cur.code === 'ERR_ACCESS_DENIED') {
      // Node's message is generic; serializeError kept its `permission` and `resource` in details.
      const perm = String(cur.details?.permission ?? '');
      const resource = String(cur.details?.resource ?? '');
      const kind = /ChildProcess|WorkerThreads|Addon|Wasi/i.test(perm)
        ? 'process'
        : perm
          ? 'file'
          : guess(cur);
      return { kind, resource: resource || perm || 'unknown' };
    }
    if (networkCut && cur.code && NO_NETWORK.has(cur.code)) {
      const addr = /(?:connect|getaddrinfo) \w+ (\S+)/.exec(cur.message)?.[1] ?? 'unknown';
      return { kind: 'network', resource: addr };
    }
  }
  return undefined;
}

function guess(e: SerializedError): Denial['kind'] {
  return /spawn|exec|fork|Worker/i.test(e.stack ?? e.message) ? 'process' : 'file';
}
