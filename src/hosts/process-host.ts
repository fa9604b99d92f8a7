/**
 * The `process` and `sandbox` hosts: an agent in a child Node process under Node's permission model,
 * optionally inside bubblewrap namespaces.
 *
 * `process`: `child_process.fork` with the permission flag (`--permission`, or
 * `--experimental-permission` on Node 20), `--allow-fs-read` for the runtime, the agent module, the
 * profile's read paths and the workspace, `--allow-fs-write` for the workspace and the profile's
 * write paths — and nothing else: no `--allow-child-process`, no `--allow-worker`, so spawning a
 * process or a worker throws `ERR_ACCESS_DENIED` in the agent. The heap is capped with
 * `--max-old-space-size`; the child gets an empty environment (no inherited secrets) and the
 * workspace as its working directory.
 *
 * `sandbox`: the same command run by `bwrap` (driven directly; docs/guides/security.md says why):
 * read-only system directories only (no /home, /root, /etc beyond what DNS and TLS need), the
 * runtime and read paths bound read-only, the workspace and write paths read-write, a private /tmp,
 * PID, IPC and UTS namespaces, `--unshare-net` unless the profile allows the network, and
 * `--die-with-parent`.
 *
 * Like the thread host, every pending and later call rejects with a typed error the moment the child
 * exits, and the workspace is removed once it is gone — whatever the exit path.
 *
 * Why one file over 400 lines: the process host owns one child's whole life (fork or bwrap spawn,
 * permission flags, IPC endpoint, workspace, kill on timeout and shutdown); its argv building is the
 * first candidate to move out (a `sandbox-args.ts`).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskOutcome } from '../agent/runner.js';
import { AgentCrashedError, AgentPoolError, deserializeError } from '../core/errors.js';
import { sleep } from '../core/clock.js';
import type { Host, HostOptions, TaskLimits } from './host.js';
import type { ProcessMessage } from './process-protocol.js';
import { agentModuleUrl } from './thread-host.js';
import type { InitResult } from './thread-protocol.js';
import { relayTool } from './tool-relay.js';
import { startEgressProxy } from './egress-proxy.js';
import { clearWorkspace, createWorkspace, removeWorkspace } from './workspace.js';

const here = import.meta.url;
/** The one esbuild call used here (esbuild is optional: only TypeScript sources need it). */
interface Esbuild {
  build(o: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}
const TS_MODULE = /\.(?:ts|mts|cts|tsx)$/;

/** The package root (where package.json is): the runtime the child must be able to read. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(here));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * A TypeScript file as one ES module the child can load without a loader (tsx's loader needs a
 * worker thread, which the permission model forbids): bundled with esbuild into a cache file, once
 * per content. Built packages ship `process-worker.js` and never need it for the entry.
 */
async function bundled(file: string): Promise<string> {
  let esbuild: Esbuild;
  try {
    esbuild = (await import('esbuild')) as Esbuild;
  } catch {
    throw new AgentPoolError(
      'ERR_AGENT_MODULE',
      `${file} is TypeScript: isolated tiers load it bundled with esbuild — install esbuild, or build it to .js`,
      { details: { module: file } },
    );
  }
  const out = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  const code = out.outputFiles[0]!.text;
  const dir = join(tmpdir(), 'agentpool-bundles');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, `${createHash('sha256').update(file).update(code).digest('hex').slice(0, 16)}.mjs`);
  // Other processes (test workers, other systems) may load the same bundle: write aside, then rename,
  // so no child ever reads a half-written file.
  if (!existsSync(path) || readFileSync(path, 'utf8') !== code) {
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, path);
  }
  return path;
}

/** The child's entry file: the built bundle (scripts/bundle-workers.mjs), tsc's .js, or the .ts bundled. */
async function entryFile(): Promise<string> {
  for (const name of ['./process-worker.bundle.js', './process-worker.js']) {
    const built = fileURLToPath(new URL(name, here));
    if (existsSync(built)) return built;
  }
  return bundled(fileURLToPath(new URL('./process-worker.ts', here)));
}

