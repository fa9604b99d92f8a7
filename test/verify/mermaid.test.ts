import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, setup } from 'xstate';
import { GENERATED_MARKER, mergeGenerated, writeMachineDocs } from '../../src/verify/docs.js';
import { stateRows, toMermaid, transitionRows } from '../../src/verify/mermaid.js';
import type { MachineSpec } from '../../src/verify/types.js';
import { healthyMachine } from './fixtures.js';

/** Nested, parallel, guarded, delayed, invoking and final states in one machine. */
const known = setup({
  types: {
    events: {} as
      { type: 'START' } | { type: 'STOP' } | { type: 'TICK' } | { type: 'KILL' } | { type: 'BURN' },
  },
  guards: { ready: () => true, warm: () => true },
  delays: { grace: 1000 },
  actions: { log: () => {} },
}).createMachine({
  id: 'known',
  initial: 'off',
  on: { KILL: '.dead' },
  states: {
    off: { on: { START: { target: 'on', guard: 'ready', actions: 'log' } } },
    on: {
      initial: 'cold',
      states: {
        cold: { after: { 250: 'warm' }, on: { BURN: '#known.dead' } },
        warm: { on: { TICK: { target: 'cold', guard: and(['ready', 'warm']) } } },
      },
      on: { STOP: 'stopping' },
    },
    stopping: {
      type: 'parallel',
      states: {
        left: { initial: 'l1', states: { l1: { after: { grace: 'l2' } }, l2: { type: 'final' } } },
        right: { initial: 'r1', states: { r1: {} } },
      },
    },
    dead: { type: 'final' },
  },
});

describe('toMermaid', () => {
  const text = toMermaid(known);
  const lines = text.split('\n').map((l) => l.trim());

  it('starts a stateDiagram-v2 at the initial state', () => {
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('[*] --> off');
  });

  it('nests compound states with their own initial state', () => {
    const open = lines.indexOf('state on {');
    const close = lines.indexOf('}', open);
    expect(open).toBeGreaterThan(0);
    const block = lines.slice(open, close);
    expect(block).toContain('[*] --> on_cold');
    expect(block).toContain('on_cold --> on_warm : after 250ms');
    expect(block).toContain('on_warm --> on_cold : TICK [and(ready, warm)]');
  });

  it('labels transitions with events and guards, and draws root transitions from (any state)', () => {
    expect(lines).toContain('off --> on : START [ready]');
    expect(lines).toContain('on --> stopping : STOP');
    expect(lines).toContain('_any --> dead : KILL');
  });

  it('separates parallel regions, shows named delays and final states', () => {
    const open = lines.indexOf('state stopping {');
    expect(open).toBeGreaterThan(0);
    const sep = lines.indexOf('--', open);
    expect(sep).toBeGreaterThan(lines.indexOf('state stopping_left {'));
    expect(sep).toBeLessThan(lines.indexOf('state stopping_right {'));
    expect(lines).toContain('stopping_left_l1 --> stopping_left_l2 : after grace');
    expect(lines).toContain('stopping_left_l2 --> [*]');
    expect(lines).toContain('dead --> [*]');
  });

  it('lifts an arrow that leaves a composite state to that composite, naming the real source', () => {
    // on.cold → dead crosses the `on` block: Mermaid would invent a second `on_cold` outside it.
    expect(lines).toContain('on --> dead : BURN (from cold)');
    expect(lines.filter((l) => l.includes('on_cold -->')).every((l) => l.startsWith('on_cold --> on_'))).toBe(
      true,
    );
  });

  it('declares every state exactly once', () => {
    const decl = lines.filter((l) => l.startsWith('state "'));
    const ids = decl.map((l) => l.split(' as ')[1]);
    expect(new Set(ids).size).toBe(ids.length);
    // Every machine state plus the one `(any state)` pseudo-state for the root's KILL transition.
    expect(ids.filter((id) => id !== '_any').length).toBe(stateRows(known).length);
    expect(ids).toContain('_any');
  });

  it('names invoked actors in done/error labels', () => {
    const t = toMermaid(healthyMachine);
    expect(t).toContain('working --> cooldown : done(work)');
    expect(t).toContain('working --> failed : error(work)');
    expect(t).toContain('working --> failed : after workTimeout');
  });
});

describe('tables', () => {
  it('lists transitions with guard, targets and actions; states with their type', () => {
    const rows = transitionRows(known);
    expect(rows).toContainEqual({
      from: 'off',
      event: 'START',
      guard: 'ready',
      to: ['on'],
      actions: ['log'],
    });
    expect(rows).toContainEqual({ from: '(root)', event: 'KILL', guard: '', to: ['dead'], actions: [] });
    const states = stateRows(known);
    expect(states.find((s) => s.path === 'stopping')?.type).toBe('parallel');
    // The raise/cancel XState adds for `after` are bookkeeping, not the author's actions.
    expect(states.find((s) => s.path === 'on.cold')).toMatchObject({ entry: [], exit: [] });
    expect(stateRows(healthyMachine).find((s) => s.path === 'working')?.invokes).toEqual([
      'doWork (id work)',
    ]);
  });
});

describe('writeMachineDocs', () => {
  let dir: string;
  const spec: MachineSpec = { name: 'known', machine: known, events: [], isHome: () => true };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentpool-docs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the diagram and tables, keeps hand-written text above the marker, and is idempotent', async () => {
    const first = await writeMachineDocs([spec], dir);
    expect(first.every((r) => r.changed)).toBe(true);
    const file = join(dir, 'known.md');
    const initial = await readFile(file, 'utf8');
    expect(initial).toContain('```mermaid\nstateDiagram-v2');
    expect(initial).toContain('| `off` | `START` | `ready` | `on` | `log` |');

    const handWritten = '# Known\n\nWhy this machine exists.\n\n';
    await writeFile(file, `${handWritten}${GENERATED_MARKER}\nstale generated text\n`);
    const second = await writeMachineDocs([spec], dir);
    expect(second.find((r) => r.file === file)?.changed).toBe(true);
    const after = await readFile(file, 'utf8');
    expect(after.startsWith(`${handWritten}${GENERATED_MARKER}\n`)).toBe(true);
    expect(after).not.toContain('stale generated text');
    expect(after.slice(after.indexOf(GENERATED_MARKER))).toBe(
      initial.slice(initial.indexOf(GENERATED_MARKER)),
    );

    const third = await writeMachineDocs([spec], dir, { check: true });
    expect(third.every((r) => !r.changed)).toBe(true);
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toContain('| [known](./known.md) |');
  });

  it('ignores the marker when prose quotes it, and uses the last marker line', () => {
    const existing = `# Doc\n\nText above \`${GENERATED_MARKER}\` is kept.\n\n${GENERATED_MARKER}\nold\n`;
    expect(mergeGenerated(existing, 'x', 'NEW\n')).toBe(
      `# Doc\n\nText above \`${GENERATED_MARKER}\` is kept.\n\n${GENERATED_MARKER}\nNEW\n`,
    );
  });

  it('keeps a file without a marker whole, appending the generated part', () => {
    const merged = mergeGenerated('# Mine\n\nnotes', 'x', '\nGEN\n');
    expect(merged).toBe(`# Mine\n\nnotes\n\n${GENERATED_MARKER}\n\nGEN\n`);
  });
});
