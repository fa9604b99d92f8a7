/**
 * A deterministic discrete-event simulator of the supermarket model, for judging balancing
 * strategies: N agents, each with one server and a FIFO queue; Poisson arrivals; a dispatcher that
 * places each task on arrival with a {@link BalancingStrategy} and never moves it afterwards.
 *
 * Identical traffic for every strategy: arrivals, service demands and the strategy's own random
 * choices come from three separate seeded streams, so the arrival times and the work of task k are
 * the same whichever strategy runs (a strategy that draws more random numbers does not shift the
 * traffic). Service demand is a property of the task; the time it takes is demand / agent speed.
 *
 * Virtual time only: a run of a million tasks takes well under a second of CPU per simple strategy.
 */
import type { AgentView, BalancingStrategy, TaskView } from '../policies/balancing/types.js';
import { BinaryHeap } from '../core/heap.js';
import { Deque } from '../structures/work-stealing.js';
import { createRng, type Distribution, exponential, type Rng, sample } from '../core/random.js';

/** The shape of the traffic and of the agents. */
export interface QueueingScenario {
  /** Number of agents (one server each). */
  agents: number;
  /** Offered load ρ as a fraction of total service capacity (0 < ρ < 1 for a stable system). */
  load: number;
  /** Service demand distribution; its mean is the work unit. @default exponential, mean 1 */
  service?: Distribution;
  /** Fraction of agents that are slower. @default 0 */
  slowFraction?: number;
  /** How many times slower those agents are. @default 2 */
  slowFactor?: number;
}

/** Options of {@link simulateQueueing}. */
export interface QueueingRunOptions extends QueueingScenario {
  /** The strategy under test (a fresh instance: it learns during the run). */
  strategy: BalancingStrategy;
  /** Seed of the run; same seed → same traffic and same result. */
  seed: number;
  /** Tasks measured (after the warm-up). */
  tasks: number;
  /** Tasks run before measuring starts, so the system is in steady state. @default tasks / 10 */
  warmup?: number;
}

/** What one run measured (over the measured tasks only). */
export interface QueueingResult {
  /** Strategy name. */
  strategy: string;
  /** Tasks measured. */
  tasks: number;
  /** Mean time from arrival to completion, in mean-service-time units. */
  meanTimeInSystem: number;
  /** Mean time from arrival to start of service. */
  meanWait: number;
  /** 99th percentile of the wait. */
  p99Wait: number;
  /** Most tasks (queued + in service) one agent held when a measured task arrived, that task included. */
  maxQueue: number;
  /** Mean number of agents whose load the strategy read per dispatch. */
  probesPerDispatch: number;
  /** Arrival rate used (tasks per unit time). */
  arrivalRate: number;
  /**
   * Mean time in system of the second half of the measured tasks divided by that of the first
   * half. About 1 in steady state; well above 1 when queues grow without bound (an overloaded
   * agent), in which case the other numbers depend on the run length and mean little.
   */
  drift: number;
}

/** Derive independent stream seeds from one run seed (splitmix-style mixing). */
export function streamSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Speed of each agent: 1, or 1 / slowFactor for an evenly spread `slowFraction` of them (agent i
 * is slow when ⌊(i+1)·f⌋ > ⌊i·f⌋, which gives exactly ⌊n·f⌋ slow agents, not clustered at one end).
 */
export function agentSpeeds(agents: number, slowFraction = 0, slowFactor = 2): Float64Array {
  const s = new Float64Array(agents);
  for (let i = 0; i < agents; i++) {
    s[i] = Math.floor((i + 1) * slowFraction) > Math.floor(i * slowFraction) ? 1 / slowFactor : 1;
  }
  return s;
}

/** Mean of a service-demand distribution. */
export function distributionMean(d: Distribution): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'exponential':
    case 'lognormal':
      return d.mean;
  }
}

type MutableView = { -readonly [K in keyof AgentView]: AgentView[K] } & { index: number };

interface SimTask {
  index: number;
  arrival: number;
  demand: number;
  start: number;
  view: TaskView;
}

interface Departure {
  t: number;
  agent: number;
  task: SimTask;
}

/**
 * Run one simulation. Throws RangeError on an unstable or empty configuration (this is a
 * benchmark/test tool, not a public boundary).
 *
 * @example
 * ```ts
 * const r = simulateQueueing({ agents: 100, load: 0.9, tasks: 1e6, seed: 1, strategy: createStrategy('p2c') });
 * r.meanTimeInSystem; // ≈ 2.6
 * ```
 */
