/**
 * Every program in examples/ runs as a user would run it (`node --import tsx examples/<name>.ts`, the
 * package imported by its name) and prints what it promises; the README's "In one screen" is
 * examples/orchestrator.ts verbatim, so the snippet cannot rot.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);

async function example(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: root,
    timeout: 60_000,
  });
  return stdout;
}

/** What each example must print (a line that only a working run produces). */
const EXPECT: Record<string, RegExp[]> = {
  orchestrator: [/^patch for story 42$/m, /^story 42: 12 passed, 0 failed$/m, /^threads left: 0$/m],
  'submit-pipeline': [/^ok {3}api-5 \(2 fixtures\)$/m, /^tasks completed: 20, failed: 0$/m],
  'inspector-session': [
    /^reviewed #7$/m,
    /^ {2}pool:review: /m,
    /^ {2}review-alloc-1: .*"lease":"active"/m,
    /ended "stopped"$/m,
  ],
  'metrics-endpoint': [/^squares: 1, 4, 9$/m, /agentpool_tasks_total\{pool="work",outcome="succeeded"\} 3/],
};

describe('examples/', () => {
  it('has an expectation for every example', () => {
    const files = readdirSync(new URL('examples/', root)).filter((f) => f.endsWith('.ts'));
    expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual(Object.keys(EXPECT).sort());
  });

  for (const [name, patterns] of Object.entries(EXPECT)) {
    it(`${name}.ts runs and prints its results`, async () => {
      const out = await example(name);
      for (const p of patterns) expect(out).toMatch(p);
    });
  }

  it('the README\'s "In one screen" is examples/orchestrator.ts', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const section = readme.slice(readme.indexOf('## In one screen'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const file = readFileSync(new URL('examples/orchestrator.ts', root), 'utf8');
    // The file's leading comment says how to run it; the README says that in prose.
    const body = file.replace(/^(\/\/.*\n)+/, '');
    expect(block).toBe(body);
  });
});
