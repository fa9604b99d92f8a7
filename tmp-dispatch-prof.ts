import { pathToFileURL } from 'node:url';
import { MessagePort as Worker } from 'node:worker_threads';
let posts = 0, items = 0;
const orig = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (m: any, t?: any) { posts++; if (m?.b) items += m.b.length / 4; return orig.call(this, m, t); };

import { AgentHandle } from './src/runtime/agent-handle.js';
import { realClock } from './src/runtime/clock.js';
import { createLogger } from './src/runtime/logger.js';
const timings = { startTimeoutMs: 30000, abortGraceMs: 1000, heartbeatTimeoutMs: 0, healthIntervalMs: 0, healthTimeoutMs: 1000, stopGraceMs: 1000, drainTimeoutMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 };
const agents = [0, 1].map((i) => new AgentHandle({ agentId: `p${i}`, pool: 'b', host: 'thread', agent: pathToFileURL('./bench/fixtures/noop.agent.mjs'), tools: [], maxFailures: 3, timings, clock: realClock, logger: createLogger('silent'), onAvailability: () => {} }).start());
while (!agents.every((a) => a.accepting)) await new Promise((r) => setTimeout(r, 10));
async function tput(n: number, w: number) {
  let started = 0, done = 0; const t0 = performance.now();
  await new Promise<void>((res, rej) => { const onDone = () => { done++; if (done === n) res(); else if (started < n) launch(); }; const launch = () => { agents[started++ % 2]!.run('noop', null).then(onDone, rej); }; for (let k = 0; k < w; k++) launch(); });
  return n / ((performance.now() - t0) / 1000);
}
await tput(5000, 256);
for (let i = 0; i < 3; i++) console.log(Math.round(await tput(+(process.env.N ?? 50000), 256)));
console.log('posts', posts, 'tasks', items, 'avg batch', items/posts);
for (const a of agents) a.stop();
await Promise.all(agents.map((a) => a.whenGone(5000)));
