// A metrics endpoint: Prometheus text over HTTP for a running system, scraped once here.
// Run: `npx tsx examples/metrics-endpoint.ts` (serves on a free port on 127.0.0.1, then stops).
import { createAgentPoolSystem, defineAgent, serveMetrics } from 'agentpool';

await using system = createAgentPoolSystem({
  pools: { work: { agent: defineAgent({ square: (n: number) => n * n }), max: 2 } },
});
await system.start();
const squares = await Promise.all(
  [1, 2, 3].map((n) => system.submit({ type: 'work', task: 'square', input: n })),
);
console.log(`squares: ${squares.join(', ')}`);

const endpoint = await serveMetrics(system, { port: 0 }); // port 0: any free port (in production: your own)
try {
  const text = await (await fetch(endpoint.url)).text();
  console.log(`scraped ${endpoint.url}`);
  for (const line of text.split('\n'))
    if (/^agentpool_(tasks_total|pool_size)\b/.test(line)) console.log(`  ${line}`);
} finally {
  await endpoint.close();
}
