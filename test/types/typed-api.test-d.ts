/**
 * Type tests of the typed task API (src/runtime/typed.ts). Checked by `npm run typecheck` (tsc over
 * test/, part of CI): every `@ts-expect-error` must be an error, every `expectTypeOf` must hold.
 * Nothing here runs; the functions are never called.
 */
import { expectTypeOf } from 'vitest';
import {
  agentModule,
  type AgentPoolSystem,
  createAgentPoolSystem,
  defineAgent,
  type Lease,
  type PoolOptions,
  type SystemOptions,
  tddPool,
} from '../../src/index.js';

interface Report {
  passed: number;
  failed: number;
}

const qa = defineAgent({
  async runTests(input: { story: number }): Promise<Report> {
    return { passed: input.story, failed: 0 };
  },
  lint: (input: { files: string[] }) => input.files.length,
  ping: async () => 'pong' as const,
  note: (input: string | undefined) => input ?? '',
});

export const coder = defineAgent({
  implement: async (input: { story: number }, ctx) => `${ctx.agentId}:${input.story}`,
  // Unannotated input: submit accepts any input (`never` inside the handler, as before the types).
  echo: async (input) => JSON.stringify(input),
});

// A thread agent, typed through its module's type (here `typeof coder` stands for
// `typeof import('./code-agent.js').default`).
const codeUrl = agentModule<typeof coder>(new URL('./code-agent.js', import.meta.url));

export async function typedSubmit() {
  const system = createAgentPoolSystem({
    pools: {
      qa: { agent: qa, host: 'inline', max: 2 },
      code: { ...tddPool('code'), agent: codeUrl },
      plain: { agent: new URL('./plain-agent.js', import.meta.url) },
    },
    limits: { memoryMb: 4_096 },
  });
  type Pools = typeof system extends AgentPoolSystem<infer P> ? P : never;
  expectTypeOf<keyof Pools>().toEqualTypeOf<'qa' | 'code' | 'plain'>();
  expectTypeOf<Pools['qa']>().toEqualTypeOf<(typeof qa)['handlers']>();
  expectTypeOf<Pools['code']>().toEqualTypeOf<(typeof coder)['handlers']>();

  // The result type comes from the handler.
  const report = await system.submit({ type: 'qa', task: 'runTests', input: { story: 1 }, priority: 'high' });
  expectTypeOf(report).toEqualTypeOf<Report>();
  expectTypeOf(
    await system.submit({ type: 'qa', task: 'lint', input: { files: [] } }),
  ).toEqualTypeOf<number>();
  expectTypeOf(await system.submit({ type: 'qa', task: 'ping' })).toEqualTypeOf<'pong'>();
  expectTypeOf(await system.submit({ type: 'qa', task: 'note' })).toEqualTypeOf<string>();
  expectTypeOf(
    await system.submit({ type: 'code', task: 'implement', input: { story: 2 } }),
  ).toEqualTypeOf<string>();
  expectTypeOf(await system.submit({ type: 'code', task: 'echo', input: 42 })).toEqualTypeOf<string>();
  // A module given as a plain URL: any task, unknown input and result.
  expectTypeOf(await system.submit({ type: 'plain', task: 'anything', input: 1 })).toEqualTypeOf<unknown>();

  // @ts-expect-error a pool that is not in the config
  await system.submit({ type: 'qaa', task: 'runTests', input: { story: 1 } });
  // @ts-expect-error a task the pool's agent does not have
  await system.submit({ type: 'qa', task: 'runTest', input: { story: 1 } });
  // @ts-expect-error an input of the wrong type
  await system.submit({ type: 'qa', task: 'runTests', input: { story: '1' } });
  // @ts-expect-error a required input left out
  await system.submit({ type: 'qa', task: 'runTests' });
  // @ts-expect-error the task belongs to another pool
  await system.submit({ type: 'qa', task: 'implement', input: { story: 1 } });
  // @ts-expect-error unknown submit option (the rest of SubmitOptions still checked)
  await system.submit({ type: 'qa', task: 'ping', priorty: 'high' });
}

export async function typedLease() {
  const system = createAgentPoolSystem({ pools: { qa: { agent: qa }, code: { agent: codeUrl } } });
  const lease = await system.acquire('qa', { cycleId: 'c1' });
  expectTypeOf(lease).toEqualTypeOf<Lease<(typeof qa)['handlers']>>();
  expectTypeOf(await lease.run('runTests', { story: 1 }, { timeoutMs: 1_000 })).toEqualTypeOf<Report>();
  expectTypeOf(await lease.run('ping')).toEqualTypeOf<'pong'>();
  // @ts-expect-error a task the agent does not have
  await lease.run('implement', { story: 1 });
  // @ts-expect-error wrong input
  await lease.run('lint', { files: 'a.ts' });
  // @ts-expect-error missing input
  await lease.run('runTests');
  // @ts-expect-error a pool that is not in the config
  await system.acquire('design', { cycleId: 'c1' });

  const code = await system.acquire('code', { cycleId: 'c1' });
  expectTypeOf(await code.run('implement', { story: 3 })).toEqualTypeOf<string>();

  // await using: leases and the system are AsyncDisposable.
  expectTypeOf(lease).toMatchTypeOf<AsyncDisposable>();
  expectTypeOf(system).toMatchTypeOf<AsyncDisposable>();
  {
    await using scoped = await system.acquire('qa', { cycleId: 'c2' });
    expectTypeOf(await scoped.run('ping')).toEqualTypeOf<'pong'>();
  }
}

// Untyped usage keeps compiling: a wide config type gives string pools and tasks, unknown results.
export async function untyped(options: SystemOptions, pools: Record<string, PoolOptions>, type: string) {
  const a = createAgentPoolSystem(options);
  const b = createAgentPoolSystem({ pools });
  for (const system of [a, b]) {
    const lease = await system.acquire(type, { cycleId: 'c' });
    expectTypeOf(await lease.run('whatever', { any: 'input' })).toEqualTypeOf<unknown>();
    expectTypeOf(await system.submit({ type, task: 'x', input: 1 })).toEqualTypeOf<unknown>();
    expectTypeOf(await system.submit({ type, task: 'x' })).toEqualTypeOf<unknown>();
  }
  // A typed system is still usable where the wide type is expected (helpers taking AgentPoolSystem).
  const typed = createAgentPoolSystem({ pools: { qa: { agent: qa } } });
  const wide: AgentPoolSystem = typed;
  expectTypeOf(wide.poolTypes()).toEqualTypeOf<string[]>();
}

// Config mistakes are still compile errors in a typed config.
export function configErrors() {
  // @ts-expect-error unknown pool option
  createAgentPoolSystem({ pools: { qa: { agent: qa, maxx: 2 } } });
  // @ts-expect-error agent of the wrong kind
  createAgentPoolSystem({ pools: { qa: { agent: 42 } } });
}
