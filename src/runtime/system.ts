/**
 * The system facade: `createAgentPoolSystem(options)` validates the configuration, builds the pools
 * and the root system actor, and exposes a promise-based API over them.
 *
 * Large because it is the public facade: every public method validates its input at the boundary
 * (typed errors naming the option path) before delegating; the logic lives in the modules it calls.
 *
 * Over 400 lines because it is the public facade: every public method of the system with its argument
 * validation and TSDoc; the actor tree, config, pools and subsystems it wires live in their own modules.
 */
import { type CoordinatorParts, coordinatorParts } from '../cluster/coordinator.js';
import type { DurableTasks } from '../cluster/durable.js';
import type { SharedBudget } from '../cluster/limits-shared.js';
import { placementNeeds } from '../cluster/placement.js';
import { type AttachOptions, localEnqueue, type TaskHandle } from '../cluster/task-handle.js';
import { type OptimizationRecord, type OptimizeOptions, Optimizer } from './optimize.js';
import { STRATEGY_NAMES, type StrategyName } from '../policies/balancing/index.js';
import { Telemetry } from './telemetry.js';
import { PACKAGE_VERSION } from './version.js';
import { type Actor, createActor } from 'xstate';
import type { ScaleRecord } from '../../machines/pool.machine.js';
import { AgentPoolError, InvalidArgumentError, serializeError, UnknownPoolError } from '../core/errors.js';
import { bool, duration, knownKeys, num, record, reqNum, signal as sig, str } from '../core/validate.js';
import { STOP_MARGIN_MS } from '../../machines/agent.machine.js';
import type { Incident, PoolMetricsSample, PoolMetricsSnapshot } from '../metrics/pool-metrics.js';
import { toPrometheus } from '../metrics/prometheus.js';
import { type AnalyseOptions, analysePools, type Recommendation } from '../policies/optimizers.js';
import { TokenBudgets } from '../structures/budget.js';
import type { AgentHandle, AgentSpec } from './agent-handle.js';
import { AllocatorGate, type AllocatorRef } from './allocator-gate.js';
import { type Clock, realClock, type TimerHandle } from '../core/clock.js';
import { parseSystem, type SystemConfig, type SystemOptions } from './config.js';
import { Dispatcher, type DispatcherRef, type DispatcherStats, type SubmitOptions } from './dispatcher.js';
import { KeyGate, type ResourceGate, unlimitedGate } from './gates.js';
import type { Lease } from './lease.js';
import { createLogger, type Logger } from '../core/logger.js';
import { type AcquireRequest, Pool, type PoolRef, type PoolStatus } from './pool.js';
import { Rebalancer, type RebalancerRef, RebalancingGate } from './rebalance.js';
import {
  initialQuotas,
  ResourceScaling,
  type ResourceScalerRef,
  type ResourceScalingView,
} from './resource-scaling.js';
import {
  SYSTEM_EVENT_TYPES,
  type SystemEvent,
  SystemEvents,
  type SystemEventOf,
  type SystemEventType,
} from './events.js';
import { eventLogger, LOGGED_EVENTS } from './event-log.js';
import { indexScheduler } from './scheduler-index.js';
import { childLogic, systemLogic, type TreeRegistry } from './tree.js';
import type { RebalanceOutcome } from '../policies/rebalancing.js';
import { parseRequirements, parseTimeout, type Requirements } from './requirements.js';
import type { PoolName, TaskName, TaskOutput } from './task-types.js';
import type { PoolAgent, PoolsOf, PoolTasks, TypedSubmitOptions, TypedSystemOptions } from './typed.js';
import { parseTools, ToolBroker, type ToolAuditEntry } from '../security/tools.js';
import { cleanLeftoverWorkspaces } from '../hosts/workspace.js';
import { isRefusal, RateLimiter, type RateUsage } from './rate-limits.js';
import type { RateEntry } from '../structures/rate-window.js';

/** Options of {@link AgentPoolSystem.acquire}. */
export interface AcquireOptions {
  /** The cycle (e.g. a TDD story) the agent works for. */
  cycleId: string;
  /** What the agent must offer. @default {} */
  requirements?: Requirements;
  /** First wait; after it the pool scales up by one and waits half as long again. @default pool's acquireTimeoutMs (30 000) */
  timeoutMs?: number;
  /** Cancels the acquisition from any state; nothing stays reserved. */
  signal?: AbortSignal;
  /** At most `concurrencyLimit` leases hold this key at once (e.g. one writer per repository). */
  concurrencyKey?: string;
  /** @default 1 */
  concurrencyLimit?: number;
  /**
   * Lifetime of the lease's resource allocation (leases with `requirements` only): when it passes, the
   * resources go back and the lease ends with `ERR_LEASE_EXPIRED`. @default system `leaseTtlMs` (4 h)
   */
  ttlMs?: number;
}

/** Options of {@link AgentPoolSystem.shutdown}. */
export interface ShutdownOptions {
  /** Drain leases before stopping agents. @default true */
  graceful?: boolean;
  /** How long leases may take to finish. @default options.shutdownDeadlineMs (30 000) */
  deadlineMs?: number;
}

/** A snapshot of the whole system. */
export interface SystemStatus {
  state: string;
  pools: Record<string, PoolStatus>;
  /** The submit path's counters. */
  tasks: DispatcherStats;
  /** Worker threads of this system's agents still running (0 once shutdown() resolved). */
  threads: number;
}

const ACQUIRE_KEYS = new Set([
  'cycleId',
  'requirements',
  'timeoutMs',
  'signal',
  'concurrencyKey',
  'concurrencyLimit',
  'ttlMs',
]);
const SHUTDOWN_KEYS = new Set(['graceful', 'deadlineMs']);
const EXPECT_KEYS: ReadonlySet<string> = new Set(['at', 'tasks']);

/** A {@link KeyGate} that calls `onRelease` after every release of a key. */
class WakingKeyGate extends KeyGate {
  constructor(private readonly onRelease: () => void) {
    super();
  }

  override release(key: string | undefined): void {
    super.release(key);
    if (key !== undefined) this.onRelease();
  }
}