/** The permission-model flag of this Node (`--permission` on 22.13+/23.5+, experimental on 20). */
export function nodePermissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission')
    ? '--permission'
    : '--experimental-permission';
}

/** A directory grant: Node reads a trailing separator as "this directory and below". */
function dirGrant(p: string): string {
  return p.endsWith(sep) ? p : p + sep;
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** What the child may read and write, resolved to real paths (the permission model compares real paths). */
export interface ChildGrants {
  read: string[];
  write: string[];
  /** `--allow-fs-read=*` (profile `files: 'full'`). */
  readAll: boolean;
  writeAll: boolean;
}

/**
 * Grants without duplicates or paths inside another directory grant: Node 20's permission tree
 * aborts the process (an assertion in its radix tree) on a grant nested in another one.
 */
export function compactGrants(paths: readonly string[]): string[] {
  const uniq = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const out: string[] = [];
  for (const p of uniq)
    if (!out.some((q) => q.endsWith(sep) && (p.startsWith(q) || p + sep === q))) out.push(p);
  return out;
}

/** The node flags of an isolated child. */
export function nodeFlags(g: ChildGrants, memoryMb: number | undefined): string[] {
  const flags = [nodePermissionFlag()];
  if (g.readAll) flags.push('--allow-fs-read=*');
  else for (const p of compactGrants(g.read)) flags.push(`--allow-fs-read=${p}`);
  if (g.writeAll) flags.push('--allow-fs-write=*');
  else for (const p of compactGrants(g.write)) flags.push(`--allow-fs-write=${p}`);
  if (memoryMb !== undefined) flags.push(`--max-old-space-size=${Math.max(16, Math.floor(memoryMb))}`);
  // The child's stderr is ours to read: the permission model's experimental warning is noise there.
  if (process.allowedNodeEnvironmentFlags.has('--disable-warning'))
    flags.push('--disable-warning=ExperimentalWarning');
  return flags;
}

/** System directories a sandbox sees read-only: what a Node binary and DNS/TLS need, nothing personal. */
const SYSTEM_RO = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/localtime',
];

/** bubblewrap's arguments for a sandboxed child (before `--` and the node command). */
export function bwrapArgs(g: ChildGrants, workspace: string, network: boolean): string[] {
  const a = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
  ];
  if (!network) a.push('--unshare-net');
  for (const p of SYSTEM_RO) a.push('--ro-bind-try', p, p);
  a.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  // The node binary, wherever it lives (an npx cache for other versions).
  const node = real(process.execPath);
  a.push('--ro-bind', node, node);
  if (g.readAll) a.push('--ro-bind', '/', '/');
  for (const p of g.read) a.push('--ro-bind-try', p, p);
  if (g.writeAll) a.push('--bind', '/', '/');
  for (const p of g.write) if (p !== workspace) a.push('--bind-try', p, p);
  a.push('--bind', workspace, workspace, '--chdir', workspace);
  return a;
}

/** Host that runs the agent in a child process (optionally sandboxed by bubblewrap). */
export class ProcessHost implements Host {
  /** Child processes alive in this process, across all hosts. */
  static live = 0;
  readonly kind: 'process' | 'sandbox';
  private child: ChildProcess | undefined;
  private childRunning = false;
  private readonly exitedPromise: Promise<void>;
  private markExited!: () => void;
  private deathError: AgentCrashedError | undefined;
  private stopping = false;
  private readonly tasks = new Map<
    number,
    { taskId: string; resolve(o: TaskOutcome): void; reject(e: unknown): void }
  >();
  private nextCallId = 0;
  private readonly controls = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private idleWaiters: (() => void)[] = [];
  private stderrTail = '';
  private oomSeen = false;
  private ws: string | undefined;
  private hello: (() => void) | undefined;
  /** The sandbox's filtering proxy (network allowlist), while the child runs. */
  private proxy: Server | undefined;

