/**
 * `agentpool cluster demo`: a local nats-server (or `--nats URL`), N node processes and this process
 * as coordinator; `tasks` stories submitted to a remote pool, `kill` nodes SIGKILLed and `pause` nodes
 * SIGSTOPped (then SIGCONTed) at random points of the run. The summary counts what the guarantees
 * promise: every submit settles (`hung` 0) and none is failed by a node loss (`lost` 0); re-runs after
 * a node loss are counted as `duplicates` (at-least-once, docs/guides/cluster.md), and a duplicate
 * whose earlier start was not on a killed or paused node is `unexplainedDuplicates` (must be 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createAgentPoolSystem } from '../runtime/system.js';
import { makeInput, reference, same, seeded, STORY_KINDS } from '../demo/work.js';
import { findNatsServer, type LocalNats, NATS_INSTALL_HINT, startNatsServer } from './server.js';

/** Options of {@link runClusterDemo}. */
export interface ClusterDemoOptions {
  nodes: number;
  /** Nodes SIGKILLed, each once a random share (10–60 %) of the tasks settled. */
  kill: number;
  /** Nodes SIGSTOPped like `kill`, then SIGCONTed `pauseMs` later. @default 0 */
  pause?: number;
  /** How long a paused node stays stopped (longer than the loss bound, so it is declared lost). @default 4000 */
  pauseMs?: number;
  tasks: number;
  /** Seed of the kill/pause points and the stories. @default 'cluster-demo' */
  seed?: string;
  /** Submits not settled this long after the start are `hung`. @default 600000 */
  deadlineMs?: number;
  /** Use this server instead of starting one. */
  nats?: string;
  /** Diagnostics. */
  log?: (line: string) => void;
  /**
   * How to start this CLI for a node: the arguments to `node` before `node --nats …`.
   * @default this process's own (`process.execArgv` and `process.argv[1]`)
   */
  cli?: string[];
}

/** What the demo prints (the fields issue 17 names). */
export interface ClusterDemoSummary {
  nodes: number;
  killedNodes: number;
  /** Nodes SIGSTOPped (and SIGCONTed) during the run. */
  pausedNodes: number;
  tasks: number;
  completed: number;
  /** Submits that rejected (any typed error). */
  failed: number;
  /** Submits that rejected because their agent's node was lost (`ERR_AGENT_LOST` past `maxAttempts`; the guarantee: 0). */
  lost: number;
  /** Submits not settled by `deadlineMs` (the guarantee: 0). */
  hung: number;
  /** Tasks started more than once (re-queued after their node was lost; at-least-once). */
  duplicates: number;
  /** Duplicates whose earlier start was on a node that was neither killed nor paused (must be 0). */
  unexplainedDuplicates: number;
  /** Tasks whose output differed from the reference computation. */
  wrong: number;
  agentsPeak: number;
  durationMs: number;
  /** The seed of the run (kill/pause points). */
  seed: string;
}

/** Thrown when there is no nats-server and no `--nats` URL. */
export class NatsMissingError extends Error {
  override name = 'NatsMissingError';
}

