/**
 * The `cluster.durable` option (src/cluster/durable.ts is what it configures), apart so the cluster
 * option's parser needs nothing of the store.
 */
import { duration, invalid, knownKeys, record } from '../core/validate.js';

/** The `cluster.durable` option. `false` turns durable submits off (submits stay in memory). */
export interface DurableOptions {
  /** How long a settled task's outcome stays in the results bucket for `attach()`. @default 86_400_000 (24 h) */
  resultTtlMs?: number;
  /** Deadline of one store write: a submit's PubAck, a result put. @default 5000 */
  writeTimeoutMs?: number;
}

/** The parsed `cluster.durable` option. */
export interface DurableConfig {
  resultTtlMs: number;
  writeTimeoutMs: number;
}

const DURABLE_KEYS = new Set(['resultTtlMs', 'writeTimeoutMs']);

/** Validate `cluster.durable` (on by default in cluster mode). */
export function parseDurable(raw: unknown, path: string): DurableConfig | undefined {
  if (raw === false) return undefined;
  if (raw !== undefined && raw !== true && (raw === null || typeof raw !== 'object' || Array.isArray(raw)))
    invalid('config', path, raw, 'true, false or { resultTtlMs, writeTimeoutMs }');
  const o = raw === undefined || raw === true ? {} : record('config', path, raw);
  knownKeys('config', path, o, DURABLE_KEYS);
  return {
    resultTtlMs: duration('config', `${path}.resultTtlMs`, o.resultTtlMs, 86_400_000, { positive: true }),
    writeTimeoutMs: duration('config', `${path}.writeTimeoutMs`, o.writeTimeoutMs, 5000, { positive: true }),
  };
}
