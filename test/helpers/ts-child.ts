/**
 * Run a TypeScript program of the tests (a fixture under test/fixtures) in a fresh Node process under
 * tsx: for what only a new process shows (it exits by itself, nothing loaded a module yet).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the program did: its exit code and everything it printed. */
export interface ChildRun {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Run `fixture` (a path relative to test/fixtures) and resolve once it exits; reject, after killing
 * it, if it still runs after `limitMs` (a liveness bound, not a timing claim).
 */
export function runTsFixture(fixture: string, limitMs: number): Promise<ChildRun> {
  const script = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += String(d)));
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  return new Promise<ChildRun>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fixture} still running after ${limitMs} ms; stderr: ${err}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}
