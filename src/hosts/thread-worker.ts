/**
 * Entry point of an agent worker thread. Loads the agent module, exposes a small API over Comlink,
 * and uses one-way side-channel messages (`ap:*`, which Comlink ignores: they carry no `id`) for
 * heartbeats, usage and token reservations, so those cost one message instead of a Comlink round trip.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { AgentRunner } from '../agent/runner.js';
import { type SerializedError, serializeError } from '../errors/errors.js';
import { loadDefinition } from './inline-host.js';
import type { SideMessage, WorkerApi, WorkerInit } from './thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('thread-worker must run in a worker thread');
const init = workerData as WorkerInit;
let runner: AgentRunner | undefined;
let nextRid = 0;
const reservations = new Map<number, (r: SerializedError | undefined) => void>();

const post = (m: SideMessage) => port.postMessage(m);

port.on('message', (m: SideMessage) => {
  if (m && m.type === 'ap:reserve-reply') {
    const resolve = reservations.get(m.rid);
    reservations.delete(m.rid);
    resolve?.(m.error);
  }
});

const api: WorkerApi = {
  async init() {
    try {
      const def = await loadDefinition(init.agent);
      runner = new AgentRunner(init.agentId, def, init.tools, {
        heartbeat: (taskId) => post({ type: 'ap:hb', taskId }),
        usage: (taskId, usage) => post({ type: 'ap:usage', taskId, usage }),
        reserveTokens: (taskId, amount) =>
          new Promise((resolve) => {
            const rid = ++nextRid;
            reservations.set(rid, resolve);
            post({ type: 'ap:reserve', rid, taskId, amount });
          }),
        settleTokens: (taskId, reserved, actual) => post({ type: 'ap:settle', taskId, reserved, actual }),
      });
      return { ok: true, handlers: runner.handlerNames() };
    } catch (e) {
      return { ok: false, error: serializeError(e) };
    }
  },
  run(taskId, task, input) {
    if (!runner) return Promise.resolve({ ok: false, usage: {}, error: { name: 'Error', message: 'not initialised' } });
    return runner.run(taskId, task, input);
  },
  abort(taskId, reason) {
    runner?.abort(taskId, reason);
  },
  ping() {
    return runner?.active ?? 0;
  },
  drain() {
    // The host decides how long to wait (on its clock); this only tells every task to stop.
    runner?.abortAll('agent stopping');
  },
};

Comlink.expose(api, nodeEndpoint(port));
