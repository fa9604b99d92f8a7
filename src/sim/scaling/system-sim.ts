/**
 * The scaling simulation on the REAL system: an {@link AgentPoolSystem} with one inline pool of
 * synthetic agents on a {@link ManualClock} — the real pool, agent, dispatcher and scaler machines,
 * the real autoscaler wiring (`pool.observe()` → scaler → `SCALE_TO`), the real on-demand growth and
 * graceful retirement — fed the same task stream as the pool model (src/sim/scaling/arrivals.ts).
 *
 * - Agents: `defineAgent({ serve }, { setup })`; `setup` sleeps the start-up delay on the simulated
 *   clock (the agent is `starting` meanwhile), `serve` sleeps the task's service time.
 * - Tasks enter through `system.submit()` (default) or `system.acquire()` + `lease.run()`.
 * - Policies: `agentpool` (pool option `autoscale`, the same scaler config the model gets), `fixed` and
 *   `peak` (`min = max`). `hpa` is not offered here: it is a model of Kubernetes' controller, not a
 *   product feature, and the real pool also grows on demand (issue 3), which HPA does not.
 * - Time advances one timer instant at a time; after each, every promise chain the timers started is
 *   let run to completion (a macrotask turn) before time moves, as it would live — so the run is a
 *   pure function of its options.
 *
 * Measured exactly like the model: waits from arrival to the handler starting, agent-seconds held
 * (starting and retiring agents included), busy seconds, and a scale event whenever the size the scaler
 * sees (starting agents in, retiring ones out) changes at an instant.
 */
import { defineAgent } from '../../agent/define.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { validateScalingConfig } from '../../policies/scaling/config.js';
import { littleTarget } from '../../policies/scaling/little.js';
import { ManualClock, sleep } from '../../core/clock.js';
import { AgentPoolSystem } from '../../runtime/system.js';
import { type SimTask, scheduleArrivals } from './arrivals.js';
import { distributionMean, quantile, resultOf, Samples } from './measure.js';
import type {
  PolicyName,
  ScaleEvent,
  SimulationOptions,
  SimulationResult,
  SimulationSeries,
} from './simulate.js';

/** Policies the system engine runs. */
export const SYSTEM_POLICIES = ['agentpool', 'fixed', 'peak'] as const;

/** Options of {@link simulateSystem}: those of the model, plus how tasks enter. */
export interface SystemSimulationOptions extends Omit<SimulationOptions, 'hpa'> {
  /** `submit`: `system.submit()` (the dispatcher's queue); `acquire`: a lease per task. @default 'submit' */
  path?: 'submit' | 'acquire';
  /**
   * First acquire timeout on the `acquire` path (then scale up by one and retry with half; a task whose
   * acquire fails with `ERR_POOL_EXHAUSTED` counts as failed and as an SLO violation). @default 3600000
   */
  acquireTimeoutMs?: number;
}

/** Result of {@link simulateSystem}. */
export interface SystemSimulationResult extends SimulationResult {
  engine: 'system';
  path: 'submit' | 'acquire';
  /** Tasks whose submit/acquire failed (measured ones). */
  failed: number;
}

const POOL = 'sim';

/**
 * Run one simulation on the real system.
 *
 * @example
 * ```ts
 * const r = await simulateSystem({ scenario: makeScenario('step', { peakRatePerS: 1.875 }), policy: 'agentpool' });
 * console.log(r.p99WaitS, r.agentSeconds, r.speed);
 * ```
 */