  constructor(
    private readonly opts: HostOptions,
    sandbox = false,
  ) {
    this.kind = sandbox ? 'sandbox' : 'process';
    this.exitedPromise = new Promise((r) => (this.markExited = r));
  }

  get alive(): boolean {
    return this.child !== undefined && this.deathError === undefined;
  }

  get running(): boolean {
    return this.childRunning;
  }

  /** The agent's workspace directory (while the host lives). */
  get workspace(): string | undefined {
    return this.ws;
  }

  /** The child's pid (tests, doctor). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  exited(): Promise<void> {
    return this.child === undefined ? Promise.resolve() : this.exitedPromise;
  }

  async start(): Promise<string[]> {
    const agentRef = this.opts.agent;
    if (typeof agentRef === 'object' && !(agentRef instanceof URL))
      throw new AgentPoolError(
        'ERR_INVALID_CONFIG',
        `${this.kind} agents need a module URL, not an inline definition`,
        {
          details: { agentId: this.opts.agentId },
        },
      );
    const iso = this.opts.isolation;
    if (!iso)
      throw new AgentPoolError('ERR_INVALID_CONFIG', `${this.kind} host without an isolation profile`);
    const agentUrl = agentModuleUrl(agentRef);
    let agentFile = fileURLToPath(agentUrl);
    if (TS_MODULE.test(agentFile)) agentFile = await bundled(agentFile);
    const entry = await entryFile();
    const ws = createWorkspace(this.opts.agentId, iso.workspaceBase);
    this.ws = ws;
    // A network allowlist: the sandbox has no network; a filtering proxy in this process is reached
    // through a Unix socket in a directory next to the workspace, bound into the sandbox.
    const netDir = this.kind === 'sandbox' && !iso.network && iso.allow?.length ? `${ws}.net` : undefined;
    let proxySocket: string | undefined;
    if (netDir) {
      mkdirSync(netDir, { mode: 0o700 });
      proxySocket = join(netDir, 'proxy.sock');
      const l = this.opts.listener;
      this.proxy = await startEgressProxy(proxySocket, iso.allow!, (dest) => l.onNetworkDenied?.(dest));
    }
    const grants: ChildGrants = {
      readAll: iso.read === 'full',
      writeAll: iso.write === 'full',
      read: [
        dirGrant(real(packageRoot())),
        dirGrant(real(dirname(agentFile))),
        dirGrant(real(dirname(entry))),
        dirGrant(real(dirname(fileURLToPath(agentUrl)))),
        ...(iso.read === 'full' ? [] : iso.read.map((p) => (existsSync(p) ? real(p) : p))),
        ...(iso.write === 'full' ? [] : iso.write.map((p) => (existsSync(p) ? real(p) : p))),
        dirGrant(ws),
        ...(netDir ? [dirGrant(netDir)] : []),
      ],
      write: [
        ...(iso.write === 'full' ? [] : iso.write.map((p) => (existsSync(p) ? real(p) : p))),
        dirGrant(ws),
        ...(netDir ? [dirGrant(netDir)] : []),
      ],
    };
    const flags = nodeFlags(grants, this.opts.memoryMb);
    const spawnOpts = {
      cwd: ws,
      env: proxySocket ? { AP_EGRESS_SOCKET: proxySocket } : {},
      serialization: 'advanced' as const,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[],
    };
    const child =
      this.kind === 'process'
        ? fork(entry, [], { ...spawnOpts, execArgv: flags })
        : spawn(
            'bwrap',
            [
              ...bwrapArgs(
                {
                  ...grants,
                  read: grants.read.map((p) => p.replace(/\/$/, '')),
                  write: grants.write.map((p) => p.replace(/\/$/, '')),
                },
                ws,
                iso.network,
              ),
              '--',
              real(process.execPath),
              ...flags,
              entry,
            ],
            spawnOpts,
          );
    this.child = child;
    this.childRunning = true;
    ProcessHost.live++;
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      // V8's fatal OOM report is followed by a long native stack: remember it, the tail will not show it.
      if (/heap out of memory|Reached heap limit|Allocation failed/i.test(text)) this.oomSeen = true;
      this.stderrTail = (this.stderrTail + text).slice(-2_000);
    });
    child.on('message', (m: ProcessMessage) => this.onMessage(m));
    child.on('error', (e) => {
      this.stderrTail += `\n${e.message}`;
    });
    child.once('exit', (code, sig) => {
      ProcessHost.live--;
      this.childRunning = false;
      removeWorkspace(ws);
      this.proxy?.close();
      if (netDir) removeWorkspace(netDir);
      this.onExit(code, sig);
      this.markExited();
    });
    const hello = new Promise<void>((r) => (this.hello = r));
    await Promise.race([hello, this.exitedPromise]);
    const res = (await this.control('init', () => ({
      type: 'ap:init',
      agentId: this.opts.agentId,
      agent: pathToFileURL(agentFile).href,
      tools: [...this.opts.tools],
      workspace: ws,
    }))) as InitResult;
    if (!res.ok) {
      await this.kill('agent module failed to load', 'ERR_AGENT_STOPPED');
      const cause = deserializeError(res.error);
      if (cause instanceof AgentPoolError && cause.code === 'ERR_AGENT_MODULE') {
        Object.assign(cause.details, { agentId: this.opts.agentId, module: agentUrl });
        throw cause;
      }
      throw new AgentPoolError('ERR_AGENT_START_FAILED', `agent setup failed: ${res.error.message}`, {
        cause,
        details: { agentId: this.opts.agentId, module: agentUrl },
      });
    }
    return res.handlers;
  }

  run(taskId: string, task: string, input: unknown, _limits?: TaskLimits): Promise<TaskOutcome> {
    if (this.deathError) return Promise.reject(this.deathError);
    const child = this.child;
    if (!child)
      return Promise.reject(new AgentCrashedError(this.opts.agentId, 'not started', 'ERR_AGENT_STOPPED'));
    return new Promise<TaskOutcome>((resolve, reject) => {
      const id = ++this.nextCallId;
      this.tasks.set(id, { taskId, resolve, reject });
      try {
        child.send({ type: 'ap:run', b: [id, taskId, task, input] } satisfies ProcessMessage);
      } catch (e) {
        this.tasks.delete(id);
        reject(e);
      }
    });
  }

  isRunning(taskId: string): boolean {
    for (const t of this.tasks.values()) if (t.taskId === taskId) return true;
    return false;
  }

  // The heap cap is the process's (--max-old-space-size); per-task allocations are not watched here.
  limit(_taskId: string, _limits: TaskLimits): void {}

  abort(taskId: string, reason: string): void {
    this.post({ type: 'ap:abort', taskId, reason });
  }

  async ping(): Promise<void> {
    await this.control('ping', (id) => ({ type: 'ap:ping', id }));
  }

  /** Empty the workspace (a lease was released: the next lease starts clean). */
  clearWorkspace(): void {
    if (this.ws && this.alive) clearWorkspace(this.ws);
  }

