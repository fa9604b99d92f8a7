/**
 * Discrete-event simulation of ONE pool under a scaling policy, on a simulated clock.
 *
 * - Arrivals: a seeded non-homogeneous Poisson process drawn from the scenario's λ(t) by thinning, or
 *   a trace. Service times are drawn per task in arrival order from their own seeded stream, so every
 *   policy sees exactly the same tasks for a given seed (common random numbers).
 * - Agents: start-up delay, then serve one task at a time from a FIFO queue. Scale-down removes idle
 *   agents first, then cancels starting ones, then lets busy ones finish and retire (graceful).
 * - Policies: 'agentpool' runs the real scaler machine (`machines/scaler.machine.ts`) on the simulated
 *   clock with the real policy, its `readMetrics`/`applyScale` actors provided by the simulator; 'hpa'
 *   runs the Kubernetes HPA model every 15 s; 'fixed' is Little's law at 70 % of the mean rate; 'peak'
 *   is sized for the peak rate at the target utilization.
 *
 * Every timer — arrivals, completions, start-ups, the HPA loop, the scaler machine's `after` delays —
 * lives on one {@link ManualClock}, so a run is a pure function of its options.
 *
 * Over 400 lines because the model engine is one event loop (arrivals, starts, completions, scaler
 * ticks) whose state must stay in one closure to stay deterministic; measurement lives in measure.ts.
 */
import { createActor, fromPromise } from 'xstate';
import type {
  ApplyScaleInput,
  ApplyScaleOutput,
  ReadMetricsInput,
} from '../../../machines/scaler.machine.js';
import { scalerMachine } from '../../../machines/scaler.machine.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { PoolMetrics } from '../../metrics/pool-metrics.js';
import { RateCounter } from '../../metrics/rate-counter.js';
import type { ForecastOptions } from '../../policies/forecast.js';
import { type ScalingConfigInput, validateScalingConfig } from '../../policies/scaling/config.js';
import type { ScalingObservation } from '../../policies/scaling/decide.js';
import {
  type HpaConfig,
  hpaApplied,
  hpaDecide,
  initialHpaState,
  validateHpaConfig,
} from '../../policies/scaling/hpa.js';
import { littleTarget } from '../../policies/scaling/little.js';
import { flushMicrotasks, ManualClock } from '../../core/clock.js';
import type { Distribution } from '../../core/random.js';
import { type SimTask, scheduleArrivals } from './arrivals.js';
import { distributionMean, quantile, resultOf, Samples } from './measure.js';
import type { Scenario } from './scenarios.js';

export * from './result.js';
import {
  POLICIES,
  type PolicyName,
  type ScaleEvent,
  type SimulationResult,
  type SimulationSeries,
} from './result.js';

/** Options of {@link simulateScaling}. */
export interface SimulationOptions {
  scenario: Scenario;
  policy: PolicyName;
  /** Seed of the arrival and service streams. @default 1 */
  seed?: number;
  /** Pool bounds. `max` is also the peak pool's size cap. @default { min: 1, max: 50 } */
  min?: number;
  max?: number;
  /** Service-time distribution (ms). @default lognormal mean 20 s, CV 1.5 */
  service?: Distribution;
  /** Agent start-up time, ms. @default 30000 */
  startupMs?: number;
  /** Target utilization of the dynamic policies and of the peak pool. @default 0.75 */
  targetUtilization?: number;
  /** Utilization the fixed pool is sized for (Little's law). @default 0.7 */
  fixedUtilization?: number;
  /** A wait longer than this is an SLO violation, ms. @default 30000 */
  sloWaitMs?: number;
  /** Resolution of the time series, ms. @default 60000 */
  sampleMs?: number;
  /** Window of the arrival-rate estimate given to the agentpool scaler, ms. @default 30000 */
  rateWindowMs?: number;
  /**
   * Called as simulated time advances with the simulated ms done and the total (warm-up included):
   * the CLI's progress display. Does not change the result.
   */
  onProgress?: (simulatedMs: number, totalMs: number) => void;
  /**
   * Warm-up before measuring, ms: arrivals at the scenario's initial rate and the policy already running,
   * so no policy is judged on an artificially empty pool. @default 300000 (0 for traces)
   */
  warmupMs?: number;
  /** Two scale events in opposite directions closer than this count as a flap, ms. @default 300000 */
  flapWindowMs?: number;
  /** agentpool scaler options (min/max/targetUtilization come from the options above). */
  scaling?: ScalingConfigInput;
  /** agentpool forecaster options. */
  forecast?: ForecastOptions;
  /** HPA options (min/max/targetUtilization come from the options above). */
  hpa?: Partial<HpaConfig>;
}

