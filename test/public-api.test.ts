/**
 * The public API: the root entry (`agentpool`) exports exactly the runtime values listed here — at
 * most 30 — so growing it is a conscious act; everything else is reachable from a subpath
 * (`agentpool/machines`, `/policies`, `/structures`, `/metrics`, `/sim`, `/verify`, `/agent`), and
 * package.json maps each subpath to a built entry that exists.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import * as agent from '../src/agent/index.js';
import * as machines from '../src/entry/machines.js';
import * as metrics from '../src/entry/metrics.js';
import * as policies from '../src/entry/policies.js';
import * as sim from '../src/entry/sim.js';
import * as structures from '../src/entry/structures.js';
import * as verify from '../src/entry/verify.js';
import * as errors from '../src/core/errors.js';
import * as root from '../src/index.js';

const here = (path: string) => new URL(`../${path}`, import.meta.url);

/** The root entry's runtime exports, sorted. Adding one is a decision: update this list on purpose. */
const ROOT_EXPORTS = [
  'AbortedError',
  'AgentCrashedError',
  'AgentPoolError',
  'BudgetExhaustedError',
  'ConfigError',
  'DeadlineExceededError',
  'InvalidArgumentError',
  'ManualClock',
  'PoolExhaustedError',
  'QueueFullError',
  'ResourceExhaustedError',
  'TaskError',
  'TaskFailedError',
  'TaskTimeoutError',
  'UnknownPoolError',
  'agentModule',
  'analysePools',
  'applyRecommendations',
  'createAgentPoolSystem',
  'createLogger',
  'defineAgent',
  'realClock',
  'registerVmProvider',
  'runDoctor',
  'serveMetrics',
  'tddPool',
  'tddSecurity',
];

/** The exports of a module whose names match `pattern`. */
function matching(mod: Record<string, unknown>, pattern: RegExp): string[] {
  return Object.keys(mod).filter((k) => pattern.test(k));
}

describe('root entry (agentpool)', () => {
  it('exports exactly the listed runtime values, at most 30', () => {
    expect(Object.keys(root).sort()).toEqual(ROOT_EXPORTS);
    expect(Object.keys(root).length).toBeLessThanOrEqual(30);
  });

  it('exports every error class, and the system and leases only as types', () => {
    const classes = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof Error)
      .map(([k]) => k);
    expect(classes.length).toBeGreaterThan(5);
    for (const k of classes)
      expect((root as Record<string, unknown>)[k], k).toBe(errors[k as keyof typeof errors]);
    expect(root).not.toHaveProperty('AgentPoolSystem');
    expect(root).not.toHaveProperty('Lease');
  });

  it('exports no machine, strategy, simulator, checker or structure', () => {
    expect(matching(root, /Machine$|Strategy$|^simulate|^check|Ledger|Queue(?!FullError$)|Mermaid/)).toEqual(
      [],
    );
  });

  it('gives the same function as the agent entry for defineAgent', () => {
    expect(root.defineAgent).toBe(agent.defineAgent);
  });
});

describe('agentpool/machines', () => {
  it('re-exports every machine of machines/*.machine.ts', async () => {
    const files = (await readdir(here('machines/'))).filter((f) => f.endsWith('.machine.ts'));
    expect(files.length).toBeGreaterThan(0);
    const expected: string[] = [];
    for (const f of files) {
      const mod = (await import(here(`machines/${f}`).href)) as Record<string, unknown>;
      const names = matching(mod, /Machine$/);
      expect(names, f).toHaveLength(1);
      for (const n of names) {
        expected.push(n);
        expect((machines as Record<string, unknown>)[n], `${f}: ${n}`).toBe(mod[n]);
      }
    }
    expect(matching(machines, /Machine$/).sort()).toEqual(expected.sort());
  });
});