export async function simulateSystem(options: SystemSimulationOptions): Promise<SystemSimulationResult> {
  const wallStart = performance.now();
  const { scenario, policy } = options;
  if (!(SYSTEM_POLICIES as readonly string[]).includes(policy)) {
    throw new InvalidArgumentError(
      'simulation.policy',
      policy,
      `one of ${SYSTEM_POLICIES.join(', ')} (hpa runs on the model engine only)`,
    );
  }
  const path = options.path ?? 'submit';
  if (path !== 'submit' && path !== 'acquire')
    throw new InvalidArgumentError('simulation.path', path, "'submit' or 'acquire'");
  const int = (p: string, v: unknown, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(`simulation.${p}`, v, `an integer >= ${min}`);
    return v;
  };
  const pos = (p: string, v: unknown, fallback: number, allowZero = false): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
      throw new InvalidArgumentError(`simulation.${p}`, v, allowZero ? 'a number >= 0' : 'a number > 0');
    return v;
  };
  const seed = int('seed', options.seed, 1, 0);
  const max = int('max', options.max, 50, 1);
  const min = int('min', options.min, 1, 0);
  if (min > max) throw new InvalidArgumentError('simulation.min', min, `an integer <= max (${max})`);
  const service = options.service ??
    scenario.service ?? { kind: 'lognormal' as const, mean: 20_000, cv: 1.5 };
  const startupMs = pos('startupMs', options.startupMs, 30_000, true);
  const target = pos('targetUtilization', options.targetUtilization, 0.75);
  const fixedUtil = pos('fixedUtilization', options.fixedUtilization, 0.7);
  const sloWaitMs = pos('sloWaitMs', options.sloWaitMs, 30_000);
  const sampleMs = pos('sampleMs', options.sampleMs, 60_000);
  const flapWindowMs = pos('flapWindowMs', options.flapWindowMs, 300_000);
  const acquireTimeoutMs = pos('acquireTimeoutMs', options.acquireTimeoutMs, 3_600_000);
  const warmupMs = pos('warmupMs', options.warmupMs, scenario.arrivals ? 0 : 300_000, true);
  const endMs = warmupMs + scenario.durationMs;
  const meanServiceS = distributionMean(service) / 1000;
  const sized = (rate: number, u: number) =>
    Math.min(max, Math.max(min, littleTarget(rate, meanServiceS, u)));
  const peakSize = sized(scenario.peakRatePerS, target);
  const fixedSize = sized(scenario.meanRatePerS, fixedUtil);
  const initial =
    policy === 'peak' ? peakSize : policy === 'fixed' ? fixedSize : sized(scenario.rate(0), target);

  const clock = new ManualClock(0);
  // ---- measurement state ------------------------------------------------------------------------
  let busy = 0;
  const waits = new Samples();
  let intervalWaits = new Samples();
  const waiting = new Set<SimTask>();
  let tasks = 0;
  let completed = 0;
  let failed = 0;
  let violations = 0;
  const started = (t: SimTask) => {
    waiting.delete(t);
    busy++;
    if (!t.measured) return;
    const w = clock.now() - t.arrival;
    waits.push(w / 1000);
    intervalWaits.push(w / 1000);
    if (w > sloWaitMs) violations++;
  };

  // ---- the system ---------------------------------------------------------------------------------
  let ended = false;
  let warm = false; // agents of the initial pool are ready at once, like the model's
  const agent = defineAgent(
    {
      serve: async (t: SimTask) => {
        started(t);
        try {
          await sleep(clock, t.serviceMs);
        } finally {
          busy--;
        }
        if (t.measured) completed++;
        return null;
      },
    },
    { setup: () => (warm && startupMs > 0 ? sleep(clock, startupMs) : undefined) },
  );
  const dynamic = policy === 'agentpool';
  const scaling = dynamic
    ? validateScalingConfig({ ...options.scaling, min, max, targetUtilization: target }, 'simulation.scaling')
    : undefined;
  const { min: _min, max: _max, ...autoscale } = scaling ?? { min: 0, max: 0 };
  const system = new AgentPoolSystem({
    clock,
    pools: {
      [POOL]: {
        agent,
        host: 'inline',
        min: dynamic ? min : initial,
        max: dynamic ? max : initial,
        healthCheckIntervalMs: 0, // synthetic agents cannot fall ill; 0 keeps idle agents timer-free
        acquireTimeoutMs,
        // Graceful retirement, as in the model: a retired agent finishes whatever it runs.
        scaleDownGraceMs: 24 * 3_600_000,
        timings: { startTimeoutMs: startupMs + 60_000 },
        ...(scaling ? { autoscale } : {}),
      },
    },
  });
  await system.start();
  const pool = system.pool(POOL);
  if (pool.size < initial) await system.scalePool(POOL, initial, 'simulation: initial size');
  warm = true;

  // ---- arrivals -----------------------------------------------------------------------------------
  const onArrival = (t: SimTask) => {
    if (t.measured) tasks++;
    waiting.add(t);
    const fail = () => {
      // Tasks still running when the run ends are rejected by the shutdown: already measured.
      if (ended || !t.measured) return;
      waiting.delete(t);
      failed++;
      violations++;
      waits.push((clock.now() - t.arrival) / 1000);
    };
    if (path === 'submit') {
      system.submit({ type: POOL, task: 'serve', input: t }).catch(fail);
    } else {
      system
        .acquire(POOL, { cycleId: 'sim' })
        .then(async (lease) => {
          try {
            await lease.run('serve', t);
          } finally {
            await lease.release();
          }
        })
        .catch(fail);
    }
  };
  scheduleArrivals(clock, scenario, { seed, service, warmupMs, endMs }, onArrival);

  // ---- time integrals (state is constant between timer instants) ------------------------------------
  let lastT = 0;
  let heldArea = 0;
  let busyArea = 0;
  let readyArea = 0;
  let sizeArea = 0;
  // Pool counts as of the last settled instant (read once per instant: they cost O(agents)).
  let counts = pool.agentCounts();
  let held = pool.size; // retiring agents included: still held, still paid for
  const readCounts = () => {
    counts = pool.agentCounts();
    held = pool.size;
  };
  const integrateTo = (to: number) => {
    const dt = to - lastT;
    if (dt <= 0) return;
    heldArea += held * dt;
    busyArea += busy * dt;
    readyArea += (counts.available + counts.busy) * dt;
    sizeArea += counts.total * dt;
    lastT = to;
  };

  // ---- size changes: the size the scaler sees (starting agents in, retiring ones out), per instant -------
  const events: ScaleEvent[] = [];
  let maxSize = 0;
  let lastSize = counts.total;
  const collectEvents = () => {
    const size = counts.total;
    if (size === lastSize) return;
    if (clock.now() >= warmupMs) {
      events.push({ t: (clock.now() - warmupMs) / 1000, from: lastSize, to: size });
      maxSize = Math.max(maxSize, size);
    }
    lastSize = size;
  };

  // ---- series ---------------------------------------------------------------------------------------
  const series: SimulationSeries = { t: [], demandPerMin: [], size: [], utilization: [], waitP99S: [] };
  const mark = { t: warmupMs, busy: 0, ready: 0, size: 0, tasks: 0 };
  const base = { held: 0, busy: 0, size: 0 };
  const startMeasuring = () => {
    integrateTo(clock.now());
    Object.assign(base, { held: heldArea, busy: busyArea, size: sizeArea });
    Object.assign(mark, { t: clock.now(), busy: busyArea, ready: readyArea, size: sizeArea, tasks });
    maxSize = counts.total;
  };
  const sampleSeries = () => {
    integrateTo(clock.now());
    const now = clock.now();
    const dt = now - mark.t;
    if (dt <= 0) return;
    const dReady = readyArea - mark.ready;
    series.t.push((now - warmupMs) / 1000);
    series.demandPerMin.push(((tasks - mark.tasks) * 60_000) / dt);
    series.size.push((sizeArea - mark.size) / dt);
    series.utilization.push(dReady > 0 ? (busyArea - mark.busy) / dReady : 0);
    series.waitP99S.push(quantile(intervalWaits.sorted(), 0.99));
    Object.assign(mark, { t: now, busy: busyArea, ready: readyArea, size: sizeArea, tasks });
    intervalWaits = new Samples();
  };
  if (warmupMs > 0) clock.setTimeout(startMeasuring, warmupMs);
  else startMeasuring();
  const seriesLoop = () => {
    sampleSeries();
    if (clock.now() + sampleMs <= endMs) clock.setTimeout(seriesLoop, sampleMs);
  };
  clock.setTimeout(seriesLoop, warmupMs + Math.min(sampleMs, scenario.durationMs));

  // ---- run ------------------------------------------------------------------------------------------
  // One macrotask turn drains every microtask chain the fired timers started, however long.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  await settle();
  readCounts();
  for (;;) {
    const next = clock.nextAt();
    if (next === undefined || next > endMs) break;
    integrateTo(next);
    clock.advance(next - clock.now());
    options.onProgress?.(clock.now(), endMs);
    await settle();
    readCounts();
    collectEvents();
  }
  integrateTo(endMs);
  clock.advance(Math.max(0, endMs - clock.now()));
  for (const t of waiting) {
    if (!t.measured) continue;
    const w = endMs - t.arrival;
    waits.push(w / 1000);
    if (w > sloWaitMs) violations++;
  }
  waiting.clear();
  ended = true;
  await system.shutdown({ graceful: false, deadlineMs: 1 });
  await settle();

  return {
    ...resultOf({
      scenario,
      policy: policy as PolicyName,
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
    }),
    engine: 'system',
    path,
    failed,
  };
}