export function simulateQueueing(o: QueueingRunOptions): QueueingResult {
  const n = o.agents;
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`agents must be a positive integer, got ${n}`);
  if (!(o.load > 0 && o.load < 1)) throw new RangeError(`load must be in (0, 1), got ${o.load}`);
  if (!(Number.isInteger(o.tasks) && o.tasks >= 1)) throw new RangeError(`tasks must be a positive integer`);
  const service: Distribution = o.service ?? { kind: 'exponential', mean: 1 };
  const warmup = o.warmup ?? Math.floor(o.tasks / 10);
  const total = warmup + o.tasks;
  const speeds = agentSpeeds(n, o.slowFraction ?? 0, o.slowFactor ?? 2);
  let capacity = 0;
  for (const s of speeds) capacity += s;
  // λ = ρ · (total service rate): with slow agents the load stays relative to real capacity.
  const lambda = (o.load * capacity) / distributionMean(service);

  const arrivals: Rng = createRng(streamSeed(o.seed, 1));
  const demands: Rng = createRng(streamSeed(o.seed, 2));
  const choices: Rng = createRng(streamSeed(o.seed, 3));
  const strategy = o.strategy;

  const views: MutableView[] = [];
  const queues: Deque<SimTask>[] = [];
  for (let i = 0; i < n; i++) {
    views.push({
      id: `agent-${i}`,
      index: i,
      weight: speeds[i] as number,
      active: 0,
      capacity: 1,
      utilization: 0,
      free: {},
      capacityTotal: {},
      specializations: [],
    });
    queues.push(new Deque<SimTask>());
  }
  const departures = new BinaryHeap<Departure>((a, b) => a.t < b.t);
  const waits = new Float64Array(o.tasks);
  let sumTime = 0;
  let sumTimeFirstHalf = 0;
  const half = warmup + Math.floor(o.tasks / 2);
  let sumWait = 0;
  let probes = 0;
  let maxQueue = 0;

  const startService = (i: number, task: SimTask, now: number) => {
    task.start = now;
    departures.push({ t: now + task.demand / (speeds[i] as number), agent: i, task });
  };

  let arrived = 0;
  let nextArrival = exponential(arrivals, 1 / lambda);
  for (;;) {
    const dep = departures.peek();
    if (arrived < total && (dep === undefined || nextArrival < dep.t)) {
      const now = nextArrival;
      const task: SimTask = {
        index: arrived,
        arrival: now,
        demand: sample(demands, service),
        start: 0,
        view: { id: `task-${arrived}` },
      };
      const measured = arrived >= warmup;
      const picked = strategy.pick(views, task.view, choices) as MutableView | undefined;
      if (picked === undefined) throw new RangeError(`strategy ${strategy.name} picked no agent`);
      const v = views[picked.index] as MutableView;
      if (measured) probes += strategy.probes;
      strategy.onDispatch?.(v.id, task.view, now);
      v.active++;
      v.utilization = 1;
      if (measured && v.active > maxQueue) maxQueue = v.active;
      if (v.active === 1) startService(v.index, task, now);
      else (queues[v.index] as Deque<SimTask>).pushBottom(task);
      arrived++;
      nextArrival = now + exponential(arrivals, 1 / lambda);
    } else if (dep !== undefined) {
      departures.pop();
      const now = dep.t;
      const task = dep.task;
      const v = views[dep.agent] as MutableView;
      v.active--;
      v.utilization = v.active > 0 ? 1 : 0;
      const wait = task.start - task.arrival;
      if (task.index >= warmup) {
        sumTime += now - task.arrival;
        if (task.index < half) sumTimeFirstHalf += now - task.arrival;
        sumWait += wait;
        waits[task.index - warmup] = wait;
      }
      strategy.onComplete?.(
        v.id,
        task.view,
        { ok: true, serviceTime: now - task.start, waitTime: wait },
        now,
      );
      const next = (queues[dep.agent] as Deque<SimTask>).popTop();
      if (next) startService(dep.agent, next, now);
    } else break;
  }

  waits.sort();
  return {
    strategy: strategy.name,
    tasks: o.tasks,
    meanTimeInSystem: sumTime / o.tasks,
    meanWait: sumWait / o.tasks,
    p99Wait: waits[Math.max(0, Math.ceil(0.99 * o.tasks) - 1)] as number,
    maxQueue,
    probesPerDispatch: probes / o.tasks,
    arrivalRate: lambda,
    drift:
      sumTimeFirstHalf > 0
        ? (sumTime - sumTimeFirstHalf) / (o.tasks - (half - warmup)) / (sumTimeFirstHalf / (half - warmup))
        : 1,
  };
}
