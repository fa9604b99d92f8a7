/**
 * Placement of remote agents on cluster nodes (issue 17 item 3), as pure functions: which node an
 * agent of a pool starts on, why no node fits, and which idle agents a scale-down retires first. The
 * cluster link (src/cluster/link.ts) feeds them its view of the nodes; nothing here talks to NATS or
 * keeps state, so the policy is tested on its own (test/cluster-placement.test.ts).
 *
 * A node fits an agent when it is up, serves the pool, carries the pool's `placement.labels`, has an
 * agent slot left (`--capacity`) and — for each resource the node advertises (`--memory-mb`,
 * `--cpus`) — room for the agent's need. A node that advertises no memory (or CPUs) is not limited
 * in it: placement never guesses a machine's size.
 */
import { invalid, knownKeys, record, bool } from '../core/validate.js';

/** The `placement` option of a `host: 'remote'` pool (docs/guides/cluster.md#placement). */
export interface PlacementOptions {
  /**
   * Labels the agent's node must carry (`agentpool node --labels zone=a,gpu=1`): each key with that
   * value, or one of a list of values. A node without the key does not fit.
   * @default {} (any node)
   * @example { zone: 'a', gpu: '1' } or { zone: ['a', 'b'] }
   */
  labels?: Record<string, string | readonly string[]>;
  /**
   * `true`: spread the pool over the nodes — the fitting node with the fewest agents of this pool goes
   * first, then the least loaded (a node's load is its fullest dimension: agent slots, memory, CPUs).
   * `false`: pack — the most loaded fitting node goes first, keeping whole nodes free for big agents.
   * @default true
   */
  spread?: boolean;
}

/** The validated `placement` option. */
export interface PlacementConfig {
  labels: Record<string, readonly string[]>;
  spread: boolean;
}

/** What one agent of a pool needs of its node. */
export interface PlacementNeed {
  pool: string;
  labels: Record<string, readonly string[]>;
  spread: boolean;
  /** MB of memory the agent may use on its node (its heap cap, or `agentResources.memoryMb`). */
  memoryMb: number;
  /** CPU cores it may use (`agentResources.cpuCores`, or the pool's `capacity.cpuCores`). */
  cpuCores: number;
}

/** A node as placement sees it (the coordinator's view of its registration plus its own agents there). */
export interface NodeFit {
  name: string;
  state: 'up' | 'draining';
  /** Pools the node runs (empty: any). */
  pools: readonly string[];
  labels: Readonly<Record<string, string>>;
  /** Agent slots (`--capacity`). */
  capacity: number;
  /** Agents on it now, reservations included. */
  agents: number;
  /** Agents of the pool being placed on it now. */
  poolAgents: number;
  /** Advertised memory (`--memory-mb`); undefined: not limited. */
  memoryMb?: number;
  /** Advertised CPUs (`--cpus`); undefined: not limited. */
  cpus?: number;
  usedMemoryMb: number;
  usedCpus: number;
}

/** Why one node does not fit (the `reasons` of a placement failure). */
export interface Misfit {
  node: string;
  reason: 'draining' | 'pool' | 'labels' | 'full' | 'memory' | 'cpu';
  detail: string;
}

/** The outcome of {@link chooseNode}. */
export type Placement = { node: string; misfits?: undefined } | { node?: undefined; misfits: Misfit[] };

/** Why `n` cannot take one more agent with `need`, or undefined when it can. */
export function misfit(n: NodeFit, need: PlacementNeed): Misfit | undefined {
  const no = (reason: Misfit['reason'], detail: string): Misfit => ({ node: n.name, reason, detail });
  if (n.state !== 'up') return no('draining', 'draining');
  if (n.pools.length > 0 && !n.pools.includes(need.pool)) return no('pool', `runs only ${n.pools.join(',')}`);
  for (const [key, values] of Object.entries(need.labels)) {
    const has = n.labels[key];
    if (has === undefined || !values.includes(has))
      return no('labels', `label ${key}=${has ?? '(none)'}, wanted ${values.join('|')}`);
  }
  if (n.agents >= n.capacity) return no('full', `${n.agents}/${n.capacity} agents`);
  if (n.memoryMb !== undefined && n.usedMemoryMb + need.memoryMb > n.memoryMb)
    return no('memory', `memoryMb ${n.memoryMb - n.usedMemoryMb} free, ${need.memoryMb} needed`);
  if (n.cpus !== undefined && n.usedCpus + need.cpuCores > n.cpus + 1e-9)
    return no('cpu', `cpus ${round(n.cpus - n.usedCpus)} free, ${need.cpuCores} needed`);
  return undefined;
}

/** A node's load: its fullest dimension (agent slots, and memory / CPUs where advertised), 0..1. */
export function nodeLoad(
  n: Pick<NodeFit, 'agents' | 'capacity' | 'memoryMb' | 'cpus' | 'usedMemoryMb' | 'usedCpus'>,
): number {
  let load = n.capacity > 0 ? n.agents / n.capacity : 1;
  if (n.memoryMb !== undefined && n.memoryMb > 0) load = Math.max(load, n.usedMemoryMb / n.memoryMb);
  if (n.cpus !== undefined && n.cpus > 0) load = Math.max(load, n.usedCpus / n.cpus);
  return load;
}

/**
 * The node for one more agent with `need`: among the nodes that fit, spread (fewest agents of the
 * pool, then least loaded) or pack (most loaded); ties by name, so the choice is deterministic. No
 * fitting node: every node's {@link Misfit}.
 */
