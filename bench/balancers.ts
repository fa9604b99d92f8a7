/**
 * Balancer quality in deterministic simulation (`agentpool bench balancers [--json] [--write-docs]`).
 *
 * First reproduces the published supermarket-model baselines (100 agents, exponential service
 * mean 1, load 0.9: random 10.96, round robin 5.46, power of two choices 2.60, join-shortest-queue
 * 1.07 mean time in system) and reports the deviation, with the closed-form theory alongside; then
 * runs every registered strategy on three scenarios with identical traffic per seed.
 */
import { InvalidArgumentError } from '../src/core/errors.js';
import { createStrategy, STRATEGY_NAMES } from '../src/policies/balancing/index.js';
import { type QueueingResult, type QueueingScenario, simulateQueueing } from '../src/sim/queueing.js';
import {
  mm1TimeInSystem,
  mm1WaitQuantile,
  mmcTimeInSystem,
  roundRobinTimeInSystem,
  roundRobinWaitQuantile,
  supermarketTimeInSystem,
} from '../src/sim/queueing-theory.js';
import { type BenchOutput, type BenchProgress, machineLine, table } from './report.js';

/** The scenarios of the issue. */
export const SCENARIOS: Readonly<Record<string, QueueingScenario>> = {
  'uniform-0.9': { agents: 100, load: 0.9 },
  // Load stays 0.9 of the real capacity (80 × 1 + 20 × 0.5 = 90 service units per unit time).
  'slow20-0.9': { agents: 100, load: 0.9, slowFraction: 0.2, slowFactor: 2 },
  'lognormal-cv3-0.9': { agents: 100, load: 0.9, service: { kind: 'lognormal', mean: 1, cv: 3 } },
};

/** Published figures for 100 agents, exponential service, load 0.9 (mean time in system, p99 wait). */
export const PUBLISHED: Readonly<Record<string, { meanTimeInSystem: number; p99Wait: number }>> = {
  random: { meanTimeInSystem: 10.96, p99Wait: 54 },
  'round-robin': { meanTimeInSystem: 5.46, p99Wait: 25.7 },
  p2c: { meanTimeInSystem: 2.6, p99Wait: 7.2 },
  jsq: { meanTimeInSystem: 1.07, p99Wait: 1.97 },
};

/** Options of {@link runBalancerBench}. */
export interface BalancerBenchOptions {
  /** Measured tasks per run in the strategy × scenario matrix. @default 200000 */
  tasks?: number;
  /** Measured tasks per run for the baseline reproduction. @default 1000000 */
  baselineTasks?: number;
  /** Seeds; every run is repeated per seed and averaged. @default [1] */
  seeds?: readonly number[];
  /** Only these strategies in the matrix. @default all registered */
  strategies?: readonly string[];
  /** Only these scenarios. @default all of {@link SCENARIOS} */
  scenarios?: readonly string[];
  /** Called after each averaged run (the CLI's progress display). */
  onProgress?: BenchProgress;
}

/** One strategy on one scenario, averaged over seeds. */
export interface BalancerRow {
  scenario: string;
  strategy: string;
  meanTimeInSystem: number;
  meanWait: number;
  p99Wait: number;
  maxQueue: number;
  probesPerDispatch: number;
  /** Second-half / first-half mean time in system; ≫ 1 means no steady state. */
  drift: number;
  tasks: number;
  seeds: number;
}

/** One baseline reproduction. */
export interface BaselineRow {
  strategy: string;
  meanTimeInSystem: number;
  published: number;
  /** (ours − published) / published. */
  deviation: number;
  /** Closed-form value for comparison (see src/sim/queueing-theory.ts). */
  theory: number;
  theoryNote: string;
  p99Wait: number;
  publishedP99Wait: number;
  theoryP99Wait: number | undefined;
  /** Smallest and largest per-seed mean (spread across seeds). */
  seedRange: [number, number];
  tasks: number;
  seeds: number;
}

/** Whether a strategy meets the issue's goal on one scenario. */
export interface GoalRow {
  scenario: string;
  strategy: string;
  /** p99 wait ≤ p2c's. */
  p99AtOrBelowP2c: boolean;
  /** Mean time in system ≤ 1.1 × JSQ's. */
  meanWithin10PctOfJsq: boolean;
  /** Mean time in system relative to JSQ's (1.05 = 5 % above). */
  meanVsJsq: number;
}

/** Everything one run of the benchmark measured. */
export interface BalancerBenchResult {
  results: BalancerRow[];
  baselines: BaselineRow[];
  goal: GoalRow[];
  machine: string;
  elapsedSeconds: number;
}

