/**
 * The `cluster` system option: where the NATS servers are and how fast a silent node is declared
 * lost. Parsed at the boundary like every option (typed `ERR_INVALID_CONFIG`, unknown keys refused),
 * so a typo never becomes a system that waits for nodes on the wrong server.
 */
import { duration, invalid, knownKeys, record, str, strings } from '../core/validate.js';
import { AUTH_KEYS, type ClusterAuth, type ClusterAuthOptions, parseAuth } from './auth.js';
import { type DurableConfig, type DurableOptions, parseDurable } from './durable-config.js';

/**
 * Options of a system whose `remote` pools run on agentpool nodes over NATS (docs/guides/cluster.md).
 * Credentials (`user`/`pass`, `token`, `nkeySeed`/`nkeySeedFile`) and `tls` are
 * {@link ClusterAuthOptions}: passed to the NATS client; a refused one fails `ERR_ACCESS_DENIED` naming it.
 */
export interface ClusterOptions extends ClusterAuthOptions {
  /** NATS server URLs, e.g. `'nats://10.0.0.5:4222'`. */
  servers: string | readonly string[];
  /**
   * The system's name: its subjects (`ap.<name>.…`) and its node bucket (`ap_<name>_nodes`). Nodes
   * started with the same `--system` serve it; two systems with different names never see each
   * other's nodes. @default 'default'
   */
  name?: string;
  /** How often nodes refresh their registration (the coordinator checks at this rate too). @default 1000 */
  heartbeatMs?: number;
  /**
   * A node whose registration was not refreshed for this long is lost: its agents' calls reject
   * `ERR_AGENT_LOST`. The bound from the last heartbeat to the rejection is `lostAfterMs + heartbeatMs`.
   * @default 3000
   */
  lostAfterMs?: number;
  /** Deadline of one request to a node (start, run hand-over, ping); also the connect deadline. @default 5000 */
  requestTimeoutMs?: number;
  /**
   * Cluster-wide limits (concurrency keys, budgets, named rate limits; docs/guides/cluster.md): a
   * coordinator that stops refreshing its registration (crash, partition) loses what it claimed this
   * long after its last refresh. @default 10000
   */
  limitTtlMs?: number;
  /**
   * Durable submits: `submit()` stores each task in the JetStream stream `ap_<name>_tasks` before it
   * resolves its enqueue, outcomes go to the KV bucket `ap_<name>_results`, and a coordinator
   * restarted with the same `name` resumes what was left (docs/guides/cluster.md "Durable submits").
   * `false`: submits stay in this process's memory. @default true
   */
  durable?: boolean | DurableOptions;
}

/** The parsed `cluster` option. */
export interface ClusterConfig {
  servers: string[];
  name: string;
  heartbeatMs: number;
  lostAfterMs: number;
  requestTimeoutMs: number;
  /** Credentials and TLS for the NATS client (src/cluster/auth.ts). */
  auth: ClusterAuth;
  limitTtlMs: number;
  /** Undefined when `durable: false`. */
  durable?: DurableConfig;
}

const KEYS = new Set([
  'servers',
  'name',
  'heartbeatMs',
  'lostAfterMs',
  'requestTimeoutMs',
  'limitTtlMs',
  'durable',
  ...AUTH_KEYS,
]);
/** Subject tokens and bucket names allow only these (no `.`, `*`, `>` or spaces). */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Validate the `cluster` option (`path` names it in errors). */
export function parseCluster(raw: unknown, path = 'cluster'): ClusterConfig {
  const o = record('config', path, raw);
  knownKeys('config', path, o, KEYS);
  const servers =
    typeof o.servers === 'string' ? [o.servers] : strings('config', `${path}.servers`, o.servers, []);
  if (servers.length === 0)
    invalid('config', `${path}.servers`, o.servers, 'a NATS URL or a non-empty list of them');
  for (const [i, s] of servers.entries()) {
    if (typeof s !== 'string' || !/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(s))
      invalid('config', `${path}.servers[${i}]`, s, 'a NATS URL (nats://host:port)');
  }
  const name = str('config', `${path}.name`, o.name, 'default');
  if (!NAME.test(name)) invalid('config', `${path}.name`, name, 'a name of letters, digits, - or _');
  const heartbeatMs = duration('config', `${path}.heartbeatMs`, o.heartbeatMs, 1000, { positive: true });
  const lostAfterMs = duration('config', `${path}.lostAfterMs`, o.lostAfterMs, 3000, { positive: true });
  if (lostAfterMs <= heartbeatMs)
    invalid('config', `${path}.lostAfterMs`, lostAfterMs, `a duration > heartbeatMs (${heartbeatMs})`);
  const out: ClusterConfig = {
    servers,
    name,
    heartbeatMs,
    lostAfterMs,
    requestTimeoutMs: duration('config', `${path}.requestTimeoutMs`, o.requestTimeoutMs, 5000, {
      positive: true,
    }),
    auth: parseAuth(o, path),
    limitTtlMs: duration('config', `${path}.limitTtlMs`, o.limitTtlMs, 10_000, { positive: true }),
  };
  // At least a second: the holder refreshes every third of it and the server expires entries by it.
  if (out.limitTtlMs < 1000) invalid('config', `${path}.limitTtlMs`, out.limitTtlMs, 'a duration >= 1000 ms');
  const durable = parseDurable(o.durable, `${path}.durable`);
  if (durable) out.durable = durable;
  return out;
}

/** Subjects and bucket of one system (one place, so node and coordinator cannot disagree). */
export const subjects = {
  /** Requests to one node: `start`, `run`, `abort`, `limit`, `stop`, `terminate`, `ping`. */
  node: (system: string, node: string, op: string) => `ap.${system}.node.${node}.${op}`,
  /** Events of one agent, node → coordinator: `hb`, `progress`, `usage`, `settle`, `outcome`, `exit`. */
  agent: (system: string, agentId: string, op: string) => `ap.${system}.agent.${agentId}.${op}`,
  /** The KV bucket where nodes register (key: node name). */
  bucket: (system: string) => `ap_${system}_nodes`,
};

/** What a node writes in the bucket at every heartbeat. */
export interface NodeRecord {
  name: string;
  /** Pools the node runs (empty: any). */
  pools: string[];
  /** Agents the node hosts at most. */
  capacity: number;
  /** Agents it hosts now. */
  agents: number;
  /** `draining`: it takes no new agents (SIGTERM). */
  state: 'up' | 'draining';
  pid: number;
  /** Inner host kind of its agents (thread, process, sandbox, inline). */
  host: string;
  /** Labels placement matches (`--labels zone=a,gpu=1`); absent on older nodes: none. */
  labels?: Record<string, string>;
  /** Memory it offers its agents (`--memory-mb`); absent: not limited. */
  memoryMb?: number;
  /** CPU cores it offers its agents (`--cpus`); absent: not limited. */
  cpus?: number;
  /** What its agents need, summed (the `need` of their starts). */
  usedMemoryMb?: number;
  usedCpus?: number;
  /** Its agents per pool. */
  byPool?: Record<string, number>;
}

/** Node names: a subject token and a KV key. */
export function checkNodeName(name: string, path: string): string {
  if (!NAME.test(name)) invalid('argument', path, name, 'a name of letters, digits, - or _');
  return name;
}
