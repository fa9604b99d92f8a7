/**
 * Security profiles at the config boundary: unknown keys and impossible combinations are typed errors
 * naming the path; a tier that cannot enforce a profile (or is unavailable here) is ERR_UNENFORCEABLE
 * at config time, naming the tier and why; the TDD preset is only applied when spread in.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { parseSystem } from '../../src/runtime/config.js';
import { tddSecurity } from '../../src/security/profile.js';
import { tierAvailability } from '../../src/security/tiers.js';
import { registerVmProvider } from '../../src/hosts/vm-provider.js';
import { InlineHost } from '../../src/hosts/inline-host.js';
import { fixture } from '../helpers/agents.js';

const agent = fixture('echo');

function configError(pool: Record<string, unknown>): AgentPoolError {
  try {
    parseSystem({ pools: { code: { agent, ...pool } } });
  } catch (e) {
    return e as AgentPoolError;
  }
  throw new Error('expected a config error');
}

describe('security profile validation', () => {
  it.each([
    ['unknown key', { host: 'process', security: { tool: ['git'] } }, 'pools.code.security.tool'],
    [
      'unknown file key',
      { host: 'process', security: { files: { exec: [] } } },
      'pools.code.security.files.exec',
    ],
    [
      'relative path',
      { host: 'process', security: { files: { read: ['src'] } } },
      'pools.code.security.files.read[0]',
    ],
    [
      'the root as a path',
      { host: 'process', security: { files: { write: ['/'] } } },
      'pools.code.security.files.write[0]',
    ],
    ['bad network', { host: 'sandbox', security: { network: 'some' } }, 'pools.code.security.network'],
    [
      'bad allowlist entry',
      { host: 'sandbox', security: { network: { allow: ['example.com'] } } },
      'pools.code.security.network.allow[0]',
    ],
    [
      'negative evictAfter',
      { host: 'process', security: { violations: { evictAfter: -1 } } },
      'pools.code.security.violations.evictAfter',
    ],
    [
      'tools twice, different',
      { host: 'process', capacity: { tools: ['git'] }, security: { tools: ['read'] } },
      'pools.code.capacity.tools',
    ],
    [
      'memory twice, different',
      { host: 'process', capacity: { memoryMb: 512 }, security: { limits: { memoryMb: 256 } } },
      'pools.code.capacity.memoryMb',
    ],
    [
      'zero lifetime',
      { host: 'process', security: { limits: { maxLifetimeMs: 0 } } },
      'pools.code.security.limits.maxLifetimeMs',
    ],
  ])('%s: ERR_INVALID_CONFIG at its path', (_name, pool, path) => {
    const e = configError(pool);
    expect(e.code).toBe('ERR_INVALID_CONFIG');
    expect(e.details.path).toBe(path);
  });

  it('the profile is the one owner of tools and limits: capacity follows it', () => {
    const c = parseSystem({
      pools: {
        code: {
          agent,
          host: 'process',
          security: { tools: ['git'], network: 'full', limits: { memoryMb: 256 } },
        },
      },
    }).pools.get('code')!;
    expect(c.capacity.tools).toEqual(['git']);
    expect(c.capacity.memoryMb).toBe(256);
    expect(c.security).toMatchObject({
      restricted: true,
      tools: ['git'],
      network: 'full',
      files: { read: [], write: [] },
    });
  });

  it('no profile: thread agents keep the host rights (tools only); isolated tiers get the strictest they enforce', () => {
    const cfg = parseSystem({
      pools: {
        t: { agent, capacity: { tools: ['git'] } },
        p: { agent, host: 'process' },
        ...(tierAvailability('sandbox').available ? { s: { agent, host: 'sandbox' } } : {}),
      },
    });
    expect(cfg.pools.get('t')!.security).toMatchObject({
      restricted: false,
      tools: ['git'],
      files: 'full',
      network: 'full',
    });
    expect(cfg.pools.get('p')!.security).toMatchObject({
      restricted: true,
      files: { read: [], write: [] },
      network: 'full',
    });
    if (cfg.pools.has('s')) expect(cfg.pools.get('s')!.security.network).toBe('none');
  });
});

describe('enforceability at config time', () => {
  it.each([
    [
      'thread + file policy',
      { host: 'thread', security: { network: 'full' } },
      'thread',
      'pools.code.security.files',
    ],
    [
      'thread + no network',
      { host: 'thread', security: { files: 'full' } },
      'thread',
      'pools.code.security.network',
    ],
    [
      'process + no network',
      { host: 'process', security: { network: 'none' } },
      'process',
      'pools.code.security.network',
    ],
    [
      'process + allowlist',
      { host: 'process', security: { network: { allow: ['api.example.com:443'] } } },
      'process',
      'pools.code.security.network',
    ],
    ['container', { host: 'container' }, 'container', 'pools.code.host'],
    ['vm without a provider', { host: 'vm' }, 'vm', 'pools.code.host'],
  ])('%s: ERR_UNENFORCEABLE naming the tier and the reason', (_n, pool, tier, path) => {
    if (tier === 'sandbox' && !tierAvailability('sandbox').available) return;
    const e = configError(pool);
    expect(e.code).toBe('ERR_UNENFORCEABLE');
    expect(e.details).toMatchObject({ tier, path });
    expect(String(e.details.reason).length).toBeGreaterThan(10);
    expect(e.message).toContain(`the ${tier} tier cannot enforce`);
  });

  it.skipIf(!tierAvailability('sandbox').available)(
    'a sandbox enforces a network allowlist (its filtering proxy)',
    () => {
      const c = parseSystem({
        pools: {
          code: {
            agent,
            host: 'sandbox',
            security: { network: { allow: ['api.example.com:443', '*:8080'] } },
          },
        },
      });
      expect(c.pools.get('code')!.security.network).toEqual({ allow: ['api.example.com:443', '*:8080'] });
    },
  );

  it('thread agents accept a profile that restricts only tools', () => {
    const c = parseSystem({
      pools: { code: { agent, security: { tools: ['git'], network: 'full', files: 'full' } } },
    });
    expect(c.pools.get('code')!.security.tools).toEqual(['git']);
  });

  it('a registered VM provider makes the vm tier available', () => {
    const off = registerVmProvider('fake', { createHost: (o) => new InlineHost(o) });
    try {
      expect(tierAvailability('vm')).toEqual({ available: true, reason: 'provider fake' });
      expect(
        parseSystem({ pools: { code: { agent, host: 'vm', security: { network: 'full' } } } }).pools.get(
          'code',
        )!.host,
      ).toBe('vm');
    } finally {
      off();
    }
    expect(tierAvailability('vm').available).toBe(false);
  });
});

describe('the tdd preset', () => {
  it("has the seed's design, qa and code profiles, and validates", () => {
    expect(tddSecurity('design', { root: '/repo' })).toMatchObject({
      tools: ['read', 'write_docs', 'web_fetch'],
      network: 'none',
      files: { read: ['/repo'] },
      limits: { memoryMb: 1024, cpuCores: 1 },
    });
    expect(tddSecurity('qa', { root: '/repo' })).toMatchObject({
      tools: ['read', 'test_execution', 'coverage_analysis'],
      files: { read: ['/repo'], write: ['/repo/test'] },
      limits: { memoryMb: 2048, cpuCores: 2 },
    });
    expect(tddSecurity('code', { root: '/repo' })).toMatchObject({
      tools: ['read', 'write', 'git', 'test_execution'],
      files: { read: ['/repo'], write: ['/repo/src'] },
      limits: { memoryMb: 4096, cpuCores: 2 },
    });
    expect(() => tddSecurity('data' as 'code', { root: '/repo' })).toThrow(/TDD profile type/);
    expect(() => tddSecurity('code', { root: 'repo' })).toThrow(/absolute path/);
  });

  it('is never applied because of a pool name', () => {
    const c = parseSystem({ pools: { code: { agent } } }).pools.get('code')!;
    expect(c.security.restricted).toBe(false);
    expect(c.capacity.memoryMb).toBe(1024);
  });

  it.skipIf(!tierAvailability('sandbox').available)('is accepted by the sandbox tier', () => {
    const c = parseSystem({
      pools: { code: { agent, host: 'sandbox', security: tddSecurity('code', { root: '/repo' }) } },
    });
    expect(c.pools.get('code')!.capacity).toMatchObject({
      memoryMb: 4096,
      cpuCores: 2,
      tools: ['read', 'write', 'git', 'test_execution'],
    });
  });
});

describe('requirements.isolation', () => {
  it('a request for more isolation than the pool offers fails fast with ERR_UNENFORCEABLE', async () => {
    const { neverFits } = await import('../../src/runtime/requirements.js');
    const pool = parseSystem({ pools: { code: { agent, host: 'process' } } }).pools.get('code')!;
    expect(neverFits({ isolation: 'process' }, pool, {})).toBeUndefined();
    expect(neverFits({ isolation: 'thread' }, pool, {})).toBeUndefined();
    const e = neverFits({ isolation: 'sandbox' }, pool, {})!;
    expect(e.code).toBe('ERR_UNENFORCEABLE');
    expect(e.details).toMatchObject({
      path: 'requirements.isolation',
      received: 'sandbox',
      offered: 'process',
    });
  });
});
