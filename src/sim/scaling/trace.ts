/**
 * Trace files: recorded arrivals replayed by the simulator. Accepted forms:
 *
 * - JSON: an array of arrival times in seconds (`[0, 0.4, 1.7]`), an array of objects
 *   `{ "t": seconds, "service"?: seconds }`, or `{ "arrivals": [...] }` holding either.
 * - CSV: one arrival per line, first column the arrival time in seconds, optional second column the
 *   service time in seconds; a non-numeric first line is taken as a header; `#` starts a comment.
 *
 * Times are made relative to the first arrival and sorted.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Scenario } from './scenarios.js';

/** A parsed trace. */
export interface Trace {
  /** Arrival times, ms from the first arrival, ascending. */
  arrivals: number[];
  /** Service times (ms) per arrival when the trace has them. */
  services: (number | undefined)[];
}

function seconds(path: string, v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(path, v, 'a number of seconds >= 0');
  return n;
}

function finish(rows: { t: number; s: number | undefined }[]): Trace {
  if (rows.length === 0) throw new InvalidArgumentError('trace', '[]', 'at least one arrival');
  rows.sort((a, b) => a.t - b.t);
  const t0 = rows[0]?.t ?? 0;
  return {
    arrivals: rows.map((r) => (r.t - t0) * 1000),
    services: rows.map((r) => (r.s === undefined ? undefined : r.s * 1000)),
  };
}

/** Parse a trace from text; `format` defaults to JSON when the text starts with `[` or `{`. */
export function parseTrace(text: string, format?: 'json' | 'csv'): Trace {
  const trimmed = text.trim();
  const fmt = format ?? (trimmed.startsWith('[') || trimmed.startsWith('{') ? 'json' : 'csv');
  const rows: { t: number; s: number | undefined }[] = [];
  if (fmt === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch {
      throw new InvalidArgumentError('trace', `${trimmed.slice(0, 40)}…`, 'valid JSON');
    }
    const list = Array.isArray(data) ? data : (data as { arrivals?: unknown } | null)?.arrivals;
    if (!Array.isArray(list))
      throw new InvalidArgumentError('trace', data, 'an array of arrivals or { arrivals: [...] }');
    list.forEach((item, i) => {
      if (typeof item === 'number' || typeof item === 'string')
        rows.push({ t: seconds(`trace[${i}]`, item), s: undefined });
      else if (item && typeof item === 'object') {
        const o = item as { t?: unknown; service?: unknown };
        rows.push({
          t: seconds(`trace[${i}].t`, o.t),
          s: o.service === undefined ? undefined : seconds(`trace[${i}].service`, o.service),
        });
      } else throw new InvalidArgumentError(`trace[${i}]`, item, 'a number or { t, service? }');
    });
    return finish(rows);
  }
  const lines = trimmed.split(/\r?\n/);
  lines.forEach((line, i) => {
    const l = line.replace(/#.*/, '').trim();
    if (l === '') return;
    const cols = l.split(/[,;\t]/).map((c) => c.trim());
    if (i === 0 && !Number.isFinite(Number(cols[0]))) return; // header
    rows.push({
      t: seconds(`trace:${i + 1}`, cols[0]),
      s: cols[1] === undefined || cols[1] === '' ? undefined : seconds(`trace:${i + 1}:service`, cols[1]),
    });
  });
  return finish(rows);
}

/** Turn a trace into a scenario (rate estimated per minute, for charts and for sizing the fixed pools). */
export function traceScenario(trace: Trace, name = 'trace'): Scenario {
  const last = trace.arrivals[trace.arrivals.length - 1] ?? 0;
  const durationMs = Math.max(60_000, Math.ceil((last + 1) / 60_000) * 60_000);
  const perMin = new Array<number>(Math.ceil(durationMs / 60_000)).fill(0);
  for (const t of trace.arrivals) {
    const k = Math.floor(t / 60_000);
    perMin[k] = (perMin[k] ?? 0) + 1;
  }
  const rate = (t: number) => (perMin[Math.floor(t / 60_000)] ?? 0) / 60;
  const peakRatePerS = Math.max(...perMin) / 60;
  return {
    name,
    durationMs,
    rate,
    peakRatePerS,
    meanRatePerS: trace.arrivals.length / (durationMs / 1000),
    arrivals: trace.arrivals,
    services: trace.services,
  };
}
