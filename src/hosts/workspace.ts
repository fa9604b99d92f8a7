/**
 * Workspaces of isolated agents. Every live agent of the `process` and `sandbox` tiers has one
 * directory it may write, under `<base>/agentpool-ws/<parent pid>/`: the host creates it before the
 * child starts, empties it when a lease is released, and removes it when the child is gone (stop,
 * crash, kill on timeout, shutdown). A parent that died without cleaning up leaves its pid directory
 * behind: {@link cleanLeftoverWorkspaces} (run at every system start) removes the directories of
 * parents that no longer run.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where workspaces live unless configured: the OS temporary directory. */
export function defaultWorkspaceBase(): string {
  return tmpdir();
}

/** This process's workspace directory under `base` (created on demand). */
export function workspaceRoot(base: string = defaultWorkspaceBase()): string {
  const dir = join(base, 'agentpool-ws', String(process.pid));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Create one agent's workspace (mode 0700, a fresh name). */
export function createWorkspace(agentId: string, base?: string): string {
  return mkdtempSync(join(workspaceRoot(base), `${agentId.replace(/[^a-z0-9_-]/gi, '_')}-`));
}

/** Remove a workspace and everything in it; a missing one is fine. */
export function removeWorkspace(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
}

/** Empty a workspace (the directory itself stays, for the next lease of the same agent). */
export function clearWorkspace(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) rmSync(join(dir, n), { recursive: true, force: true, maxRetries: 2 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else — not ours to clean.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove the workspaces of parents that are no longer running; returns the directories removed. */
export function cleanLeftoverWorkspaces(base: string = defaultWorkspaceBase()): string[] {
  const root = join(base, 'agentpool-ws');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const pid = Number(n);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    const dir = join(root, n);
    removeWorkspace(dir);
    removed.push(dir);
  }
  return removed;
}
