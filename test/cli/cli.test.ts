/**
 * The `agentpool` CLI through its one entry (`runCli`, what bin/main.js runs): help and version,
 * usage errors as one line and exit 2, JSON alone on stdout, progress only on a terminal, and no file
 * written unless a flag names it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { BENCHMARKS_MD } from '../../bench/report.js';
import { buildProgram, load, MissingPackageError, packageVersion, runCli } from '../../src/cli/program.js';

function sink(isTTY = false) {
  let text = '';
  return {
    isTTY,
    write(s: string) {
      text += s;
      return true;
    },
    text: () => text,
  };
}

async function cli(argv: string[], opts: { tty?: boolean } = {}) {
  const stdout = sink();
  const stderr = sink(opts.tty ?? false);
  const code = await runCli(argv, { stdout, stderr });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** Every command path of the program (`['bench', 'acquire']`, …) with its command. */
function commandPaths(cmd: Command, prefix: string[] = []): [string[], Command][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return c.commands.length ? commandPaths(c, path) : [[path, c] as [string[], Command]];
  });
}

describe('agentpool CLI', () => {
  it('--version prints the package version; --help lists every command', async () => {
    const v = await cli(['--version']);
    expect(v).toEqual({ code: 0, out: `${packageVersion()}\n`, err: '' });
    expect(packageVersion()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['demo', 'verify', 'docs', 'simulate', 'bench'])
      expect(h.out).toMatch(new RegExp(`\\n  ${c}\\b`));
  });

  it('<command> --help lists every option of that command, for every command', async () => {
    const program = buildProgram({ io: { stdout: sink(), stderr: sink() }, exit: () => {} });
    const paths = commandPaths(program);
    expect(paths.map(([p]) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'demo',
        'verify',
        'docs',
        'simulate',
        'bench dispatch',
        'bench acquire',
        'bench scaling',
      ]),
    );
    for (const [path, cmd] of paths) {
      const r = await cli([...path, '--help']);
      expect(r.code, path.join(' ')).toBe(0);
      expect(cmd.options.length, path.join(' ')).toBeGreaterThan(0);
      for (const o of cmd.options) expect(r.out, `${path.join(' ')} ${o.long}`).toContain(o.long!);
    }
    // The options the issue found missing from the old help.
    const sim = await cli(['simulate', '--help']);
    for (const f of ['--engine', '--path', '--seed', '--report', '--trace']) expect(sim.out).toContain(f);
    expect((await cli(['docs', '--help'])).out).toContain('--check');
    expect((await cli(['bench', 'balancers', '--help'])).out).toContain('--seeds');
  });

  it('unknown commands, unknown flags and bad values: one line on stderr, exit 2, no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['demo', '--storeis', '3'], /unknown option '--storeis'.*--stories/],
      [['demo', '--stories', '0'], /--stories.*from 1 to 100000/],
      [['verify', '--jsn'], /unknown option '--jsn'.*--json/],
      [['bench', 'nope'], /unknown command 'nope'/],
      [['bench', 'balancers', '--fast'], /unknown option '--fast'/],
      [['bench', 'dispatch', '--rounds', '0'], /--rounds.*from 1 to 50/],
      [['bench', 'learning', '--seeds', '1,x'], /--seeds/],
      [['simulate', '--engine', 'cloud'], /--engine.*model, system/],
      [['simulate', '--scenario', 'tsunami'], /--scenario/],
      [['simulate', '--agents', '0'], /--agents/],
      [['simulate', '--engine', 'system', '--policy', 'hpa'], /ERR_INVALID_ARGUMENT: --policy/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out, argv.join(' ')).toBe('');
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(r.err.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err, argv.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('no command prints the help on stderr and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: agentpool');
  });

  it('--json puts one JSON document alone on stdout; progress only on a terminal and never with --json', async () => {
    const argv = ['simulate', '--scenario', 'step', '--hours', '0.1', '--agents', '4'];
    const json = await cli([...argv, '--json'], { tty: true });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ scenario: 'step', policy: 'agentpool' });
    expect(json.err).toBe('');
    const piped = await cli(argv);
    expect(piped.out).toContain('scenario step · policy agentpool');
    expect(piped.err).toBe('');
    const tty = await cli(argv, { tty: true });
    expect(tty.err).toContain('simulate step · agentpool · model');
    expect(tty.err.endsWith('\r\x1b[2K')).toBe(true); // the line is erased at the end
    // The real system takes long enough for a counter of simulated minutes, with an ETA.
    const system = await cli([...argv, '--engine', 'system', '--hours', '0.5'], { tty: true });
    expect(system.code).toBe(0);
    expect(system.err).toMatch(/simulate step · agentpool · system · simulated min \d+\/35 · /);
  });

  it('benchmarks write docs/benchmarks.md only with --write-docs, and a file only with --out', async () => {
    const before = existsSync(BENCHMARKS_MD) ? statSync(BENCHMARKS_MD).mtimeMs : 0;
    const args = ['bench', 'balancers', '--tasks', '200', '--baseline-tasks', '200'];
    const r = await cli([...args, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).results.length).toBeGreaterThan(0);
    expect(existsSync(BENCHMARKS_MD) ? statSync(BENCHMARKS_MD).mtimeMs : 0).toBe(before);
    const dir = mkdtempSync(join(tmpdir(), 'agentpool-cli-'));
    try {
      const file = join(dir, 'bench.md');
      const w = await cli([...args, '--out', file]);
      expect(w.code).toBe(0);
      expect(readFileSync(file, 'utf8')).toContain('<!-- bench:balancers:start -->');
      expect(w.err).toContain(`wrote the balancers section of ${file}`);
      expect(existsSync(BENCHMARKS_MD) ? statSync(BENCHMARKS_MD).mtimeMs : 0).toBe(before);
      // On a terminal, a counter of the bench's runs (with an ETA while some remain) on stderr.
      const tty = await cli(args, { tty: true });
      expect(tty.err).toMatch(/bench balancers 1\/\d+ · [\d.]+ s · ETA/);
      expect(tty.out).not.toContain('\r');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify on a terminal counts the machines checked on stderr; the report stays on stdout', async () => {
    const r = await cli(['verify', '--machine', 'allocation', '--machine', 'allocator'], { tty: true });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/verify 2\/2 · /);
    expect(r.out).toContain('OK: no deadlocks');
    expect(r.out).not.toContain('\r');
  });

  it("docs --check: the checkout's docs/machines match the machines (npm run docs regenerates)", async () => {
    const r = await cli(['docs', '--check']);
    expect(r.out).not.toContain('stale');
    expect(r.code).toBe(0);
  });

  it('docs prints the pages unless --out names a folder', async () => {
    const r = await cli(['docs', '--machine', 'allocation']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('# allocation machine');
    expect(r.out).toContain('```mermaid');
    const dir = mkdtempSync(join(tmpdir(), 'agentpool-docs-'));
    try {
      expect((await cli(['docs', '--machine', 'allocation', '--out', dir])).code).toBe(0);
      expect(readFileSync(join(dir, 'allocation.md'), 'utf8')).toContain('```mermaid');
      expect((await cli(['docs', '--machine', 'allocation', '--out', dir, '--check'])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a command that needs a package agentpool does not install names it', async () => {
    const e = await load('bench dispatch', () => import('agentpool-no-such-package' as string)).catch(
      (x) => x,
    );
    expect(e).toBeInstanceOf(MissingPackageError);
    expect((e as Error).message).toContain("needs the package 'agentpool-no-such-package'");
    expect((e as Error).message).toContain('npm install --save-dev agentpool-no-such-package');
  });
});
