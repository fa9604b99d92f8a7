/**
 * The coordinator's side of a cluster: one NATS connection per system, the view of the nodes (a watch
 * on the node bucket) and the loss detector. It owns no agent state — agents, leases and their
 * outcomes stay with the actor tree; the link only carries calls to nodes and declares a node lost
 * when its registration stops being refreshed, which fails that node's {@link RemoteHost}s with
 * `ERR_AGENT_LOST` (the agent machines then restart them elsewhere, as after a local crash).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Clock, TimerHandle } from '../core/clock.js';
import { AgentPoolError } from '../core/errors.js';
import type { ClusterConfig, NodeRecord } from './config.js';
import { subjects } from './config.js';
import { CLUSTER_NAMES, connectFailure, connectOptions } from './auth.js';
import { openBucket } from './node.js';
import {
  chooseNode,
  describeMisfits,
  type NodeFit,
  type PlacementNeed,
  scaleDownOrder,
} from './placement.js';

/** What the link needs of a remote host (the hosts register while they live). */
export interface RemoteEnd {
  readonly node: string | undefined;
  readonly agentId: string;
  readonly pool: string;
  /** The node is gone: fail every call with `ERR_AGENT_LOST`. */
  lose(reason: string): void;
}

interface NodeView {
  record: NodeRecord;
  /** Local time the registration was last seen refreshed. */
  seenAt: number;
}