  async stop(graceMs: number, abortGraceMs = 0): Promise<void> {
    if (!this.child || this.deathError) return;
    this.stopping = true;
    await this.whenIdle(graceMs);
    if (this.tasks.size > 0 && this.alive) {
      this.post({ type: 'ap:drain' });
      await this.whenIdle(abortGraceMs);
    }
    await this.kill('stopped', 'ERR_AGENT_STOPPED');
  }

  async terminate(reason: string): Promise<void> {
    await this.kill(`terminated: ${reason}`, 'ERR_AGENT_TERMINATED');
  }

  private post(m: ProcessMessage): void {
    if (!this.alive) return;
    try {
      this.child!.send(m);
    } catch {
      // the channel closed: the exit handler fails what is pending
    }
  }

  /** A control call answered by id; rejects when the child dies (never hangs). */
  private control(kind: 'init' | 'ping', make: (id: number) => ProcessMessage): Promise<unknown> {
    if (this.deathError) return Promise.reject(this.deathError);
    const id = ++this.nextCallId;
    return new Promise((resolve, reject) => {
      this.controls.set(id, { resolve, reject });
      const m = make(id);
      // init has no id of its own: there is one per host, answered by `ap:ready`.
      if (kind === 'init') this.initId = id;
      this.post(m);
    });
  }

