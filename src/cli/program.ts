/**
 * The `agentpool` command line, defined once with commander: every command, option, default and
 * choice lives here, so `--help`, the usage errors and the generated reference (docs/cli.md, see
 * ./reference.ts) cannot drift apart.
 *
 * Why commander: it has no dependencies, is the most used and longest kept of the three candidates
 * (commander, cac, citty), has per-command help, typo suggestions for unknown options and commands,
 * `choices()` and custom value parsers, and an `exitOverride()` that lets usage errors become one line
 * and exit code 2 instead of a thrown stack. commander 14 is the last line supporting Node 20.
 *
 * Conventions every command keeps: results on stdout (with `--json`, exactly one JSON document and
 * nothing else); errors, usage messages and progress on stderr; progress only when stderr is a TTY
 * and the output is not `--json`; nothing written to disk unless a flag names where (`--out`,
 * `--write-docs`, `--report`).
 *
 * Why one file over 400 lines: every command is registered here so help, usage errors and the generated
 * reference come from one definition; each command is a small registrar — split them out by command if
 * the file grows further.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError as UsageError, Option } from 'commander';
import { packageRoot } from '../core/package-root.js';
import { parseLabelList } from '../cluster/placement.js';
import { SCENARIOS } from '../sim/scaling/scenarios.js';
import { POLICIES, type PolicyName } from '../sim/scaling/simulate.js';
import { type Progress, type ProgressStream, startProgress } from './progress.js';

/** Where the CLI writes. `process` fits. */
export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

/** What a command's action needs besides its options. */
interface CommandContext {
  io: CliIo;
  /** Record the process exit code of the command that ran. */
  exit(code: number): void;
}

/** Adds one command (with its subcommands) to the program. */
export type CommandRegistrar = (program: Command, ctx: CommandContext) => void;

// ---- value parsers: a bad value is a usage error (one line, exit 2) naming the flag -----------------

/** An integer in [min, max]. */
function int(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}`
          : `expected an integer from ${min} to ${max}`,
      );
    }
    return n;
  };
}

/** A finite number >= min. */
function number(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min)
      throw new UsageError(`expected a number >= ${min}`);
    return n;
  };
}

/** A readable file (`flag` names it in the usage error). */
function fileArg(flag: string): (v: string) => string {
  return (v) => {
    try {
      accessSync(v, constants.R_OK);
    } catch {
      throw new UsageError(`${flag}: cannot read ${v}`);
    }
    return v;
  };
}

/** Node labels `key=value,key=value` (src/cluster/placement.ts). */
function labelList(v: string): Record<string, string> {
  try {
    return parseLabelList(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A comma-separated list of integers >= min (`1,2,3`). */
/** A comma-separated list of names. */
function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function intList(min: number): (v: string) => number[] {
  const one = int(min);
  return (v) => v.split(',').map((s) => one(s.trim()));
}

/** A repeatable option's values, in order. */
function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

// ---- shared plumbing ----------------------------------------------------------------------------------

/** Progress for a command, on stderr, off with `--json` or when stderr is not a TTY. */
function progressFor(ctx: CommandContext, label: string, json: boolean | undefined): Progress {
  return startProgress(label, ctx.io.stderr, json !== true);
}

/**
 * Import a module that may need a package agentpool does not install (a dev dependency such as
 * piscina): a missing package becomes a one-line error naming what to install.
 */
export async function load<T>(command: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const pkg =
      err.code === 'ERR_MODULE_NOT_FOUND' ? /Cannot find package '([^']+)'/.exec(err.message ?? '') : null;
    if (pkg) {
      throw new MissingPackageError(
        `agentpool ${command} needs the package '${pkg[1]}', which is not installed with agentpool ` +
          `(it is a dev dependency): run \`npm install --save-dev ${pkg[1]}\` and try again`,
      );
    }
    throw e;
  }
}