describe('agentpool/policies', () => {
  it('has every balancing strategy class of src/policies/balancing and the registry', async () => {
    const dir = here('src/policies/balancing/');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    const classes = new Set<string>();
    for (const f of files) {
      const mod = (await import(new URL(f, dir).href)) as Record<string, unknown>;
      for (const n of matching(mod, /Strategy$/).filter((n) => n !== 'createStrategy')) {
        classes.add(n);
        expect((policies as Record<string, unknown>)[n], `${f}: ${n}`).toBe(mod[n]);
      }
    }
    expect(classes.size).toBe(policies.STRATEGY_NAMES.length);
    for (const name of policies.STRATEGY_NAMES) expect(policies.createStrategy(name).name).toBe(name);
  });

  it('has scaling, allocation, rebalancing, DRF, forecast, optimisers and the option vocabularies', () => {
    for (const n of [
      'decideScaling',
      'validateScalingConfig',
      'littleAgents',
      'hpaDecide',
      'decideResourceQuotas',
      'decideGrant',
      'resolveAllocationPolicy',
      'DEFAULT_ALLOCATION_POLICY',
      'findOpportunities',
      'applyOpportunities',
      'drfPick',
      'dominantShare',
      'createForecast',
      'forecastDemand',
      'analysePools',
      'applyRecommendations',
      'erlangC',
      'RESOURCE_NAMES',
      'ADMISSION_ORDERS',
      'DEFAULT_TIMINGS',
      'PRIORITIES',
      'TDD_POOL_SIZES',
      'MAX_DURATION_MS',
    ]) {
      expect(policies, n).toHaveProperty(n);
    }
    expect(policies.analysePools).toBe(root.analysePools);
  });
});

describe('the other subpaths', () => {
  it.each([
    [
      'structures',
      structures,
      [
        'Ledger',
        'cloneLedgerState',
        'TaskQueue',
        'Deque',
        'WorkStealingScheduler',
        'TokenBudgets',
        'BinaryHeap',
        'STANDARD_RESOURCES',
      ],
    ],
    [
      'metrics',
      metrics,
      ['Histogram', 'TimeSeriesRing', 'RateCounter', 'PoolMetrics', 'toPrometheus', 'serveMetrics'],
    ],
    [
      'sim',
      sim,
      [
        'simulateScaling',
        'simulateSystem',
        'makeScenario',
        'createRng',
        'simulateQueueing',
        'mmcTimeInSystem',
        'sleep',
      ],
    ],
    [
      'verify',
      verify,
      [
        'checkMachine',
        'loadSpecs',
        'validateSpec',
        'toMermaid',
        'stateRows',
        'runVerify',
        'renderMachineDoc',
      ],
    ],
  ] as const)('agentpool/%s has its pieces', (_name, mod, names) => {
    for (const n of names) expect(mod, n).toHaveProperty(n);
  });

  it('hands out the same objects as the root where both have them', () => {
    expect(metrics.serveMetrics).toBe(root.serveMetrics);
  });
});

describe('package.json', () => {
  const pkg = readFile(here('package.json'), 'utf8').then(
    (t) =>
      JSON.parse(t) as {
        exports: Record<string, string | { types: string; default: string }>;
        files: string[];
        repository: { type: string; url: string };
        homepage: string;
        bugs: { url: string };
      },
  );

  it('maps every subpath to a built entry whose source exists (and is in the build)', async () => {
    const { exports } = await pkg;
    const build = JSON.parse(
      (await readFile(here('tsconfig.build.json'), 'utf8')).replace(/^\s*\/\/.*$/gm, ''),
    ) as { include: string[] };
    expect(Object.keys(exports).sort()).toEqual(
      [
        '.',
        './agent',
        './machines',
        './metrics',
        './package.json',
        './policies',
        './sim',
        './structures',
        './verify',
      ].sort(),
    );
    for (const [subpath, target] of Object.entries(exports)) {
      if (typeof target === 'string') continue;
      const m = /^\.\/dist\/(src\/.+)\.js$/.exec(target.default);
      expect(m, subpath).not.toBeNull();
      const source = `${m![1]}.ts`;
      expect(target.types, subpath).toBe(`./dist/${m![1]}.d.ts`);
      await expect(readFile(here(source), 'utf8'), `${subpath} → ${source}`).resolves.toBeTruthy();
      expect(build.include, subpath).toContain(source.split('/')[0]);
    }
  });

  it('ships the build, the docs, the machine sources, the examples, the licence and the bench fixtures', async () => {
    const { files, repository, homepage, bugs } = await pkg;
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/src',
        'dist/bench',
        'dist/machines',
        'bench/fixtures',
        'machines',
        'docs',
        'examples',
        'README.md',
        'LICENSE',
      ]),
    );
    expect(repository).toEqual({ type: 'git', url: 'https://github.com/agentpool/agentpool' });
    expect(homepage).toBe('https://github.com/agentpool/agentpool#readme');
    expect(bugs).toEqual({ url: 'https://github.com/agentpool/agentpool/issues' });
    // What the tarball really holds is checked by test/package/packed-install.test.ts (npm run test:pack).
  });
});