/**
 * A running agentpool: pools of agents, leases, scaling, shutdown.
 *
 * `P` maps each pool type to its agent's task handlers (inferred by {@link createAgentPoolSystem} from
 * the `pools` config, see src/runtime/typed.ts); the default is the wide map (any pool, any task,
 * `unknown` input and result).
 *
 * `await using system = createAgentPoolSystem(…)` shuts the system down (the default graceful
 * shutdown) when the scope ends (its `[Symbol.asyncDispose]` method).
 */
export class AgentPoolSystem<P = PoolTasks> implements AsyncDisposable {
  /** The root actor (inspectable). */
  readonly actor: Actor<ReturnType<typeof systemLogic>>;
  /** Validated configuration. */
  readonly config: SystemConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly pools = new Map<string, Pool>();
  // Keys are shared across pools, so a release must wake the waiters of every pool, not only its own.
  private readonly keys: KeyGate;
  /** The NATS link and cluster-wide limits, in cluster mode (src/cluster/coordinator.ts). */
  private readonly cluster: CoordinatorParts | undefined;
  /** The submit path. */
  readonly dispatcher: Dispatcher;
  /** Durable submits (cluster mode, src/cluster/durable.ts), unless `cluster.durable` is false. */
  private readonly durable: DurableTasks | undefined;

  /** Token budgets (cycle → pool → system), enforced on `ctx.tokens.reserve`. */
  readonly budgets: TokenBudgets;
  /** The allocator actor behind the global limits, when limits are configured. */
  readonly allocator: AllocatorGate | undefined;
  /** The rebalancer (system option `rebalance`), when on and the allocator is the gate. */
  readonly rebalancer: Rebalancer | undefined;
  private rebalancerStarted = false;
  /** The per-pool quota scaler (system option `resourceScaling`), when on and the allocator is the gate. */
  private readonly resourceScaler: ResourceScaling | undefined;
  /** Every agent by id (the agent actors' shared implementations find their handle here). */
  private readonly agentRegistry = new Map<string, AgentHandle>();
  /** Why start() failed (a pool's typed start error), kept for start() to reject with. */
  private startError: unknown;
  /** The shutdown in progress or done: every later call waits for the same one. */
  private stopping: Promise<void> | undefined;
  /** The event hub behind {@link on}. */
  private readonly events: SystemEvents;
  /** Work registered with {@link onShutdown}, run once the system has stopped. */
  private readonly shutdownHooks = new Set<() => Promise<void> | void>();
  /** Rate limiters by pool type (pool option `rateLimit`; pools naming one system entry share it). */
  private readonly rateLimiters = new Map<string, RateLimiter>();
  /** Next metrics collection (see `SystemOptions.metricsIntervalMs`), while running. */
  private metricsTimer: TimerHandle | undefined;
  /** Next optimisation round (system option `optimize`), while running. */
  private optimizeTimer: TimerHandle | undefined;
  /** Optimisation rounds and their history (src/runtime/optimize.ts). */
  private readonly optimizer: Optimizer = new Optimizer({
    metrics: () => this.metrics(),
    now: () => this.clock.now(),
    appliers: {
      scale: async (pool, a) => {
        await this.scalePool(pool, a.target, 'optimizer: recommendation');
      },
      'set-balancing': (pool, a) => this.setBalancing(pool, a.strategy),
    },
  });
  /** OpenTelemetry spans and instruments (no-ops without `@opentelemetry/api`). */
  private readonly telemetry: Telemetry;
  /** Runs agents' tool calls after their profile check (system option `tools`). */
  private readonly tools: ToolBroker;

