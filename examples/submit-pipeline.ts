// A submit pipeline: design ∥ data → implement → test for several stories, every step a submitted
// task with a priority and a deadline; results are typed by the agents' handlers. Inline agents
// (defined here, run on this event loop). Run: `npx tsx examples/submit-pipeline.ts`.
import { createAgentPoolSystem, defineAgent } from 'agentpool';

const design = defineAgent({
  sketch: async (s: { story: number }) => ({ story: s.story, api: `api-${s.story}` }),
});
const data = defineAgent({
  fixtures: async (s: { story: number }) => [`row-${s.story}-a`, `row-${s.story}-b`],
});
const code = defineAgent({
  implement: async (i: { api: string; rows: string[] }) => `${i.api} (${i.rows.length} fixtures)`,
});
const qa = defineAgent({ test: async (i: { build: string }) => ({ build: i.build, ok: true }) });

await using system = createAgentPoolSystem({
  pools: {
    design: { agent: design, max: 2 },
    data: { agent: data, max: 2 },
    code: { agent: code, min: 1, max: 4 },
    qa: { agent: qa, max: 2 },
  },
});
await system.start();

async function story(n: number) {
  const cycleId = `story-${n}`;
  const [spec, rows] = await Promise.all([
    system.submit({ type: 'design', task: 'sketch', input: { story: n }, cycleId }),
    system.submit({ type: 'data', task: 'fixtures', input: { story: n }, cycleId, deadlineMs: 10_000 }),
  ]);
  const build = await system.submit({
    type: 'code',
    task: 'implement',
    input: { api: spec.api, rows },
    cycleId,
    priority: n === 1 ? 'critical' : 'medium',
  });
  return system.submit({ type: 'qa', task: 'test', input: { build }, cycleId, priority: 'high' });
}

const results = await Promise.all([1, 2, 3, 4, 5].map(story));
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.build}`);
const tasks = system.status().tasks;
console.log(`tasks completed: ${tasks.completed}, failed: ${tasks.failed}`);
// `await using` shuts the system down here, at the end of the module's scope.
