#!/usr/bin/env node
/**
 * The `agentpool` command line: demo, verify, docs, bench, simulate.
 */
import { parseArgs } from 'node:util';

const HELP = `agentpool — pools of AI agents as XState actors

usage:
  agentpool demo [--stories N] [--json]     parallel TDD workload on four pools of worker-thread agents
  agentpool verify [--json] [--machine M]   graph-check every statechart: deadlocks, liveness, replayed paths
  agentpool docs                            regenerate docs/machines/*.md diagrams
  agentpool doctor [--json]                 probe which isolation tiers this machine can enforce
  agentpool bench <dispatch|acquire|balancers|scaling|learning|isolation> [--json]
  agentpool simulate --scenario S --policy P [--seed N] [--hours H] [--agents N] [--trace file]
                    [--json] [--report out.html]
`;

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { stories: { type: 'string', default: '40' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const stories = Number(values.stories);
  if (!Number.isInteger(stories) || stories < 1 || stories > 100_000) {
    process.stderr.write(
      `--stories: expected an integer from 1 to 100000, received ${JSON.stringify(values.stories)}\n`,
    );
    return 2;
  }
  const { runDemo, formatSummary } = await import('../demo/run.js');
  const summary = await runDemo({
    stories,
    live: !values.json && process.stdout.isTTY === true,
    acquireTimeoutMs: 1_000,
  });
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  return summary.failed === 0 && summary.storiesPassed === summary.stories ? 0 : 1;
}

type Command = (argv: string[]) => Promise<number>;

// Benchmarks live in bench/ (compiled to dist/bench/); each loads only when asked for.
const benches: Record<string, () => Promise<Command>> = {
  dispatch: async () => (await import('../../bench/dispatch.js')).runDispatchCommand,
  acquire: async () => async (argv) => {
    await (await import('../../bench/acquire.js')).runAcquireCommand(argv);
    return 0;
  },
  balancers: async () => (await import('../../bench/balancers.js')).runBalancersCommand,
  scaling: async () => (await import('../../bench/scaling.js')).runScalingCommand,
  learning: async () => (await import('../../bench/learning.js')).runLearningCommand,
  isolation: async () => (await import('../../bench/isolation.js')).runIsolationCommand,
};

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => demo,
  verify: async () => (await import('../verify/cli.js')).runVerify,
  docs: async () => (await import('../verify/docs.js')).runDocs,
  simulate: async () => (await import('../sim/simulate-cli.js')).runSimulateCommand,
  doctor: async () => (await import('../doctor/index.js')).runDoctorCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  if (cmd === 'bench') {
    const [which, ...args] = rest;
    const load = which ? benches[which] : undefined;
    if (!load) {
      process.stderr.write(
        `bench: expected one of ${Object.keys(benches).join(', ')}, received ${JSON.stringify(which)}\n`,
      );
      return 2;
    }
    return (await load())(args);
  }
  const load = commands[cmd];
  if (!load) {
    process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n${HELP}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Typed input errors are the user's to fix: print the message, not a stack.
    const e = err as { code?: string; message?: string; stack?: string };
    const typed = e?.code === 'ERR_INVALID_ARGUMENT' || e?.code === 'ERR_INVALID_CONFIG';
    process.stderr.write(`${typed ? `${e.code}: ${e.message}` : (e?.stack ?? String(err))}\n`);
    process.exitCode = typed ? 2 : 1;
  },
);
