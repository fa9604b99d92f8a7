/**
 * One typed pool at run time: the agents (each an agent actor), the index of agents with a free lease
 * slot, the FIFO of waiting acquisitions (each an acquisition actor), and the pool actor that owns
 * sizing decisions.
 *
 * Finding an agent is O(1) when every agent of a pool is alike (no `variants`): whether a request fits
 * is decided once per acquire against the pool's profile, and any agent in the `free` index will do.
 * `free` is a FIFO set (src/structures/fifo-set.ts): the agent idle longest is handed out first, in
 * O(1) however many agents come and go. With variants, only
 * free agents of a variant that fits are candidates (O(free agents)).
 *
 * Why this file is still large (issue 10 item 4, partly done): the free index, the waiters, the leases
 * and the retiring set change together in one step (a grant takes a free slot, a concurrency key, a
 * reservation and a waiter at once; an agent lost drops its leases, its free slot and its count), so
 * they stay in one object. What does not share that state moved out: allocation actors
 * (lease-allocations.ts), measurements for metrics and the scaler (pool-observer.ts), DRF admission
 * (drf-admission.ts), the actor implementations (tree.ts). Next candidates: the sizer (scaleTo /
 * applyScale / spawnAgent) and the waiter hooks, behind a small internal interface.
 *
 * Over 400 lines because it is one pool's data plane (agents, free index, waiters, leases, scale-up
 * and scale-down) behind one pool actor; admission (DRF), allocations, the observer and the scheduler
 * index are already their own modules.
 */
import type { Telemetry } from './telemetry.js';
import { nanoid } from 'nanoid';
import type { ActorRefFrom, AnyActorLogic, InputFrom } from 'xstate';
import { createChildActor, stopChildActor, whenDone } from './actor-done.js';
import { ChildGroup } from './child-group.js';
import type { AcquisitionFailure, acquisitionMachine } from '../../machines/acquisition.machine.js';
import { STOP_MARGIN_MS } from '../../machines/agent.machine.js';
import type { AllocationReleaseCause } from '../../machines/allocation.machine.js';
import type { PoolInput, poolMachine, ScaleRecord, ScaleRefusal } from '../../machines/pool.machine.js';
import type { ScalerRecord, scalerMachine } from '../../machines/scaler.machine.js';
import { AbortedError, AgentPoolError, PoolExhaustedError, ResourceExhaustedError } from '../core/errors.js';
import type { PoolMetrics, PoolMetricsSample, PoolMetricsSnapshot } from '../metrics/pool-metrics.js';
import type { ScalingObservation } from '../policies/scaling/decide.js';
import { type AgentAvailability, AgentHandle, type AgentRef, type AgentSpec } from './agent-handle.js';
import { DrfAdmission } from './drf-admission.js';
import {
  type AgentView,
  type BalancingStrategy,
  createStrategy,
  type StrategyName,
  type TaskView,
} from '../policies/balancing/index.js';
import { createRng, type Rng } from '../core/random.js';
import type { Clock } from '../core/clock.js';
import type { AgentVariant, PoolConfig, ResourceName } from './config.js';
import type { GateReservation, KeyGate, ResourceGate } from './gates.js';
import { type Granted, LeaseAllocations, type ResizeResult } from './lease-allocations.js';
import { Lease, type LeaseOwner } from './lease.js';
import type { Logger } from '../core/logger.js';
import type { Requirements } from './requirements.js';
import { amountsOf, hasAmounts, misfit, neverFits } from './requirements.js';
import type { SystemEvent, SystemEvents } from './events.js';
import { type BacklogReading, PoolObserver, type Waiting } from './pool-observer.js';
import type { WaitStats } from './wait-stats.js';
import { FifoSet } from '../structures/fifo-set.js';
import { ChildIds } from '../structures/slot-ids.js';

/** Shared services a pool uses. */
export interface PoolDeps {
  clock: Clock;
  logger: Logger;
  keys: KeyGate;
  gate: ResourceGate;
  /** Every agent of the system by id: where the agent actors' shared implementations find their handle. */
  agents: Map<string, AgentHandle>;
  /** The system's global limits (a request above them can never be served). */
  limits: Partial<Record<ResourceName, number>>;
  /** Default lifetime of a lease's allocation (system option `leaseTtlMs`). */
  leaseTtlMs: number;
  /** The logic of the pool's child actors, their implementations provided (src/runtime/tree.ts). */
  logic: ChildLogic;
  /** The system's event hub (`system.on`): the pool relays its actors' emitted events there. */
  events: SystemEvents;
  /** Called when an agent slot became free and no acquire waiter took it (the dispatcher pulls work). */
  onFreed?: (pool: Pool) => void;
  /** Token accounting hooks for agents (optional). */
  agentHooks?: Pick<
    AgentSpec,
    'reserveTokens' | 'settleTokens' | 'onUsage' | 'onTaskEnd' | 'callTool' | 'remote'
  >;
  /** OpenTelemetry (spans of task runs, the task-run histogram); optional. */
  telemetry?: Telemetry;
  /** Where isolated agents' workspaces are created (system option `workspaceDir`). */
  workspaceBase?: string;
}

/** The logic of a pool's children, as provided by src/runtime/tree.ts. */
export interface ChildLogic {
  agent: AnyActorLogic;
  acquisition: AnyActorLogic;
  allocation: AnyActorLogic;
}

/** A pool's actor: a child of the system actor (`pool:<type>`). */
export type PoolRef = ActorRefFrom<typeof poolMachine>;
type AcquisitionRef = ActorRefFrom<typeof acquisitionMachine>;
type ScalerRef = ActorRefFrom<typeof scalerMachine>;

/** What a waiting acquisition's actor does, per named action of machines/acquisition.machine.ts. */
export interface WaiterHooks {
  fits(): boolean;
  enqueue(): void;
  withdraw(): void;
  requestScaleUp(): void;
  reserve(): void;
  onGranted(): void;
  onRejected(failure: AcquisitionFailure | undefined): void;
  onCancelled(): void;
}

/** A validated acquire request. */
export interface AcquireRequest {
  cycleId: string;
  requirements: Requirements;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  concurrencyKey: string | undefined;
  concurrencyLimit: number;
  /** Lifetime of the lease's allocation, when it reserves resources. @default system `leaseTtlMs` */
  ttlMs?: number;
  /**
   * What the pool's balancing strategy is told about the work (task name for a submit, the
   * requirements, the preferred specialization, an affinity key). @default built from `requirements`
   */
  task?: TaskView;
}

interface Waiter {
  id: string;
  req: AcquireRequest;
  startedAt: number;
  /** Its acquisition actor (a child of the pool's `<type>-waiting` group). */
  actor: AcquisitionRef | undefined;
  hooks: WaiterHooks;
  agent: AgentHandle | undefined;
  reservation: Granted | undefined;
}

/** Counters of one pool. */
export interface PoolCounters {
  acquires: number;
  grantedImmediately: number;
  grantedAfterWait: number;
  rejected: number;
  cancelled: number;
  exhausted: number;
  scaleUpsOnTimeout: number;
  agentsPeak: number;
  agentsLost: number;
}

/** A snapshot of one pool. */
export interface PoolStatus {
  type: string;
  state: string;
  /** Intake: `'paused'` between `pause()` and `resume()` (the pool machine's `active.intake`). */
  intake: 'open' | 'paused';
  /** Submitted tasks waiting for the pool (queued, delayed, backing off): see {@link Pool.queued}. */
  queued: number;
  min: number;
  max: number;
  /** The pool size: agents starting or up, retiring ones excluded (the pool machine's `size`). */
  size: number;
  /** Agents that can take a lease now. */
  available: number;
  /** Leases held. */
  leased: number;
  /** Acquisitions waiting. */
  waiting: number;
  /** Agents by machine state. */
  agents: Record<string, number>;
  /** Live agents per variant, retiring ones excluded (only for a pool with `variants`). */
  variants?: Record<string, number>;
  /** The balancing strategy in use (absent: idle-longest-first). */
  balancing?: string;
  /** Warm standby (pool option `standby`): how many idle agents are kept, how many are ready now. */
  standby?: { target: number; ready: number };
  counters: PoolCounters;
  acquireWaitMs: { p50: number; p99: number; count: number };
  history: ScaleRecord[];
  /**
   * The last agent start failure while starts keep failing (cleared when an agent starts): its code,
   * message, and how many starts failed in a row. `failed` once the pool stopped trying.
   */
  lastError?: { code: string; message: string; startFailures: number; failed: boolean };
}

const NO_BACKLOG = { count: 0, oldestAt: undefined };

/** The reservation of a request that names no amount: nothing held, nothing to give back. */
const NOTHING_RESERVED: GateReservation = Object.freeze({ ok: true as const, release: () => {} });

/** What the balancing strategy is told about a request (its `task`, else built from its requirements). */
function taskViewOf(req: AcquireRequest): TaskView {
  if (req.task) return req.task;
  const requirements = amountsOf(req.requirements) as Record<string, number>;
  return {
    ...(req.requirements.specialization !== undefined
      ? { specialization: req.requirements.specialization }
      : {}),
    requirements,
    affinityKey: req.cycleId,
  };
}

/** `into[k] += sign × amounts[k]` for every resource (a cache of what leases hold on an agent). */
function addAmounts(
  into: Record<string, number>,
  amounts: Readonly<Record<string, number | undefined>>,
  sign: 1 | -1,
): void {
  for (const k in amounts) {
    const v = amounts[k];
    if (v === undefined) continue;
    const next = (into[k] ?? 0) + sign * v;
    if (next <= 0) delete into[k];
    else into[k] = next;
  }
}

