/**
 * The memory bench (tiny cases: shape only, never numbers): every case runs in a fresh child process
 * and comes back in the JSON shape; bad `--cases` entries are typed errors naming the entry.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPoolError } from '../../src/core/errors.js';
import { memoryBenchOutput, parseCases } from '../../bench/memory.js';

describe('memory bench', () => {
  it('returns { results: [{ host, agents, heapBytesPerAgent, rssBytesPerAgent, startMs }] } per case', async () => {
    const out = await memoryBenchOutput({
      cases: [
        { host: 'inline', agents: 20 },
        { host: 'thread', agents: 1 },
      ],
      rounds: 2,
    });
    const json = out.json as { results: Record<string, unknown>[] };
    expect(json.results).toHaveLength(2);
    expect(json.results[0]).toMatchObject({
      host: 'inline',
      agents: 20,
      heapBytesPerAgent: expect.any(Number),
      rssBytesPerAgent: expect.any(Number),
      startMs: expect.any(Number),
    });
    expect(json.results[1]).toMatchObject({
      host: 'thread',
      agents: 1,
      bareWorkersStartMs: expect.any(Number),
      startRatio: expect.any(Number),
      bareModuleStartMs: expect.any(Number),
      moduleRatio: expect.any(Number),
    });
    // Two rounds each; the thread case's ratio is the median of its per-round ratios, inside their range.
    for (const r of json.results) expect(r.startRuns).toHaveLength(2);
    const [lo, hi] = json.results[1]!.startRatioRange as [number, number];
    expect(lo).toBeLessThanOrEqual(json.results[1]!.startRatio as number);
    expect(json.results[1]!.startRatio as number).toBeLessThanOrEqual(hi);
    expect(json.results[0]!.startMs).toBeGreaterThan(0);
    expect(out.markdown).toContain('| inline | 20 |');
  }, 60_000);

  it('parses host:agents cases and rejects anything else with ERR_INVALID_ARGUMENT', () => {
    expect(parseCases(['inline:1000', 'thread:16'])).toEqual([
      { host: 'inline', agents: 1000 },
      { host: 'thread', agents: 16 },
    ]);
    for (const bad of ['inline', 'cloud:5', 'thread:0', 'inline:1.5']) {
      const e = (() => {
        try {
          parseCases(['inline:1', bad]);
        } catch (x) {
          return x as AgentPoolError;
        }
      })();
      expect(e?.code, bad).toBe('ERR_INVALID_ARGUMENT');
      expect(e?.message, bad).toContain('--cases[1]');
    }
  });
});
