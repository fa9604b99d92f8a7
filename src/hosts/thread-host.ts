/**
 * The thread host: an agent in a `worker_threads` Worker, spoken to over Comlink.
 *
 * Plain Comlink leaves a call pending forever when the worker dies. Here every call is raced against
 * a "death" promise that rejects with a typed {@link AgentCrashedError} the moment the worker exits,
 * errors or is terminated — so every pending and every later call rejects. Memory is capped with
 * `resourceLimits.maxOldGenerationSizeMb`; a worker that exceeds it dies with `ERR_AGENT_OUT_OF_MEMORY`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { TaskOutcome } from '../agent/runner.js';
import { AgentCrashedError, AgentPoolError } from '../errors/errors.js';
import { sleep } from '../runtime/clock.js';
import type { Host, HostOptions } from './host.js';
import type { InitResult, SideMessage, WorkerApi, WorkerInit } from './thread-protocol.js';

const here = import.meta.url;
const builtEntry = new URL('./thread-worker.js', here);
const tsEntry = new URL('./thread-worker.ts', here);

/** Resolve the worker entry: the built .js, or (running from sources) the .ts through a tsx bootstrap. */
function workerEntry(): { url: URL; tsEntry?: string } {
  if (existsSync(fileURLToPath(builtEntry))) return { url: builtEntry };
  return { url: new URL('./ts-bootstrap.mjs', here), tsEntry: tsEntry.href };
}

/** Normalise an agent module reference to a file URL string, checking that the file exists. */
export function agentModuleUrl(agent: URL | string): string {
  const url = agent instanceof URL ? agent : agent.startsWith('file:') ? new URL(agent) : pathToFileURL(agent);
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new AgentPoolError('ERR_AGENT_MODULE', `agent module not found: ${url.href}`, {
      details: { module: url.href },
    });
  }
  return url.href;
}

/** Host that runs the agent in a worker thread. */
export class ThreadHost implements Host {
  /** Worker threads alive in this process (spawned and not yet exited), across all hosts. */
  static live = 0;
  readonly kind = 'thread' as const;
  private worker: Worker | undefined;
  private remote: Comlink.Remote<WorkerApi> | undefined;
  private deathError: AgentCrashedError | undefined;
  private readonly death: Promise<never>;
  private die!: (e: AgentCrashedError) => void;
  private stopping = false;
  private lastError: Error | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly opts: HostOptions) {
    this.death = new Promise<never>((_, reject) => {
      this.die = reject;
    });
    // The death promise is only ever observed through races; never let it count as unhandled.
    this.death.catch(() => {});
  }

  get alive(): boolean {
    return this.worker !== undefined && this.deathError === undefined;
  }

  async start(): Promise<string[]> {
    if (typeof this.opts.agent === 'object' && !(this.opts.agent instanceof URL)) {
      throw new AgentPoolError('ERR_INVALID_CONFIG', 'thread agents need a module URL, not an inline definition', {
        details: { agentId: this.opts.agentId },
      });
    }
    const agent = agentModuleUrl(this.opts.agent);
    const entry = workerEntry();
    const data: WorkerInit = { agentId: this.opts.agentId, agent, tools: [...this.opts.tools] };
    if (entry.tsEntry) data.tsEntry = entry.tsEntry;
    const mem = this.opts.memoryMb;
    const worker = new Worker(entry.url, {
      workerData: data,
      ...(mem ? { resourceLimits: { maxOldGenerationSizeMb: mem, maxYoungGenerationSizeMb: Math.min(64, Math.max(4, Math.floor(mem / 8))) } } : {}),
    });
    this.worker = worker;
    ThreadHost.live++;
    worker.once('exit', () => ThreadHost.live--);
    worker.on('error', (e) => {
      this.lastError = e;
    });
    worker.on('exit', (code) => this.onExit(code));
    worker.on('message', (m: SideMessage) => this.onSide(m));
    this.remote = Comlink.wrap<WorkerApi>(nodeEndpoint(worker));
    const res = await this.call(() => this.remote!.init() as Promise<InitResult>);
    if (!res.ok) {
      await this.terminate('agent module failed to load');
      throw new AgentPoolError('ERR_AGENT_MODULE', res.error.message, { details: { agentId: this.opts.agentId } });
    }
    return res.handlers;
  }

  run(taskId: string, task: string, input: unknown): Promise<TaskOutcome> {
    return this.call(() => this.remote!.run(taskId, task, input) as Promise<TaskOutcome>);
  }

  abort(taskId: string, reason: string): void {
    if (this.alive) this.remote!.abort(taskId, reason).catch(() => {});
  }

  async ping(): Promise<void> {
    await this.call(() => this.remote!.ping());
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.worker || this.deathError) return;
    this.stopping = true;
    // Let running tasks finish within the grace period, then abort them and terminate.
    const settled = Promise.allSettled([...this.inflight]);
    await Promise.race([settled, sleep(this.opts.clock, graceMs)]);
    if (this.inflight.size > 0) this.remote!.drain().catch(() => {});
    await this.terminate('stopped');
  }

  async terminate(reason: string): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.stopping = true;
    if (!this.deathError) this.markDead(new AgentCrashedError(this.opts.agentId, reason, 'ERR_AGENT_STOPPED'));
    await w.terminate();
  }

  /** Race a Comlink call against the worker's death, so no call can hang on a dead worker. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.deathError) return Promise.reject(this.deathError);
    const p = Promise.race([fn(), this.death]);
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  private onExit(code: number): void {
    if (this.deathError) return;
    const oom = (this.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const err = oom
      ? new AgentCrashedError(this.opts.agentId, 'worker ran out of memory', 'ERR_AGENT_OUT_OF_MEMORY', this.lastError)
      : new AgentCrashedError(
          this.opts.agentId,
          this.lastError ? `worker crashed: ${this.lastError.message}` : `worker exited with code ${code}`,
          'ERR_AGENT_CRASHED',
          this.lastError,
        );
    this.markDead(err);
    if (!this.stopping) this.opts.listener.onExit(err);
  }

  private markDead(err: AgentCrashedError): void {
    this.deathError = err;
    this.die(err);
  }

  private onSide(m: SideMessage): void {
    if (!m || typeof m !== 'object') return;
    const l = this.opts.listener;
    switch (m.type) {
      case 'ap:hb':
        l.onHeartbeat(m.taskId);
        break;
      case 'ap:usage':
        l.onUsage(m.taskId, m.usage);
        break;
      case 'ap:reserve':
        l.reserveTokens(m.taskId, m.amount).then(
          (error) => this.reply({ type: 'ap:reserve-reply', rid: m.rid, ...(error ? { error } : {}) }),
          (e: unknown) =>
            this.reply({ type: 'ap:reserve-reply', rid: m.rid, error: { name: 'Error', message: String(e) } }),
        );
        break;
      case 'ap:settle':
        l.settleTokens(m.taskId, m.reserved, m.actual);
        break;
    }
  }

  private reply(m: SideMessage): void {
    if (this.alive) this.worker!.postMessage(m);
  }
}