/** How one agent start ended: started, failed before it could work, or refused its base resources. */
type AgentStart = 'started' | 'failed' | ScaleRefusal;

/** One typed pool. */
export class Pool implements LeaseOwner {
  readonly type: string;
  /** The pool's actor: a child of the system actor; its agents, acquisitions and scaler are its children. */
  readonly actor: PoolRef;
  private readonly agents = new Map<string, AgentHandle>();
  private readonly free = new FifoSet<AgentHandle>();
  private readonly waiters = new FifoSet<Waiter>();
  private readonly leases = new Set<Lease>();
  private readonly retiring = new Set<AgentHandle>();
  private readonly startWaiters = new Map<AgentHandle, (ok: boolean) => void>();
  /** Each live agent's base holding in the ledger (pool option `agentResources`): its release. */
  private readonly baseHoldings = new Map<AgentHandle, () => void>();
  /** The promise each start waiter settles (to drop the start watch with it). */
  private readonly startWaiterDone = new Map<AgentHandle, Promise<boolean>>();
  /** Dominant Resource Fairness over the waiters (pool option `admission: 'drf'`). */
  private readonly drf: DrfAdmission<Waiter>;
  /** The allocation actors of this pool's leases (children of {@link leaseGroup}). */
  private readonly allocations: LeaseAllocations;
  /**
   * The parents of this pool's waiting acquisitions and of its lease allocations, children of the
   * pool actor (src/runtime/child-group.ts: their done events do not go through the pool's chart).
   */
  private readonly waitingGroup: ChildGroup;
  private readonly leaseGroup: ChildGroup;
  /** Waiting acquisitions by id: where their actors' shared implementations find their hooks. */
  private readonly waiterById = new Map<string, Waiter>();
  /** Actor ids of the waiting acquisitions and of the agents (recycled: src/structures/slot-ids.ts). */
  private readonly acquisitionIds: ChildIds<Waiter>;
  private readonly agentIds: ChildIds<AgentHandle>;
  private seq = 0;
  /** The last agent start failure (module path and original error); cleared when an agent starts. */
  private startError: Error | undefined;
  /** Measurements for metrics and the scaler (src/runtime/pool-observer.ts). */
  private readonly observer: PoolObserver;
  /** Metrics: requests, waits, service times, rates, agent counts (src/metrics). */
  get metrics(): PoolMetrics {
    return this.observer.metrics;
  }

  /** Acquire waits (p50/p99). */
  get waits(): WaitStats {
    return this.observer.waits;
  }
  /** Demand queued elsewhere for this pool (the dispatcher's queue); see {@link setBacklog}. */
  private backlog: () => BacklogReading = () => NO_BACKLOG;
  private queueLength: () => number = () => 0;
  readonly counters: PoolCounters = {
    acquires: 0,
    grantedImmediately: 0,
    grantedAfterWait: 0,
    rejected: 0,
    cancelled: 0,
    exhausted: 0,
    scaleUpsOnTimeout: 0,
    agentsPeak: 0,
    agentsLost: 0,
  };
  private drained: (() => void) | undefined;
  /** Called when the pool gives up starting agents (the dispatcher fails this type's queued tasks). */
  onFailed: ((error: Error) => void) | undefined;

