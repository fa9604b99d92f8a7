/**
 * The one actor tree: the system machine with every child kind's named implementations provided,
 * once per system. The root (machines/system.machine.ts) spawns one pool actor per type, the
 * dispatcher, the allocator and (while running) the rebalancer; each pool actor spawns its scaler, and
 * the pool runtime creates its agents as the pool actor's children (`parent: poolActor`), and its
 * waiting acquisitions and allocations under the pool's two child groups (src/runtime/child-group.ts).
 * One inspector attached to the root sees them all.
 *
 * A child's implementations are shared by every child of its kind, so they find the runtime object
 * they act for by the id the machine carries in its context or invoke input (`agentId`, `pool`, the
 * acquisition's `id`): the runtime objects (src/runtime/pool.ts, agent-handle.ts, dispatcher.ts,
 * rebalance.ts) keep the data plane; the actors keep the lifecycle.
 */
import { createActor, fromPromise } from 'xstate';
import { acquisitionMachine } from '../../machines/acquisition.machine.js';
import { agentMachine } from '../../machines/agent.machine.js';
import { allocationMachine } from '../../machines/allocation.machine.js';
import { dispatcherMachine } from '../../machines/dispatcher.machine.js';
import { poolMachine } from '../../machines/pool.machine.js';
import { rebalancerMachine } from '../../machines/rebalancer.machine.js';
import { resourceScalerMachine } from '../../machines/resource-scaler.machine.js';
import { scalerMachine } from '../../machines/scaler.machine.js';
import { systemMachine } from '../../machines/system.machine.js';
import type { ResizeChange, ResourceAmounts } from '../structures/ledger.js';
import type { AgentHandle } from './agent-handle.js';
import type { Dispatcher } from './dispatcher.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Pool } from './pool.js';
import type { Rebalancer } from './rebalance.js';
import type { ResourceScaling } from './resource-scaling.js';

/** Where the tree's implementations find the runtime objects they act for. */
export interface TreeRegistry {
  pool(type: string): Pool | undefined;
  agent(agentId: string): AgentHandle | undefined;
  dispatcher(): Dispatcher | undefined;
  rebalancer(): Rebalancer | undefined;
  resourceScaling(): ResourceScaling | undefined;
  /** Resize a ledger allocation (the allocator answers at once); resolves with the new amounts. */
  resize(allocationId: string, change: ResizeChange): ResourceAmounts;
  logger: Logger;
}

