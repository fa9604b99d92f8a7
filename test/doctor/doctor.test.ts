/**
 * `agentpool doctor`: real attempts in every available tier. With bubblewrap installed (CI installs
 * it), process and sandbox are available and every check they can enforce is `denied`; the process
 * tier's network is honestly `allowed` (Node's permission model has no socket control); container
 * and vm are unavailable with a reason.
 */
import { describe, expect, it } from 'vitest';
import { formatDoctor, runDoctor } from '../../src/doctor/index.js';
import { tierAvailability } from '../../src/security/tiers.js';

describe('doctor', () => {
  it('probes each tier with real attempts', async () => {
    const r = await runDoctor();
    const byTier = Object.fromEntries(r.tiers.map((t) => [t.tier, t]));
    expect(r.tiers.map((t) => t.tier)).toEqual(['thread', 'process', 'sandbox', 'container', 'vm']);
    // A worker thread shares the process: only the tool broker and the heap cap hold.
    expect(byTier.thread!.checks).toEqual({
      fsWriteOutside: 'allowed',
      fsReadSecret: 'allowed',
      network: 'allowed',
      spawn: 'allowed',
      toolOutsideAllowlist: 'denied',
      memoryCap: 'denied',
    });
    expect(byTier.process).toMatchObject({
      available: true,
      checks: {
        fsWriteOutside: 'denied',
        fsReadSecret: 'denied',
        network: 'allowed',
        spawn: 'denied',
        toolOutsideAllowlist: 'denied',
        memoryCap: 'denied',
      },
    });
    if (tierAvailability('sandbox').available)
      expect(byTier.sandbox).toMatchObject({
        available: true,
        checks: {
          fsWriteOutside: 'denied',
          fsReadSecret: 'denied',
          network: 'denied',
          spawn: 'denied',
          toolOutsideAllowlist: 'denied',
          memoryCap: 'denied',
        },
      });
    expect(byTier.vm).toMatchObject({ available: false, reason: expect.stringContaining('no VM provider') });
    expect(byTier.container!.available).toBe(false);
    expect(byTier.container!.reason).toMatch(/podman|docker/);
    const text = formatDoctor(r);
    expect(text).toContain('process: available');
    expect(text).toMatch(/vm: unavailable — no VM provider/);
  }, 60_000);
});

describe('doctor command', () => {
  it('is a CLI command: an unknown option is one line and exit code 2', async () => {
    const { runCli } = await import('../../src/cli/program.js');
    let out = '';
    let err = '';
    const code = await runCli(['doctor', '--yaml'], {
      stdout: { write: (s: string) => ((out += s), true) } as never,
      stderr: { write: (s: string) => ((err += s), true), isTTY: false } as never,
    });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('--yaml');
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});
