import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { PoolMetrics } from '../../src/metrics/pool-metrics.js';
import { escapeLabelValue, toPrometheus } from '../../src/metrics/prometheus.js';

describe('PoolMetrics', () => {
  it('derives utilization, rates, outcomes, efficiency and throughput', () => {
    const m = new PoolMetrics({ pool: 'code', type: 'CODE' });
    m.setAgents({ total: 5, available: 1, busy: 3, starting: 1 });
    for (let i = 0; i < 12; i++) m.recordRequest(i * 1000);
    const outcomes = ['success', 'success', 'error', 'timeout', 'success'] as const;
    outcomes.forEach((o, i) => {
      m.recordCompletion(10_000 + i, 2 + i, o);
    });
    m.setResources(
      { memoryMb: 4096, cpuCores: 4, tokens: 100_000 },
      { memoryMb: 1024, cpuCores: 3, tokens: 25_000 },
    );
    m.setQueueDepth(7);
    const s = m.snapshot(20_000);
    expect(s.utilization).toBeCloseTo(3 / 4, 12);
    expect(s.requestRatePerMin).toBe(12); // 12 events in a 60 s window
    expect(s.completionRatePerMin).toBe(5);
    expect(s.outcomes).toEqual({ success: 3, error: 1, timeout: 1 });
    expect(s.outcomeRatePerMin.error).toBe(1);
    expect(s.efficiency.memoryMb).toBeCloseTo(0.25, 12);
    expect(s.efficiency.cpuCores).toBeCloseTo(0.75, 12);
    expect(s.throughputPerAgentPerMin).toBeCloseTo(5 / 4, 12);
    expect(s.service.count).toBe(5);
    expect(s.service.sum).toBeCloseTo(2 + 3 + 4 + 5 + 6, 12);
    expect(s.queueDepth).toBe(7);
  });

  it('collect() pushes one interval sample and resets interval stats', () => {
    const m = new PoolMetrics({ pool: 'qa', historyCapacity: 2 });
    m.collect(0);
    m.recordRequest(1000, 3);
    m.recordWait(4);
    const a = m.collect(15_000);
    expect(a.requests).toBe(3);
    expect(a.intervalMs).toBe(15_000);
    expect(a.wait.count).toBe(1);
    const b = m.collect(30_000);
    expect(b.requests).toBe(0);
    expect(b.wait.count).toBe(0);
    expect(m.history.size).toBe(2);
    expect(m.history.toArray().map((x) => x.at)).toEqual([15_000, 30_000]);
    // cumulative histograms keep everything
    expect(m.snapshot(30_000).wait.count).toBe(1);
  });

  it('rejects bad input and keeps the previous state', () => {
    const m = new PoolMetrics({ pool: 'p' });
    m.setAgents({ total: 2, available: 2, busy: 0, starting: 0 });
    expect(() => m.setAgents({ total: -1, available: 0, busy: 0, starting: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(m.snapshot(0).agents.total).toBe(2);
    expect(() => new PoolMetrics({ pool: '' })).toThrow(/poolMetrics.pool/);
    expect(() => new PoolMetrics({ pool: 'x', nope: 1 } as never)).toThrow(/poolMetrics.nope/);
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small independent parser of the 0.0.4 text format (enough to check what we emit). */
function parseExposition(text: string): {
  types: Map<string, string>;
  helps: Set<string>;
  samples: Sample[];
} {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) {
      helps.add(line.split(' ')[2] as string);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      expect(types.has(name as string), `duplicate TYPE ${name}`).toBe(false);
      types.set(name as string, type as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\S+)$/.exec(
      line,
    );
    expect(m, `bad sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const lm of (m?.[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1] as string] = (lm[2] as string)
        .replace(/\\n/g, '\n')
        .replace(/\\"/g, '"')
        .replace(/\\\\/g, '\\');
    }
    const raw = m?.[3] as string;
    const value =
      raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    expect(Number.isNaN(value) && raw !== 'NaN').toBe(false);
    samples.push({ name: m?.[1] as string, labels, value });
  }
  return { types, helps, samples };
}

describe('toPrometheus', () => {
  const make = (pool: string, waits: number[]) => {
    const m = new PoolMetrics({ pool, type: 'CODE' });
    m.setAgents({ total: 3, available: 1, busy: 2, starting: 0 });
    for (const w of waits) m.recordWait(w);
    m.recordCompletion(1000, 5, 'success');
    return m.snapshot(1000);
  };

  it('parses back: HELP/TYPE before samples, only pool/type labels, values round-trip', () => {
    const waits = [0.01, 0.2, 0.2, 3, 45, 1e7];
    const weird = 'we"ird\\pool\nname';
    const text = toPrometheus([make('code', waits), make(weird, [1])]);
    const { types, helps, samples } = parseExposition(text);
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      const declared = types.has(s.name) ? s.name : family;
      expect(types.has(declared), `no TYPE for ${s.name}`).toBe(true);
      expect(helps.has(declared)).toBe(true);
      // `outcome` only on tasks_total: bounded (six values), never per task or agent.
      const keys = Object.keys(s.labels).filter(
        (k) => k !== 'le' && !(k === 'outcome' && /_total$/.test(s.name)),
      );
      expect(keys.sort()).toEqual(['pool']);
      if ('le' in s.labels) expect(s.name.endsWith('_bucket')).toBe(true);
    }
    expect(samples.some((s) => s.labels.pool === weird)).toBe(true); // escaping round-trips
    const busy = samples.find((s) => s.name === 'agentpool_agents_busy' && s.labels.pool === 'code');
    expect(busy?.value).toBe(2);
    expect(types.get('agentpool_wait_seconds')).toBe('histogram');
    expect(types.get('agentpool_tasks_total')).toBe('counter');
    expect(types.has('agentpool_requests_per_minute')).toBe(false);
  });

  it('histogram buckets are cumulative, end at +Inf = count, and count values ≤ le', () => {
    const waits = [0.01, 0.2, 0.2, 3, 45, 1e7];
    const { samples } = parseExposition(toPrometheus([make('code', waits)]));
    const buckets = samples.filter((s) => s.name === 'agentpool_wait_seconds_bucket');
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le)));
    for (let i = 1; i < buckets.length; i++) {
      expect(les[i]).toBeGreaterThan(les[i - 1] as number);
      expect((buckets[i] as Sample).value).toBeGreaterThanOrEqual((buckets[i - 1] as Sample).value);
    }
    expect(les[les.length - 1]).toBe(Number.POSITIVE_INFINITY);
    const count = samples.find((s) => s.name === 'agentpool_wait_seconds_count')?.value;
    expect(count).toBe(waits.length);
    expect(buckets[buckets.length - 1]?.value).toBe(waits.length);
    const sum = samples.find((s) => s.name === 'agentpool_wait_seconds_sum')?.value;
    expect(sum).toBeCloseTo(
      waits.reduce((a, b) => a + b, 0),
      6,
    );
    // each finite bucket holds exactly the values ≤ its bound (bounds are rounded to 6 digits)
    buckets.forEach((b, i) => {
      const le = les[i] as number;
      if (!Number.isFinite(le)) return;
      const expected = waits.filter((w) => w <= le * (1 + 1e-5)).length;
      expect(b.value, `le=${le}`).toBe(expected);
    });
  });

  it('escapes label values', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