/** The system-level implementations (start, drain, stop every pool). */
export interface SystemImplementations {
  startPools(): Promise<void>;
  drainPools(): Promise<void>;
  stopPools(graceful: boolean): Promise<void>;
}

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} is not registered`);
  return v;
}

/** The agent machine, its implementations being the methods of the {@link AgentHandle} it runs for. */
export function agentLogic(reg: TreeRegistry) {
  const agent = (id: string) => must(reg.agent(id), `agent ${id}`);
  return agentMachine.provide({
    actors: {
      startHost: fromPromise(({ input, signal }) => agent(input.agentId).startHost(signal)),
      stopHost: fromPromise(({ input }) => agent(input.agentId).stopHost(input.graceMs, input.abortGraceMs)),
      killHost: fromPromise(({ input }) => agent(input.agentId).killHost(input.reason)),
      checkHealth: fromPromise(({ input }) => agent(input.agentId).checkHealth()),
    },
    actions: {
      abortTask: ({ context }, params) => reg.agent(context.agentId)?.abortTask(params.taskId),
      reportIdle: ({ context }) => reg.agent(context.agentId)?.setAvailability('idle'),
      reportBusy: ({ context }) => reg.agent(context.agentId)?.setAvailability('busy'),
      reportOverdue: ({ context }) => reg.agent(context.agentId)?.setAvailability('overdue'),
      reportUnavailable: ({ context }) => reg.agent(context.agentId)?.setAvailability('unavailable'),
      reportGone: ({ context }) => reg.agent(context.agentId)?.setAvailability('gone'),
      reportStarted: ({ context }) => reg.agent(context.agentId)?.reportStarted(),
      reportStartFailed: ({ context }) => reg.agent(context.agentId)?.reportStartFailed(context.lastError),
      failInflight: ({ context }) => reg.agent(context.agentId)?.failAll(),
      killHostNow: ({ context }) => reg.agent(context.agentId)?.killHostNow(),
    },
  });
}

/** The acquisition machine, its implementations being the waiter's hooks in its pool. */
export function acquisitionLogic(reg: TreeRegistry) {
  const hooks = (pool: string, id: string) => reg.pool(pool)?.waiterHooks(id);
  return acquisitionMachine.provide({
    actions: {
      enqueue: ({ context }) => hooks(context.pool, context.id)?.enqueue(),
      withdraw: ({ context }) => hooks(context.pool, context.id)?.withdraw(),
      requestScaleUp: ({ context }) => hooks(context.pool, context.id)?.requestScaleUp(),
      reserve: ({ context }) => hooks(context.pool, context.id)?.reserve(),
      onGranted: ({ context }) => hooks(context.pool, context.id)?.onGranted(),
      onRejected: ({ context }, params) => hooks(context.pool, context.id)?.onRejected(params.failure),
      onCancelled: ({ context }) => hooks(context.pool, context.id)?.onCancelled(),
    },
    guards: {
      fits: ({ context }) => hooks(context.pool, context.id)?.fits() ?? false,
      canScaleUp: ({ context }) => reg.pool(context.pool)?.canScaleUp() ?? false,
      retryAtMax: ({ context }) => reg.pool(context.pool)?.config.retryAtMax ?? false,
    },
  });
}

/** The allocation machine: a lease's resources, released once (TTL, release, agent lost), resized. */
export function allocationLogic(reg: TreeRegistry) {
  return allocationMachine.provide({
    actors: {
      resizeAllocation: fromPromise(async ({ input }) => reg.resize(input.allocationId, input.change)),
    },
    actions: {
      releaseAllocation: ({ context }, { allocationId, cause }) =>
        reg.pool(context.pool ?? '')?.onAllocationReleased(allocationId, cause),
      reportResized: ({ context }, { allocationId, amounts }) =>
        reg.pool(context.pool ?? '')?.onAllocationResized(allocationId, amounts),
      reportResizeFailed: ({ context }, { allocationId, error }) =>
        reg.logger.warn({ pool: context.pool, allocationId }, `resize of ${allocationId} refused: ${error}`),
    },
  });
}

/** The scaler machine: it observes its pool and hands targets to the pool actor. */
export function scalerLogic(reg: TreeRegistry) {
  const pool = (type: string) => must(reg.pool(type), `pool ${type}`);
  return scalerMachine.provide({
    actors: {
      readMetrics: fromPromise(async ({ input }) => pool(input.pool).observe()),
      applyScale: fromPromise(async ({ input }) => {
        // Resolve once the decision is handed to the pool, not once new agents are ready: start-up can
        // outlast the scaler's interval, and a scaler blind for a whole start-up reacts that much late
        // to the next change (measured: bursts of the idle-gaps scenario served 30–45 s later). The
        // pool queues decisions that arrive while it is still applying one, and records each outcome.
        const p = pool(input.pool);
        const { min, max } = p.config;
        // Warm standby: never below the busy agents plus the standby ones.
        const target = Math.max(input.target, p.standbyFloor());
        void p.scaleTo(target, `autoscale: ${input.reason}`);
        return { size: Math.min(max, Math.max(min, Math.round(target))) };
      }),
    },
  });
}

/**
 * The logic of a pool's many short-lived children — agents, waiting acquisitions, allocations — which
 * the pool creates with its actor as their `parent` (see `Pool.child` for why not `spawnChild`).
 */
export function childLogic(reg: TreeRegistry) {
  return { agent: agentLogic(reg), acquisition: acquisitionLogic(reg), allocation: allocationLogic(reg) };
}

/** The pool machine with its children's implementations (the scaler is spawned by the machine). */
export function poolLogic(reg: TreeRegistry) {
  const pool = (type: string) => must(reg.pool(type), `pool ${type}`);
  return poolMachine.provide({
    actors: {
      scaler: scalerLogic(reg),
      applyScale: fromPromise(({ input }) => pool(input.type).applyScale(input.target)),
      drainPool: fromPromise(({ input }) => pool(input.type).drainLeases()),
      stopAgents: fromPromise(({ input }) => pool(input.type).stopAgents(input.graceful)),
    },
    actions: {
      reportFailed: ({ context }) => reg.pool(context.type)?.onStartsFailing(),
      reportRecovered: ({ context }) =>
        reg.logger.info({ pool: context.type }, `pool ${context.type}: an agent started; starts resume`),
      reportChildError: ({ context }, { error }) =>
        reg.logger.error({ err: error, pool: context.type }, `pool ${context.type}: a child actor failed`),
    },
  });
}

/** The dispatcher machine: placing and rejecting tasks is the {@link Dispatcher}'s. */
export function dispatcherLogic(reg: TreeRegistry) {
  return dispatcherMachine.provide({
    actions: {
      // Placing tasks drives pool and agent actors: after the transition, not inside it.
      assign: () => queueMicrotask(() => reg.dispatcher()?.assign()),
      rejectQueued: () => queueMicrotask(() => reg.dispatcher()?.rejectQueued()),
    },
    guards: { nothingRunning: () => (reg.dispatcher()?.runningCount ?? 0) === 0 },
  });
}

/** The rebalancer machine: observations and resizes go through the {@link Rebalancer}. */
export function rebalancerLogic(reg: TreeRegistry) {
  const rebalancer = () => must(reg.rebalancer(), 'rebalancer');
  return rebalancerMachine.provide({
    actors: {
      collectObservations: fromPromise(async () => rebalancer().collect()),
      applyOpportunities: fromPromise(async ({ input }) => rebalancer().apply(input.opportunities)),
    },
  });
}

/**
 * The resource scaler machine: observations and quota changes go through {@link ResourceScaling}
 * (the allocator). A microtask first, so the allocator is sent to after the scaler's transition,
 * not inside it.
 */
export function resourceScalerLogic(reg: TreeRegistry) {
  const scaling = () => must(reg.resourceScaling(), 'resource scaling');
  const later = () => new Promise<void>((resolve) => queueMicrotask(resolve));
  return resourceScalerMachine.provide({
    actors: {
      observeUsage: fromPromise(async () => {
        await later();
        return scaling().observe();
      }),
      applyQuotas: fromPromise(async ({ input }) => {
        await later();
        return scaling().apply(input.decisions);
      }),
    },
  });
}

/** The root: the system machine with every child kind's implementations. */
export function systemLogic(reg: TreeRegistry, impl: SystemImplementations) {
  return systemMachine.provide({
    actors: {
      pool: poolLogic(reg),
      dispatcher: dispatcherLogic(reg),
      rebalancer: rebalancerLogic(reg),
      resourceScaler: resourceScalerLogic(reg),
      startPools: fromPromise(() => impl.startPools()),
      drainPools: fromPromise(() => impl.drainPools()),
      stopPools: fromPromise(({ input }) => impl.stopPools(input.graceful)),
    },
    actions: {
      reportChildError: (_, { error }) => reg.logger.error({ err: error }, 'system: a child actor failed'),
    },
  });
}

/**
 * One agent outside any pool: its own root actor (tests and benchmarks of the agent alone). A
 * system's agents are never made this way — they are children of their pool's actor.
 */
export function startStandaloneAgent(handle: AgentHandle, clock: Clock, logger: Logger): AgentHandle {
  const logic = agentLogic({
    pool: () => undefined,
    agent: (id) => (id === handle.id ? handle : undefined),
    dispatcher: () => undefined,
    rebalancer: () => undefined,
    resourceScaling: () => undefined,
    resize: () => {
      throw new Error('a standalone agent has no allocator');
    },
    logger,
  });
  const actor = createActor(logic, { input: handle.machineInput(), clock });
  handle.attach(actor);
  actor.start();
  return handle;
}
