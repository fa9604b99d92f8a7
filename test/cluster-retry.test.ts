/**
 * The cluster link's retry of transient JetStream refusals (src/cluster/link.ts `retryTransient`): a
 * coordinator that starts while another of the same name is creating the node bucket's stream got
 * "invalid stream" (10012, status 500) from its first consumer, and its start() failed. Server-side
 * failures are tried again on the clock; refusals (4xx) and other errors fail at once.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { retryTransient } from '../src/cluster/link.js';

const invalidStream = () =>
  new JetStreamApiError({ code: 500, err_code: 10012, description: 'invalid stream' });

describe('retryTransient', () => {
  it('tries a server-side JetStream failure again, pausing on the clock, until it succeeds', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const p = retryTransient(async () => {
      if (++calls < 3) throw invalidStream();
      return 'listed';
    }, clock);
    await clock.advanceAsync(0);
    expect(calls).toBe(1);
    await clock.advanceAsync(100);
    expect(calls).toBe(2);
    await clock.advanceAsync(200);
    await expect(p).resolves.toBe('listed');
    expect(calls).toBe(3);
  });

  it('gives up after four tries with the last error', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const p = retryTransient(async () => {
      calls++;
      throw invalidStream();
    }, clock);
    const settled = p.catch((e: unknown) => e);
    await clock.advanceAsync(1_000);
    const err = (await settled) as JetStreamApiError;
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect(err.code).toBe(10012);
    expect(calls).toBe(4);
  });

  it('does not retry a refusal or another error', async () => {
    const clock = new ManualClock();
    const denied = new JetStreamApiError({ code: 403, err_code: 10100, description: 'not allowed' });
    for (const final of [denied, new Error('connection closed')]) {
      let calls = 0;
      const fail = async () => {
        calls++;
        throw final;
      };
      await expect(retryTransient(fail, clock)).rejects.toBe(final);
      expect(calls).toBe(1);
    }
  });
});