function theoryFor(strategy: string, agents: number, rho: number): { t: number; p99?: number; note: string } {
  switch (strategy) {
    case 'random':
      return { t: mm1TimeInSystem(rho), p99: mm1WaitQuantile(rho, 0.99), note: 'M/M/1' };
    case 'round-robin':
      return {
        t: roundRobinTimeInSystem(agents, rho),
        p99: roundRobinWaitQuantile(agents, rho, 0.99),
        note: `E${agents}/M/1`,
      };
    case 'p2c':
      return { t: supermarketTimeInSystem(rho, 2), note: 'supermarket d=2, n→∞' };
    default:
      return { t: mmcTimeInSystem(agents, rho), note: `M/M/${agents} (lower bound)` };
  }
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

async function runAveraged(
  scenarioName: string,
  scenario: QueueingScenario,
  strategy: string,
  tasks: number,
  seeds: readonly number[],
): Promise<{ row: BalancerRow; perSeed: number[] }> {
  const runs: QueueingResult[] = [];
  for (const seed of seeds) {
    runs.push(simulateQueueing({ ...scenario, strategy: createStrategy(strategy), seed, tasks }));
    await yieldToLoop();
  }
  const mean = (f: (r: QueueingResult) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    row: {
      scenario: scenarioName,
      strategy,
      meanTimeInSystem: mean((r) => r.meanTimeInSystem),
      meanWait: mean((r) => r.meanWait),
      p99Wait: mean((r) => r.p99Wait),
      maxQueue: Math.max(...runs.map((r) => r.maxQueue)),
      probesPerDispatch: mean((r) => r.probesPerDispatch),
      drift: mean((r) => r.drift),
      tasks,
      seeds: seeds.length,
    },
    perSeed: runs.map((r) => r.meanTimeInSystem),
  };
}

/**
 * Run the benchmark. Deterministic: the same options give the same numbers on any machine (only
 * `elapsedSeconds` and `machine` differ).
 *
 * @example
 * ```ts
 * const r = await runBalancerBench({ tasks: 100_000, seeds: [1, 2] });
 * writeSection('balancers', renderBalancerMarkdown(r));
 * ```
 */
export async function runBalancerBench(options: BalancerBenchOptions = {}): Promise<BalancerBenchResult> {
  const started = performance.now();
  const tasks = options.tasks ?? 200_000;
  const baselineTasks = options.baselineTasks ?? 1_000_000;
  const seeds = options.seeds ?? [1];
  const strategies = options.strategies ?? STRATEGY_NAMES;
  const scenarios = options.scenarios ?? Object.keys(SCENARIOS);
  for (const [i, s] of scenarios.entries()) {
    if (!SCENARIOS[s])
      throw new InvalidArgumentError(`scenarios[${i}]`, s, `one of ${Object.keys(SCENARIOS).join(', ')}`);
  }
  for (const [i, s] of strategies.entries()) {
    if (!(STRATEGY_NAMES as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(`strategies[${i}]`, s, `one of ${STRATEGY_NAMES.join(', ')}`);
    }
  }

  const uniform = SCENARIOS['uniform-0.9'] as QueueingScenario;
  const baselines: BaselineRow[] = [];
  const total = Object.keys(PUBLISHED).length + scenarios.length * strategies.length;
  let done = 0;
  const step = () => options.onProgress?.(++done, total);
  for (const [strategy, pub] of Object.entries(PUBLISHED)) {
    const { row, perSeed } = await runAveraged('uniform-0.9', uniform, strategy, baselineTasks, seeds);
    step();
    const th = theoryFor(strategy, uniform.agents, uniform.load);
    baselines.push({
      strategy,
      meanTimeInSystem: row.meanTimeInSystem,
      published: pub.meanTimeInSystem,
      deviation: (row.meanTimeInSystem - pub.meanTimeInSystem) / pub.meanTimeInSystem,
      theory: th.t,
      theoryNote: th.note,
      p99Wait: row.p99Wait,
      publishedP99Wait: pub.p99Wait,
      theoryP99Wait: th.p99,
      seedRange: [Math.min(...perSeed), Math.max(...perSeed)],
      tasks: baselineTasks,
      seeds: seeds.length,
    });
  }

  const results: BalancerRow[] = [];
  for (const scenarioName of scenarios) {
    const scenario = SCENARIOS[scenarioName] as QueueingScenario;
    for (const strategy of strategies) {
      results.push((await runAveraged(scenarioName, scenario, strategy, tasks, seeds)).row);
      step();
    }
  }

  const goal: GoalRow[] = [];
  for (const scenario of scenarios) {
    const find = (s: string) => results.find((r) => r.scenario === scenario && r.strategy === s);
    const p2c = find('p2c');
    const jsq = find('jsq');
    if (!p2c || !jsq) continue;
    for (const strategy of ['adaptive', 'workload-aware']) {
      const r = find(strategy);
      if (!r) continue;
      goal.push({
        scenario,
        strategy,
        p99AtOrBelowP2c: r.p99Wait <= p2c.p99Wait,
        meanWithin10PctOfJsq: r.meanTimeInSystem <= 1.1 * jsq.meanTimeInSystem,
        meanVsJsq: r.meanTimeInSystem / jsq.meanTimeInSystem,
      });
    }
  }

  return {
    results,
    baselines,
    goal,
    machine: machineLine(),
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));

/** Render the results as the `balancers` section of docs/benchmarks.md. */
export function renderBalancerMarkdown(r: BalancerBenchResult): string {
  const b0 = r.baselines[0];
  const r0 = r.results[0];
  const lines: string[] = [
    '## Balancer quality (deterministic simulation)',
    '',
    `${r.machine} · ${r.elapsedSeconds.toFixed(1)} s wall time for the whole run`,
    '',
    'Supermarket model: 100 agents, one server and a FIFO queue each; Poisson arrivals; the strategy',
    'places each task on arrival. Every strategy sees identical arrivals and service demands per seed',
    '(separate seeded streams for arrivals, demands and the strategy’s own choices). Times are in',
    'mean-service-time units; wait = arrival → start of service; max queue = most tasks one agent held',
    'when a measured task arrived; probes = agents whose load the strategy read per dispatch. Source:',
    '`src/sim/queueing.ts`, `bench/balancers.ts`; rerun with `agentpool bench balancers --write-docs`.',
    '',
    `### Baselines reproduced (uniform-0.9, ${b0?.tasks ?? 0} measured tasks after a 10 % warm-up, ${b0?.seeds ?? 0} seed(s))`,
    '',
    table(
      [
        'strategy',
        'mean T (ours)',
        'published',
        'deviation',
        'theory',
        'p99 wait (ours)',
        'published p99',
        'theory p99',
      ],
      r.baselines.map((b) => [
        b.strategy,
        f2(b.meanTimeInSystem),
        f2(b.published),
        pct(b.deviation),
        `${f2(b.theory)} (${b.theoryNote})`,
        f2(b.p99Wait),
        f2(b.publishedP99Wait),
        b.theoryP99Wait === undefined ? '–' : f2(b.theoryP99Wait),
      ]),
    ),
    '',
  ];
  const within = r.baselines.filter((b) => Math.abs(b.deviation) <= 0.05).map((b) => b.strategy);
  const outside = r.baselines.filter((b) => Math.abs(b.deviation) > 0.05);
  lines.push(
    `Within 5 % of the published figure: ${within.join(', ') || 'none'}.` +
      (outside.length
        ? ` Outside: ${outside
            .map(
              (b) =>
                `${b.strategy} (${pct(b.deviation)}; the exact ${b.theoryNote} value is ${f2(b.theory)}: ours is ${pct((b.meanTimeInSystem - b.theory) / b.theory)} from it, the published figure ${pct((b.published - b.theory) / b.theory)})`,
            )
            .join('; ')}.`
        : ''),
    '',
    'Reading the tables below: weights are the agents’ speeds (so smooth-weighted equals round robin',
    'when all agents are alike); in this model agents have no resource figures and utilization is 0 or 1,',
    'so resource-aware reduces to its tie-break (fewer active tasks) and matches JSQ. Unweighted random',
    'and round robin send slow agents more work than they can serve in slow20: their queues grow for the',
    'whole run (steady? = no) and their numbers depend on its length. The matrix runs are shorter than the',
    'baseline runs, so the same strategy can differ by a few % between the two tables (sampling noise).',
    '',
  );
  for (const scenario of [...new Set(r.results.map((x) => x.scenario))]) {
    const rows = r.results.filter((x) => x.scenario === scenario);
    lines.push(
      `### ${scenario} (${r0?.tasks ?? 0} measured tasks, ${r0?.seeds ?? 0} seed(s))`,
      '',
      table(
        ['strategy', 'mean T', 'mean wait', 'p99 wait', 'max queue', 'probes/dispatch', 'steady?'],
        rows.map((x) => [
          x.strategy,
          f2(x.meanTimeInSystem),
          f2(x.meanWait),
          f2(x.p99Wait),
          x.maxQueue,
          f2(x.probesPerDispatch),
          // A strategy that overloads some agents has no steady state: its numbers grow with the run.
          x.drift > 1.5 ? `no (drift ×${x.drift.toFixed(1)})` : 'yes',
        ]),
      ),
      '',
    );
  }
  if (r.goal.length) {
    lines.push(
      '### Goal: at or below p2c’s p99 wait and within 10 % of JSQ’s mean',
      '',
      table(
        ['scenario', 'strategy', 'p99 ≤ p2c', 'mean vs JSQ', 'within 10 %'],
        r.goal.map((g) => [
          g.scenario,
          g.strategy,
          g.p99AtOrBelowP2c ? 'yes' : 'no',
          pct(g.meanVsJsq - 1),
          g.meanWithin10PctOfJsq ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  }
  return lines.join('\n');
}

/**
 * `agentpool bench balancers`: runs the bench and returns the `balancers` section of
 * docs/benchmarks.md and the JSON result (the CLI prints one and writes the section only when asked).
 */
export async function balancersBenchOutput(options: BalancerBenchOptions = {}): Promise<BenchOutput> {
  const result = await runBalancerBench(options);
  return { markdown: renderBalancerMarkdown(result), json: result };
}
