/** The submit options of pools and the system are validated at the boundary (issue 16). */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { parseSystem } from '../../src/runtime/config.js';
import { configErrorOf } from '../helpers/config-error.js';

const agent = defineAgent({ t: () => 1 });
const sys =
  (pool: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  () =>
    parseSystem({ pools: { w: { agent, ...pool } }, ...extra });

describe('submit options in the configuration', () => {
  it('refuses bad values with the option path and the value received', () => {
    configErrorOf(sys({ maxQueue: 0 }), 'pools.w.maxQueue');
    configErrorOf(sys({ maxQueue: 1.5 }), 'pools.w.maxQueue');
    configErrorOf(sys({ queueTimeoutMs: -1 }), 'pools.w.queueTimeoutMs');
    configErrorOf(sys({ retry: { attempts: 2, backoff: 'linear' } }), 'pools.w.retry.backoff');
    configErrorOf(sys({ retry: { attempts: 2, jitter: 2 } }), 'pools.w.retry.jitter');
    configErrorOf(sys({ rateLimit: {} }), 'pools.w.rateLimit');
    configErrorOf(sys({ rateLimit: { requestsPerMinute: 0 } }), 'pools.w.rateLimit.requestsPerMinute');
    expect(
      configErrorOf(sys({ rateLimit: { requestPerMinute: 10 } }), 'pools.w.rateLimit.requestPerMinute')
        .message,
    ).toContain('requestsPerMinute');
    configErrorOf(sys({ agingMs: -5 }), 'pools.w.agingMs');
    const e = configErrorOf(
      sys({ rateLimit: 'opnai' }, { rateLimits: { openai: { tokensPerMinute: 1 } } }),
      'pools.w.rateLimit',
    );
    expect(e.message).toContain('openai');
    configErrorOf(
      sys({ rateLimit: { requestsPerMinute: 10 }, dispatch: 'work-stealing' }),
      'pools.w.rateLimit',
    );
    configErrorOf(
      sys({}, { rateLimits: { api: { tokensPerMinute: 'many' } } }),
      'rateLimits.api.tokensPerMinute',
    );
  });

  it('fills the documented defaults', () => {
    const c = parseSystem({ pools: { w: { agent } } }).pools.get('w')!;
    expect(c.maxQueue).toBe(Number.POSITIVE_INFINITY);
    expect(c.queueTimeoutMs).toBeUndefined();
    expect(c.retry).toBeUndefined();
    expect(c.rateLimit).toBeUndefined();
    expect(c.agingMs).toBe(0);
    const r = parseSystem({ pools: { w: { agent, retry: { attempts: 3 } } } }).pools.get('w')!.retry;
    expect(r).toEqual({ attempts: 3, backoff: 'exponential', baseMs: 1_000, maxMs: 30_000, jitter: 0 });
  });
});