/** One system's connection to its cluster. */
export class ClusterLink {
  private conn: Promise<{ nc: NatsConnection; kv: KV }> | undefined;
  private readonly nodes = new Map<string, NodeView>();
  private readonly ends = new Set<RemoteEnd>();
  /** Agents placed on a node whose host has not attached yet (between `place()` and `attach()`). */
  private readonly reserving: { node: string; pool: string; need: PlacementNeed }[] = [];
  private timer: TimerHandle | undefined;
  private closed = false;
  private stopWatch: (() => void) | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly config: ClusterConfig,
    private readonly clock: Clock,
    /** Per remote pool, what its agents need of a node (src/cluster/placement.ts `placementNeeds`). */
    private readonly needs: ReadonlyMap<string, PlacementNeed> = new Map(),
  ) {}

  /**
   * Connect (once); rejects `ERR_AGENT_UNAVAILABLE` when no server answers within `requestTimeoutMs`,
   * `ERR_ACCESS_DENIED` naming the option when the server refuses the credentials or certificate.
   */
  ready(): Promise<{ nc: NatsConnection; kv: KV }> {
    if (this.closed)
      return Promise.reject(new AgentPoolError('ERR_SHUTTING_DOWN', 'the cluster link is closed'));
    this.conn ??= this.open();
    return this.conn;
  }

  private async open(): Promise<{ nc: NatsConnection; kv: KV }> {
    const c = this.config;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: c.servers,
        name: `agentpool-coordinator-${c.name}`,
        timeout: c.requestTimeoutMs,
        maxReconnectAttempts: -1,
        ...connectOptions(c.auth),
      });
    } catch (cause) {
      this.conn = undefined; // the next start tries again
      // A refused credential or certificate names the option to fix (ERR_ACCESS_DENIED).
      throw connectFailure(cause, c.servers, c.auth, CLUSTER_NAMES);
    }
    let kv: KV;
    let iter: Awaited<ReturnType<KV['watch']>>;
    try {
      kv = await openBucket(nc, c.name, c.heartbeatMs);
      // The nodes registered now, before the first placement (a watch delivers them asynchronously).
      // Both read through a consumer on the bucket's stream, which the server can refuse for a moment
      // while another coordinator of the same name is creating that stream ("invalid stream", seen in
      // CI with two coordinators starting at once): a few tries, not an error.
      const listed = await retryTransient(async () => {
        const found = new Map<string, NodeRecord>();
        for await (const key of await kv.keys()) {
          const e = await kv.get(key);
          if (e?.operation === 'PUT') found.set(key, e.json<NodeRecord>());
        }
        return found;
      }, this.clock);
      for (const [key, record] of listed) this.nodes.set(key, { record, seenAt: this.clock.now() });
      iter = await retryTransient(() => kv.watch(), this.clock);
    } catch (err) {
      // Nothing half-open stays behind: the next start() connects again.
      this.conn = undefined;
      await nc.close().catch(() => {});
      throw err;
    }
    this.stopWatch = () => iter.stop();
    void (async () => {
      for await (const e of iter) {
        if (e.operation === 'PUT') {
          const record = e.json<NodeRecord>();
          this.nodes.set(e.key, { record, seenAt: this.clock.now() });
          for (const w of [...this.waiters]) w();
        } else {
          this.nodes.delete(e.key);
          this.loseNode(e.key, `node ${e.key} deregistered`);
        }
      }
    })().catch(() => {});
    this.arm();
    return { nc, kv };
  }

  /** The loss detector: every `heartbeatMs`, nodes silent for `lostAfterMs` are lost. */
  private arm(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      for (const [name, v] of this.nodes) {
        if (now - v.seenAt > this.config.lostAfterMs) {
          this.nodes.delete(name);
          this.loseNode(
            name,
            `node ${name} silent for ${now - v.seenAt} ms (lostAfterMs ${this.config.lostAfterMs})`,
          );
        }
      }
      this.arm();
    }, this.config.heartbeatMs);
  }

  /** Fail every remote host on `node`; tell the node (should it come back) to drop those agents. */
  loseNode(node: string, reason: string): void {
    this.nodes.delete(node);
    for (const end of [...this.ends]) if (end.node === node) end.lose(reason);
  }

  /** Nodes alive now (name → last registration). */
  liveNodes(): Map<string, NodeRecord> {
    return new Map([...this.nodes].map(([k, v]) => [k, v.record]));
  }

  /**
   * Pick a node for an agent of `pool` (src/cluster/placement.ts: up, serving the pool, carrying its
   * `placement.labels`, with an agent slot and room for its memory/CPU need; spread or pack). Waits
   * up to `requestTimeoutMs` for one to appear, then rejects `ERR_AGENT_UNAVAILABLE` naming why each
   * node does not fit (`details.misfits`).
   */
  async place(pool: string): Promise<string> {
    await this.ready();
    const need = this.needOf(pool);
    const deadline = this.clock.now() + this.config.requestTimeoutMs;
    for (;;) {
      const chosen = chooseNode(this.fits(pool).values(), need);
      if (chosen.node !== undefined) {
        this.reserving.push({ node: chosen.node, pool, need });
        return chosen.node;
      }
      const left = deadline - this.clock.now();
      if (left <= 0 || this.closed)
        throw new AgentPoolError('ERR_AGENT_UNAVAILABLE', describeMisfits(pool, chosen.misfits), {
          details: { pool, nodes: [...this.nodes.keys()], misfits: chosen.misfits },
        });
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          this.clock.clearTimeout(t);
          resolve();
        };
        const t = this.clock.setTimeout(done, Math.min(left, this.config.heartbeatMs));
        this.waiters.add(done);
      });
    }
  }

  /** What an agent of `pool` needs of its node (the pool's placement; no entry: anything fits). */
  needOf(pool: string): PlacementNeed {
    return this.needs.get(pool) ?? { pool, labels: {}, spread: true, memoryMb: 0, cpuCores: 0 };
  }

  /**
   * Every live node as placement sees it for `pool`. A node's own counts lag a heartbeat behind, so
   * this coordinator's hosts and reservations there count too (the larger of the two views).
   */
  fits(pool: string): Map<string, NodeFit> {
    const out = new Map<string, NodeFit>();
    for (const [name, v] of this.nodes) {
      const r = v.record;
      const mine = { agents: 0, poolAgents: 0, memoryMb: 0, cpus: 0 };
      const add = (p: string, need: PlacementNeed) => {
        mine.agents++;
        if (p === pool) mine.poolAgents++;
        mine.memoryMb += need.memoryMb;
        mine.cpus += need.cpuCores;
      };
      for (const e of this.ends) if (e.node === name) add(e.pool, this.needOf(e.pool));
      const reserved = { agents: 0, poolAgents: 0, memoryMb: 0, cpus: 0 };
      for (const x of this.reserving) {
        if (x.node !== name) continue;
        reserved.agents++;
        if (x.pool === pool) reserved.poolAgents++;
        reserved.memoryMb += x.need.memoryMb;
        reserved.cpus += x.need.cpuCores;
      }
      out.set(name, {
        name,
        state: r.state,
        pools: r.pools,
        labels: r.labels ?? {},
        capacity: r.capacity,
        agents: Math.max(r.agents, mine.agents) + reserved.agents,
        poolAgents: Math.max(r.byPool?.[pool] ?? 0, mine.poolAgents) + reserved.poolAgents,
        ...(r.memoryMb !== undefined ? { memoryMb: r.memoryMb } : {}),
        ...(r.cpus !== undefined ? { cpus: r.cpus } : {}),
        usedMemoryMb: Math.max(r.usedMemoryMb ?? 0, mine.memoryMb) + reserved.memoryMb,
        usedCpus: Math.max(r.usedCpus ?? 0, mine.cpus) + reserved.cpus,
      });
    }
    return out;
  }

  /**
   * Scale-down order of a remote pool's idle agents: the one on the most loaded node first
   * (src/cluster/placement.ts `scaleDownOrder`), so shrinking frees the busiest node.
   */
  scaleDownFirst<T extends { readonly id: string }>(pool: string, agents: readonly T[]): T[] {
    const nodeOf = new Map<string, string | undefined>();
    for (const e of this.ends) nodeOf.set(e.agentId, e.node);
    return scaleDownOrder(agents, (a) => nodeOf.get(a.id), this.fits(pool), this.needOf(pool));
  }

  /** A host placed on `end.node` by {@link place} registers (its reservation becomes a host). */
  attach(end: RemoteEnd): void {
    this.ends.add(end);
    const i = this.reserving.findIndex((x) => x.node === end.node && x.pool === end.pool);
    if (i >= 0) this.reserving.splice(i, 1);
  }

  detach(end: RemoteEnd): void {
    this.ends.delete(end);
  }

  /**
   * Request `op` of `node`; resolves with the node's JSON reply. A node that does not answer ("no
   * responders": its process is gone) is declared lost at once; a timeout rejects the call only.
   */
  async request(
    node: string,
    op: string,
    body: unknown,
    timeoutMs = this.config.requestTimeoutMs,
  ): Promise<unknown> {
    const { nc } = await this.ready();
    try {
      const m = await nc.request(subjects.node(this.config.name, node, op), JSON.stringify(body), {
        timeout: timeoutMs,
      });
      return m.json<unknown>();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (/no responders/i.test(msg) || (err as { name?: string }).name === 'NoRespondersError')
        this.loseNode(node, `node ${node} has no responders`);
      throw err;
    }
  }

  /** Fire-and-forget message to a node (abort, limit, terminate). */
  publish(node: string, op: string, body: unknown): void {
    if (this.closed) return;
    void this.ready()
      .then(({ nc }) => nc.publish(subjects.node(this.config.name, node, op), JSON.stringify(body)))
      .catch(() => {});
  }

  /** Close the connection (after the system's agents stopped). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    for (const w of [...this.waiters]) w();
    const conn = this.conn;
    if (!conn) return;
    const { nc } = await conn.catch(() => ({ nc: undefined }));
    this.stopWatch?.();
    await nc?.drain().catch(() => {});
  }
}

/** Tries of {@link retryTransient}, and the pause before each retry (times the try's number). */
const TRANSIENT_TRIES = 4;
const TRANSIENT_PAUSE_MS = 100;

/**
 * Run `fn`, trying again (up to {@link TRANSIENT_TRIES} times, pausing 100 ms, 200 ms, 300 ms on
 * `clock`) when the JetStream API answers with a server-side failure — the server refusing a request
 * for a moment, as while a stream is being created by another client. Anything else, or the last
 * failure, rejects.
 */
export async function retryTransient<T>(fn: () => Promise<T>, clock: Clock): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= TRANSIENT_TRIES || !isTransientJetStreamError(err)) throw err;
      await new Promise<void>((resolve) => clock.setTimeout(resolve, TRANSIENT_PAUSE_MS * attempt));
    }
  }
}

/**
 * A server-side failure the JetStream API answered with (status ≥ 500, e.g. 10012 "invalid stream"
 * while the stream is being created); a refusal such as a permission error (4xx) is final.
 */
function isTransientJetStreamError(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.status >= 500;
}