export function chooseNode(nodes: Iterable<NodeFit>, need: PlacementNeed): Placement {
  let best: NodeFit | undefined;
  let bestKey: [number, number] = [0, 0];
  const misfits: Misfit[] = [];
  for (const n of nodes) {
    const m = misfit(n, need);
    if (m) {
      misfits.push(m);
      continue;
    }
    const load = nodeLoad(n);
    const key: [number, number] = need.spread ? [n.poolAgents, load] : [-load, 0];
    if (
      best === undefined ||
      key[0] < bestKey[0] ||
      (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && n.name < best.name)))
    )
      [best, bestKey] = [n, key];
  }
  return best ? { node: best.name } : { misfits };
}

/** The message of a placement failure: the pool and, per node, why it does not fit. */
export function describeMisfits(pool: string, misfits: readonly Misfit[]): string {
  if (misfits.length === 0) return `no node fits pool ${pool}: no node registered`;
  return `no node fits pool ${pool}: ${misfits.map((m) => `${m.node}: ${m.detail}`).join('; ')}`;
}

/**
 * Order idle agents for a scale-down: the one on the most loaded node first, then the next against
 * the loads as they would be once the first is gone (so retiring two agents from a 3:1 split frees
 * the heavy node twice, not each node once). Agents whose node is unknown keep their order, last.
 */
export function scaleDownOrder<T>(
  agents: readonly T[],
  nodeOf: (agent: T) => string | undefined,
  nodes: ReadonlyMap<string, NodeFit>,
  need: Pick<PlacementNeed, 'memoryMb' | 'cpuCores'>,
): T[] {
  const left = new Map([...nodes].map(([k, n]) => [k, { ...n }]));
  const pending = [...agents];
  const out: T[] = [];
  while (pending.length > 0) {
    let pick = -1;
    let pickKey: [number, number] = [-1, -1];
    for (const [i, a] of pending.entries()) {
      const n = left.get(nodeOf(a) ?? '');
      if (!n) continue;
      const key: [number, number] = [nodeLoad(n), n.poolAgents];
      if (key[0] > pickKey[0] || (key[0] === pickKey[0] && key[1] > pickKey[1])) [pick, pickKey] = [i, key];
    }
    if (pick < 0) return [...out, ...pending];
    const [a] = pending.splice(pick, 1);
    const n = left.get(nodeOf(a!)!)!;
    n.agents--;
    n.poolAgents--;
    n.usedMemoryMb -= need.memoryMb;
    n.usedCpus -= need.cpuCores;
    out.push(a!);
  }
  return out;
}

const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;
const PLACEMENT_KEYS = new Set(['labels', 'spread']);

/** Validate a pool's `placement` option (`path` names it in errors). */
export function parsePlacement(raw: unknown, path: string): PlacementConfig {
  if (raw === undefined) return { labels: {}, spread: true };
  const o = record('config', path, raw);
  knownKeys('config', path, o, PLACEMENT_KEYS);
  const labels: Record<string, readonly string[]> = {};
  if (o.labels !== undefined) {
    const l = record('config', `${path}.labels`, o.labels);
    for (const [k, v] of Object.entries(l)) {
      const p = `${path}.labels.${k}`;
      if (!LABEL.test(k)) invalid('config', p, k, 'a label key of letters, digits, _ . or -');
      const values = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(values) || values.length === 0)
        invalid('config', p, v, 'a label value or a non-empty list of them');
      for (const x of values as unknown[])
        if (typeof x !== 'string' || !LABEL.test(x))
          invalid('config', p, x, 'a label value of letters, digits, _ . or -');
      labels[k] = [...(values as string[])];
    }
  }
  return { labels, spread: bool('config', `${path}.spread`, o.spread, true) };
}

/**
 * Parse `agentpool node --labels zone=a,gpu=1` into `{ zone: 'a', gpu: '1' }`; a bad pair is an
 * `ERR_INVALID_ARGUMENT` naming `--labels`.
 */
export function parseLabelList(text: string, path = '--labels'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const eq = pair.indexOf('=');
    const k = pair.slice(0, eq);
    const v = pair.slice(eq + 1);
    if (eq <= 0 || !LABEL.test(k) || !LABEL.test(v))
      invalid('argument', path, pair, 'key=value pairs of letters, digits, _ . or -, comma-separated');
    out[k] = v;
  }
  return out;
}

/** The structural part of a pool's config placement reads (no import of the runtime's config). */
export interface PlacedPool {
  host: string;
  placement?: PlacementConfig;
  agentResources: { memoryMb?: number; cpuCores?: number };
  variants: readonly { capacity: { memoryMb: number; cpuCores: number } }[];
}

/**
 * What an agent of each remote pool needs of a node: the pool's `agentResources` where given, else
 * the largest variant's `capacity` (memory is also the heap cap the node enforces on the agent).
 */
export function placementNeeds(pools: ReadonlyMap<string, PlacedPool>): Map<string, PlacementNeed> {
  const out = new Map<string, PlacementNeed>();
  for (const [pool, pc] of pools) {
    if (pc.host !== 'remote') continue;
    const p = pc.placement ?? { labels: {}, spread: true };
    out.set(pool, {
      pool,
      labels: p.labels,
      spread: p.spread,
      memoryMb: pc.agentResources.memoryMb ?? Math.max(...pc.variants.map((v) => v.capacity.memoryMb)),
      cpuCores: pc.agentResources.cpuCores ?? Math.max(...pc.variants.map((v) => v.capacity.cpuCores)),
    });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
