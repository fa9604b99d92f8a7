// An inspector session: one XState inspector sees the whole actor tree (system, pools, agents,
// acquisitions, allocations, dispatcher, scaler). This one is a plain observer that records the
// latest state of each actor — the Stately inspector (`@statelyai/inspect`, docs/guides/inspector.md)
// plugs into the same option. Run: `npx tsx examples/inspector-session.ts`.
import { createAgentPoolSystem, defineAgent } from 'agentpool';

const latest = new Map<string, string>();
let events = 0;

const system = createAgentPoolSystem({
  pools: {
    review: { agent: defineAgent({ review: async (pr: number) => `reviewed #${pr}` }), min: 2, max: 2 },
  },
  limits: { memoryMb: 1_024 },
  inspect: (e) => {
    if (e.type === '@xstate.event') events++;
    if (e.type !== '@xstate.snapshot') return;
    const id = (e.actorRef as { id?: string }).id ?? e.actorRef.sessionId;
    const value = (e.snapshot as { value?: unknown }).value;
    if (value !== undefined) latest.set(id, JSON.stringify(value));
  },
});
await system.start();
{
  await using lease = await system.acquire('review', { cycleId: 'pr-7', requirements: { memoryMb: 128 } });
  console.log(await lease.run('review', 7));
  console.log('while leased:');
  for (const [id, value] of latest) console.log(`  ${id}: ${value}`);
}
await system.shutdown();
console.log(
  `${latest.size} actors seen, ${events} events; the system actor (${system.actor.id}) ended ${latest.get(system.actor.id)}`,
);