type AgentState = 'starting' | 'idle' | 'busy' | 'draining';

interface Agent {
  id: number;
  state: AgentState;
  timer: unknown;
}

type Task = SimTask;

/** A FIFO queue over an array with a moving head (amortised O(1), no shift()). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}

function positiveInt(path: string, v: unknown, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new InvalidArgumentError(path, v, `an integer >= ${min}`);
  return v;
}

function positiveNum(path: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new InvalidArgumentError(path, v, 'a number > 0');
  return v;
}

/**
 * Run one simulation.
 *
 * @example
 * ```ts
 * const r = await simulateScaling({ scenario: makeScenario('step', { peakRatePerS: 1.875 }), policy: 'agentpool', seed: 1 });
 * console.log(r.p99WaitS, r.agentSeconds);
 * ```
 */
export async function simulateScaling(options: SimulationOptions): Promise<SimulationResult> {
  const wallStart = performance.now();
  const { scenario, policy } = options;
  if (!(POLICIES as readonly string[]).includes(policy)) {
    throw new InvalidArgumentError('simulation.policy', policy, `one of ${POLICIES.join(', ')}`);
  }
  const seed = positiveInt('simulation.seed', options.seed, 1);
  const max = positiveInt('simulation.max', options.max, 50, 1);
  const min = positiveInt('simulation.min', options.min, 1);
  if (min > max) throw new InvalidArgumentError('simulation.min', min, `an integer <= max (${max})`);
  const service: Distribution = options.service ??
    scenario.service ?? { kind: 'lognormal', mean: 20_000, cv: 1.5 };
  const startupMs = options.startupMs ?? 30_000;
  if (!(startupMs >= 0)) throw new InvalidArgumentError('simulation.startupMs', startupMs, 'a number >= 0');
  const target = positiveNum('simulation.targetUtilization', options.targetUtilization, 0.75);
  const fixedUtil = positiveNum('simulation.fixedUtilization', options.fixedUtilization, 0.7);
  const sloWaitMs = positiveNum('simulation.sloWaitMs', options.sloWaitMs, 30_000);
  const sampleMs = positiveNum('simulation.sampleMs', options.sampleMs, 60_000);
  const rateWindowMs = positiveNum('simulation.rateWindowMs', options.rateWindowMs, 30_000);
  const flapWindowMs = positiveNum('simulation.flapWindowMs', options.flapWindowMs, 300_000);
  const meanServiceMs = distributionMean(service);
  const warmupMs = options.warmupMs ?? (scenario.arrivals ? 0 : 300_000);
  if (!(typeof warmupMs === 'number' && warmupMs >= 0 && Number.isFinite(warmupMs))) {
    throw new InvalidArgumentError('simulation.warmupMs', warmupMs, 'a number >= 0');
  }
  // Clock time runs over [0, warmupMs + duration]; scenario time is clock time − warmupMs.
  const endMs = warmupMs + scenario.durationMs;

  const clock = new ManualClock(0);

  // ---- pool state -------------------------------------------------------------------------------
  const agents = new Map<number, Agent>();
  const idle: Agent[] = [];
  const starting = new Set<Agent>();
  const queue = new Fifo<Task>();
  let nextAgentId = 1;
  let nBusy = 0;
  let nDraining = 0;

  // Time integrals, advanced before every change.
  let lastT = 0;
  let heldArea = 0;
  let busyArea = 0;
  let readyArea = 0;
  let sizeArea = 0; // non-draining agents (the size a policy sees)
  const integrate = () => {
    const now = clock.now();
    const dt = now - lastT;
    if (dt > 0) {
      const held = agents.size;
      heldArea += held * dt;
      busyArea += nBusy * dt;
      // Draining agents are busy agents marked to retire: not "ready" capacity any more.
      readyArea += (idle.length + nBusy - nDraining) * dt;
      sizeArea += (held - nDraining) * dt;
      lastT = now;
    }
  };

  const metrics = new PoolMetrics({ pool: 'sim', historyCapacity: 1, rateWindowMs });
  // Started at 0 like the pool observer's: the first window's rate is over the time elapsed.
  const arrivalRate = new RateCounter({ windowMs: rateWindowMs, buckets: 30, startMs: 0 });
  const waits = new Samples();
  // Waits of the tasks that started in the current time-series interval.
  let intervalWaits = new Samples();
  let tasks = 0;
  let completed = 0;
  let violations = 0;
  const events: ScaleEvent[] = [];
  let maxSize = 0;

  const size = () => agents.size - nDraining;

  // ---- upstream rate limit (scenario.rateLimitPerS): a task may start only when a token is free ----
  const tokenGapMs = scenario.rateLimitPerS ? 1000 / scenario.rateLimitPerS : 0;
  let nextTokenAt = 0;
  let pumpTimer: unknown;
  const tokenFree = () => tokenGapMs === 0 || clock.now() >= nextTokenAt;
  const takeToken = () => {
    if (tokenGapMs > 0) nextTokenAt = clock.now() + tokenGapMs;
  };
  /** Start queued tasks on idle agents while tokens allow; wake up when the next token is due. */
  const pump = () => {
    while (queue.length > 0 && idle.length > 0 && tokenFree()) {
      takeToken();
      startTask(idle.pop() as Agent, queue.shift() as Task);
    }
    if (queue.length > 0 && idle.length > 0 && pumpTimer === undefined) {
      pumpTimer = clock.setTimeout(
        () => {
          pumpTimer = undefined;
          pump();
        },
        Math.max(0, nextTokenAt - clock.now()),
      );
    }
  };

  const startTask = (agent: Agent, task: Task) => {
    const now = clock.now();
    integrate();
    agent.state = 'busy';
    nBusy++;
    const w = now - task.arrival;
    if (task.measured) {
      waits.push(w / 1000);
      intervalWaits.push(w / 1000);
      if (w > sloWaitMs) violations++;
    }
    metrics.recordWait(w / 1000);
    agent.timer = clock.setTimeout(() => finishTask(agent, task), task.serviceMs);
  };

  const finishTask = (agent: Agent, task: Task) => {
    integrate();
    if (task.measured) completed++;
    metrics.recordCompletion(clock.now(), task.serviceMs / 1000);
    nBusy--;
    if (agent.state === 'draining') {
      nDraining--;
      agents.delete(agent.id);
      return;
    }
    agent.state = 'idle';
    idle.push(agent);
    pump();
  };

  const agentReady = (agent: Agent) => {
    integrate();
    starting.delete(agent);
    agent.state = 'idle';
    idle.push(agent);
    pump();
  };

  const spawn = () => {
    const agent: Agent = { id: nextAgentId++, state: 'starting', timer: undefined };
    agents.set(agent.id, agent);
    if (startupMs > 0) {
      starting.add(agent);
      agent.timer = clock.setTimeout(() => agentReady(agent), startupMs);
    } else {
      agentReady(agent);
    }
  };

  /** Resize to `to` (clamped to [min, max]); returns the size reached. */
  const scaleTo = (requested: number): number => {
    integrate();
    const from = size();
    const to = Math.min(max, Math.max(min, Math.round(requested)));
    if (to === from) return from;
    if (to > from) {
      for (let i = from; i < to; i++) spawn();
    } else {
      let remove = from - to;
      // Idle first. New work takes the most recently idle agent (pop), so the longest-idle agents sit at
      // the front of the list and are the ones removed.
      while (remove > 0 && idle.length > 0) {
        const a = idle.shift() as Agent;
        agents.delete(a.id);
        remove--;
      }
      // Then agents still starting (cheapest to cancel: no work lost).
      for (const a of [...starting]) {
        if (remove === 0) break;
        clock.clearTimeout(a.timer);
        starting.delete(a);
        agents.delete(a.id);
        remove--;
      }
      // Then busy ones: they finish their task and retire (graceful drain).
      if (remove > 0) {
        for (const a of agents.values()) {
          if (remove === 0) break;
          if (a.state === 'busy') {
            a.state = 'draining';
            nDraining++;
            remove--;
          }
        }
      }
    }
    const reached = size();
    if (clock.now() >= warmupMs) {
      events.push({ t: (clock.now() - warmupMs) / 1000, from, to: reached });
      if (reached > maxSize) maxSize = reached;
    }
    return reached;
  };

  // ---- arrivals ---------------------------------------------------------------------------------
  const onArrival = (task: Task) => {
    integrate();
    if (task.measured) tasks++;
    const now = clock.now();
    metrics.recordRequest(now);
    arrivalRate.add(now);
    queue.push(task);
    pump();
  };

  scheduleArrivals(clock, scenario, { seed, service, warmupMs, endMs }, onArrival);

  // ---- observation shared by the dynamic policies --------------------------------------------------
  let obsBusy = 0;
  let obsReady = 0;
  const readObservation = (): ScalingObservation => {
    integrate();
    const now = clock.now();
    const dBusy = busyArea - obsBusy;
    const dReady = readyArea - obsReady;
    obsBusy = busyArea;
    obsReady = readyArea;
    const ready = idle.length + nBusy - nDraining;
    const utilization = dReady > 0 ? Math.min(1, dBusy / dReady) : queue.length > 0 ? 1 : 0;
    const sample = metrics.collect(now);
    const oldest = queue.peek();
    const waitMs = Math.max(sample.wait.p90 * 1000, oldest ? now - oldest.arrival : 0);
    // As the pool observer reports it: 0 until the first task completed (the scaler then sizes on
    // waits alone), not the distribution's true mean, which a live pool does not know.
    const observedService = metrics.meanServiceSeconds * 1000;
    // As the live dispatcher reports it: a backlog the rate limit holds back is not waiters.
    const held = queue.length > 0 && !tokenFree();
    return {
      now,
      size: size(),
      ready,
      busy: nBusy - nDraining,
      starting: starting.size,
      waiters: held ? 0 : queue.length,
      ...(held ? { rateLimited: queue.length } : {}),
      ...(scenario.rateLimitPerS ? { startRateLimitPerS: scenario.rateLimitPerS } : {}),
      utilization,
      waitMs,
      arrivalRatePerS: arrivalRate.perSecond(now),
      meanServiceMs: observedService,
    };
  };

  // ---- initial pool -------------------------------------------------------------------------------
  const peakSize = Math.min(
    max,
    Math.max(min, littleTarget(scenario.peakRatePerS, meanServiceMs / 1000, target)),
  );
  const fixedSize = Math.min(
    max,
    Math.max(min, littleTarget(scenario.meanRatePerS, meanServiceMs / 1000, fixedUtil)),
  );
  const initialDynamic = Math.min(
    max,
    Math.max(min, littleTarget(scenario.rate(0), meanServiceMs / 1000, target)),
  );
  const initial = policy === 'peak' ? peakSize : policy === 'fixed' ? fixedSize : initialDynamic;
  for (let i = 0; i < initial; i++) {
    const agent: Agent = { id: nextAgentId++, state: 'idle', timer: undefined };
    agents.set(agent.id, agent);
    idle.push(agent);
  }
  maxSize = 0;

  // ---- policies -----------------------------------------------------------------------------------
  let actor: ReturnType<typeof createActor<typeof scalerMachine>> | undefined;
  if (policy === 'agentpool') {
    const cfg = validateScalingConfig(
      { ...options.scaling, min, max, targetUtilization: target },
      'simulation.scaling',
    );
    const machine = scalerMachine.provide({
      actors: {
        readMetrics: fromPromise<ScalingObservation, ReadMetricsInput>(async () => readObservation()),
        applyScale: fromPromise<ApplyScaleOutput, ApplyScaleInput>(async ({ input }) => ({
          size: scaleTo(input.target),
        })),
      },
    });
    actor = createActor(machine, {
      clock,
      input: { pool: 'sim', config: cfg, ...(options.forecast ? { forecast: options.forecast } : {}) },
    });
    actor.start();
  } else if (policy === 'hpa') {
    const hcfg = validateHpaConfig({ ...options.hpa, min, max, targetUtilization: target }, 'simulation.hpa');
    let hstate = initialHpaState();
    const loop = () => {
      const obs = readObservation();
      const r = hpaDecide(
        { now: obs.now, current: obs.size, ready: obs.ready, readyUsage: obs.utilization * obs.ready },
        hcfg,
        hstate,
      );
      hstate = r.state;
      if (r.desired !== obs.size) {
        const reached = scaleTo(r.desired);
        hstate = hpaApplied(hstate, obs.now, reached - obs.size);
      }
      clock.setTimeout(loop, hcfg.syncPeriodMs);
    };
    clock.setTimeout(loop, hcfg.syncPeriodMs);
  }

  // ---- measurement start and time series ----------------------------------------------------------
  const series: SimulationSeries = { t: [], demandPerMin: [], size: [], utilization: [], waitP99S: [] };
  let sT = warmupMs;
  let sBusy = 0;
  let sReady = 0;
  let sSize = 0;
  let sTasks = 0;
  const base = { held: 0, busy: 0, size: 0 };
  const startMeasuring = () => {
    integrate();
    base.held = heldArea;
    base.busy = busyArea;
    base.size = sizeArea;
    sBusy = busyArea;
    sReady = readyArea;
    sSize = sizeArea;
    maxSize = size();
  };
  if (warmupMs > 0) clock.setTimeout(startMeasuring, warmupMs);
  else startMeasuring();
  const sampleSeries = () => {
    integrate();
    const now = clock.now();
    const dt = now - sT;
    if (dt <= 0) return;
    const dReady = readyArea - sReady;
    series.t.push((now - warmupMs) / 1000);
    series.demandPerMin.push(((tasks - sTasks) * 60_000) / dt);
    series.size.push((sizeArea - sSize) / dt);
    series.utilization.push(dReady > 0 ? (busyArea - sBusy) / dReady : 0);
    series.waitP99S.push(quantile(intervalWaits.sorted(), 0.99));
    sT = now;
    sBusy = busyArea;
    sReady = readyArea;
    sSize = sizeArea;
    sTasks = tasks;
    intervalWaits = new Samples();
  };
  const seriesLoop = () => {
    sampleSeries();
    if (clock.now() + sampleMs <= endMs) clock.setTimeout(seriesLoop, sampleMs);
  };
  clock.setTimeout(seriesLoop, warmupMs + Math.min(sampleMs, scenario.durationMs));

  // ---- run ----------------------------------------------------------------------------------------
  for (;;) {
    const next = clock.nextAt();
    if (next === undefined || next > endMs) break;
    clock.advance(next - clock.now());
    options.onProgress?.(clock.now(), endMs);
    if (actor) {
      // The scaler's actors are promises: let them settle before simulated time moves on.
      for (let guard = 0; guard < 50; guard++) {
        const v = actor.getSnapshot().value;
        if (v !== 'evaluating' && v !== 'scaling') break;
        await flushMicrotasks(4);
      }
    }
  }
  clock.advance(Math.max(0, endMs - clock.now()));
  integrate();
  actor?.stop();

  // Tasks still queued at the end count with the wait they have accrued.
  for (const t of queue) {
    if (!t.measured) continue;
    const w = endMs - t.arrival;
    waits.push(w / 1000);
    if (w > sloWaitMs) violations++;
  }
  return resultOf({
    scenario,
    policy,
    seed,
    tasks,
    completed,
    waits,
    violations,
    heldMs: heldArea - base.held,
    busyMs: busyArea - base.busy,
    sizeMs: sizeArea - base.size,
    maxSize,
    events,
    flapWindowMs,
    series,
    wallStart,
    endMs,
  });
}
