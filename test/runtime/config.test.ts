/**
 * Bad configuration is refused before anything starts, with a typed error naming the option path and
 * the value received; a running system is not harmed by a bad one being created next to it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { ThreadHost } from '../../src/hosts/thread-host.js';
import { ManualClock } from '../../src/core/clock.js';
import { createAgentPoolSystem } from '../../src/runtime/system.js';
import { echoAgent, startSystem } from './helpers.js';

const agent = echoAgent();

function configError(options: unknown): ConfigError {
  try {
    createAgentPoolSystem(options as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration validation', () => {
  const cases: [string, unknown, string, unknown, string?][] = [
    ['unknown top-level key', { pools: { code: { agent } }, pool: {} }, 'options.pool', {}],
    ['unknown pool key', { pools: { code: { agent, maxSize: 4 } } }, 'pools.code.maxSize', 4],
    [
      'unknown capacity key',
      { pools: { code: { agent, capacity: { gpus: 2 } } } },
      'pools.code.capacity.gpus',
      2,
    ],
    [
      'unknown timings key',
      { pools: { code: { agent, timings: { startMs: 5 } } } },
      'pools.code.timings.startMs',
      5,
    ],
    ['unknown limit', { pools: { code: { agent } }, limits: { gpus: 1 } }, 'limits.gpus', 1],
    ['min > max', { pools: { code: { agent, min: 5, max: 2 } } }, 'pools.code.min', 5],
    ['negative min', { pools: { code: { agent, min: -1 } } }, 'pools.code.min', -1],
    ['non-numeric max', { pools: { code: { agent, max: '3' } } }, 'pools.code.max', '3'],
    ['fractional max', { pools: { code: { agent, max: 2.5 } } }, 'pools.code.max', 2.5],
    ['NaN min', { pools: { code: { agent, min: Number.NaN } } }, 'pools.code.min', Number.NaN],
    ['unknown host type', { pools: { code: { agent, host: 'docker' } } }, 'pools.code.host', 'docker'],
    [
      'bad security level',
      { pools: { code: { agent, capacity: { securityLevel: 'top' } } } },
      'pools.code.capacity.securityLevel',
      'top',
    ],
    ['bad pool name', { pools: { 'code agents!': { agent } } }, 'pools.code agents!', 'code agents!'],
    ['no pools', { pools: {} }, 'pools', {}],
    ['pools not an object', { pools: 3 }, 'pools', 3],
    ['missing agent', { pools: { code: { min: 1 } } }, 'pools.code.agent', undefined],
    [
      'missing thread module',
      { pools: { code: { agent: '/nonexistent/agent.js', host: 'thread' } } },
      'pools.code.agent',
      '/nonexistent/agent.js',
      'ERR_AGENT_MODULE',
    ],
    [
      'missing inline module',
      { pools: { code: { agent: '/nonexistent/agent.js', host: 'inline' } } },
      'pools.code.agent',
      '/nonexistent/agent.js',
      'ERR_AGENT_MODULE',
    ],
    [
      'inline definition on a thread host',
      { pools: { code: { agent, host: 'thread' } } },
      'pools.code.agent',
      'defineAgent() object',
    ],
    [
      'negative shutdown deadline',
      { pools: { code: { agent } }, shutdownDeadlineMs: -1 },
      'shutdownDeadlineMs',
      -1,
    ],
  ];

  for (const [what, options, path, received, code] of cases) {
    it(`${what}: ${code ?? 'ERR_INVALID_CONFIG'} at ${path}`, () => {
      const threads = ThreadHost.live;
      const e = configError({ clock: new ManualClock(), ...(options as object) });
      expect(e.code).toBe(code ?? 'ERR_INVALID_CONFIG');
      expect(e.path).toBe(path);
      expect(e.received).toEqual(received);
      expect(e.message.startsWith(`${path}:`)).toBe(true);
      // Nothing was started.
      expect(ThreadHost.live).toBe(threads);
    });
  }

  it('default sizes do not depend on the pool name (the TDD sizes are the tddPool preset); any name is allowed', () => {
    const sys = createAgentPoolSystem({
      clock: new ManualClock(),
      pools: { design: { agent }, code: { agent }, qa: { agent }, data: { agent }, review: { agent } },
    });
    const sizes = Object.fromEntries([...sys.config.pools].map(([t, p]) => [t, [p.min, p.max]]));
    expect(sizes).toEqual({ design: [1, 3], code: [1, 3], qa: [1, 3], data: [1, 3], review: [1, 3] });
    expect(sys.state).toBe('idle');
  });

  it('a bad system created next to a running one does not harm it', async () => {
    const { sys } = await startSystem({ code: { min: 1, max: 1 } });
    configError({ pools: { code: { agent, min: 3, max: 1 } } });
    const lease = await sys.acquire('code', { cycleId: 'a' });
    await expect(lease.run('echo', 'ok')).resolves.toBe('ok');
    await sys.shutdown({ graceful: false });
  });
});
