// The README's "In one screen": two pools of worker-thread agents, a lease for a cycle, a submitted
// task, a graceful shutdown. Run: `npx tsx examples/orchestrator.ts` (test/examples/examples.test.ts
// runs it in CI).
import { agentModule, createAgentPoolSystem } from 'agentpool';
import type codeAgent from './agents/code-agent.js';
import type qaAgent from './agents/qa-agent.js';

const system = createAgentPoolSystem({
  pools: {
    code: {
      // agentModule<…>() gives the pool its agent's task types; the module itself loads in the worker.
      agent: agentModule<typeof codeAgent>(new URL('./agents/code-agent.ts', import.meta.url)),
      min: 2,
      max: 5,
      capacity: { memoryMb: 512, tools: ['git'] },
    },
    qa: { agent: agentModule<typeof qaAgent>(new URL('./agents/qa-agent.ts', import.meta.url)) }, // default size 1–3
  },
  limits: { memoryMb: 16_384, tokens: 2_000_000 },
});
await system.start();

{
  // Lease an agent for a cycle: waits, scales up by one on timeout, retries with half the timeout,
  // or rejects with a typed reason (ERR_RESOURCE_EXHAUSTED names the resource; ERR_POOL_EXHAUSTED).
  // `await using` releases it when the block ends, however it ends.
  await using lease = await system.acquire('code', {
    cycleId: 'story-42',
    requirements: { memoryMb: 256, tools: ['git'] },
    timeoutMs: 30_000,
    concurrencyKey: 'repo-a', // one writer per repository
  });
  const patch = await lease.run('implement', { story: 42 }, { timeoutMs: 120_000 }); // string
  console.log(patch);
}

// Or hand over a task and get the result: priority queue, deadlines, re-queue on agent loss.
const report = await system.submit({ type: 'qa', task: 'runTests', input: { story: 42 }, priority: 'high' });
console.log(`story ${report.story}: ${report.passed} passed, ${report.failed} failed`);

// Drain for up to 30 s, then abort what still runs (ERR_AGENT_STOPPED) and kill it after its abort grace;
// resolves with no worker thread left (system.status().threads === 0).
await system.shutdown({ graceful: true, deadlineMs: 30_000 });
console.log(`threads left: ${system.status().threads}`);
