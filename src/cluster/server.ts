/**
 * A local `nats-server` with JetStream, for the cluster demo and the integration tests: a free
 * loopback port and a store directory of its own, killed by `stop()`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentPoolError } from '../core/errors.js';

/** How to get the binary, for messages. */
export const NATS_INSTALL_HINT =
  'install it: `apt-get install nats-server` (Debian/Ubuntu), `brew install nats-server`, or a release from https://github.com/nats-io/nats-server/releases';

/** The `nats-server` binary on this machine, or undefined. */
export function findNatsServer(): string | undefined {
  for (const candidate of [
    process.env.NATS_SERVER,
    'nats-server',
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
  ]) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['--version'], { stdio: 'pipe', timeout: 5_000 });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** A running local server. */
export interface LocalNats {
  url: string;
  port: number;
  process: ChildProcess;
  /** Its JetStream store directory (file storage). */
  storeDir: string;
  /** Kill it and remove its store (unless `keepStore`). */
  stop(keepStore?: boolean): Promise<void>;
}

/** A free loopback TCP port (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /**
   * A nats-server configuration file's text (e.g. `authorization { token: "…" }` or a `tls { … }`
   * block), written to the store directory and passed with `-c`; the port, address and JetStream
   * store stay those of the command line.
   */
  config?: string;
  /** Restart a server on this port and store (a server restart that keeps its data). */
  reuse?: { port: number; storeDir: string };
}

/**
 * Start `nats-server -js` on a free loopback port with a fresh store directory; resolves once it
 * accepts connections (rejects after `timeoutMs`, or `ERR_UNENFORCEABLE` when the binary is missing).
 * `options.reuse` restarts a server on the same port and store (a server restart that keeps its data).
 */
export async function startNatsServer(
  timeoutMs = 10_000,
  options: NatsServerOptions = {},
): Promise<LocalNats> {
  const bin = findNatsServer();
  if (!bin)
    throw new AgentPoolError('ERR_UNENFORCEABLE', `nats-server is not installed: ${NATS_INSTALL_HINT}`);
  const port = options.reuse?.port ?? (await freePort());
  const store = options.reuse?.storeDir ?? mkdtempSync(join(tmpdir(), 'agentpool-nats-'));
  const args = ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)];
  if (options.config !== undefined) {
    const file = join(store, 'nats.conf');
    writeFileSync(file, options.config, { mode: 0o600 });
    args.push('-c', file);
  }
  const child = spawn(bin, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const stop = async (keepStore = false) => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    if (!keepStore) rmSync(store, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new AgentPoolError('ERR_AGENT_START_FAILED', `nats-server exited: ${stderr.trim()}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new AgentPoolError('ERR_AGENT_START_FAILED', `nats-server did not listen within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, port, process: child, storeDir: store, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