/** A command needs a package that is not installed (exit 1, one line). */
export class MissingPackageError extends Error {
  override name = 'MissingPackageError';
}

// ---- commands -----------------------------------------------------------------------------------------

const demoCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('demo')
    .description(
      'parallel TDD workload on four pools of worker-thread agents (design ∥ data → tests → implement → run tests)',
    )
    .addOption(new Option('--stories <n>', 'stories to run').argParser(int(1, 100_000)).default(40))
    .option('--json', 'print the summary as JSON')
    .action(async (o: { stories: number; json?: boolean }) => {
      const { runDemo, formatSummary } = await import('../demo/run.js');
      const live = o.json !== true && ctx.io.stderr.isTTY === true;
      const summary = await runDemo(
        { stories: o.stories, live, acquireTimeoutMs: 1_000 },
        ctx.io.stderr as NodeJS.WritableStream,
      );
      ctx.io.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
      ctx.exit(summary.failed === 0 && summary.storiesPassed === summary.stories ? 0 : 1);
    });
};

const verifyCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('verify')
    .description(
      'graph-check every statechart: deadlocks, states that cannot reach idle/final, one replayed path per state (exit 1 on a finding)',
    )
    .option('--json', 'print the reports as one JSON object { machines }')
    .option('--machine <name>', 'check only this machine (repeatable)', collect)
    .action(async (o: { json?: boolean; machine?: string[] }) => {
      const { runVerify } = await import('../verify/cli.js');
      const p = progressFor(ctx, 'verify', o.json);
      try {
        ctx.exit(
          await runVerify({ json: o.json ?? false, machines: o.machine ?? [] }, ctx.io.stdout, {
            err: ctx.io.stderr,
            onProgress: (d, t) => p.update(d, t),
          }),
        );
      } finally {
        p.stop();
      }
    });
};

const docsCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('docs')
    .description(
      'generate the machine pages (Mermaid diagram, states, transitions); printed to stdout unless --out names a folder',
    )
    .option(
      '--out <dir>',
      'write <dir>/<machine>.md and <dir>/README.md (hand-written text above the marker is kept)',
    )
    .option(
      '--check',
      "compare instead of writing (the folder of --out, default the package's docs/machines); exit 1 when stale",
    )
    .option('--machine <name>', 'only this machine (repeatable)', collect)
    .action(async (o: { out?: string; check?: boolean; machine?: string[] }) => {
      const { runDocs } = await import('../verify/docs.js');
      ctx.exit(
        await runDocs(
          {
            ...(o.out !== undefined ? { out: o.out } : {}),
            check: o.check ?? false,
            machines: o.machine ?? [],
          },
          ctx.io.stdout,
          { err: ctx.io.stderr },
        ),
      );
    });
};

const simulateCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('simulate')
    .description(
      'one pool under one scaling policy on a simulated clock: the pool model (every policy, fastest) or the real system with synthetic inline agents',
    )
    .addOption(new Option('--scenario <name>', 'traffic shape').choices(SCENARIOS).default('step'))
    .addOption(new Option('--policy <name>', 'scaling policy').choices(POLICIES).default('agentpool'))
    .addOption(
      new Option('--engine <engine>', 'the pool model, or the real AgentPoolSystem (agentpool, fixed, peak)')
        .choices(['model', 'system'])
        .default('model'),
    )
    .addOption(
      new Option('--path <path>', 'how tasks enter the real system (--engine system)')
        .choices(['submit', 'acquire'])
        .default('submit'),
    )
    .addOption(new Option('--seed <n>', 'random seed').argParser(int(0)).default(1))
    .addOption(new Option('--hours <h>', "simulated hours (default: the scenario's)").argParser(number(0.01)))
    .addOption(
      new Option('--agents <n>', 'pool maximum; the peak rate keeps n agents 75 % busy')
        .argParser(int(1))
        .default(50),
    )
    .option('--trace <file>', 'replay arrivals from a JSON or CSV trace instead of a scenario')
    .option('--json', 'print the result as JSON')
    .option('--report <file>', 'also write an HTML report to <file>')
    .option(
      '--compare <policies>',
      'run these policies (comma list, e.g. agentpool,hpa,peak) on the same tasks and write one comparison page to --report (default scaling-compare.html)',
    )
    .action(
      async (o: {
        scenario: string;
        policy: string;
        engine: 'model' | 'system';
        path: 'submit' | 'acquire';
        seed: number;
        hours?: number;
        agents: number;
        trace?: string;
        json?: boolean;
        report?: string;
        compare?: string;
      }) => {
        const { runSimulate } = await import('../sim/simulate-cli.js');
        const p = progressFor(
          ctx,
          `simulate ${o.scenario} · ${o.policy} · ${o.engine} · simulated min`,
          o.json,
        );
        try {
          ctx.exit(
            await runSimulate(
              {
                scenario: o.scenario,
                policy: o.policy as Parameters<typeof runSimulate>[0]['policy'],
                engine: o.engine,
                path: o.path,
                seed: o.seed,
                agents: o.agents,
                json: o.json ?? false,
                ...(o.hours !== undefined ? { hours: o.hours } : {}),
                ...(o.trace !== undefined ? { trace: o.trace } : {}),
                ...(o.report !== undefined ? { report: o.report } : {}),
                ...(o.compare !== undefined
                  ? { compare: o.compare.split(',').map((x) => x.trim()) as PolicyName[] }
                  : {}),
              },
              (s) => ctx.io.stdout.write(s),
              // Simulated minutes as the unit, so the counter reads "simulate … 120/1440 · ETA …".
              (done, total) => p.update(Math.floor(done / 60_000), Math.ceil(total / 60_000)),
            ),
          );
        } finally {
          p.stop();
        }
      },
    );
};

/** Flags every benchmark shares, and what to do with its output. */
interface BenchFlags {
  json?: boolean;
  writeDocs?: boolean;
  out?: string;
}

