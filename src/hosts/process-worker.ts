/**
 * Entry point of an agent child process (the `process` and `sandbox` tiers). It runs under Node's
 * permission model, started by src/hosts/process-host.ts, and talks to the parent over the IPC
 * channel of `child_process` (advanced serialisation: structured clone, like the thread tier) with
 * the thread tier's `ap:*` messages (src/hosts/thread-protocol.ts) plus an `init`/`ping` pair of its
 * own (src/hosts/process-protocol.ts). One message per task: a process boundary costs more than the
 * batching saves at the rates an isolated agent runs.
 */
import { type AddressInfo, connect, createServer } from 'node:net';
import { AgentRunner, type TaskOutcome, type ToolAnswer } from '../agent/runner.js';
import { type SerializedError, serializeError } from '../core/errors.js';
import { loadDefinition } from './inline-host.js';
import type { ProcessMessage } from './process-protocol.js';
import { RUN_STRIDE } from './thread-protocol.js';

if (typeof process.send !== 'function') throw new Error('process-worker must run as a forked child');
const send = (m: ProcessMessage): void => {
  // The parent may be gone (killed): nothing to tell.
  if (process.connected) process.send!(m);
};

let runner: AgentRunner | undefined;
let nextRid = 0;
const reservations = new Map<number, (r: SerializedError | undefined) => void>();
const toolCalls = new Map<number, (a: ToolAnswer) => void>();

const notInitialised: TaskOutcome = {
  ok: false,
  usage: {},
  error: { name: 'Error', message: 'not initialised' },
};

function done(id: unknown, o: TaskOutcome): void {
  try {
    send({ type: 'ap:done', b: [id, o] });
  } catch (e) {
    const error = serializeError(e);
    error.message = `task result is not structured-cloneable: ${error.message}`;
    send({ type: 'ap:done', b: [id, { ok: false, usage: { ...o.usage }, error }] });
  }
}

async function init(m: Extract<ProcessMessage, { type: 'ap:init' }>): Promise<void> {
  try {
    const def = await loadDefinition(m.agent);
    const r = new AgentRunner(
      m.agentId,
      def,
      m.tools,
      {
        heartbeat: (taskId) => send({ type: 'ap:hb', taskId }),
        usage: (taskId, usage) => send({ type: 'ap:usage', taskId, usage }),
        reserveTokens: (taskId, amount) =>
          new Promise((resolve) => {
            const rid = ++nextRid;
            reservations.set(rid, resolve);
            send({ type: 'ap:reserve', rid, taskId, amount });
          }),
        settleTokens: (taskId, reserved, actual, index) =>
          send({ type: 'ap:settle', taskId, reserved, actual, index }),
        callTool: (taskId, name, args) =>
          new Promise((resolve) => {
            const rid = ++nextRid;
            toolCalls.set(rid, resolve);
            send({ type: 'ap:tool', rid, taskId, name, args });
          }),
      },
      m.workspace,
    );
    await r.setup();
    runner = r;
    send({ type: 'ap:ready', result: { ok: true, handlers: r.handlerNames() } });
  } catch (e) {
    send({ type: 'ap:ready', result: { ok: false, error: serializeError(e) } });
  }
}

process.on('message', (m: ProcessMessage) => {
  if (!m || typeof m !== 'object') return;
  switch (m.type) {
    case 'ap:init':
      void init(m);
      break;
    case 'ap:ping':
      send({ type: 'ap:pong', id: m.id });
      break;
    case 'ap:run':
      for (let i = 0; i < m.b.length; i += RUN_STRIDE) {
        const id = m.b[i];
        const o = runner
          ? runner.start(m.b[i + 1] as string, m.b[i + 2] as string, m.b[i + 3])
          : notInitialised;
        if (o instanceof Promise) o.then((v) => done(id, v));
        else done(id, o);
      }
      break;
    case 'ap:abort':
      runner?.abort(m.taskId, m.reason);
      break;
    case 'ap:drain':
      runner?.abortAll('agent stopping');
      break;
    case 'ap:reserve-reply': {
      const resolve = reservations.get(m.rid);
      reservations.delete(m.rid);
      resolve?.(m.error);
      break;
    }
    case 'ap:tool-reply': {
      const resolve = toolCalls.get(m.rid);
      toolCalls.delete(m.rid);
      resolve?.(m.answer);
      break;
    }
  }
});
// A network allowlist: the sandbox has no network, only a Unix socket to the parent's filtering proxy.
// Bridge a loopback port of the sandbox's own namespace to it and point the usual proxy variables at
// it, before the agent module (and the clients it creates) is loaded.
const egress = process.env.AP_EGRESS_SOCKET;
if (egress) {
  delete process.env.AP_EGRESS_SOCKET;
  const bridge = createServer((c) => {
    const up = connect(egress);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.pipe(up).pipe(c);
  });
  await new Promise<void>((resolve) => bridge.listen(0, '127.0.0.1', resolve));
  bridge.unref();
  const url = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) process.env[k] = url;
}
// The parent went away (crashed, killed): an orphaned agent has nobody to work for.
process.on('disconnect', () => process.exit(0));
send({ type: 'ap:hello' });