  /**
   * @param options see {@link SystemOptions}
   * @param gateOverride a custom resource gate instead of the allocator actor (tests, external ledgers)
   */
  constructor(options: SystemOptions, gateOverride?: ResourceGate) {
    this.config = parseSystem(options);
    this.telemetry = new Telemetry(this.config.telemetry);
    this.logger = options.logger ?? createLogger();
    this.events = new SystemEvents(this.logger);
    // Crashes, evictions, OOMs and refusals at warn, scale changes at info (src/runtime/event-log.ts).
    // By type, not '*': a type nobody listens to (task.finished, on every task) is never even built.
    const log = eventLogger(this.logger);
    for (const type of LOGGED_EVENTS) this.events.on(type, log);
    // Incident counters per pool (metrics() `incidents`, Prometheus `agentpool_agent_*_total`).
    for (const [type, kind] of Object.entries(INCIDENT_OF) as [SystemEventType, Incident][])
      this.events.on(type, (e) => this.pools.get(e.pool)?.metrics.recordIncident(kind));
    this.budgets = new TokenBudgets(options.budgets ?? {});
    this.clock = options.clock ?? realClock;
    const wakeKeys = () => {
      for (const p of this.pools.values()) p.wake();
      this.dispatcher?.onFreed();
    };
    const cluster = this.config.cluster;
    this.cluster = cluster
      ? coordinatorParts(cluster, this.clock, this.logger, this, placementNeeds(this.config.pools))
      : undefined;
    this.keys = this.cluster ? this.cluster.keyGate(wakeKeys) : new WakingKeyGate(wakeKeys);
    const rebalance = gateOverride === undefined ? this.config.rebalance : undefined;
    const limited = gateOverride === undefined && Object.keys(this.config.limits).length > 0;
    const quotaScaling = limited ? this.config.resourceScaling : undefined;
    // The one actor tree (src/runtime/tree.ts): the root spawns every pool, the dispatcher and the
    // allocator now, and the rebalancer while running; pools spawn their agents, acquisitions, scaler.
    const registry: TreeRegistry = {
      pool: (type) => this.pools.get(type),
      agent: (id) => this.agentRegistry.get(id),
      dispatcher: () => this.dispatcher,
      rebalancer: () => this.rebalancer,
      resourceScaling: () => this.resourceScaler,
      resize: (allocationId, change) => {
        if (!this.allocator) throw new Error('no global limits: nothing to resize');
        return this.allocator.resizeTo(allocationId, change);
      },
      logger: this.logger,
    };
    const machine = systemLogic(registry, {
      startPools: async () => {
        const results = await Promise.allSettled([...this.pools.values()].map((p) => p.start()));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) {
          this.startError = failed.reason;
          throw failed.reason;
        }
      },
      drainPools: async () => {
        // Queued tasks are rejected now; running ones hold leases, which the pools' drain waits for.
        void this.dispatcher.drain();
        for (const p of this.pools.values()) p.drain();
        // Each pool stops by itself once drained; the system machine's deadline bounds the wait.
        await Promise.all([...this.pools.values()].map((p) => p.whenStopped()));
      },
      stopPools: async (graceful) => {
        void this.dispatcher.drain();
        await Promise.all([...this.pools.values()].map((p) => p.stop(graceful)));
        // Every lease is back: the allocator closes (its `closing` → `closed` path).
        this.allocator?.close();
      },
    });
    // Beyond the pools' own bounded stops (abort grace + margins), a backstop that should never fire.
    let abortGrace = 0;
    for (const pc of this.config.pools.values()) abortGrace = Math.max(abortGrace, pc.timings.abortGraceMs);
    this.actor = createActor(machine, {
      input: {
        stopTimeoutMs: abortGrace + 5 * STOP_MARGIN_MS,
        pools: [...this.config.pools.values()].map((pc) => Pool.input(pc)),
        ...(limited
          ? {
              allocator: AllocatorGate.input(
                this.config.limits,
                this.config.allocation,
                quotaScaling ? initialQuotas(quotaScaling) : undefined,
              ),
            }
          : {}),
        ...(limited && rebalance ? { rebalancer: Rebalancer.input(rebalance) } : {}),
        ...(limited && quotaScaling ? { resourceScaler: ResourceScaling.input(quotaScaling) } : {}),
      },
      clock: this.clock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    // One tree, one scheduler: stopping an actor must not walk every timer of the system.
    indexScheduler(this.actor.system);
    this.actor.subscribe({ error: (err) => this.logger.error({ err }, 'system actor error') });
    this.actor.start();
    const children = this.actor.getSnapshot().children;
    const allocatorRef = children.allocator as AllocatorRef | undefined;
    this.allocator = allocatorRef
      ? rebalance
        ? new RebalancingGate(allocatorRef)
        : new AllocatorGate(allocatorRef)
      : undefined;
    this.rebalancer =
      rebalance && this.allocator instanceof RebalancingGate
        ? new Rebalancer(this.allocator, this.logger, (lease, delta) =>
            this.pool(lease.type).resizeAllocation(lease.allocation?.id ?? '', delta),
          )
        : undefined;
    this.resourceScaler =
      quotaScaling && this.allocator
        ? new ResourceScaling(quotaScaling, this.allocator, this.clock)
        : undefined;
    const gate: ResourceGate = gateOverride ?? this.allocator ?? unlimitedGate;
    // Workspaces a dead process left behind (it could not clean up after itself) go first.
    if (options.workspaceDir !== undefined && typeof options.workspaceDir !== 'string')
      throw new InvalidArgumentError('workspaceDir', options.workspaceDir, 'a directory path');
    if ([...this.config.pools.values()].some((pc) => pc.host === 'process' || pc.host === 'sandbox'))
      cleanLeftoverWorkspaces(options.workspaceDir);
    this.tools = new ToolBroker(parseTools(options.tools), this.clock, {
      onDenied: (caller, tool, error) =>
        this.agentRegistry.get(caller.agentId)?.recordDenial({
          kind: 'tool',
          resource: tool,
          error: error.message,
          leaseId: caller.leaseId,
          cycleId: caller.cycleId,
        }),
    });
    // Rate limits: one limiter per named system entry (shared by the pools naming it), one per pool
    // with its own. A limiter wakes the dispatcher when a request may start again.
    const named = new Map<string, RateLimiter>();
    const wake = () => this.dispatcher.onFreed();
    for (const [name, rc] of this.config.rateLimits)
      named.set(
        name,
        this.cluster?.rateLimiter(name, rc, wake) ?? new RateLimiter(name, rc, this.clock, wake),
      );
    for (const [type, pc] of this.config.pools) {
      const rl = pc.rateLimit;
      if (rl === undefined) continue;
      this.rateLimiters.set(
        type,
        typeof rl === 'string' ? named.get(rl)! : new RateLimiter(`pools.${type}`, rl, this.clock, wake),
      );
    }
    // Durable submits (cluster option): the task store of the coordinator's parts (closed, outcome
    // writes first, once its agents stopped).
    this.durable = this.cluster?.durable;
    const agentHooks = {
      ...tokenHooks(this.budgets, this.events, this.rateLimiters, this.cluster?.budget(this.budgets)),
      callTool: toolHook(this.tools, this.config),
      // Remote agents (cluster option): one NATS link per system, closed once its agents stopped.
      ...(this.cluster ? { remote: this.cluster.link } : {}),
    };
    const childrenLogic = childLogic(registry);
    for (const [type, pc] of this.config.pools) {
      const ref = children[`pool:${type}`] as PoolRef;
      this.pools.set(
        type,
        new Pool(
          pc,
          {
            clock: this.clock,
            logger: this.logger,
            keys: this.keys,
            gate,
            agentHooks,
            ...(options.workspaceDir !== undefined ? { workspaceBase: options.workspaceDir } : {}),
            agents: this.agentRegistry,
            limits: this.config.limits,
            leaseTtlMs: this.config.leaseTtlMs,
            logic: childrenLogic,
            events: this.events,
            telemetry: this.telemetry,
            onFreed: () => this.dispatcher.onFreed(),
          },
          ref,
        ),
      );
    }
    this.dispatcher = new Dispatcher(
      this.pools,
      this.clock,
      this.config.limits,
      children.dispatcher as DispatcherRef,
      this.rateLimiters,
    );
    this.onShutdown(() => {
      for (const l of new Set(this.rateLimiters.values())) l.close();
    });
  }

  /**
   * The last 1,000 tool calls agents made with `ctx.tools.call`, oldest first: agent, lease, cycle,
   * tool, outcome (`ok`, `error`, `denied` before it ran, `invalid` arguments) and duration.
   */
  toolAudit(): ToolAuditEntry[] {
    return this.tools.audit();
  }

  /** Tool calls per tool and outcome since the system was created: `{ git: { ok: 3, denied: 1 } }`. */
  toolCounters(): ReturnType<ToolBroker['counters']> {
    return this.tools.counters();
  }

  /** The system machine's state. */
  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  /**
   * Start every pool (each brought to its `min`). Resolves when the system is running. Rejects when a
   * pool's agents cannot start — `ERR_AGENT_MODULE` (the module cannot be loaded: syntax error, no
   * `defineAgent()` default export, throws on import) or `ERR_AGENT_START_FAILED` (setup threw, start
   * timed out), with the module path in `details` and the original error as `cause` — after stopping
   * whatever had started; and with `ERR_SHUTTING_DOWN` for a system that was shut down (create a new one).
   * In cluster mode it then resumes the tasks a previous coordinator of the same `cluster.name` left
   * in the task stream (docs/guides/cluster.md "Durable submits"); when the store cannot be reached it
   * rejects `ERR_STORE_UNAVAILABLE` with the system running, and a later `start()` resumes.
   */
  async start(): Promise<void> {
    const before = this.state;
    if (before === 'starting') await this.until((s) => s !== 'starting');
    if (before === 'running' || (before === 'starting' && this.state === 'running')) return;
    if (before !== 'idle' && before !== 'starting') {
      throw new AgentPoolError(
        'ERR_SHUTTING_DOWN',
        `system is ${before}: a system that was shut down cannot start again; create a new one`,
        { details: { state: before } },
      );
    }
    if (before === 'idle') {
      this.actor.send({ type: 'START' });
      // Right after START spawned the first agents (their threads boot meanwhile; loading the OTel API
      // before them delayed every start by its ~7 ms, cold), and in the same synchronous turn, so no
      // agent is up, and no task runs, before spans and instruments exist.
      this.telemetry.init(() => this.metrics(), PACKAGE_VERSION);
      await this.until((s) => s === 'running' || s === 'stopped');
    }
    // Rounds begin once the pools are up (and only once, whatever start() is called again): the
    // system actor spawned the rebalancer on entering `running`.
    if (this.state === 'running' && !this.rebalancerStarted) {
      this.rebalancerStarted = true;
      const ref = this.actor.getSnapshot().children.rebalancer as RebalancerRef | undefined;
      if (ref) this.rebalancer?.attach(ref);
      const quotas = this.actor.getSnapshot().children.resourceScaler as ResourceScalerRef | undefined;
      if (quotas) this.resourceScaler?.attach(quotas);
      this.scheduleMetrics();
      this.scheduleOptimize();
    }
    if (this.state !== 'running') {
      if (this.startError instanceof Error) throw this.startError;
      throw new AgentPoolError(
        'ERR_SHUTTING_DOWN',
        `system failed to start: ${this.actor.getSnapshot().context.error ?? 'shut down while starting'}`,
      );
    }
    // Cluster mode: what a previous coordinator of this name left in the task stream runs again.
    await this.durable?.resume();
  }

  /** A pool by type; throws `ERR_UNKNOWN_POOL`. */
  pool(type: string): Pool {
    const p = this.pools.get(type);
    if (!p) throw new UnknownPoolError(type, [...this.pools.keys()]);
    return p;
  }

  /**
   * What each rate limit holds now, by limiter name (`pools.<type>` for a pool's own, the entry's
   * name for a shared one): requests in the current spacing window, tokens reserved in the last
   * minute, reservations waiting. All 0 once a minute passed with nothing running.
   */
  rateUsage(): Record<string, RateUsage> {
    const out: Record<string, RateUsage> = {};
    for (const l of new Set(this.rateLimiters.values())) out[l.name] = l.usage();
    return out;
  }

  /** Pool types. */
  poolTypes(): string[] {
    return [...this.pools.keys()];
  }

  /**
   * Acquire an agent of `type` for a cycle. Resolves with a {@link Lease}; rejects with
   * `ERR_RESOURCE_EXHAUSTED` (can never fit, names the resource), `ERR_POOL_EXHAUSTED` (timed out,
   * scaled up, retried), `ERR_ABORTED`, `ERR_SHUTTING_DOWN`, `ERR_UNKNOWN_POOL` or `ERR_INVALID_ARGUMENT`.
   *
   * @example
   * ```ts
   * const lease = await system.acquire('code', { cycleId: 'story-42', requirements: { memoryMb: 512 }, timeoutMs: 30_000 });
   * try { await lease.run('implement', { story }); } finally { await lease.release(); }
   * ```
   */
  acquire<T extends PoolName<P>>(type: T, options: AcquireOptions): Promise<Lease<P[T]>>;
  acquire(type: string, options: AcquireOptions): Promise<Lease> {
    let pool: Pool;
    let req: AcquireRequest;
    try {
      pool = this.pool(type);
      req = this.parseAcquire(pool, options);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.state !== 'running') {
      return Promise.reject(new AgentPoolError('ERR_SHUTTING_DOWN', `system is ${this.state}, not running`));
    }
    // A request that can never fit is rejected by the pool's acquisition chart (its never-fits branch).
    const rebalancer = this.rebalancer;
    // A span only when one is recorded: otherwise the lease reaches the caller as before, with no
    // extra promise turn in between.
    const span = this.telemetry.enabled
      ? this.telemetry.start(`acquire ${type}`, () => ({
          'agentpool.pool': type,
          'gen_ai.conversation.id': req.cycleId,
        }))
      : undefined;
    if (!rebalancer && !span?.recording) return pool.acquire(req);
    const startedAt = this.clock.now();
    return pool.acquire(req).then(
      (lease) => {
        rebalancer?.track(lease);
        if (span?.recording) {
          span.set('agentpool.wait_ms', this.clock.now() - startedAt);
          span.set('gen_ai.agent.id', lease.agentId);
          span.end('granted');
        }
        return lease;
      },
      (err: unknown) => {
        span?.end((err as { code?: string })?.code === 'ERR_ABORTED' ? 'cancelled' : 'rejected', err);
        throw err;
      },
    );
  }

  private parseAcquire(pool: Pool, raw: unknown): AcquireRequest {
    const o = record('argument', 'options', raw);
    knownKeys('argument', 'options', o, ACQUIRE_KEYS);
    const cycleId = str('argument', 'options.cycleId', o.cycleId, '' as string);
    if (cycleId === '')
      throw new AgentPoolError(
        'ERR_INVALID_ARGUMENT',
        'options.cycleId: expected a non-empty string, received undefined',
        { details: { path: 'options.cycleId' } },
      );
    const key =
      o.concurrencyKey === undefined
        ? undefined
        : str('argument', 'options.concurrencyKey', o.concurrencyKey, 'k');
    return {
      cycleId,
      requirements: parseRequirements(
        o.requirements,
        'options.requirements',
        pool.config.requirementDefaults,
      ),
      timeoutMs: parseTimeout(o.timeoutMs, 'options.timeoutMs', pool.config.acquireTimeoutMs),
      signal: sig('argument', 'options.signal', o.signal),
      concurrencyKey: key,
      concurrencyLimit: num('argument', 'options.concurrencyLimit', o.concurrencyLimit, 1, {
        min: 1,
        integer: true,
      }),
      ...(o.ttlMs !== undefined
        ? { ttlMs: duration('argument', 'options.ttlMs', o.ttlMs, 0, { positive: true }) }
        : {}),
    };
  }

  /**
   * Submit a task and get its result: queued by priority (then deadline, then FIFO), placed on a free
   * agent of `type`, re-queued if its agent dies (up to `maxAttempts`).
   *
   * @example
   * ```ts
   * const report = await system.submit({ type: 'qa', task: 'runTests', input, priority: 'high' });
   * ```
   * With a typed config the result type is the handler's (awaited) return type, and a wrong pool,
   * task or input type does not compile (src/runtime/typed.ts).
   */
  submit<T extends PoolName<P>, K extends TaskName<P[T]>>(
    options: TypedSubmitOptions<P, T, K>,
  ): Promise<TaskOutput<P[T], K>>;
  submit(options: SubmitOptions): Promise<unknown> {
    if (this.state !== 'running') {
      return Promise.reject(new AgentPoolError('ERR_SHUTTING_DOWN', `system is ${this.state}, not running`));
    }
    const tel = this.telemetry;
    if (!tel.enabled) return this.submitTo(options);
    const o = options as { type?: unknown; task?: unknown };
    const span = tel.start(`submit ${String(o?.task)}`, () => ({
      'agentpool.pool': String(o?.type),
      'agentpool.task': String(o?.task),
    }));
    if (!span.recording) return this.submitTo(options);
    // The task's runs are children of this span, wherever the dispatcher starts them.
    return this.submitTo(options, span.context).then(
      (v) => {
        span.end('succeeded');
        return v;
      },
      (err: unknown) => {
        span.end('failed', err);
        throw err;
      },
    );
  }

  private submitTo(options: SubmitOptions, trace?: unknown): Promise<unknown> {
    if (this.durable) return this.durable.submit(options, trace);
    if ((options as { taskId?: unknown } | undefined)?.taskId === undefined)
      return this.dispatcher.submit(options, trace);
    try {
      return localEnqueue(this.dispatcher, options, trace).result;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Submit a task and learn its id as soon as it is accepted: resolves with a {@link TaskHandle}
   * (`id`, `durable`, `deduplicated`, `result`) — in cluster mode once the JetStream server
   * acknowledged the stored task (a coordinator restart then resumes it), else once it is queued
   * here. Rejects, with nothing stored or queued, on what `submit()` rejects at once, on input that
   * is not JSON data (cluster mode, `ERR_INVALID_ARGUMENT` naming the path) and with
   * `ERR_STORE_UNAVAILABLE` when the store does not acknowledge within `cluster.durable.writeTimeoutMs`.
   *
   * @example
   * ```ts
   * const { id } = await system.enqueue({ type: 'qa', task: 'runTests', input, taskId: 'pr-81-tests' });
   * // … after a coordinator restart:
   * const report = await system.attach(id, { timeoutMs: 600_000 });
   * ```
   */
  enqueue<T extends PoolName<P>, K extends TaskName<P[T]>>(
    options: TypedSubmitOptions<P, T, K>,
  ): Promise<TaskHandle<TaskOutput<P[T], K>>>;
  enqueue(options: SubmitOptions): Promise<TaskHandle> {
    if (this.state !== 'running') {
      return Promise.reject(new AgentPoolError('ERR_SHUTTING_DOWN', `system is ${this.state}, not running`));
    }
    if (this.durable) return this.durable.enqueue(options);
    try {
      return Promise.resolve(localEnqueue(this.dispatcher, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Re-attach to a task by id (from {@link enqueue}, or `taskId`): resolves or rejects as its
   * `submit()` would — from its run here (submitted, or resumed by `start()` after a coordinator
   * restart), or from the results bucket when it settled meanwhile (its JSON form). Cluster mode
   * only; the wait ends with `ERR_DEADLINE_EXCEEDED` after `timeoutMs` (default 1 h) or `ERR_ABORTED`
   * on `signal` — the task itself is not cancelled. `ERR_TASK_NOT_FOUND` for an id no one knows
   * (never submitted, its outcome older than `cluster.durable.resultTtlMs`, or no durable store).
   *
   * @example
   * ```ts
   * const result = await system.attach('pr-81-tests', { timeoutMs: 60_000 });
   * ```
   */
  attach(taskId: string, options?: AttachOptions): Promise<unknown> {
    if (!this.durable)
      return Promise.reject(
        new AgentPoolError(
          'ERR_TASK_NOT_FOUND',
          `no task ${String(taskId)}: attach() finds durable tasks only (the cluster option with durable submits)`,
          { details: { taskId } },
        ),
      );
    return this.durable.attach(taskId, options);
  }

  /**
   * Scale a pool to `target` agents (clamped to [min, max]); resolves once the pool has applied it, with
   * the decision record (`current, target, delta, actualDelta, reason, status, error?, at`), or
   * undefined when the size already matches. Decisions that arrive while the pool is scaling are queued
   * and the latest wins, so a superseded call resolves with the record that was applied in its place;
   * a higher target during a scale-up extends the running record instead (reasons joined with `; `).
   *
   * @example
   * ```ts
   * const r = await system.scalePool('code', 5, 'sprint planning');
   * if (r?.status === 'partial') console.warn(r.error); // e.g. "1 of 3 agents failed to start"
   * ```
   */
  scalePool(type: string, target: number, reason = 'manual'): Promise<ScaleRecord | undefined> {
    try {
      const pool = this.pool(type);
      num('argument', 'target', target, 0, { min: 0, integer: true });
      // An explicit request: the one SCALE_TO a pool that gave up starting agents takes (a retry).
      return pool.scaleTo(target, reason, true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Announce a known upcoming burst (a sprint start, a nightly batch): `tasks` tasks of `type` arriving
   * at `at` (ms on the system's clock). The pool's scaler sizes for them from `at − forecastHorizonMs`
   * on, so agents are ready when the burst lands, then the reactive rules take over.
   * Throws `ERR_INVALID_ARGUMENT` for a bad `at`/`tasks` or a pool without `autoscale`, `ERR_UNKNOWN_POOL`.
   * Shown by test/runtime/expect-burst.test.ts.
   *
   * @example
   * ```ts
   * system.expect('code', { at: clock.now() + 10 * 60_000, tasks: 12 });
   * ```
   */
  expect(type: string, burst: { at: number; tasks: number }): void {
    const pool = this.pool(type);
    const b = record('argument', 'burst', burst);
    knownKeys('argument', 'burst', b, EXPECT_KEYS);
    const at = reqNum('argument', 'burst.at', b.at, { min: 0 });
    const tasks = reqNum('argument', 'burst.tasks', b.tasks, { integer: true, min: 1, max: 1_000_000 });
    if (!pool.expect(at, tasks)) throw new InvalidArgumentError('type', type, 'an autoscaled pool');
  }

  /** A snapshot of every pool. */
  status(): SystemStatus {
    const pools: Record<string, PoolStatus> = {};
    for (const [t, p] of this.pools) pools[t] = p.status();
    let threads = 0;
    for (const p of this.pools.values()) threads += p.liveThreads();
    return { state: this.state, pools, tasks: this.dispatcher.snapshot(), threads };
  }

  /** Metrics of every pool (src/metrics/pool-metrics.ts). */
  metrics(): PoolMetricsSnapshot[] {
    return [...this.pools.values()].map((p) => p.metricsSnapshot());
  }

  /**
   * What the optimisers see in the current metrics: high waits, low utilization, waste, poor throughput,
   * imbalance… each with evidence, a recommended action and its expected impact (src/policies/optimizers.ts).
   * Nothing is applied here; pass the result to `applyRecommendations` with the kinds you allow.
   */
  recommendations(options?: AnalyseOptions): Recommendation[] {
    return analysePools(this.metrics(), options);
  }

  /**
   * One optimisation round: analyse the live metrics and apply the recommendations whose kind is in
   * `auto` through the system's own actions — `scale` (`scalePool`), `set-balancing` (`setBalancing`);
   * kinds without a runtime action are recorded as skipped. Partial success: a failing action is
   * recorded and the round goes on. Each round is kept with every pool's figures before it and after
   * it (read at the next round): `optimizationHistory()`. System option `optimize` runs rounds on the
   * clock. — test/runtime/optimize.test.ts
   *
   * @example
   * ```ts
   * const r = await system.optimize({ auto: ['high-wait', 'task-imbalance'] });
   * r.applied.map((x) => x.action); // e.g. [{ type: 'scale', target: 5 }]
   * ```
   */
  optimize(options: OptimizeOptions = {}): Promise<OptimizationRecord> {
    return this.optimizer.round(options);
  }

  /** Optimisation rounds so far, oldest first (at most 100). */
  optimizationHistory(): readonly OptimizationRecord[] {
    return this.optimizer.history();
  }

  /**
   * Replace a pool's balancing strategy at run time (`undefined`: idle-longest-first). The new strategy
   * starts with no history. Throws `ERR_INVALID_ARGUMENT` for an unknown strategy name.
   */
  setBalancing(type: string, strategy: StrategyName | undefined): void {
    const pool = this.pool(type);
    if (strategy !== undefined && !(STRATEGY_NAMES as readonly string[]).includes(strategy))
      throw new InvalidArgumentError('strategy', strategy, `one of ${STRATEGY_NAMES.join(', ')}`);
    pool.setBalancing(strategy);
  }

  /**
   * One pool's metrics intervals, oldest first: per `metricsIntervalMs`, requests, completions,
   * outcomes, wait and service percentiles, agent counts, utilization (a bounded ring, a day of
   * 1-minute samples by default). Empty when `metricsIntervalMs` is 0.
   *
   * @example
   * ```ts
   * const lastHour = system.metricsHistory('code').slice(-60).map((s) => s.wait.p99);
   * ```
   */
  metricsHistory(type: string): PoolMetricsSample[] {
    return this.pool(type).metricsHistory();
  }

  private scheduleOptimize(): void {
    const o = this.config.optimize;
    if (!o || this.state !== 'running') return;
    this.optimizeTimer = this.clock.setTimeout(() => {
      this.optimizeTimer = undefined;
      if (this.state !== 'running') return;
      void this.optimizer
        .round({ auto: o.auto, ...(o.analyse ? { analyse: o.analyse } : {}) })
        .catch((err: unknown) => this.logger.warn({ err }, 'optimisation round failed'))
        .finally(() => this.scheduleOptimize());
    }, o.intervalMs);
  }

  private scheduleMetrics(): void {
    const every = this.config.metricsIntervalMs;
    if (every <= 0 || this.state !== 'running') return;
    this.metricsTimer = this.clock.setTimeout(() => {
      this.metricsTimer = undefined;
      if (this.state !== 'running') return;
      for (const p of this.pools.values()) p.collectMetrics();
      this.scheduleMetrics();
    }, every);
  }

  /** Prometheus text exposition (format 0.0.4) of every pool's metrics; labels: `pool` (and `outcome` on split counters). */
  metricsText(): string {
    return toPrometheus(this.metrics());
  }

  /**
   * What the rebalancer did, oldest first (bounded by `rebalance.historySize`): per opportunity, the
   * allocation, the planned change, whether the allocator applied it, and what was freed or granted.
   * Empty when `rebalance` is off.
   */
  rebalanceHistory(): readonly RebalanceOutcome[] {
    return this.rebalancer?.history() ?? [];
  }

  /**
   * The per-pool resource quotas (system option `resourceScaling`): the quotas the ledger enforces,
   * what each pool holds, and the scaler's rounds (bounded by `resourceScaling.historySize`).
   * `undefined` when `resourceScaling` is off.
   */
  resourceScaling(): ResourceScalingView | undefined {
    return this.resourceScaler?.view();
  }

  /**
   * Run a resource-scaling round now (e.g. before a known burst) rather than at the next interval;
   * resolves with {@link resourceScaling}'s view once the round ended. `undefined` when
   * `resourceScaling` is off; a system that is not running resolves at once.
   */
  async runResourceScaling(): Promise<ResourceScalingView | undefined> {
    if (!this.resourceScaler) return undefined;
    await this.resourceScaler.runNow();
    return this.resourceScaler.view();
  }

  /** Token usage and remaining budget per system, pool and cycle. */
  tokenUsage(): ReturnType<TokenBudgets['snapshot']> {
    return this.budgets.snapshot();
  }

  /**
   * `await using system = createAgentPoolSystem(…)`: when the scope ends, the default graceful
   * {@link shutdown} runs (drain until `shutdownDeadlineMs`, then abort and kill) and the scope waits
   * for it. — test/runtime/dispose.test.ts
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * Stop taking work at once; gracefully (default): leases and running tasks get until `deadlineMs`,
   * then running tasks are aborted (their signal fires) and get their pool's `timings.abortGraceMs`
   * to let go, then their workers are killed; forced (`graceful: false`): abort and kill at once.
   * Resolves when no worker thread, timer or handle of this system is left — within `deadlineMs` +
   * the largest `abortGraceMs` + about 2 s (see docs/guides/shutdown.md) — and in-flight calls have
   * settled with a typed error (`ERR_AGENT_STOPPED`, `ERR_LEASE_RELEASED`, `ERR_SHUTTING_DOWN`).
   * Idempotent: a second call waits for the first; a forced call during a graceful drain cuts it short.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const o = record('argument', 'options', options);
    knownKeys('argument', 'options', o, SHUTDOWN_KEYS);
    const graceful = bool('argument', 'options.graceful', o.graceful, true);
    const deadlineMs = duration(
      'argument',
      'options.deadlineMs',
      o.deadlineMs,
      this.config.shutdownDeadlineMs,
    );
    if (this.stopping) {
      // A forced call cuts a graceful drain short; anything else just waits for the shutdown under way.
      if (!graceful && this.actor.getSnapshot().status === 'active')
        this.actor.send({ type: 'SHUTDOWN', graceful, deadlineMs });
      return this.stopping;
    }
    this.stopping = this.stop(graceful, deadlineMs);
    return this.stopping;
  }

  private async stop(graceful: boolean, deadlineMs: number): Promise<void> {
    if (this.metricsTimer !== undefined) this.clock.clearTimeout(this.metricsTimer);
    this.metricsTimer = undefined;
    if (this.optimizeTimer !== undefined) this.clock.clearTimeout(this.optimizeTimer);
    this.optimizeTimer = undefined;
    // A system that already stopped (its start failed) has nothing left to stop.
    if (this.actor.getSnapshot().status === 'active')
      this.actor.send({ type: 'SHUTDOWN', graceful, deadlineMs });
    // No resizes while leases drain: a rebalancing round is an optimisation, not shutdown work.
    this.rebalancer?.stop();
    await this.until((s) => s === 'stopped');
    const hooks = [...this.shutdownHooks];
    this.shutdownHooks.clear();
    // A failing hook must not keep shutdown from resolving or the other hooks from running.
    await Promise.allSettled(hooks.map(async (h) => h()));
  }

  /**
   * Listen to the system's events; returns the unsubscribe function. Agent lifecycle events come from
   * the agent machines (`agent.started`, `agent.crashed`, `agent.restarting`, `agent.evicted`) and
   * scaling from the pool machines (`scale.decided`, `scale.applied`), so they match what an inspector
   * sees; the runtime adds `agent.oom`, `task.finished` (with its outcome and run time), `lease.lost`,
   * `lease.expired` and `budget.refused`. `'*'` listens to all. Listeners run synchronously; one that
   * throws is logged and changes nothing.
   *
   * @example
   * ```ts
   * const off = system.on('agent.crashed', (e) => alert(`${e.pool}/${e.agentId}: ${e.error}`));
   * ```
   */
  on<T extends SystemEventType>(type: T, listener: (e: SystemEventOf<T>) => void): () => void;
  on(type: '*', listener: (e: SystemEvent) => void): () => void;
  on(type: string, listener: (e: never) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', listener, 'a function');
    if (type !== '*' && !SYSTEM_EVENT_TYPES.has(type))
      throw new InvalidArgumentError('type', type, `one of ${[...SYSTEM_EVENT_TYPES].join(', ')} or '*'`);
    return this.events.on(type as '*', listener as (e: SystemEvent) => void);
  }

  /**
   * Run `hook` once the system has shut down (after every agent stopped) — e.g. closing a metrics
   * endpoint serving it, which `serveMetrics(system)` registers by itself. Returns an unregister
   * function. A hook that throws is ignored (it cannot stop the shutdown).
   *
   * @example
   * ```ts
   * const off = system.onShutdown(() => db.close());
   * ```
   */
  onShutdown(hook: () => Promise<void> | void): () => void {
    if (typeof hook !== 'function') throw new InvalidArgumentError('hook', hook, 'a function');
    this.shutdownHooks.add(hook);
    return () => {
      this.shutdownHooks.delete(hook);
    };
  }

  private until(pred: (state: string) => boolean): Promise<void> {
    if (pred(this.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.actor.subscribe({
        next: (s) => {
          if (pred(String(s.value))) {
            sub.unsubscribe();
            resolve();
          }
        },
        complete: () => resolve(),
      });
    });
  }
}

/**
 * Create an agentpool system. Validates every option first (unknown keys are errors).
 *
 * @example
 * ```ts
 * const system = createAgentPoolSystem({
 *   pools: { code: { agent: new URL('./code-agent.js', import.meta.url), min: 2, max: 5 } },
 *   limits: { memoryMb: 16_384 },
 * });
 * await system.start();
 * ```
 */
export function createAgentPoolSystem<A extends Record<string, PoolAgent>>(
  options: TypedSystemOptions<A>,
): AgentPoolSystem<PoolsOf<A>> {
  return new AgentPoolSystem<PoolsOf<A>>(options as SystemOptions);
}

/** Which events count as which incident in a pool's metrics. */
const INCIDENT_OF: Partial<Record<SystemEventType, Incident>> = {
  'agent.crashed': 'crashes',
  'agent.restarting': 'restarts',
  'agent.evicted': 'evictions',
  'agent.oom': 'oom',
  'budget.refused': 'budget_refusals',
  'security.denied': 'security_denials',
};

/** `ctx.tools.call` → the broker, with the caller's agent, lease, cycle and profile. */
function toolHook(broker: ToolBroker, config: SystemConfig): NonNullable<AgentSpec['callTool']> {
  return (agent, taskId, name, args) => {
    const profile = config.pools.get(agent.pool)?.security;
    return broker.call(
      {
        agentId: agent.id,
        pool: agent.pool,
        taskId,
        leaseId: agent.leaseOf(taskId),
        cycleId: agent.cycleOf(taskId),
        profile: profile?.name ?? agent.pool,
        allowed: profile?.tools ?? [],
        workspace: agent.workspace,
        signal: agent.toolSignal(taskId),
      },
      name,
      args,
    );
  };
}

/**
 * Token budget hooks for agents: reserve before a model call, settle after (see src/structures/budget.ts).
 * When a task ends in any way — it returned, threw, timed out, was aborted, or its agent died — its
 * reservations not settled by then are cancelled (they free their tokens; nothing counts as used): a
 * handler that throws between `reserve` and `settle` must not hold the cycle's budget forever.
 */
function tokenHooks(
  budgets: TokenBudgets,
  events: SystemEvents,
  rates: ReadonlyMap<string, RateLimiter>,
  shared?: SharedBudget,
): Pick<AgentSpec, 'reserveTokens' | 'settleTokens' | 'onTaskEnd'> {
  // Per task, its reservations in `reserve` call order (null: refused), so settle(index) is exact.
  const held = new Map<string, (string | null)[]>();
  // Per task, the rate-window entries of its reservations, same indices (null: none).
  const windows = new Map<string, (RateEntry | null)[]>();
  return {
    reserveTokens: async (agent, taskId, amount) => {
      const cycle = agent.cycleOf(taskId);
      if (cycle === undefined) {
        return { name: 'AgentPoolError', code: 'ERR_ABORTED', message: 'task already ended for its caller' };
      }
      const list = held.get(taskId) ?? [];
      held.set(taskId, list);
      // The slot is taken now, in call order, even if a rate limit makes this reservation wait.
      const index = list.length;
      list.push(null);
      const limiter = rates.get(agent.pool);
      let entry: RateEntry | undefined;
      if (limiter) {
        // Wait for room in the minute's window; the wait ends with the task (timeout, signal, agent).
        const r = await limiter.reserveTokens(amount, (cancel) => agent.whenSettled(taskId, cancel));
        if (isRefusal(r)) return r;
        entry = r;
        const ws = windows.get(taskId) ?? [];
        windows.set(taskId, ws);
        ws[index] = entry;
        if (!held.has(taskId)) {
          // The task ended while waiting: give the window back.
          limiter.returnTokens(entry);
          return {
            name: 'AgentPoolError',
            code: 'ERR_ABORTED',
            message: 'task already ended for its caller',
          };
        }
      }
      try {
        const r = budgets.reserve({ cycle, pool: agent.pool }, amount);
        list[index] = r.id;
        // Cluster mode: the pool and system levels hold across coordinators too.
        if (shared?.applies(agent.pool)) {
          await shared.reserve(r.id, agent.pool, amount).catch((e: unknown) => {
            if (held.has(taskId) && list[index] === r.id) {
              list[index] = null;
              budgets.cancel(r.id);
            }
            throw e;
          });
          // The task ended while the cluster answered: its onTaskEnd could not give this one back.
          if (!held.has(taskId)) shared.settle(r.id, 0);
        }
        return undefined;
      } catch (e) {
        if (entry) {
          limiter!.returnTokens(entry);
          windows.get(taskId)![index] = null;
        }
        const error = serializeError(e);
        if (error.code === 'ERR_BUDGET_EXHAUSTED')
          events.emit({
            type: 'budget.refused',
            pool: agent.pool,
            agentId: agent.id,
            cycleId: cycle,
            amount,
            error: error.message,
          });
        return error;
      }
    },
    settleTokens: (agent, taskId, _reserved, actual, index) => {
      const ws = windows.get(taskId);
      const entry = ws?.[index];
      if (entry) {
        ws![index] = null;
        rates.get(agent.pool)?.settleTokens(entry, actual);
      }
      const list = held.get(taskId);
      const id = list?.[index];
      if (!list || id === undefined || id === null) return;
      list[index] = null;
      budgets.settle(id, actual);
      shared?.settle(id, actual);
    },
    onTaskEnd: (_agent, taskId) => {
      // Unsettled rate entries stay in the window: the model call may have used them.
      windows.delete(taskId);
      const list = held.get(taskId);
      if (!list) return;
      held.delete(taskId);
      for (const id of list) if (id !== null) budgets.cancel(id);
      if (shared) for (const id of list) if (id !== null) shared.settle(id, 0);
    },
  };
}
