/**
 * Node processes for the cluster tests that start their own nats-server (test/cluster-*.test.ts):
 * `agentpool node` spawned from the sources under tsx, killed by {@link killAll}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeReady } from '../../src/cluster/demo.js';

/** The repository root (node processes run from it). */
export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The agents of the cluster tests (whoami, hold). */
export const clusterAgent = fileURLToPath(new URL('../fixtures/cluster.agent.ts', import.meta.url));

const children = new Set<ChildProcess>();

/** Spawn `agentpool node --nats url --system system --name name --host inline …extra` and wait until ready. */
export async function startNodeProcess(
  url: string,
  system: string,
  name: string,
  extra: string[] = [],
  opts: { heartbeatMs?: number; env?: Record<string, string> } = {},
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'node',
      '--nats',
      url,
      '--system',
      system,
      '--name',
      name,
      '--host',
      'inline',
      '--heartbeat-ms',
      String(opts.heartbeatMs ?? 200),
      ...extra,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  children.add(child);
  await nodeReady(child, name);
  return child;
}

/** SIGKILL every node process still running (afterEach). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

/** Wait (polling, bounded by `ms`) for `cond`. */
export async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