  constructor(
    readonly config: PoolConfig,
    private readonly deps: PoolDeps,
    actor: PoolRef,
  ) {
    this.type = config.type;
    this.observer = new PoolObserver(config.type, deps.clock.now());
    this.strategy = config.balancing ? createStrategy(config.balancing) : undefined;
    // What one agent of each variant offers: the strategies' `capacityTotal`.
    for (const v of config.variants) {
      const c = v.capacity;
      this.capacityTotals.set(v, {
        memoryMb: c.memoryMb,
        cpuCores: c.cpuCores,
        tokens: c.tokens,
        diskMb: c.diskMb,
        networkMbps: c.networkMbps,
      });
    }
    this.variantCount = new Map(config.variants.map((v) => [v, 0]));
    this.rng = createRng([...config.type].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7));
    this.actor = actor;
    // The pool machine's own events (scale decided / applied) go to the system's event API.
    actor.on('*', (e) => deps.events.emit(e as SystemEvent));
    this.drf = new DrfAdmission<Waiter>(deps.keys, deps.gate);
    this.acquisitionIds = new ChildIds(`${config.type}-acq-`);
    this.agentIds = new ChildIds(`${config.type}-agent-`);
    // A child's error is contained and logged, as the pool chart's own `reportChildError` does.
    const childFailed = (err: unknown, child: string) =>
      deps.logger.error({ err, pool: this.type, child }, `pool ${this.type}: a child actor failed`);
    this.waitingGroup = new ChildGroup(actor, `${config.type}-waiting`, childFailed);
    this.leaseGroup = new ChildGroup(actor, `${config.type}-leases`, childFailed);
    this.allocations = new LeaseAllocations(
      config.type,
      deps.logic.allocation,
      (logic, id, input, systemId) => this.leaseGroup.create(logic, id, input as never, systemId),
    );
    actor.subscribe({
      // Children created with the pool as parent are not stopped by XState with it: stop them here, so
      // stopping the root (or the pool) stops the whole tree.
      complete: () => this.stopChildren(),
      error: (err) => {
        deps.logger.error({ err, pool: this.type }, 'pool actor error');
        this.stopChildren();
      },
    });
  }

  /** Stop every child actor created with this pool as parent (agents, acquisitions, allocations). */
  private stopChildren(): void {
    for (const a of this.agents.values()) if (a.actor) stopChildActor(a.actor);
    for (const w of this.waiterById.values()) if (w.actor) stopChildActor(w.actor);
    this.allocations.stopAll();
    this.waitingGroup.stop();
    this.leaseGroup.stop();
  }

  /** The pool machine's input (the system spawns the pool actor with it). */
  static input(config: PoolConfig): PoolInput {
    return { type: config.type, min: config.min, max: config.max, maxStartFailures: config.maxFailures };
  }

  /** The scaler's decisions, kept from its snapshots (they outlive the scaler actor, stopped at drain). */
  private scalerDecisions: readonly ScalerRecord[] = [];
  /** The scale-up being applied (its target and every agent start), for {@link extendScaleUp}. */
  private scalingUp: { target: number; starts: Promise<AgentStart>[] } | undefined;
  /** Balancing among free agents (pool option `balancing`), seeded per pool so runs are reproducible. */
  /** The balancing strategy in use (the pool option `balancing`, or what `setBalancing` put in). */
  private strategy: BalancingStrategy | undefined;
  /** A standby top-up is queued for the next microtask (one per turn, however many grants). */
  private standbyQueued = false;
  /** Per variant: what one of its agents offers (the strategies' `capacityTotal`). */
  private readonly capacityTotals = new Map<AgentVariant, Readonly<Record<string, number>>>();
  /** Live agents per variant, retiring ones excluded (which variant the next spawn gets). */
  private readonly variantCount: Map<AgentVariant, number>;
  private readonly rng: Rng;

  /**
   * Lifecycle, read from the pool machine (its one owner): the pool takes work while `active`.
   * A value read, not a flag kept beside the chart.
   */
  private get accepting(): boolean {
    const v = this.actor.getSnapshot().value;
    return typeof v === 'object' && 'active' in v;
  }

  /**
   * Intake paused (machine state `active.intake.paused`, its one owner): nothing is granted or
   * dispatched until {@link resume}. Read from the snapshot value, as cheap as {@link accepting}.
   */
  get paused(): boolean {
    const v = this.actor.getSnapshot().value as { active?: { intake?: string } } | string;
    return typeof v === 'object' && v.active?.intake === 'paused';
  }

  /**
   * Pause the pool's intake: queued `submit()` tasks wait, running work finishes, `acquire()` calls
   * wait and fail by their own timeout (`ERR_POOL_EXHAUSTED`; no scale-up while paused). Idempotent;
   * ignored once the pool drains. See docs/guides/submit.md.
   * @example system.pool('code').pause(); … system.pool('code').resume();
   */
  pause(): void {
    if (this.accepting) this.actor.send({ type: 'PAUSE' });
  }

  /** Resume a paused pool's intake: waiting acquisitions are served, the dispatcher places queued tasks. */
  resume(): void {
    if (!this.accepting || !this.paused) return;
    this.actor.send({ type: 'RESUME' });
    this.serveWaiters();
    this.deps.onFreed?.(this);
  }

  /** The pool gave up starting agents (machine state `active.sizing.failed`) and none is up to serve. */
  private get failedEmpty(): boolean {
    // Read the state value directly: `matches()` costs too much for every acquire.
    const v = this.actor.getSnapshot().value as { active?: { sizing?: string } } | string;
    if (typeof v !== 'object' || v.active?.sizing !== 'failed') return false;
    for (const a of this.agents.values()) if (a.accepting && !this.retiring.has(a)) return false;
    return true;
  }

  /** Resolves once an agent can serve, the pool gave up starting agents, or it stopped. */
  private untilServingOrFailed(): Promise<void> {
    const done = (s: ReturnType<typeof this.actor.getSnapshot>) =>
      s.status !== 'active' ||
      s.matches({ active: { sizing: 'failed' } }) ||
      [...this.agents.values()].some((a) => a.accepting && !this.retiring.has(a));
    if (done(this.actor.getSnapshot())) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.actor.subscribe({
        next: (s) => {
          if (!done(s)) return;
          sub.unsubscribe();
          resolve();
        },
        complete: () => resolve(),
        error: () => resolve(),
      });
    });
  }

  /** The error new work fails with at once, when the pool gave up starting agents and none is up. */
  unservable(): AgentPoolError | undefined {
    return this.failedEmpty ? this.failure() : undefined;
  }

  /** The error waiting work fails with while {@link failedEmpty}. */
  private failure(): AgentPoolError {
    const cause = this.startError;
    const code =
      cause instanceof AgentPoolError && cause.code === 'ERR_AGENT_MODULE'
        ? 'ERR_AGENT_MODULE'
        : 'ERR_AGENT_START_FAILED';
    const module =
      typeof this.config.agent === 'object' && !(this.config.agent instanceof URL)
        ? undefined
        : String(this.config.agent);
    return new AgentPoolError(
      code,
      `pool ${this.type}: agents cannot start (${this.actor.getSnapshot().context.startFailures} failures in a row): ${cause?.message ?? 'unknown'}`,
      {
        ...(cause ? { cause } : {}),
        details: { pool: this.type, ...(module !== undefined ? { module } : {}) },
      },
    );
  }

  /**
   * Start the pool actor, bring the pool to `min` agents, then start its scaler if autoscaled.
   * Rejects (`ERR_AGENT_MODULE` / `ERR_AGENT_START_FAILED`, with the module path and the original error
   * as `cause`) when `min` > 0 and not one agent could start.
   */
  async start(): Promise<void> {
    const initial = Math.min(this.config.max, Math.max(this.config.min, this.config.standby));
    if (initial > 0) {
      const r = await this.scaleTo(
        initial,
        initial > this.config.min ? 'min size and warm standby' : 'min size',
      );
      // Not one agent up yet: they restart with backoff; wait until one serves or the pool gives up.
      if (r && r.actualDelta < r.delta) await this.untilServingOrFailed();
      if (this.failedEmpty) throw this.failure();
    }
    if (this.config.autoscale && this.accepting) {
      // The scaler is the pool actor's child `scaler` (machines/scaler.machine.ts, wired in tree.ts).
      const forecast = this.config.autoscaleForecast;
      this.actor.send({
        type: 'SCALER_START',
        input: { pool: this.type, config: this.config.autoscale, ...(forecast ? { forecast } : {}) },
      });
      const scaler = this.actor.getSnapshot().children.scaler as ScalerRef | undefined;
      scaler?.subscribe((s) => (this.scalerDecisions = s.context.decisions));
    }
  }

  /**
   * Tell the scaler `tasks` arrive at `at` (clock ms), so it scales out ahead (src/policies/expected.ts).
   * Returns false when the pool has no scaler (not autoscaled, or stopped).
   */
  expect(at: number, tasks: number): boolean {
    const scaler = this.actor.getSnapshot().children.scaler as ScalerRef | undefined;
    if (!scaler) return false;
    scaler.send({ type: 'SCALER.EXPECT', at, tasks });
    return true;
  }

  /** The scaler's decisions (empty when not autoscaled). */
  scalerHistory(): readonly ScalerRecord[] {
    return this.scalerDecisions;
  }

  /**
   * The size warm standby asks for: the agents holding leases plus `standby` idle ones (within
   * [min, max]). The scaler's targets are raised to it. O(agents); `min` without standby.
   */
  standbyFloor(): number {
    const n = this.config.standby;
    if (n === 0) return this.config.min;
    let busy = 0;
    for (const a of this.agents.values()) if (a.leases > 0 && !this.retiring.has(a)) busy++;
    return Math.min(this.config.max, Math.max(this.config.min, busy + n));
  }

  /** Agents of the warm standby ready now: free agents with no lease, at most `standby`. */
  warmStandby(): number {
    let idle = 0;
    for (const a of this.free) if (a.leases === 0) idle++;
    return Math.min(this.config.standby, idle);
  }

  /**
   * Keep `standby` started agents without a lease: start the missing ones (counting those already
   * coming up) after a grant or a lost agent. Deferred a microtask: it may run inside a transition.
   */
  private topUpStandby(): void {
    if (this.config.standby === 0 || this.standbyQueued) return;
    this.standbyQueued = true;
    queueMicrotask(() => {
      this.standbyQueued = false;
      if (!this.accepting || this.actor.getSnapshot().status !== 'active') return;
      const floor = this.standbyFloor();
      if (floor > this.size) void this.scaleTo(floor, 'warm standby');
    });
  }

  /**
   * Replace the balancing strategy at run time (an optimiser's `set-balancing`): the new one starts
   * without history; leases already granted are unaffected. `undefined`: idle-longest-first.
   */
  setBalancing(name: StrategyName | undefined): void {
    this.strategy = name === undefined ? undefined : createStrategy(name);
  }

  /** The balancing strategy in use (`undefined`: idle-longest-first). */
  get balancing(): string | undefined {
    return this.strategy?.name;
  }

  /** The acquisition machine's `canScaleUp`. */
  canScaleUp(): boolean {
    return this.size < this.config.max;
  }

  /** The hooks of the waiting acquisition `id` (its actor's implementations), while it waits. */
  waiterHooks(id: string): WaiterHooks | undefined {
    return this.waiterById.get(id)?.hooks;
  }

  /** The pool machine entered `active.failed`: act on it after the transition. */
  onStartsFailing(): void {
    queueMicrotask(() => this.failWaiting());
  }

  /**
   * Create a child actor of this pool: `parent` is the pool actor, so it lives in the system's one
   * tree (same root, same clock, same inspector; its done and error events come to the pool). Agents
   * are made this way (acquisitions and allocations likewise, under the pool's child groups) rather
   * than with `spawnChild`: XState copies a parent's `children` map on every spawn and stop — measured
   * ~0.25 µs per child, 600 µs per hand-off with 1,000 waiters, O(n²) to start 10,000 agents — and
   * these come and go by the thousand.
   */
  private child<L extends AnyActorLogic>(
    logic: L,
    id: string,
    input: InputFrom<L>,
    systemId?: string,
  ): ActorRefFrom<L> {
    return createChildActor(this.actor, logic, id, input, systemId);
  }

  /** Create, attach and start an agent's actor; a start that crashes counts as failed now. */
  private startAgentActor(handle: AgentHandle): void {
    // The actor's id is a recycled slot (src/structures/slot-ids.ts); the agent's own id is its input
    // (`agentId`, what the implementations look it up by) and its systemId `agent:<id>`.
    const ref = this.child(
      this.deps.logic.agent,
      this.agentIds.take(handle),
      handle.machineInput(),
      `agent:${handle.id}`,
    );
    handle.attach(ref as AgentRef);
    // What the agent machine emits (started, crashed, restarting, evicted) goes to `system.on`.
    (ref as AgentRef).on('*', (e) => this.deps.events.emit(e as SystemEvent));
    // Not after the restart backoff: otherwise the pool machine stays in `scaling` (queuing every later
    // scale-up) for as long as the agent keeps retrying.
    const sub = ref.subscribe((s) => {
      if (s.status === 'active' && !s.matches('restarting')) return;
      sub.unsubscribe();
      const started = this.startWaiters.get(handle);
      if (started) {
        this.startWaiters.delete(handle);
        started(false);
      }
    });
    if (!this.startWaiters.has(handle)) sub.unsubscribe();
    else void this.startWaiterDone.get(handle)?.then(() => sub.unsubscribe());
    (ref as AgentRef).start();
  }

  /**
   * The pool's size: agents starting or up, not being retired — the pool machine's `size` (one
   * definition, used by scaling, the scaler's observation and metrics).
   */
  get size(): number {
    return this.agents.size - this.retiring.size;
  }

  /** Mark an agent as being retired (scale-down or stop): it stops counting toward the size. */
  private retire(agent: AgentHandle): void {
    if (this.retiring.has(agent) || !this.agents.has(agent.id)) return;
    this.retiring.add(agent);
    this.free.delete(agent);
    this.countVariant(agent, -1);
    this.actor.send({ type: 'AGENT_RETIRED' });
  }

  /**
   * Drain an agent to replace it (its isolated environment reached its lifetime, or too many
   * violations): it takes no new lease, stops once its leases are released, and a pool below `min`
   * starts a replacement (the pool machine's `belowMin` rule), like any other retired agent.
   */
  replaceAgent(agent: AgentHandle, reason: 'lifetime' | 'violations'): void {
    if (this.retiring.has(agent) || !this.agents.has(agent.id) || !this.accepting) return;
    this.deps.events.emit({ type: 'agent.replaced', pool: this.type, agentId: agent.id, reason });
    this.retire(agent);
    if (agent.leases === 0) agent.drain();
  }

  /** All live agents (for balancing and metrics). */
  agentList(): AgentHandle[] {
    return [...this.agents.values()];
  }

  /**
   * Acquire a lease. Grants at once when an agent is free (no actor needed: nothing to wait for);
   * otherwise an acquisition actor waits, scales up on timeout, retries with half the timeout, and
   * rejects with `ERR_POOL_EXHAUSTED`.
   */
  acquire(req: AcquireRequest): Promise<Lease> {
    this.counters.acquires++;
    if (!this.accepting) {
      this.counters.rejected++;
      return Promise.reject(shuttingDown(this.type));
    }
    if (this.failedEmpty) {
      this.counters.rejected++;
      return Promise.reject(this.failure());
    }
    if (req.signal?.aborted) {
      this.counters.cancelled++;
      return Promise.reject(new AbortedError(`acquire(${this.type})`, req.signal.reason));
    }
    const now = this.deps.clock.now();
    this.observer.arrival(now);
    // A request that can never be served goes through the acquisition chart's never-fits branch.
    const never = neverFits(req.requirements, this.config, this.deps.limits);
    if (never) return this.wait(req, now, never);
    if (
      this.waiters.size === 0 &&
      this.free.size > 0 &&
      this.deps.keys.allows(req.concurrencyKey, req.concurrencyLimit) &&
      !this.paused
    ) {
      // Undefined only with variants, when no free agent is of a kind that fits: wait for one.
      const agent = this.takeFree(req);
      if (!agent) return this.wait(req, now);
      const r = this.reserveFor(req);
      if (r.ok) {
        this.counters.grantedImmediately++;
        return Promise.resolve(this.grant(agent, req, now, r));
      }
      this.returnAgent(agent);
      this.counters.rejected++;
      return Promise.reject(
        new ResourceExhaustedError(
          r.resource,
          r.requested,
          r.available,
          r.scope === 'quota' ? `pool ${this.type} quota` : 'global limit',
        ),
      );
    }
    return this.wait(req, now);
  }

  /**
   * A lease right now, or undefined: no waiting, no actor. Used by the dispatcher, which keeps its
   * own queue; acquire() waiters go first (FIFO fairness between the two paths).
   */
  tryLease(req: AcquireRequest, queuedAt?: number): Lease | undefined {
    if (!this.accepting || this.waiters.size > 0 || this.free.size === 0 || this.paused) return undefined;
    if (!this.deps.keys.allows(req.concurrencyKey, req.concurrencyLimit)) return undefined;
    const agent = this.takeFree(req);
    if (!agent) return undefined;
    const r = this.reserveFor(req);
    if (!r.ok) {
      agent.leases--;
      if (agent.accepting && !this.retiring.has(agent)) this.free.add(agent);
      return undefined;
    }
    return this.grant(agent, req, queuedAt ?? this.deps.clock.now(), r);
  }

  /**
   * Count one arrival of work placed through another queue (the dispatcher's), so the arrival rate the
   * scaler sees (Little's law) includes submitted tasks, not only acquire() calls.
   */
  noteRequest(at: number): void {
    this.observer.arrival(at);
  }

  /**
   * Work queued for this pool outside its own waiters (the dispatcher's queue for the type): counted
   * by the scaler as waiting demand (no scale-down while it waits; its age is a wait) and in metrics as
   * queue depth. Set once by the dispatcher.
   */
  setBacklog(backlog: () => BacklogReading): void {
    this.backlog = backlog;
  }

  /** Set once by the dispatcher: how many submitted tasks wait for this pool (see {@link queued}). */
  setQueueLength(length: () => number): void {
    this.queueLength = length;
  }

  /**
   * Submitted tasks waiting for this pool now — queued, delayed, or backing off before a retry: what
   * pool option `maxQueue` bounds. A producer reads it to slow down before `ERR_QUEUE_FULL`.
   * @example if (system.pool('code').queued > 100) await pauseProducer();
   */
  get queued(): number {
    return this.queueLength();
  }

  /** Grow toward serving `queued` more tasks (within max); used by the dispatcher's backlog. */
  requestCapacity(queued: number): void {
    this.ensureCapacity(queued);
  }

  /**
   * Ids of the agents that can take work now (idle or busy, not retiring), in spawn order. Used by
   * the work-stealing dispatcher to keep one local queue per live agent.
   */
  acceptingAgentIds(): string[] {
    const ids: string[] = [];
    for (const a of this.agents.values()) if (a.accepting && !this.retiring.has(a)) ids.push(a.id);
    return ids;
  }

  /** True when `agentId` has a free slot now (and the pool is accepting). */
  hasFreeSlot(agentId: string): boolean {
    const a = this.agents.get(agentId);
    return this.accepting && a !== undefined && this.free.has(a);
  }

  /**
   * The agent a new task should be bound to: the pool's balancing strategy over the accepting agents
   * (their load counted as in-flight leases plus `queued(id)`), else the least-loaded one (ties: first
   * spawned). Only agents passing `eligible` are considered. Undefined when none qualifies.
   */
  chooseAgent(
    queued: (agentId: string) => number,
    eligible?: (agentId: string) => boolean,
  ): string | undefined {
    const views: AgentView[] = [];
    for (const a of this.agents.values()) {
      if (!a.accepting || this.retiring.has(a) || (eligible && !eligible(a.id))) continue;
      const v = this.view(a);
      const active = a.leases + queued(a.id);
      views.push({ ...v, active, utilization: Math.min(1, active / v.capacity) });
    }
    if (views.length === 0) return undefined;
    if (this.strategy && views.length > 1) {
      const picked = this.strategy.pick(views, {}, this.rng);
      if (picked) return picked.id;
    }
    let best = views[0]!;
    for (const v of views) if (v.active < best.active) best = v;
    return best.id;
  }

  /**
   * A lease on one specific agent right now, or undefined (agent not free, acquire() waiters first,
   * concurrency key or global limits refuse). Like {@link tryLease} but the caller picks the agent.
   */
  tryLeaseAgent(agentId: string, req: AcquireRequest, queuedAt?: number): Lease | undefined {
    const agent = this.agents.get(agentId);
    if (!agent || !this.accepting || this.waiters.size > 0 || !this.free.has(agent)) return undefined;
    if (!this.deps.keys.allows(req.concurrencyKey, req.concurrencyLimit)) return undefined;
    if (agent.variant && misfit(req.requirements, agent.variant.capacity, this.config)) return undefined;
    const r = this.reserveFor(req);
    if (!r.ok) return undefined;
    agent.leases++;
    if (agent.leases >= this.config.concurrency) this.free.delete(agent);
    return this.grant(agent, req, queuedAt ?? this.deps.clock.now(), r);
  }

  /**
   * An acquire that cannot be granted on arrival (or can never fit: `never`): its acquisition actor,
   * spawned as the pool actor's child, waits, scales up on timeout, retries, and settles the promise
   * through the hooks below (its named actions, wired in src/runtime/tree.ts).
   */
  private wait(req: AcquireRequest, startedAt: number, never?: AgentPoolError): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      const w: Waiter = {
        id: '',
        req,
        startedAt,
        agent: undefined,
        reservation: undefined,
        actor: undefined,
        hooks: undefined as unknown as WaiterHooks,
      };
      // A recycled id (src/structures/slot-ids.ts): unique among live acquisitions, which is all the
      // hooks' lookup needs, and it keeps XState's per-event-type cache bounded.
      const id = (w.id = this.acquisitionIds.take(w));
      const onAbort = () => w.actor?.send({ type: 'ABORT' });
      const cleanup = () => {
        req.signal?.removeEventListener('abort', onAbort);
        if (this.waiterById.get(id) !== w) return; // cleaned up already
        this.waiterById.delete(id);
        this.acquisitionIds.release(w);
      };
      // Actions that drive other actors (pool, agents, allocator) run just after the transition
      // (queueMicrotask): XState actions must not synchronously run other actors.
      w.hooks = {
        fits: () => never === undefined,
        enqueue: () => {
          this.waiters.add(w);
          queueMicrotask(() => {
            this.ensureCapacity();
            this.serveWaiters();
          });
        },
        withdraw: () => {
          this.waiters.delete(w);
          const { reservation, agent } = w;
          w.reservation = undefined;
          w.agent = undefined;
          if (reservation || agent) {
            queueMicrotask(() => {
              reservation?.release();
              if (agent) {
                this.deps.keys.release(req.concurrencyKey); // taken with the offer
                this.returnAgent(agent);
              }
            });
          }
        },
        requestScaleUp: () => {
          if (this.paused) return; // more agents would not end a pause
          this.counters.scaleUpsOnTimeout++;
          queueMicrotask(() => void this.scaleTo(this.size + 1, 'acquire timeout'));
        },
        reserve: () => {
          queueMicrotask(() => {
            const actor = w.actor;
            if (actor?.getSnapshot().status !== 'active' || !w.agent) return;
            const r = this.reserveFor(req);
            if (!r.ok) {
              actor.send({ type: 'RESERVE_FAILED', resource: r.resource });
            } else if (actor.getSnapshot().status === 'active') {
              w.reservation = r;
              actor.send({ type: 'RESERVED' });
            } else {
              r.release();
            }
          });
        },
        onGranted: () => {
          cleanup();
          this.waiters.delete(w);
          const agent = w.agent!;
          const reservation = w.reservation;
          w.agent = undefined;
          w.reservation = undefined;
          this.counters.grantedAfterWait++;
          // The grant spawns the lease's allocation actor: after this transition, not inside it.
          queueMicrotask(() => resolve(this.grant(agent, req, w.startedAt, reservation, true)));
        },
        onRejected: (f) => {
          cleanup();
          this.counters.rejected++;
          if (f?.kind === 'never-fits' && never) {
            reject(never);
          } else if (f?.kind === 'pool-exhausted') {
            this.counters.exhausted++;
            const retried = f.scaledUp || this.config.retryAtMax;
            const scaled = f.scaledUp
              ? 'scaled up by one and retried'
              : `could not scale up (at max ${this.config.max})`;
            reject(
              new PoolExhaustedError(
                `pool ${this.type}: no agent within ${req.timeoutMs} ms; ${scaled}${retried ? `; none within ${req.timeoutMs / 2} ms more` : ''}`,
                {
                  pool: this.type,
                  timeoutMs: req.timeoutMs,
                  scaledUp: f.scaledUp,
                  size: this.size,
                  max: this.config.max,
                },
              ),
            );
          } else if (f?.kind === 'pool-failed') {
            reject(this.failure());
          } else if (f?.kind === 'resources') {
            reject(
              new ResourceExhaustedError(
                f.resource,
                amountsOf(req.requirements)[f.resource as ResourceName] ?? 0,
                'less',
                'global limit',
              ),
            );
          } else {
            reject(
              new AgentPoolError('ERR_RESOURCE_EXHAUSTED', `pool ${this.type} cannot serve the request`),
            );
          }
        },
        onCancelled: () => {
          cleanup();
          this.counters.cancelled++;
          reject(
            this.accepting
              ? new AbortedError(`acquire(${this.type})`, req.signal?.reason)
              : shuttingDown(this.type),
          );
        },
      };
      this.waiterById.set(id, w);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      // The acquisition's actor, in the pool's waiting group: it waits, times out, scales up, retries.
      const actor = this.waitingGroup.create(this.deps.logic.acquisition, id, {
        id,
        pool: this.type,
        timeoutMs: req.timeoutMs,
      });
      w.actor = actor;
      actor.start();
    });
  }

  private grant(
    agent: AgentHandle,
    req: AcquireRequest,
    startedAt: number,
    reservation: Granted | undefined,
    keyTaken = false,
  ): Lease {
    const now = this.deps.clock.now();
    if (!keyTaken) this.deps.keys.take(req.concurrencyKey);
    const lease = new Lease(
      `${this.type}-lease-${++this.seq}`,
      this.type,
      req.cycleId,
      req.requirements,
      req.concurrencyKey,
      agent,
      this,
      now,
      now - startedAt,
    );
    lease.releaseResources = reservation?.release;
    this.markLeases(now);
    this.leases.add(lease);
    if (reservation && reservation !== NOTHING_RESERVED)
      this.allocations.open(
        lease,
        reservation,
        amountsOf(req.requirements),
        req.ttlMs ?? this.deps.leaseTtlMs,
        now,
      );
    this.observer.granted(now - startedAt);
    this.topUpStandby();
    // Held on the agent: what its free resources are for the strategy (one place: grant/release).
    if (this.strategy) {
      addAmounts(agent.held, amountsOf(req.requirements), 1);
      lease.task = taskViewOf(req);
    }
    return lease;
  }

  /**
   * LeaseOwner: a task run starts on `lease`. With a balancing strategy, every run is one dispatch and
   * one completion it learns from (its own id, the task name, its run time; the first run carries the
   * acquire's wait). Returns the completion callback, or undefined when there is nothing to tell.
   */
  taskStarted(lease: Lease, task: string): ((ok: boolean) => void) | undefined {
    const strategy = this.strategy;
    if (!strategy || !lease.task) return undefined;
    const n = ++lease.runs;
    // Object.assign, not `{ ...task, id, type }`: that spread costs µs per object on Node 20 (V8 11.3).
    const view: TaskView = Object.assign({}, lease.task, {
      id: `${lease.id}#${n}`,
      type: lease.task.type ?? task,
    });
    const agentId = lease.agent.id;
    const start = this.deps.clock.now();
    strategy.onDispatch?.(agentId, view, start);
    const waitTime = n === 1 ? lease.waitedMs : 0;
    return (ok) => {
      const now = this.deps.clock.now();
      strategy.onComplete?.(agentId, view, { ok, serviceTime: now - start, waitTime }, now);
    };
  }

  /** The allocation machine's `releaseAllocation`. */
  onAllocationReleased(allocationId: string, cause: AllocationReleaseCause): void {
    this.allocations.released(allocationId, cause);
  }

  /** The allocation machine's `reportResized`. */
  onAllocationResized(allocationId: string, amounts: Readonly<Record<string, number>>): void {
    this.allocations.resized(allocationId, amounts);
  }

  /** Resize a lease's allocation through its allocation actor (the rebalancer's way). */
  resizeAllocation(allocationId: string, delta: Readonly<Record<string, number>>): Promise<ResizeResult> {
    return this.allocations.resize(allocationId, delta);
  }

  /** LeaseOwner: a lease ended (released by the caller or lost with its agent). */
  releaseLease(lease: Lease): void {
    const now = this.deps.clock.now();
    this.markLeases(now);
    if (!this.leases.delete(lease)) return;
    if (lease.lostReason !== undefined) {
      const base = { pool: this.type, leaseId: lease.id, cycleId: lease.cycleId };
      this.deps.events.emit(
        lease.hasExpired
          ? { type: 'lease.expired', ...base, allocationId: lease.allocation?.id ?? lease.id }
          : { type: 'lease.lost', ...base, reason: lease.lostReason },
      );
    }
    this.metrics.recordCompletion(
      now,
      (now - lease.grantedAt) / 1000,
      lease.lostReason ? 'error' : 'success',
    );
    this.deps.keys.release(lease.concurrencyKey);
    this.allocations.close(lease);
    const agent = lease.agent;
    // What the grant added (only while a strategy was in use: `lease.task` is set then), whatever is in use now.
    if (lease.task) addAmounts(agent.held, amountsOf(lease.requirements), -1);
    agent.leases = Math.max(0, agent.leases - 1);
    // Per-lease workspace: the next lease on this agent starts with an empty one.
    if (agent.leases === 0) agent.clearWorkspace();
    if (this.retiring.has(agent)) {
      if (agent.leases === 0 && !agent.gone) agent.drain();
    } else if (agent.accepting && agent.leases < this.config.concurrency && this.accepting) {
      this.free.add(agent);
    }
    this.serveWaiters();
    if (this.free.size > 0) this.deps.onFreed?.(this);
    if (this.drained && this.leases.size === 0) this.drained();
  }

  private view(a: AgentHandle): AgentView {
    const cap = this.config.concurrency;
    const variant = this.variantOf(a);
    const total = this.capacityTotals.get(variant) as Readonly<Record<string, number>>;
    const free: Record<string, number> = {};
    for (const k in total) free[k] = Math.max(0, (total[k] ?? 0) - (a.held[k] ?? 0));
    return {
      id: a.id,
      weight: variant.capacity.weight,
      active: a.leases,
      capacity: cap,
      utilization: a.leases / cap,
      free,
      capacityTotal: total,
      specializations: variant.capacity.specializations,
    };
  }

  private markLeases(now: number): void {
    this.observer.markLeases(now, this.leases.size);
  }

  /**
   * Agents by state, retiring ones excluded: `total` (the size the scaler sees), `available` (ready,
   * free), `busy` (ready, leased), `starting` (or restarting); `standby` = starting + retiring (held,
   * not taking new work). O(agents). `total` is {@link size}.
   */
  agentCounts(): { total: number; available: number; busy: number; starting: number; standby: number } {
    let ready = 0;
    for (const a of this.agents.values()) {
      if (this.retiring.has(a)) continue;
      // An overdue agent is up and holds its leases; it only is not offered until its task lets go.
      if (a.accepting || a.availability === 'overdue') ready++;
    }
    // `total` is the pool's size (the machine's count): every counted agent not ready is coming up
    // (starting, restarting, being replaced after a crash).
    const total = this.size;
    const starting = total - ready;
    const busy = Math.min(ready, this.leases.size);
    const standby = starting + this.retiring.size;
    return { total, available: ready - busy, busy, starting, standby };
  }

  /** Close one metrics interval into the pool's time-series ring (see `SystemOptions.metricsIntervalMs`). */
  collectMetrics(): PoolMetricsSample {
    this.metrics.setResources(this.allocatedNow(), this.usedNow());
    return this.observer.collect(this.deps.clock.now(), this.agentCounts(), this.waitingNow().count);
  }

  /**
   * What the leased agents use, from their workers' last self-measurement (thread agents; inline agents
   * share the caller's heap and report nothing): heap MB and event-loop busy share as CPU cores.
   */
  private usedNow(): { memoryMb: number; cpuCores: number; tokens: number } {
    const out = { memoryMb: 0, cpuCores: 0, tokens: 0 };
    for (const a of this.agents.values()) {
      if (a.leases === 0 || !a.sample) continue;
      out.memoryMb += a.sample.heapMb;
      // CPU time where the thread measured it, else its event loop's busy share (an upper bound).
      out.cpuCores += a.sample.cpu ?? a.sample.elu;
    }
    return out;
  }

  /**
   * What this pool holds now: its live agents' base amounts (pool option `agentResources`, reserved
   * exactly) and its live leases' allocations (the ledger's numbers), else what they asked for.
   * O(leases), read when metrics are.
   */
  private allocatedNow(): { memoryMb: number; cpuCores: number; tokens: number } {
    const base = this.config.agentResources;
    const n = this.baseHoldings.size;
    const out = {
      memoryMb: n * (base.memoryMb ?? 0),
      cpuCores: n * (base.cpuCores ?? 0),
      tokens: n * (base.tokens ?? 0),
    };
    for (const l of this.leases) {
      const a = l.allocation?.amounts ?? (amountsOf(l.requirements) as Record<string, number>);
      out.memoryMb += a.memoryMb ?? 0;
      out.cpuCores += a.cpuCores ?? 0;
      out.tokens += a.tokens ?? 0;
    }
    return out;
  }

  /** The pool's metrics intervals, oldest first (bounded ring). */
  metricsHistory(): PoolMetricsSample[] {
    return this.metrics.history.toArray();
  }

  /** A metrics snapshot of this pool (see src/metrics/pool-metrics.ts). */
  metricsSnapshot(): PoolMetricsSnapshot {
    this.metrics.setResources(this.allocatedNow(), this.usedNow());
    const snap = this.observer.snapshot(this.deps.clock.now(), this.agentCounts(), this.waitingNow().count);
    // Acquire results are the pool's counters (their one owner), read here rather than copied.
    const c = this.counters;
    snap.warmStandby = this.warmStandby();
    snap.acquires = {
      granted: c.grantedImmediately + c.grantedAfterWait,
      exhausted: c.exhausted,
      rejected: c.rejected - c.exhausted,
      cancelled: c.cancelled,
    };
    return snap;
  }

  /** What the scaler sees: counts now, utilization averaged since the last observation. */
  observe(): ScalingObservation {
    const now = this.deps.clock.now();
    this.markLeases(now);
    return this.observer.observe(now, this.agentCounts(), this.config.concurrency, this.waitingNow());
  }

  /** Demand waiting now: this pool's waiters (FIFO: the first is the oldest) and the dispatcher's backlog. */
  private waitingNow(): Waiting {
    const backlog = this.backlog();
    let oldestAt = backlog.oldestAt;
    for (const w of this.waiters) {
      oldestAt = oldestAt === undefined ? w.startedAt : Math.min(oldestAt, w.startedAt);
      break;
    }
    return {
      count: this.waiters.size + backlog.count,
      oldestAt,
      ...(backlog.rateLimited ? { rateLimited: backlog.rateLimited } : {}),
      ...(backlog.startRateLimitPerS ? { startRateLimitPerS: backlog.startRateLimitPerS } : {}),
    };
  }

  /** Take a free slot: from the agent idle longest, or the one the pool's balancing strategy picks. */
  /**
   * Reserve a request's requirements in the ledger: owned by its cycle (within this pool), counted
   * against this pool's quotas (system option `resourceScaling`).
   */
  private reserveFor(req: AcquireRequest): GateReservation {
    // Nothing to reserve (most tasks): no owner key, no amounts object, no closure (issue 14).
    if (!hasAmounts(req.requirements)) return NOTHING_RESERVED;
    return this.deps.gate.reserve(`${this.type}:${req.cycleId}`, amountsOf(req.requirements), this.type);
  }

  private takeFree(req: AcquireRequest): AgentHandle | undefined {
    let agent = this.free.first();
    if (agent === undefined) return undefined;
    // One kind of agent: any free one fits (checked once per acquire by neverFits). Variants: only
    // agents whose variant fits the request are candidates.
    const fits = this.config.variants.length > 1 ? this.fittingVariants(req) : undefined;
    if (fits) {
      agent = undefined;
      for (const a of this.free) {
        if (fits.has(this.variantOf(a))) {
          agent = a;
          break;
        }
      }
      if (!agent) return undefined;
    }
    if (this.strategy && this.free.size > 1) {
      const views: AgentView[] = [];
      for (const a of this.free) if (!fits || fits.has(this.variantOf(a))) views.push(this.view(a));
      if (views.length > 1) {
        const picked = this.strategy.pick(views, taskViewOf(req), this.rng);
        agent = (picked && this.agents.get(picked.id)) || agent;
      }
    }
    agent.leases++;
    if (agent.leases >= this.config.concurrency) this.free.delete(agent);
    return agent;
  }

  private countVariant(a: AgentHandle, delta: 1 | -1): void {
    const v = this.variantOf(a);
    this.variantCount.set(v, Math.max(0, (this.variantCount.get(v) ?? 0) + delta));
  }

  /** An agent's variant (the pool's only one when it has no `variants`). */
  private variantOf(a: AgentHandle): AgentVariant {
    return a.variant ?? (this.config.variants[0] as AgentVariant);
  }

  /** The variants whose agents can serve `req`. O(variants × resources). */
  private fittingVariants(req: AcquireRequest): Set<AgentVariant> {
    const out = new Set<AgentVariant>();
    for (const v of this.config.variants) if (!misfit(req.requirements, v.capacity, this.config)) out.add(v);
    return out;
  }

  /**
   * The variant of the next agent: among the variants that fit the oldest waiting request (the agent
   * is spawned for the work that waits — the seed's agents tailored to requirements), the one furthest
   * below its share; with nobody waiting, among all. O(variants × resources).
   */
  private nextVariant(): AgentVariant {
    const all = this.config.variants;
    if (all.length === 1) return all[0] as AgentVariant;
    let candidates: readonly AgentVariant[] = all;
    const oldest = this.oldestUnoffered();
    if (oldest) {
      const fits = this.fittingVariants(oldest.req);
      if (fits.size > 0) candidates = [...fits];
    }
    let best = candidates[0] as AgentVariant;
    let bestRatio = Number.POSITIVE_INFINITY;
    for (const v of candidates) {
      const ratio = ((this.variantCount.get(v) ?? 0) + 1) / v.share;
      if (ratio < bestRatio) {
        best = v;
        bestRatio = ratio;
      }
    }
    return best;
  }

  /** The oldest waiter not yet offered an agent. */
  private oldestUnoffered(): Waiter | undefined {
    for (const w of this.waiters) if (w.agent === undefined) return w;
    return undefined;
  }

  /** Undo takeFree for an offer that was not used. */
  private returnAgent(agent: AgentHandle): void {
    agent.leases = Math.max(0, agent.leases - 1);
    if (agent.accepting && this.accepting && !this.retiring.has(agent)) this.free.add(agent);
    this.serveWaiters();
  }

  /** Offer free agents to waiters again (a concurrency key was released, possibly by another pool). */
  wake(): void {
    this.serveWaiters();
  }

  /**
   * Offer free agents to waiters: in FIFO order, or by Dominant Resource Fairness with pool option
   * `admission: 'drf'`. A waiter blocked by its concurrency key does not block the rest.
   */
  private serveWaiters(): void {
    const drf = this.config.admission === 'drf';
    if (this.waiters.size === 0 || this.paused) return;
    while (this.free.size > 0 && this.waiters.size > 0) {
      let next: Waiter | undefined;
      let agent: AgentHandle | undefined;
      if (drf) {
        next = this.drf.next(this.waiters);
        agent = next && this.takeFree(next.req);
      } else {
        // With variants a waiter whose kind of agent is not free does not block the rest either.
        for (const w of this.waiters) {
          if (w.agent === undefined && this.deps.keys.allows(w.req.concurrencyKey, w.req.concurrencyLimit)) {
            agent = this.takeFree(w.req);
            if (agent) {
              next = w;
              break;
            }
          }
        }
      }
      if (!next || !agent) return;
      this.waiters.delete(next);
      next.agent = agent;
      // The key is held from the offer on (not from the grant), so a second free agent in the same
      // turn cannot go to another waiter of the same key while this offer is being reserved.
      this.deps.keys.take(next.req.concurrencyKey);
      if (drf) this.drf.offer(next);
      // Reserve with the offer when it can be done now (this runs outside any transition): the
      // acquisition goes OFFER → granted in one event. A refusal takes the chart's own way (OFFER →
      // allocating, whose `reserve` tries again and reports RESERVE_FAILED).
      const r = this.reserveFor(next.req);
      if (r.ok) next.reservation = r;
      next.actor?.send({ type: 'OFFER', agentId: agent.id, reserved: r.ok });
    }
  }

  /** Start agents for waiters nobody is starting an agent for yet (below max). */
  private ensureCapacity(extraDemand = 0): void {
    // Paused: the wait is the pause, not a lack of agents.
    if (!this.accepting || this.paused) return;
    if (!this.config.growOnDemand) {
      // The scaler owns the size (see PoolOptions.growOnDemand); only an empty pool grows here, so a
      // first request never waits for a scaler interval or an acquire timeout.
      if (this.size > 0 || this.failedEmpty) return;
      if (this.waiters.size + extraDemand > 0)
        void this.scaleTo(this.size + 1, 'acquire demand (empty pool)');
      return;
    }
    // At max, or with free agents to cover the demand, there is nothing to start: skip the O(agents) walk.
    const demandNow = this.waiters.size + extraDemand;
    if (this.size >= this.config.max) return;
    if (demandNow <= this.free.size && (this.config.variants.length === 1 || this.waiters.size === 0)) return;
    // Starts keep failing: waiting work was failed; do not spawn agents that cannot start.
    if (this.actor.getSnapshot().matches({ active: { sizing: 'failed' } })) return;
    // Agents about to serve: still starting, or ready but not yet in the free set (the agent reports
    // availability a microtask after its actor moved) — counting those keeps this from starting one
    // agent too many.
    let starting = 0;
    for (const a of this.agents.values()) {
      if (this.retiring.has(a) || this.free.has(a)) continue;
      // `availability` first: `state` reads the actor's snapshot, too costly for every leased agent.
      const comingUp =
        a.availability === 'unavailable'
          ? a.state === 'starting' || a.state === 'idle'
          : a.accepting && a.leases < this.config.concurrency;
      if (comingUp) starting++;
    }
    const demand = demandNow;
    let want = Math.min(this.config.max, this.size + Math.max(0, demand - this.free.size - starting));
    // Variants: free agents of another kind cover nothing for the oldest waiter — start one of its kind
    // when none is free or coming up.
    if (want <= this.size && this.config.variants.length > 1 && this.size < this.config.max) {
      const oldest = this.oldestUnoffered();
      const fits = oldest && this.fittingVariants(oldest.req);
      let covered = !fits;
      for (const a of this.agents.values()) {
        if (covered) break;
        if (this.retiring.has(a) || !fits?.has(this.variantOf(a))) continue;
        covered = this.free.has(a) || a.availability === 'unavailable';
      }
      if (!covered) want = this.size + 1;
    }
    if (want > this.size) void this.scaleTo(want, 'acquire demand');
  }

  /**
   * Scale to `target` (clamped to [min, max]). Resolves with the decision record once applied.
   * Scale-down stops idle agents first, gracefully; leased agents are retired when released.
   */
  scaleTo(target: number, reason: string, retry = false): Promise<ScaleRecord | undefined> {
    // A stopped pool takes no decisions (and XState warns about events sent to stopped actors).
    const snap = this.actor.getSnapshot();
    if (snap.status !== 'active') return Promise.resolve(undefined);
    // A failed pool takes only explicit retries (the machine ignores the rest).
    if (!retry && snap.matches({ active: { sizing: 'failed' } })) return Promise.resolve(undefined);
    const extended = this.extendScaleUp(target, reason);
    if (extended !== undefined) return this.recordSettled(extended - 1);
    const before = snap.context.seq;
    const inFlight = snap.context.history.at(-1);
    this.actor.send({
      type: 'SCALE_TO',
      target,
      reason,
      at: this.deps.clock.now(),
      ...(retry ? { retry } : {}),
    });
    // Already heading to that size (the machine's `matchesInFlight`): answered by the in-flight record.
    const clamped = Math.max(this.config.min, Math.min(this.config.max, Math.round(target)));
    if (
      inFlight?.status === 'pending' &&
      inFlight.target === clamped &&
      snap.matches({ active: { sizing: 'scaling' } })
    )
      return this.recordSettled(inFlight.seq - 1);
    return this.recordSettled(before);
  }

  /**
   * A higher target while a scale-up is being applied: start the extra agents now and raise the
   * in-flight record (SCALE_EXTENDED) instead of queueing a second decision behind the first one's
   * start-ups. Returns the extended record's seq, or undefined when this is not such a case.
   */
  private extendScaleUp(target: number, reason: string): number | undefined {
    const up = this.scalingUp;
    if (!up || !this.accepting) return undefined;
    const snap = this.actor.getSnapshot();
    const clamped = Math.max(this.config.min, Math.min(this.config.max, Math.round(target)));
    if (clamped <= up.target || !snap.matches({ active: { sizing: 'scaling' } })) return undefined;
    const seq = snap.context.seq;
    this.actor.send({ type: 'SCALE_EXTENDED', target: clamped, reason });
    const r = this.actor.getSnapshot().context.history.at(-1);
    if (!r || r.seq !== seq || r.target !== clamped) return undefined; // refused: fall back to queueing
    up.starts.push(...this.spawnAgents(clamped - up.target));
    up.target = clamped;
    return seq;
  }

  /** Resolves with the first record after `before` once it is applied (undefined if none was needed). */
  private recordSettled(before: number): Promise<ScaleRecord | undefined> {
    return new Promise((resolve) => {
      const check = (s: ReturnType<typeof this.actor.getSnapshot>) => {
        const last = s.context.history[s.context.history.length - 1];
        if (s.status !== 'active') return last;
        // Settled: not scaling any more (steady, or failed when the starts kept failing).
        const settled = !s.matches({ active: { sizing: 'scaling' } });
        if (last && last.seq > before && last.status !== 'pending' && settled) return last;
        if (s.context.seq === before && settled && s.context.queued === undefined) return null;
        return undefined;
      };
      const now = check(this.actor.getSnapshot());
      if (now !== undefined) {
        resolve(now ?? undefined);
        return;
      }
      const sub = this.actor.subscribe((s) => {
        const r = check(s);
        if (r !== undefined) {
          sub.unsubscribe();
          resolve(r ?? undefined);
        }
      });
    });
  }

  async applyScale(target: number): Promise<{ actualDelta: number; error?: string }> {
    const current = this.size;
    // A scale-up queued behind the drain/stop must not start agents after every agent was stopped.
    if (target > current && !this.accepting) return { actualDelta: 0, error: 'pool is shutting down' };
    if (target > current) {
      const up = { target, starts: this.spawnAgents(target - current) };
      this.scalingUp = up;
      let results: AgentStart[];
      try {
        // SCALE_EXTENDED may add starts while these run: wait until no new ones arrived.
        do results = await Promise.all(up.starts.slice());
        while (results.length < up.starts.length);
      } finally {
        this.scalingUp = undefined;
      }
      const n = results.length;
      const ok = results.filter((r) => r === 'started').length;
      if (ok === n) return { actualDelta: ok };
      const refusals = results.filter((r): r is ScaleRefusal => typeof r === 'object');
      const failed = n - ok - refusals.length;
      const why: string[] = [];
      const refused = refusals[0];
      if (refused) {
        const limit = refused.scope === 'quota' ? `pool ${this.type} quota` : 'global limit';
        why.push(
          `${refusals.length} of ${n} agents not started (${refused.code}): ${refused.resource}: ` +
            `${refused.requested} requested, ${refused.available} available (${limit})`,
        );
      }
      if (failed > 0) why.push(`${failed} of ${n} agents failed to start`);
      return { actualDelta: ok, error: why.join('; '), ...(refused ? { refused } : {}) };
    }
    const n = current - target;
    const free = [...this.free].filter((a) => a.leases === 0);
    // A remote pool frees the most loaded node first (src/cluster/placement.ts scaleDownOrder).
    const remote = this.config.host === 'remote' ? this.deps.agentHooks?.remote : undefined;
    const idle = (remote ? remote.scaleDownFirst(this.type, free) : free).slice(0, n);
    const rest = n - idle.length;
    const victims = [...idle];
    if (rest > 0) {
      // Not enough idle agents: retire leased ones, each stopping once its leases are released.
      for (const a of this.agents.values()) {
        if (victims.length >= n) break;
        if (!victims.includes(a) && !this.retiring.has(a)) victims.push(a);
      }
    }
    for (const a of victims) {
      this.retire(a);
      if (a.leases === 0) a.drain();
    }
    return { actualDelta: -victims.length };
  }

  /** What every agent of this pool shares in its spec (hooks, timings, config), built on first use. */
  private agentBase: Omit<AgentSpec, 'agentId' | 'tools' | 'variant' | 'memoryMb'> | undefined;

  private agentSpecBase(): Omit<AgentSpec, 'agentId' | 'tools' | 'variant' | 'memoryMb'> {
    if (this.agentBase) return this.agentBase;
    const c = this.config;
    const base: Omit<AgentSpec, 'agentId' | 'tools' | 'variant' | 'memoryMb'> = {
      pool: this.type,
      host: c.host,
      agent: c.agent,
      security: c.security,
      // The event itself is the agent actor's (`security.denied`, relayed like its other events).
      onSecurityDenied: (a, d) => {
        const n = c.security.violations.evictAfter;
        if (n > 0 && d.denials >= n) this.replaceAgent(a, 'violations');
      },
      onLifetimeOver: (a) => this.replaceAgent(a, 'lifetime'),
      maxFailures: c.maxFailures,
      timings: c.timings,
      clock: this.deps.clock,
      logger: this.deps.logger,
      onAvailability: (a, av) => this.onAvailability(a, av),
      onTaskSettled: (a, result, runMs, task) => {
        this.metrics.recordTask(result, runMs / 1000);
        this.deps.telemetry?.recordTaskRun(this.type, result, runMs / 1000);
        if (this.deps.events.wants('task.finished'))
          this.deps.events.emit({
            type: 'task.finished',
            agentId: a.id,
            pool: this.type,
            task,
            outcome: result,
            runMs,
          });
      },
      onProgress: (a, taskId, task, value) => {
        if (this.deps.events.wants('task.progress'))
          this.deps.events.emit({
            type: 'task.progress',
            agentId: a.id,
            pool: this.type,
            task,
            taskId,
            value,
          });
      },
      // The worker's own measurement goes to the leases on it (the rebalancer reads their peaks): split
      // evenly between them, since one thread's heap and CPU cannot be told apart per lease.
      onSample: (a, sample) => {
        const mine = [...this.leases].filter((l) => l.agent === a && !l.released);
        for (const l of mine)
          l.reportUsage({
            memoryMb: sample.heapMb / mine.length,
            cpuCores: (sample.cpu ?? sample.elu) / mine.length,
          });
      },
      onOom: (a, err) =>
        this.deps.events.emit({ type: 'agent.oom', agentId: a.id, pool: this.type, error: err.message }),
      onStarted: () => {
        this.startError = undefined;
        // Sent only when it changes the chart (a failure count to reset, or the failed state to
        // leave): otherwise it is a no-op event, and 10,000 of them were 6 % of starting 10,000 agents.
        const s = this.actor.getSnapshot();
        if (s.status === 'active' && (s.context.startFailures > 0 || s.context.lastStartError !== undefined))
          this.actor.send({ type: 'AGENT_STARTED' });
      },
      onStartFailed: (_a, err) => {
        this.startError = err;
        if (this.actor.getSnapshot().status === 'active')
          this.actor.send({ type: 'AGENT_START_FAILED', error: err.message });
      },
    };
    if (this.deps.workspaceBase !== undefined) base.workspaceBase = this.deps.workspaceBase;
    if (this.deps.telemetry) base.telemetry = this.deps.telemetry;
    Object.assign(base, this.deps.agentHooks);
    this.agentBase = base;
    return base;
  }

  /**
   * Spawn one agent: `'started'` once it can take work, `'failed'` if it failed first, or the refusal
   * when its base resources (pool option `agentResources`) do not fit the ledger — then no agent is
   * made (the seed's scale-up: check the resources first, "Insufficient resources" otherwise).
   */
  /**
   * Start `n` agents; the pool machine hears them as one `AGENT_ADDED` (10,000 single events were 8 %
   * of starting 10,000 agents). Sent after the spawns: one refused for lack of resources is not added.
   */
  private spawnAgents(n: number): Promise<AgentStart>[] {
    const before = this.agents.size;
    const starts: Promise<AgentStart>[] = [];
    for (let i = 0; i < n; i++) starts.push(this.spawnAgent());
    const added = this.agents.size - before;
    if (added > 0) this.actor.send({ type: 'AGENT_ADDED', count: added });
    return starts;
  }

  /** Create one agent (handle and actor, a child of the pool's); the caller sends `AGENT_ADDED`. */
  private spawnAgent(): Promise<AgentStart> {
    const id = `${this.type}-${nanoid(8)}`;
    const c = this.config;
    let releaseBase: (() => void) | undefined;
    if (Object.keys(c.agentResources).length > 0) {
      // Exact: an agent's base is what it needs to live, not a grant the optimiser may size.
      const r = this.deps.gate.reserve(`${this.type}:agent:${id}`, c.agentResources, this.type, true);
      if (!r.ok)
        return Promise.resolve({
          code: 'ERR_RESOURCE_EXHAUSTED',
          resource: r.resource,
          requested: r.requested,
          available: r.available,
          scope: r.scope ?? 'global',
        });
      releaseBase = r.release;
    }
    const variant = this.nextVariant();
    // The pool's shared fields (built once: the same hooks for every agent) are the spec's prototype,
    // not copied: a copy of ~25 fields per agent was 1.6 KB of heap each at 10,000 agents (issue 14).
    const spec = Object.create(this.agentSpecBase()) as AgentSpec;
    spec.agentId = id;
    spec.tools = variant.capacity.tools;
    if (c.variants.length > 1) spec.variant = variant;
    // Every host but inline enforces a heap cap (thread: resourceLimits; process, sandbox: V8 flag).
    if (c.host !== 'inline') spec.memoryMb = variant.capacity.memoryMb;
    const handle = new AgentHandle(spec);
    this.agents.set(id, handle);
    if (releaseBase) this.baseHoldings.set(handle, releaseBase);
    this.countVariant(handle, 1);
    this.deps.agents.set(id, handle);
    this.counters.agentsPeak = Math.max(this.counters.agentsPeak, this.agents.size);
    const ready = new Promise<boolean>((resolve) => this.startWaiters.set(handle, resolve));
    this.startWaiterDone.set(handle, ready);
    void ready.then(() => this.startWaiterDone.delete(handle));
    // The agent's actor, a child of the pool's (its start starts the host).
    this.startAgentActor(handle);
    return ready.then((ok) => (ok ? 'started' : 'failed'));
  }

  private onAvailability(agent: AgentHandle, av: AgentAvailability): void {
    const started = this.startWaiters.get(agent);
    if (started && (av === 'idle' || av === 'gone')) {
      this.startWaiters.delete(agent);
      started(av === 'idle');
    }
    switch (av) {
      case 'idle':
      case 'busy':
        if (this.accepting && !this.retiring.has(agent) && agent.leases < this.config.concurrency) {
          this.free.add(agent);
          this.serveWaiters();
          if (this.free.size > 0) this.deps.onFreed?.(this);
        }
        break;
      case 'overdue':
        // Keeps its leases (their tasks may still finish); offered to nobody until idle again.
        this.free.delete(agent);
        break;
      case 'unavailable':
        this.free.delete(agent);
        // An agent that fails loses its leases: their holders see the crash error / ERR_LEASE_RELEASED.
        // (Retiring and starting agents hold none, so this only ever fires for failures.)
        this.dropLeases(agent, 'agent failed');
        break;
      case 'gone': {
        this.free.delete(agent);
        this.dropLeases(agent, 'agent gone');
        const retired = this.retiring.delete(agent);
        if (!retired && this.agents.has(agent.id)) this.countVariant(agent, -1);
        this.deps.agents.delete(agent.id);
        this.agentIds.release(agent);
        // Its base resources go back before the pool hears of the loss, so a replacement fits again.
        this.baseHoldings.get(agent)?.();
        this.baseHoldings.delete(agent);
        this.strategy?.onAgentRemoved?.(agent.id);
        if (this.agents.delete(agent.id) && this.actor.getSnapshot().status === 'active')
          this.actor.send({ type: 'AGENT_REMOVED', agentId: agent.id, counted: !retired });
        if (!retired) this.counters.agentsLost++;
        // Below min, the pool machine starts a replacement by itself (its `belowMin` rule).
        if (this.accepting && this.waiters.size > 0) this.ensureCapacity();
        this.topUpStandby();
        break;
      }
    }
  }

  private dropLeases(agent: AgentHandle, reason: string): void {
    if (agent.leases === 0) return;
    for (const l of [...this.leases]) if (l.agent === agent) l.markLost(reason);
  }

  /**
   * Shutdown, first phase: stop taking work, cancel waiters, resolve once no lease is held. Sends DRAIN
   * to the pool machine (which stops the pool by itself once drained); the caller owns the deadline and
   * sends {@link stop} when it passes.
   */
  drain(): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'DRAIN' });
  }

  /**
   * Shutdown, second phase: stop every agent. `graceful`: running tasks are aborted and get their
   * `timings.abortGraceMs` to let go before their worker is killed; otherwise killed at once.
   * Resolves (see {@link whenStopped}) once no agent and no worker thread of this pool is left.
   */
  stop(graceful: boolean): Promise<void> {
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'STOP', graceful });
    return this.whenStopped();
  }

  /** The `drainPool` actor: intake is closed (the machine left `active`); wait for the leases. */
  async drainLeases(): Promise<void> {
    this.free.clear();
    for (const w of [...this.waiters]) w.actor?.send({ type: 'ABORT' });
    if (this.leases.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = undefined;
  }

  /** The `stopAgents` actor: leases end as lost, every agent is stopped, their workers have exited. */
  async stopAgents(graceful: boolean): Promise<void> {
    this.drained = undefined;
    this.free.clear();
    for (const w of [...this.waiters]) w.actor?.send({ type: 'ABORT' });
    for (const l of [...this.leases]) l.markLost('pool stopped');
    const all = [...this.agents.values()];
    const abortGraceMs = graceful ? this.config.timings.abortGraceMs : 0;
    for (const a of all) {
      this.retire(a);
      a.stop(0, abortGraceMs);
    }
    // Each agent machine reaches a final state within its stop deadline (abort grace + margin) and
    // kills its host on entry; then wait for the threads themselves to be gone.
    const limit = abortGraceMs + STOP_MARGIN_MS;
    await Promise.all(all.map((a) => a.whenGone(limit)));
    await Promise.all(all.map((a) => a.whenHostExited(STOP_MARGIN_MS)));
    // The pool's children created with it as their parent end with it (nothing left running).
    this.stopChildren();
  }

  /** This pool's agents whose worker thread is still running. */
  liveThreads(): number {
    let n = 0;
    for (const a of this.agents.values()) if (a.hasLiveThread) n++;
    return n;
  }

  /** Fail what waits for this pool (acquires here, queued submits via {@link onFailed}) once starts keep failing. */
  private failWaiting(): void {
    // Agents still trying to start (restart backoff, or a start in flight) stop trying too.
    for (const a of [...this.agents.values()]) {
      if (!a.accepting && a.availability !== 'overdue' && !this.retiring.has(a)) {
        this.retire(a);
        a.stop(0, 0);
      }
    }
    if (!this.failedEmpty) return;
    const err = this.failure();
    this.deps.logger.error({ err, pool: this.type }, err.message);
    for (const w of [...this.waiters]) w.actor?.send({ type: 'POOL_FAILED', error: err.message });
    this.onFailed?.(err);
  }

  /** Resolves when the pool actor is done. */
  whenStopped(): Promise<void> {
    return whenDone(this.actor);
  }

  /** Snapshot for status() and metrics. */
  status(): PoolStatus {
    const snap = this.actor.getSnapshot();
    const states: Record<string, number> = {};
    for (const a of this.agents.values()) states[a.state] = (states[a.state] ?? 0) + 1;
    let available = 0;
    for (const a of this.free) available += this.config.concurrency - a.leases;
    return {
      type: this.type,
      state: typeof snap.value === 'string' ? snap.value : Object.keys(snap.value)[0]!,
      intake: this.paused ? 'paused' : 'open',
      queued: this.queueLength(),
      min: this.config.min,
      max: this.config.max,
      size: this.size,
      available,
      leased: this.leases.size,
      waiting: this.waiters.size,
      agents: states,
      ...(this.config.variants.length > 1
        ? { variants: Object.fromEntries([...this.variantCount].map(([v, n]) => [v.name, n])) }
        : {}),
      ...(this.config.standby > 0
        ? { standby: { target: this.config.standby, ready: this.warmStandby() } }
        : {}),
      ...(this.strategy ? { balancing: this.strategy.name } : {}),
      counters: { ...this.counters },
      acquireWaitMs: this.observer.waits.summary(),
      history: snap.context.history,
      ...(this.startError
        ? {
            lastError: {
              code: (this.startError as { code?: string }).code ?? 'ERR_AGENT_START_FAILED',
              message: this.startError.message,
              startFailures: snap.context.startFailures,
              failed: snap.matches({ active: { sizing: 'failed' } }),
            },
          }
        : {}),
    };
  }
}

function shuttingDown(type: string): AgentPoolError {
  return new AgentPoolError('ERR_SHUTTING_DOWN', `pool ${type} is shutting down`, {
    details: { pool: type },
  });
}
