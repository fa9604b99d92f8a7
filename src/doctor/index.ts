/**
 * `agentpool doctor`: what this machine can enforce, found by real attempts. For each tier that is
 * available, an agent (src/doctor/probe.agent.ts) is started in it under the strictest profile the
 * tier accepts and tries to write outside its workspace, read a secret outside its read paths, open
 * a TCP connection to a local server, spawn a process, call a tool outside its allowlist and grow its
 * heap past its cap. Each check is `denied`, `allowed`, `n/a` (the tier has no such limit to test) or
 * `error` (the attempt failed for another reason, shown in `notes`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { realClock } from '../core/clock.js';
import type { Host, HostListener, HostOptions } from '../hosts/host.js';
import { IGNORING_LISTENER } from '../hosts/host.js';
import { InlineHost } from '../hosts/inline-host.js';
import { ProcessHost } from '../hosts/process-host.js';
import { ThreadHost } from '../hosts/thread-host.js';
import { vmProviders } from '../hosts/vm-provider.js';
import { type IsolationTier, tierAvailability } from '../security/tiers.js';
import { ToolBroker } from '../security/tools.js';
import { classifyDenial } from '../security/violations.js';

/** The result of one check. */
export type CheckResult = 'denied' | 'allowed' | 'n/a' | 'error';
/** The checks run in every available tier. */
export const CHECKS = [
  'fsWriteOutside',
  'fsReadSecret',
  'network',
  'spawn',
  'toolOutsideAllowlist',
  'memoryCap',
] as const;
/** One check's name. */
export type CheckName = (typeof CHECKS)[number];

/** What one tier can enforce here. */
export interface TierReport {
  tier: Exclude<IsolationTier, 'inline'>;
  available: boolean;
  reason?: string;
  checks: Record<CheckName, CheckResult>;
  /** Why a check came out `error`. */
  notes?: Partial<Record<CheckName, string>>;
}

/** `agentpool doctor --json`. */
export interface DoctorReport {
  node: string;
  tiers: TierReport[];
}

const DOCTOR_TIERS = ['thread', 'process', 'sandbox', 'container', 'vm'] as const;
const NA: Record<CheckName, CheckResult> = {
  fsWriteOutside: 'n/a',
  fsReadSecret: 'n/a',
  network: 'n/a',
  spawn: 'n/a',
  toolOutsideAllowlist: 'n/a',
  memoryCap: 'n/a',
};

function probeModule(): URL {
  const js = new URL('./probe.agent.js', import.meta.url);
  return existsSync(fileURLToPath(js)) ? js : new URL('./probe.agent.ts', import.meta.url);
}

/** Probe every tier (the slow part: one agent start per available tier, a second or two each). */
export async function runDoctor(): Promise<DoctorReport> {
  const scratch = mkdtempSync(join(tmpdir(), 'agentpool-doctor-'));
  const secretDir = mkdtempSync(join(tmpdir(), 'agentpool-doctor-secret-'));
  writeFileSync(join(secretDir, 'secret'), 'doctor secret');
  const server = createServer((s) => {
    s.on('error', () => {});
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const tiers: TierReport[] = [];
  try {
    for (const tier of DOCTOR_TIERS) {
      const avail = tierAvailability(tier);
      if (!avail.available) {
        tiers.push({
          tier,
          available: false,
          ...(avail.reason ? { reason: avail.reason } : {}),
          checks: { ...NA },
        });
        continue;
      }
      tiers.push(await probeTier(tier, { scratch, secret: join(secretDir, 'secret'), port }, avail.reason));
    }
  } finally {
    server.close();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(secretDir, { recursive: true, force: true });
  }
  return { node: process.version, tiers };
}

interface Targets {
  scratch: string;
  secret: string;
  port: number;
}

async function probeTier(
  tier: TierReport['tier'],
  t: Targets,
  reason: string | undefined,
): Promise<TierReport> {
  const broker = new ToolBroker(new Map([['granted', { run: () => 'ok' }]]), realClock, {
    onDenied: () => {},
  });
  const listener: HostListener = {
    ...IGNORING_LISTENER,
    callTool: (taskId, name, args) =>
      broker.call(
        {
          agentId: 'doctor',
          pool: 'doctor',
          taskId,
          leaseId: undefined,
          cycleId: undefined,
          profile: 'doctor',
          allowed: ['granted'],
          workspace: undefined,
          signal: new AbortController().signal,
        },
        name,
        args,
      ),
  };
  // The strictest profile each tier accepts: a sandbox has no network; a process cannot cut it.
  const network = tier !== 'sandbox';
  const memoryMb = 64;
  const make = (): Host => {
    const opts: HostOptions = {
      agentId: `doctor-${tier}`,
      agent: probeModule(),
      tools: ['granted'],
      memoryMb,
      listener,
      clock: realClock,
      ...(tier === 'process' || tier === 'sandbox' || tier === 'vm'
        ? { isolation: { read: [], write: [], network } }
        : {}),
    };
    if (tier === 'thread') return new ThreadHost(opts);
    if (tier === 'process') return new ProcessHost(opts);
    if (tier === 'sandbox') return new ProcessHost(opts, true);
    const provider = vmProviders.values().next().value;
    return provider ? provider.createHost(opts) : new InlineHost(opts);
  };
  const checks = { ...NA };
  const notes: Partial<Record<CheckName, string>> = {};
  let host = make();
  try {
    await host.start();
    const inputs: Record<CheckName, unknown> = {
      fsWriteOutside: { path: join(t.scratch, `written-by-${tier}`) },
      fsReadSecret: { path: t.secret },
      network: { port: t.port },
      spawn: undefined,
      toolOutsideAllowlist: undefined,
      memoryCap: undefined,
    };
    for (const check of CHECKS) {
      if (!host.alive) {
        host = make();
        await host.start();
      }
      try {
        const o = await host.run(`doctor-${check}`, check, inputs[check]);
        if (o.ok) checks[check] = 'allowed';
        else if (o.error.code === 'ERR_TOOL_DENIED' || classifyDenial(o.error, !network))
          checks[check] = 'denied';
        else {
          checks[check] = 'error';
          notes[check] = o.error.message;
        }
      } catch (e) {
        // The host died of the attempt: only the memory check is meant to end that way.
        const code = (e as { code?: string }).code;
        if (check === 'memoryCap' && code === 'ERR_AGENT_OUT_OF_MEMORY') checks[check] = 'denied';
        else {
          checks[check] = 'error';
          notes[check] = (e as Error).message;
        }
      }
    }
  } catch (e) {
    return {
      tier,
      available: false,
      reason: `the probe agent did not start: ${(e as Error).message}`,
      checks,
    };
  } finally {
    await host.terminate('doctor done').catch(() => {});
  }
  return {
    tier,
    available: true,
    ...(reason ? { reason } : {}),
    checks,
    ...(Object.keys(notes).length ? { notes } : {}),
  };
}

/** The report as a table for a terminal. */
export function formatDoctor(r: DoctorReport): string {
  const lines = [`agentpool doctor (Node ${r.node})`, ''];
  const w = Math.max(...CHECKS.map((c) => c.length));
  for (const t of r.tiers) {
    lines.push(`${t.tier}: ${t.available ? 'available' : 'unavailable'}${t.reason ? ` — ${t.reason}` : ''}`);
    if (!t.available) continue;
    for (const c of CHECKS)
      lines.push(`  ${c.padEnd(w)}  ${t.checks[c]}${t.notes?.[c] ? `  (${t.notes[c]})` : ''}`);
  }
  return lines.join('\n');
}
