/**
 * Health checks of an idle agent come from one timer per agent, not an `after` timer re-armed on every
 * idle entry (issue 14) — and still at the same moments: `healthIntervalMs` after the agent went idle
 * or after its last check, never while it works, and a check that hangs still gets the agent killed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/define.js';
import { ManualClock } from '../../src/core/clock.js';
import type { AgentHandle } from '../../src/runtime/agent-handle.js';
import { makeAgent, startAgent } from '../helpers/agents.js';

const agents: AgentHandle[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) {
    a.stop();
    await a.whenGone(5_000);
  }
});

async function idleAgent(clock: ManualClock) {
  const gate: { open?: () => void } = {};
  const a = startAgent(
    makeAgent(
      {
        host: 'inline',
        agent: defineAgent({
          quick: () => 'ok',
          slow: () => new Promise<string>((r) => (gate.open = () => r('done'))),
        }),
      },
      { healthIntervalMs: 1_000, healthTimeoutMs: 100, abortGraceMs: 50 },
      clock,
    ),
  );
  agents.push(a);
  await clock.advanceAsync(0);
  expect(a.state).toBe('idle');
  const host = (a as unknown as { host: { ping(): Promise<void> } }).host;
  return { a, gate, ping: vi.spyOn(host, 'ping') };
}

describe('health checks of an idle agent', () => {
  it('run healthIntervalMs after idle entry and after each check; a task moves the next one', async () => {
    const clock = new ManualClock();
    const { a, ping } = await idleAgent(clock);
    await clock.advanceAsync(999);
    expect(ping).toHaveBeenCalledTimes(0);
    await clock.advanceAsync(1);
    expect(ping).toHaveBeenCalledTimes(1);
    await clock.advanceAsync(1_000);
    expect(ping).toHaveBeenCalledTimes(2);
    // A task at t=2500: the agent is idle again from then on, so the next check is at 3500, not 3000.
    await clock.advanceAsync(500);
    await expect(a.run('quick', null)).resolves.toBe('ok');
    await clock.advanceAsync(999);
    expect(ping).toHaveBeenCalledTimes(2);
    await clock.advanceAsync(1);
    expect(ping).toHaveBeenCalledTimes(3);
  });

  it('never while the agent works; from the end of the work on', async () => {
    const clock = new ManualClock();
    const { a, gate, ping } = await idleAgent(clock);
    const p = a.run('slow', null);
    await clock.advanceAsync(5_000);
    expect(a.state).toBe('busy');
    expect(ping).toHaveBeenCalledTimes(0);
    gate.open!();
    await expect(p).resolves.toBe('done');
    await clock.advanceAsync(999);
    expect(ping).toHaveBeenCalledTimes(0);
    await clock.advanceAsync(1);
    expect(ping).toHaveBeenCalledTimes(1);
  });

  it('a check that does not answer within healthTimeoutMs gets the agent killed and restarted', async () => {
    const clock = new ManualClock();
    const { a, ping } = await idleAgent(clock);
    ping.mockImplementation(() => new Promise<void>(() => {}));
    await clock.advanceAsync(1_000);
    expect(ping).toHaveBeenCalledTimes(1);
    await clock.advanceAsync(100);
    expect(['terminating', 'crashed', 'restarting', 'starting']).toContain(a.state);
  });
});