function benchSub(
  bench: Command,
  ctx: CommandContext,
  name: string,
  description: string,
  define: (cmd: Command) => void,
  run: (
    opts: Record<string, unknown>,
    onProgress: (done: number, total: number) => void,
  ) => Promise<{ markdown: string; json: unknown }>,
): void {
  const cmd = bench.command(name).description(description);
  define(cmd);
  cmd
    .option('--json', 'print the results as JSON instead of markdown')
    .option('--write-docs', "write the results into the package's docs/benchmarks.md (a checkout)")
    .option('--out <file>', 'write the results section into <file> (other sections of it are kept)')
    .action(async (o: BenchFlags & Record<string, unknown>) => {
      const { json, writeDocs, out, ...opts } = o;
      const p = progressFor(ctx, `bench ${name}`, json);
      let result: { markdown: string; json: unknown };
      try {
        result = await run(opts, (d, t) => p.update(d, t));
      } finally {
        p.stop();
      }
      if (writeDocs || out !== undefined) {
        const { BENCHMARKS_MD, writeSection } = await import('../../bench/report.js');
        if (writeDocs) writeSection(name, result.markdown, BENCHMARKS_MD);
        if (out !== undefined) writeSection(name, result.markdown, out);
        ctx.io.stderr.write(
          `wrote the ${name} section of ${[writeDocs ? BENCHMARKS_MD : '', out ?? ''].filter(Boolean).join(' and ')}\n`,
        );
      }
      ctx.io.stdout.write(json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.markdown}\n`);
      ctx.exit(0);
    });
}

const benchCommand: CommandRegistrar = (program, ctx) => {
  const bench = program
    .command('bench')
    .description('benchmarks (results printed; written into a file only with --write-docs or --out)');
  benchSub(
    bench,
    ctx,
    'dispatch',
    'agentpool submit()/lease.run against piscina, tinypool, workerpool and raw postMessage on 2 worker threads (needs piscina, tinypool, workerpool)',
    (c) =>
      c
        .addOption(
          new Option('--tasks <n>', 'tasks per throughput run (64kb: a tenth, cpu1ms: a twentieth)')
            .argParser(int(1))
            .default(20_000),
        )
        .addOption(
          new Option('--rounds <n>', 'interleaved rounds, order rotated (median of per-round ratios)')
            .argParser(int(1, 50))
            .default(5),
        )
        .addOption(new Option('--inflight <n>', 'tasks kept in flight').argParser(int(1)).default(256))
        .addOption(
          new Option('--round-trips <n>', 'sequential round trips per latency run')
            .argParser(int(1))
            .default(2_000),
        )
        .addOption(
          new Option('--threads <n>', 'worker threads per contender').argParser(int(1, 64)).default(2),
        )
        .addOption(new Option('--only <list>', 'only these contenders (comma-separated)').argParser(list))
        .addOption(
          new Option(
            '--payloads <list>',
            'only these payloads (none, 1kb, 64kb, cpu1ms; comma-separated)',
          ).argParser(list),
        ),
    async (o, onProgress) => {
      const m = await load('bench dispatch', () => import('../../bench/dispatch.js'));
      return m.dispatchBenchOutput({
        tasks: o.tasks as number,
        rounds: o.rounds as number,
        inflight: o.inflight as number,
        roundTrips: o.roundTrips as number,
        threads: o.threads as number,
        ...(o.only !== undefined ? { only: o.only as string[] } : {}),
        ...(o.payloads !== undefined ? { payloads: o.payloads as string[] } : {}),
        onProgress,
      });
    },
  );
  benchSub(
    bench,
    ctx,
    'memory',
    'heap and RSS per agent and start-up time: 1,000 and 10,000 inline agents, 16 and 64 thread agents, each in a fresh process',
    (c) =>
      c
        .addOption(
          new Option('--cases <list>', 'host:agents cases (comma-separated)')
            .argParser(list)
            .default(
              ['inline:1000', 'inline:10000', 'thread:16', 'thread:64'],
              'inline:1000,inline:10000,thread:16,thread:64',
            ),
        )
        .addOption(
          new Option(
            '--rounds <n>',
            'runs per case, the system and both bare baselines in rotated order (medians)',
          )
            .argParser(int(1, 20))
            .default(3),
        ),
    async (o, onProgress) => {
      const m = await import('../../bench/memory.js');
      return m.memoryBenchOutput({
        cases: m.parseCases(o.cases as string[]),
        rounds: o.rounds as number,
        onProgress,
      });
    },
  );
  benchSub(
    bench,
    ctx,
    'acquire',
    'acquire() + release() latency on inline pools of 10 to 10,000 idle agents, and hand-off to 1,000 waiters',
    (c) =>
      c
        .addOption(
          new Option('--sizes <list>', 'pool sizes of the idle rows')
            .argParser(intList(1))
            .default([10, 100, 1_000, 10_000], '10,100,1000,10000'),
        )
        .addOption(new Option('--samples <n>', 'round trips per idle row').argParser(int(1)).default(20_000))
        .addOption(
          new Option(
            '--waiters <n>',
            'acquisitions queued in the waiters row (its pool has as many agents, all leased)',
          )
            .argParser(int(1))
            .default(1_000),
        )
        .addOption(
          new Option('--handoffs <n>', 'hand-offs measured in the waiters row')
            .argParser(int(1))
            .default(5_000),
        ),
    async (o, onProgress) => {
      const m = await load('bench acquire', () => import('../../bench/acquire.js'));
      return m.acquireBenchOutput({
        sizes: o.sizes as number[],
        samples: o.samples as number,
        waiters: o.waiters as number,
        waiterPoolSize: o.waiters as number,
        handoffs: o.handoffs as number,
        onProgress,
      });
    },
  );
  benchSub(
    bench,
    ctx,
    'balancers',
    'balancing strategies in deterministic simulation, with published baselines reproduced',
    (c) =>
      c
        .addOption(
          new Option('--tasks <n>', 'tasks per run in the strategy × scenario matrix')
            .argParser(int(1))
            .default(200_000),
        )
        .addOption(
          new Option('--baseline-tasks <n>', 'tasks per baseline run').argParser(int(1)).default(1_000_000),
        )
        .addOption(new Option('--seeds <list>', 'seeds, averaged').argParser(intList(1)).default([1], '1')),
    async (o, onProgress) => {
      const m = await load('bench balancers', () => import('../../bench/balancers.js'));
      return m.balancersBenchOutput({
        tasks: o.tasks as number,
        baselineTasks: o.baselineTasks as number,
        seeds: o.seeds as number[],
        onProgress,
      });
    },
  );
  benchSub(
    bench,
    ctx,
    'scaling',
    'scaling policies (agentpool, hpa, fixed, peak) on six traffic scenarios, on the pool model and the real system',
    (c) =>
      c
        .addOption(new Option('--seeds <n>', 'seeds per scenario and policy').argParser(int(1)).default(5))
        .addOption(new Option('--agents <n>', 'pool maximum / peak pool size').argParser(int(1)).default(50))
        .addOption(
          new Option('--hours <h>', "simulated hours per scenario (default: the scenario's)").argParser(
            number(0.01),
          ),
        )
        .option('--no-system', 'skip the runs on the real system (faster)'),
    async (o, onProgress) => {
      const m = await load('bench scaling', () => import('../../bench/scaling.js'));
      return m.scalingBenchOutput({
        seeds: o.seeds as number,
        agents: o.agents as number,
        system: o.system as boolean,
        ...(o.hours !== undefined ? { hours: o.hours as number } : {}),
        onProgress,
      });
    },
  );
  benchSub(
    bench,
    ctx,
    'learning',
    'learning balancers on the real system (ManualClock) with heterogeneous agents',
    (c) =>
      c
        .addOption(new Option('--tasks <n>', 'tasks per run').argParser(int(1)).default(600))
        .addOption(
          new Option('--seeds <list>', 'seeds, averaged').argParser(intList(1)).default([1, 2, 3], '1,2,3'),
        ),
    async (o, onProgress) => {
      const m = await load('bench learning', () => import('../../bench/learning.js'));
      return m.learningBenchOutput({ tasks: o.tasks as number, seeds: o.seeds as number[], onProgress });
    },
  );
  benchSub(
    bench,
    ctx,
    'isolation',
    'start-up and round trip of each isolation tier (inline, thread, process, sandbox) on this machine',
    (c) =>
      c
        .addOption(new Option('--starts <n>', 'cold starts per tier').argParser(int(1, 1_000)).default(5))
        .addOption(
          new Option('--round-trips <n>', 'sequential no-op round trips per tier')
            .argParser(int(1))
            .default(2_000),
        ),
    async (o, onProgress) => {
      const m = await load('bench isolation', () => import('../../bench/isolation.js'));
      return m.isolationBenchOutput({
        starts: o.starts as number,
        roundTrips: o.roundTrips as number,
        onProgress,
      });
    },
  );
};

const doctorCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('doctor')
    .description(
      'probe which isolation tiers this machine can enforce, by real attempts (writes, reads, network, spawn, tools, memory)',
    )
    .option('--json', 'print the report as JSON { tiers }')
    .action(async (o: { json?: boolean }) => {
      const { runDoctor, formatDoctor } = await import('../doctor/index.js');
      const report = await runDoctor();
      ctx.io.stdout.write(
        o.json
          ? `${JSON.stringify(report, null, 2)}
`
          : `${formatDoctor(report)}
`,
      );
      ctx.exit(0);
    });
};

const nodeCommand: CommandRegistrar = (program, ctx) => {
  program
    .command('node')
    .description(
      'run a cluster node: host agents for a coordinator over NATS until SIGTERM/SIGINT, then drain and exit (docs/guides/cluster.md)',
    )
    .requiredOption('--nats <url>', 'NATS server URL (repeatable)', collect)
    .option('--name <name>', 'node name, unique in the system (default node-<pid>)')
    .option('--system <name>', "the system served (the coordinator's cluster.name)", 'default')
    .option('--pools <list>', 'comma-separated pools this node runs (default: any)')
    .addOption(new Option('--capacity <n>', 'agents hosted at most').argParser(int(1, 10_000)).default(4))
    .addOption(
      new Option('--labels <list>', 'labels pools place by (placement.labels), e.g. zone=a,gpu=1').argParser(
        labelList,
      ),
    )
    .addOption(
      new Option(
        '--memory-mb <mb>',
        'memory offered to agents (placement fits their memory; default: not limited)',
      ).argParser(int(1)),
    )
    .addOption(
      new Option(
        '--cpus <n>',
        'CPU cores offered to agents (placement fits their cpuCores; default: not limited)',
      ).argParser(number(0.01)),
    )
    .addOption(
      new Option('--host <kind>', 'where the agents run')
        .choices(['thread', 'process', 'sandbox', 'inline'])
        .default('thread'),
    )
    .addOption(
      new Option('--heartbeat-ms <ms>', "registration refresh (the coordinator's cluster.heartbeatMs)")
        .argParser(int(10, 600_000))
        .default(1000),
    )
    .addOption(
      new Option('--drain-ms <ms>', 'on SIGTERM, how long running tasks may finish')
        .argParser(int(0, 3_600_000))
        .default(10_000),
    )
    // Secrets come from files or the environment, never argv (visible to every user in `ps`).
    .option('--user <name>', 'NATS user (password from --pass-file or AGENTPOOL_NATS_PASS)')
    .addOption(
      new Option('--pass-file <path>', 'file holding the NATS password').argParser(fileArg('--pass-file')),
    )
    .addOption(
      new Option('--token-file <path>', 'file holding the NATS token (or AGENTPOOL_NATS_TOKEN)').argParser(
        fileArg('--token-file'),
      ),
    )
    .addOption(
      new Option(
        '--nkey-seed-file <path>',
        'file holding the NKey user seed (or AGENTPOOL_NATS_NKEY_SEED)',
      ).argParser(fileArg('--nkey-seed-file')),
    )
    .option('--tls', "require TLS (the system's CAs unless --tls-ca)")
    .addOption(
      new Option('--tls-ca <path>', 'CA certificate (PEM) of the server').argParser(fileArg('--tls-ca')),
    )
    .addOption(
      new Option(
        '--tls-cert <path>',
        'client certificate (PEM), for a server that verifies clients',
      ).argParser(fileArg('--tls-cert')),
    )
    .addOption(
      new Option('--tls-key <path>', "the client certificate's key (PEM)").argParser(fileArg('--tls-key')),
    )
    .action(
      async (o: {
        nats: string[];
        name?: string;
        system: string;
        pools?: string;
        capacity: number;
        labels?: Record<string, string>;
        memoryMb?: number;
        cpus?: number;
        host: 'thread' | 'process' | 'sandbox' | 'inline';
        heartbeatMs: number;
        drainMs: number;
        user?: string;
        passFile?: string;
        tokenFile?: string;
        nkeySeedFile?: string;
        tls?: boolean;
        tlsCa?: string;
        tlsCert?: string;
        tlsKey?: string;
      }) => {
        const { startNode } = await load('node', () => import('../cluster/node.js'));
        const secret = (file: string | undefined, env: string) =>
          file !== undefined ? readFileSync(file, 'utf8').trim() : process.env[env] || undefined;
        const pass = secret(o.passFile, 'AGENTPOOL_NATS_PASS');
        const token = secret(o.tokenFile, 'AGENTPOOL_NATS_TOKEN');
        const nkeySeed = secret(o.nkeySeedFile, 'AGENTPOOL_NATS_NKEY_SEED');
        if ((o.user === undefined) !== (pass === undefined))
          throw new UsageError('--user and a password (--pass-file or AGENTPOOL_NATS_PASS) go together');
        const tlsFiles = {
          ...(o.tlsCa !== undefined ? { caFile: o.tlsCa } : {}),
          ...(o.tlsCert !== undefined ? { certFile: o.tlsCert } : {}),
          ...(o.tlsKey !== undefined ? { keyFile: o.tlsKey } : {}),
        };
        const tls = Object.keys(tlsFiles).length > 0 ? tlsFiles : o.tls ? true : undefined;
        const node = await startNode({
          servers: o.nats,
          system: o.system,
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.pools !== undefined ? { pools: o.pools.split(',').map((s) => s.trim()) } : {}),
          capacity: o.capacity,
          ...(o.labels !== undefined ? { labels: o.labels } : {}),
          ...(o.memoryMb !== undefined ? { memoryMb: o.memoryMb } : {}),
          ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
          host: o.host,
          heartbeatMs: o.heartbeatMs,
          ...(o.user !== undefined && pass !== undefined ? { user: o.user, pass } : {}),
          ...(token !== undefined ? { token } : {}),
          ...(nkeySeed !== undefined ? { nkeySeed } : {}),
          ...(tls !== undefined ? { tls } : {}),
          authNames: {
            user: '--user',
            pass: '--pass-file/AGENTPOOL_NATS_PASS',
            token: '--token-file/AGENTPOOL_NATS_TOKEN',
            nkeySeed: '--nkey-seed-file/AGENTPOOL_NATS_NKEY_SEED',
            tls: '--tls',
            caFile: '--tls-ca',
            certFile: '--tls-cert',
          },
          log: (line) => ctx.io.stderr.write(`${line}\n`),
        });
        ctx.io.stdout.write(`${JSON.stringify({ node: node.name, ready: true })}\n`);
        // Serve until told to stop; then drain (bounded by --drain-ms) and exit.
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        await node.drain(o.drainMs);
        ctx.exit(0);
      },
    );
};

const clusterCommand: CommandRegistrar = (program, ctx) => {
  const cluster = program
    .command('cluster')
    .description('agents on many nodes over NATS (docs/guides/cluster.md)');
  cluster
    .command('demo')
    .description(
      'start nats-server (or use --nats), N node processes and a coordinator; submit stories to a remote pool, SIGKILL and SIGSTOP nodes at random points, print the counts',
    )
    .addOption(new Option('--nodes <n>', 'node processes').argParser(int(1, 16)).default(3))
    .addOption(
      new Option('--kill <n>', 'nodes SIGKILLed at random points of the run')
        .argParser(int(0, 16))
        .default(1),
    )
    .addOption(
      new Option('--pause <n>', 'nodes SIGSTOPped at random points, SIGCONTed --pause-ms later')
        .argParser(int(0, 16))
        .default(0),
    )
    .addOption(
      new Option('--pause-ms <ms>', 'how long a paused node stays stopped')
        .argParser(int(1, 600_000))
        .default(4000),
    )
    .addOption(new Option('--tasks <n>', 'stories submitted').argParser(int(1, 100_000)).default(200))
    .option('--seed <text>', 'seed of the kill/pause points and the stories', 'cluster-demo')
    .addOption(
      new Option('--deadline-ms <ms>', 'submits not settled by then count as hung')
        .argParser(int(1000))
        .default(600_000),
    )
    .option('--nats <url>', 'use this NATS server instead of starting one')
    .option('--json', 'print the summary as JSON')
    .action(
      async (o: {
        nodes: number;
        kill: number;
        pause: number;
        pauseMs: number;
        tasks: number;
        seed: string;
        deadlineMs: number;
        nats?: string;
        json?: boolean;
      }) => {
        if (o.kill + o.pause >= o.nodes)
          throw new UsageError(`--kill + --pause (${o.kill + o.pause}) must be below --nodes (${o.nodes})`);
        const { runClusterDemo, NatsMissingError } = await load(
          'cluster demo',
          () => import('../cluster/demo.js'),
        );
        try {
          const s = await runClusterDemo({
            nodes: o.nodes,
            kill: o.kill,
            pause: o.pause,
            pauseMs: o.pauseMs,
            tasks: o.tasks,
            seed: o.seed,
            deadlineMs: o.deadlineMs,
            ...(o.nats !== undefined ? { nats: o.nats } : {}),
            ...(o.json ? {} : { log: (line: string) => ctx.io.stderr.write(`${line}\n`) }),
          });
          ctx.io.stdout.write(
            o.json
              ? `${JSON.stringify(s)}\n`
              : `${Object.entries(s)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('\n')}\n`,
          );
          ctx.exit(
            s.lost === 0 && s.hung === 0 && s.failed === 0 && s.wrong === 0 && s.unexplainedDuplicates === 0
              ? 0
              : 1,
          );
        } catch (e) {
          if (e instanceof NatsMissingError) throw new MissingPackageError(e.message);
          throw e;
        }
      },
    );
};

/**
 * Every command, in the order `--help` lists them. To add one, write a {@link CommandRegistrar} next to
 * the others (see `doctorCommand`) and list it here; help, usage errors and docs/cli.md
 * (`npm run docs:cli`) follow.
 */
export const COMMANDS: readonly CommandRegistrar[] = [
  demoCommand,
  verifyCommand,
  docsCommand,
  simulateCommand,
  benchCommand,
  doctorCommand,
  nodeCommand,
  clusterCommand,
];

/** The package's version (from its package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** Commander writes "error: …\n(Did you mean …?)\n": make it one line, prefixed with the program name. */
function oneLine(text: string): string {
  return `agentpool: ${text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')}\n`;
}

/**
 * Build the program. `ctx.exit` receives the exit code of the command that ran.
 *
 * @example
 * ```ts
 * const program = buildProgram({ io: process, exit: (c) => (process.exitCode = c) });
 * await program.parseAsync(process.argv);
 * ```
 */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('agentpool')
    .description(
      'pools of AI agents as XState v5 actors: demo, graph checker, machine docs, simulations, benchmarks',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(oneLine(s)),
    })
    // Usage errors are thrown to runCli (exit 2), never process.exit() from inside a library.
    .exitOverride();
  // Settings above are copied into each subcommand when it is created, so they must come first.
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Exit code for an error thrown while running a command (message already written for usage errors). */
function failure(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) {
    // --help and --version throw with exit code 0; every other commander error is a usage error.
    return e.exitCode === 0 ? 0 : 2;
  }
  const err = e as { name?: string; code?: string; message?: string; stack?: string };
  if (err?.code === 'ERR_INVALID_ARGUMENT' || err?.code === 'ERR_INVALID_CONFIG') {
    io.stderr.write(`agentpool: ${err.code}: ${err.message}\n`);
    return 2;
  }
  if (e instanceof MissingPackageError) {
    io.stderr.write(`agentpool: ${e.message}\n`);
    return 1;
  }
  // Anything else is a failure of the command, not of its input: say what, and the stack when asked.
  io.stderr.write(
    process.env.AGENTPOOL_DEBUG
      ? `${err?.stack ?? String(e)}\n`
      : `agentpool: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? String(e)} (AGENTPOOL_DEBUG=1 prints the stack)\n`,
  );
  return 1;
}

/**
 * Run the CLI on `argv` (the arguments after `node main.js`); resolves with the exit code, never
 * rejects.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['verify', '--json']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = process): Promise<number> {
  let code = 0;
  const program = buildProgram({ io, exit: (c) => (code = c) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    return failure(e, io);
  }
}