function agentUrl(): URL {
  const js = new URL('./agents/story.agent.js', import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL('./agents/story.agent.ts', import.meta.url);
}

/** Run the demo; resolves with its summary once every node and the server are gone. */
export async function runClusterDemo(o: ClusterDemoOptions): Promise<ClusterDemoSummary> {
  const log = o.log ?? (() => {});
  if (o.nats === undefined && findNatsServer() === undefined)
    throw new NatsMissingError(
      `agentpool cluster demo needs nats-server (or --nats URL): ${NATS_INSTALL_HINT}`,
    );
  const server: LocalNats | undefined = o.nats === undefined ? await startNatsServer() : undefined;
  const url = o.nats ?? server!.url;
  // Unique per run: a killed node's registration of an earlier run on the same server must not be seen.
  const system = `demo${process.pid}_${Date.now().toString(36)}`;
  const heartbeatMs = 250;
  const children: ChildProcess[] = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < o.nodes; i++)
      children.push(
        await spawnNode(o.cli ?? [...process.execArgv, process.argv[1]!], url, system, `n${i}`, heartbeatMs),
      );
    log(`${o.nodes} nodes up on ${url}`);
    const sys = createAgentPoolSystem({
      pools: {
        story: {
          agent: agentUrl(),
          host: 'remote',
          min: o.nodes,
          max: o.nodes * 2,
          concurrency: 1,
          healthCheckIntervalMs: 60_000,
          acquireTimeoutMs: 60_000,
        },
      },
      cluster: { servers: url, name: system, heartbeatMs, lostAfterMs: 1_500 },
      shutdownDeadlineMs: 5_000,
    });
    await sys.start();
    const seed = o.seed ?? 'cluster-demo';
    const rnd = seeded(seed);
    const pause = o.pause ?? 0;
    const pauseMs = o.pauseMs ?? 4_000;
    // Where each task started (the node pid its agent reported), in order.
    const starts = new Map<number, number[]>();
    let completed = 0;
    let failed = 0;
    let lost = 0;
    let wrong = 0;
    let settled = 0;
    // Chaos: each event fires once a random share (10–60 %) of the tasks settled; kills take the first
    // nodes, pauses the next ones (at least one node is never touched).
    const events = [
      ...Array.from({ length: o.kill }, (_, k) => ({ kind: 'kill' as const, node: k })),
      ...Array.from({ length: pause }, (_, k) => ({ kind: 'pause' as const, node: o.kill + k })),
    ].map((e) => ({ ...e, at: Math.max(1, Math.floor(o.tasks * (0.1 + 0.5 * rnd()))), done: false }));
    const killedPids = new Set<number>();
    const pausedPids = new Set<number>();
    const resumes: ReturnType<typeof setTimeout>[] = [];
    const fire = () => {
      for (const e of events) {
        if (e.done || settled < e.at) continue;
        e.done = true;
        const victim = children[e.node]!;
        if (e.kind === 'kill') {
          killedPids.add(victim.pid!);
          log(`SIGKILL node n${e.node} (pid ${victim.pid}) after ${settled} tasks`);
          victim.kill('SIGKILL');
        } else {
          pausedPids.add(victim.pid!);
          log(`SIGSTOP node n${e.node} (pid ${victim.pid}) after ${settled} tasks, for ${pauseMs} ms`);
          victim.kill('SIGSTOP');
          resumes.push(
            setTimeout(() => {
              log(`SIGCONT node n${e.node} (pid ${victim.pid})`);
              victim.kill('SIGCONT');
            }, pauseMs),
          );
        }
      }
    };
    const work = Array.from({ length: o.tasks }, (_, i) => {
      const kind = STORY_KINDS[i % STORY_KINDS.length]!;
      const input = makeInput(kind, 50, rnd);
      return sys
        .submit({
          type: 'story',
          task: 'solve',
          input: { kind, input, ms: 40 },
          maxAttempts: 5,
          onProgress: (v) => {
            const list = starts.get(i) ?? [];
            list.push((v as { pid: number }).pid);
            starts.set(i, list);
          },
        })
        .then(
          (r) => {
            completed++;
            const out = (r as { output: unknown }).output;
            if (!same(out, (reference[kind] as (x: unknown) => unknown)(input as never))) wrong++;
          },
          (err: unknown) => {
            failed++;
            if ((err as { code?: string }).code === 'ERR_AGENT_LOST') lost++;
            log(`task ${i} failed: ${(err as Error).message}`);
          },
        )
        .finally(() => {
          settled++;
          fire();
        });
    });
    // Every submit settles (each attempt is bounded by the loss detector); the deadline only turns a
    // broken guarantee into a count instead of a demo that never ends.
    let deadline: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(work),
      new Promise<void>((r) => (deadline = setTimeout(r, o.deadlineMs ?? 600_000))),
    ]);
    clearTimeout(deadline);
    for (const t of resumes) clearTimeout(t);
    const hung = o.tasks - settled;
    const status = sys.status();
    const agentsPeak = Object.values(status.pools).reduce((n, p) => n + p.counters.agentsPeak, 0);
    await sys.shutdown({ graceful: true, deadlineMs: 5_000 });
    const dupes = [...starts.values()].filter((l) => l.length > 1);
    return {
      nodes: o.nodes,
      killedNodes: killedPids.size,
      pausedNodes: pausedPids.size,
      tasks: o.tasks,
      completed,
      failed,
      lost,
      hung,
      duplicates: dupes.length,
      // Documented: a re-run after its node was lost. Every start but the last must have been on a
      // node that was killed or paused.
      unexplainedDuplicates: dupes.filter((l) =>
        l.slice(0, -1).some((pid) => !killedPids.has(pid) && !pausedPids.has(pid)),
      ).length,
      wrong,
      agentsPeak,
      durationMs: Date.now() - t0,
      seed,
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGCONT');
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              c.kill('SIGKILL');
              resolve();
            }, 5_000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    await server?.stop();
  }
}

/**
 * Resolves once a node process printed its ready line (`"ready":true`); rejects when it exits first
 * or is not ready within 20 s (a node that cannot reach NATS must not hang the caller).
 */
export function nodeReady(child: ChildProcess, name: string): Promise<void> {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node ${name} not ready in 20 s: ${err}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('"ready":true')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`node ${name} exited (${code}): ${err}`));
    });
  });
}

/** A node process of this same CLI (sources under tsx, or the built dist). */
async function spawnNode(
  cli: string[],
  url: string,
  system: string,
  name: string,
  heartbeatMs: number,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...cli,
      'node',
      '--nats',
      url,
      '--system',
      system,
      '--name',
      name,
      '--host',
      'inline',
      '--capacity',
      '2',
      '--heartbeat-ms',
      String(heartbeatMs),
      '--drain-ms',
      '2000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await nodeReady(child, name);
  return child;
}