  private initId = 0;

  private async whenIdle(ms: number): Promise<void> {
    if (this.tasks.size === 0 || ms <= 0) return;
    const cancel = new AbortController();
    await Promise.race([
      new Promise<void>((r) => this.idleWaiters.push(r)),
      sleep(this.opts.clock, ms, cancel.signal).catch(() => {}),
    ]);
    cancel.abort();
  }

  private async kill(reason: string, code: 'ERR_AGENT_STOPPED' | 'ERR_AGENT_TERMINATED'): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.stopping = true;
    if (!this.deathError) this.markDead(new AgentCrashedError(this.opts.agentId, reason, code));
    if (this.childRunning) c.kill('SIGKILL');
    await this.exitedPromise;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.deathError) return;
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    const oom = this.oomSeen;
    const err = oom
      ? new AgentCrashedError(
          this.opts.agentId,
          'agent process ran out of memory (heap cap)',
          'ERR_AGENT_OUT_OF_MEMORY',
        )
      : new AgentCrashedError(
          this.opts.agentId,
          `agent process exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`,
          'ERR_AGENT_CRASHED',
        );
    this.markDead(err);
    if (!this.stopping) queueMicrotask(() => this.opts.listener.onExit(err));
  }

  private markDead(err: AgentCrashedError): void {
    this.deathError = err;
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const t of tasks) t.reject(err);
    const controls = [...this.controls.values()];
    this.controls.clear();
    for (const c of controls) c.reject(err);
    this.hello?.();
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private onMessage(m: ProcessMessage): void {
    if (!m || typeof m !== 'object') return;
    const l = this.opts.listener;
    switch (m.type) {
      case 'ap:hello':
        this.hello?.();
        break;
      case 'ap:ready': {
        const c = this.controls.get(this.initId);
        this.controls.delete(this.initId);
        c?.resolve(m.result);
        break;
      }
      case 'ap:pong': {
        const c = this.controls.get(m.id);
        this.controls.delete(m.id);
        c?.resolve(undefined);
        break;
      }
      case 'ap:done': {
        const id = m.b[0] as number;
        const t = this.tasks.get(id);
        if (!t) break;
        this.tasks.delete(id);
        t.resolve(m.b[1] as TaskOutcome);
        if (this.tasks.size === 0) {
          const w = this.idleWaiters;
          this.idleWaiters = [];
          for (const f of w) f();
        }
        break;
      }
      case 'ap:hb':
        l.onHeartbeat(m.taskId);
        break;
      case 'ap:usage':
        l.onUsage(m.taskId, m.usage);
        break;
      case 'ap:reserve':
        l.reserveTokens(m.taskId, m.amount).then(
          (error) => this.post({ type: 'ap:reserve-reply', rid: m.rid, ...(error ? { error } : {}) }),
          (e: unknown) =>
            this.post({ type: 'ap:reserve-reply', rid: m.rid, error: { name: 'Error', message: String(e) } }),
        );
        break;
      case 'ap:settle':
        l.settleTokens(m.taskId, m.reserved, m.actual, m.index);
        break;
      case 'ap:tool':
        void relayTool(l, m.taskId, m.name, m.args).then((answer) =>
          this.post({ type: 'ap:tool-reply', rid: m.rid, answer }),
        );
        break;
    }
  }
}
