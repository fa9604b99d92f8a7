/**
 * One self-contained HTML page comparing scaling policies on the same scenario and seed: two SVG
 * charts with every policy overlaid on the same axes (pool size; wait p99), demand drawn behind them,
 * the SLO and the pool maximum as dashed lines, scale events marked, real ticks with units, a legend,
 * and a summary table with ratios against the first policy. No scripts, no external resources.
 */
import { escapeHtml } from './report-html.js';
import type { SimulationResult } from './simulate.js';

/** Options of {@link renderCompareReport}. */
export interface CompareReportOptions {
  /** The engine the runs used (named on the page). @default 'model' */
  engine?: string;
  /** Pool maximum (drawn as a line on the size chart). */
  max: number;
  /** SLO wait in seconds (drawn on the wait chart). @default 30 */
  sloWaitS?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 860;
const H = 300;
const M = { left: 64, right: 150, top: 28, bottom: 44 };

/** "Nice" tick values from 0 to the first one ≥ max: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // Up to the first tick at or above max, so the top of the axis is labelled and covers the data.
  for (let v = 0; ; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= max - step * 1e-9) break;
  }
  return ticks;
}

function label(v: number): string {
  return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k` : String(v);
}

interface Chart {
  title: string;
  unit: string;
  yMax: number;
  series: { name: string; colour: string; points: [number, number][] }[];
  demand?: [number, number][];
  lines: { label: string; y: number }[];
  events: { colour: string; t: number }[];
}

function chart(c: Chart, tMaxS: number): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const yTicks = niceTicks(c.yMax);
  const yTop = yTicks[yTicks.length - 1] as number;
  const hours = tMaxS >= 3 * 3600;
  const tUnit = hours ? 3600 : 60;
  const xTicks = niceTicks(tMaxS / tUnit, 8).filter((v) => v * tUnit <= tMaxS + 1e-9);
  const x = (tS: number) => M.left + (tS / Math.max(1, tMaxS)) * pw;
  const y = (v: number) => M.top + ph - (Math.min(v, yTop) / yTop) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(c.title)}">`,
  );
  out.push(`<text x="${M.left}" y="16" class="title">${escapeHtml(c.title)}</text>`);
  // Demand behind everything, on its own right-hand scale (normalised to the plot height).
  if (c.demand && c.demand.length > 0) {
    const dMax = Math.max(1e-9, ...c.demand.map((p) => p[1]));
    const pts = c.demand.map(([t, v]) => `${x(t).toFixed(1)},${(M.top + ph - (v / dMax) * ph).toFixed(1)}`);
    out.push(
      `<polygon class="demand" points="${x(c.demand[0]![0]).toFixed(1)},${M.top + ph} ${pts.join(' ')} ${x(c.demand[c.demand.length - 1]![0]).toFixed(1)},${M.top + ph}" fill="#ddd" stroke="none"/>`,
    );
  }
  // Axes and ticks.
  out.push(`<g class="y-axis">`);
  for (const v of yTicks) {
    out.push(
      `<g class="tick"><line x1="${M.left}" x2="${M.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text></g>`,
    );
  }
  out.push(
    `<text class="axis-label" transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(c.unit)}</text></g>`,
  );
  out.push(`<g class="x-axis">`);
  for (const v of xTicks) {
    const px = x(v * tUnit).toFixed(1);
    out.push(
      `<g class="tick"><line x1="${px}" x2="${px}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/><text x="${px}" y="${M.top + ph + 18}" text-anchor="middle">${label(v)}</text></g>`,
    );
  }
  out.push(
    `<text class="axis-label" x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle">simulated time (${hours ? 'h' : 'min'})</text></g>`,
  );
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const l of c.lines) {
    out.push(
      `<g class="ref-line"><line x1="${M.left}" x2="${M.left + pw}" y1="${y(l.y).toFixed(1)}" y2="${y(l.y).toFixed(1)}" stroke="#000" stroke-dasharray="6 4"/><text x="${M.left + pw - 4}" y="${(y(l.y) - 4).toFixed(1)}" text-anchor="end">${escapeHtml(l.label)}</text></g>`,
    );
  }
  for (const s of c.series) {
    const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(
      `<polyline class="series" data-policy="${escapeHtml(s.name)}" points="${pts}" fill="none" stroke="${s.colour}" stroke-width="1.6"/>`,
    );
  }
  for (const e of c.events) {
    out.push(
      `<line class="scale-event" x1="${x(e.t).toFixed(1)}" x2="${x(e.t).toFixed(1)}" y1="${M.top + ph}" y2="${M.top + ph - 7}" stroke="${e.colour}"/>`,
    );
  }
  // Legend.
  out.push(`<g class="legend">`);
  const lx = M.left + pw + 12;
  c.series.forEach((s, i) => {
    const ly = M.top + 10 + i * 18;
    out.push(
      `<g class="legend-item"><line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="3"/><text x="${lx + 24}" y="${ly + 4}">${escapeHtml(s.name)}</text></g>`,
    );
  });
  let ly = M.top + 10 + c.series.length * 18;
  if (c.demand) {
    out.push(
      `<g class="legend-item"><rect x="${lx}" y="${ly - 6}" width="18" height="10" fill="#ddd"/><text x="${lx + 24}" y="${ly + 4}">demand (scaled)</text></g>`,
    );
    ly += 18;
  }
  out.push(
    `<g class="legend-item"><line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="#000" stroke-dasharray="6 4"/><text x="${lx + 24}" y="${ly + 4}">${c.lines.map((l) => escapeHtml(l.label)).join(' / ')}</text></g>`,
  );
  out.push(
    `<g class="legend-item"><line x1="${lx + 9}" x2="${lx + 9}" y1="${ly + 24}" y2="${ly + 14}" stroke="#333"/><text x="${lx + 24}" y="${ly + 22}">scale event</text></g>`,
  );
  out.push(`</g></svg>`);
  return out.join('\n');
}

function ratio(a: number, b: number): string {
  if (b === 0) return a === 0 ? '1.00×' : '—';
  return `${(a / b).toFixed(2)}×`;
}

/**
 * Render the comparison page. The first result is the reference of the ratio columns.
 *
 * @example
 * ```ts
 * writeFileSync('compare.html', renderCompareReport([ap, hpa, peak], { max: 50, engine: 'model' }));
 * ```
 */
export function renderCompareReport(
  results: readonly SimulationResult[],
  options: CompareReportOptions,
): string {
  const first = results[0];
  if (!first) return '<!doctype html><html><body><p>no results</p></body></html>';
  const engine = options.engine ?? 'model';
  const slo = options.sloWaitS ?? 30;
  const tMax = first.simulatedS;
  const colour = (i: number) => COLOURS[i % COLOURS.length] as string;
  const demand = first.series.t.map((t, i) => [t, first.series.demandPerMin[i] ?? 0] as [number, number]);
  const events = results.flatMap((r, i) => r.events.map((e) => ({ colour: colour(i), t: e.t })));
  const sizeChart = chart(
    {
      title: 'Pool size (agents, mean per sample) — demand behind',
      unit: 'agents',
      yMax: Math.max(options.max, ...results.flatMap((r) => r.series.size)) * 1.05,
      series: results.map((r, i) => ({
        name: r.policy,
        colour: colour(i),
        points: r.series.t.map((t, k) => [t, r.series.size[k] ?? 0]),
      })),
      demand,
      lines: [{ label: `pool max (${options.max})`, y: options.max }],
      events,
    },
    tMax,
  );
  const waitMax = Math.max(slo * 1.2, ...results.flatMap((r) => r.series.waitP99S));
  const waitChart = chart(
    {
      title: 'Wait p99 per sample (s) — demand behind',
      unit: 'wait p99 (s)',
      yMax: Math.min(waitMax, slo * 10),
      series: results.map((r, i) => ({
        name: r.policy,
        colour: colour(i),
        points: r.series.t.map((t, k) => [t, r.series.waitP99S[k] ?? 0]),
      })),
      demand,
      lines: [{ label: `SLO (${slo} s)`, y: slo }],
      events,
    },
    tMax,
  );
  const rows = results
    .map(
      (r) =>
        `<tr><th>${escapeHtml(r.policy)}</th><td>${r.p50WaitS.toFixed(2)}</td><td>${r.p99WaitS.toFixed(2)}</td><td>${ratio(r.p99WaitS, first.p99WaitS)}</td><td>${r.sloViolationPct.toFixed(2)} %</td><td>${r.agentSeconds.toFixed(0)}</td><td>${ratio(r.agentSeconds, first.agentSeconds)}</td><td>${r.slackPct.toFixed(1)} %</td><td>${r.maxSize}</td><td>${r.scaleEvents}</td><td>${r.flaps}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentpool scaling: ${escapeHtml(results.map((r) => r.policy).join(' vs '))} on ${escapeHtml(first.scenario)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{text-align:left}
svg text{font:12px system-ui,sans-serif}svg .title{font-weight:600}dt{font-weight:600}
</style></head><body>
<h1>Scaling policies compared: ${escapeHtml(first.scenario)}</h1>
<p>Engine: <strong>${escapeHtml(engine)}</strong> (${engine === 'model' ? 'the pool model: a discrete-event simulation; agentpool is the real scaler machine on a simulated clock' : 'the real AgentPoolSystem with synthetic agents'}) · seed ${first.seed} · ${(tMax / 3600).toFixed(2)} h simulated · pool max ${options.max} · every policy saw the same tasks (common random numbers).</p>
${sizeChart}
${waitChart}
<h2>Summary</h2>
<table class="summary"><thead><tr><th>policy</th><th>p50 wait (s)</th><th>p99 wait (s)</th><th>p99 vs ${escapeHtml(first.policy)}</th><th>waits &gt; SLO</th><th>agent-seconds</th><th>agent-s vs ${escapeHtml(first.policy)}</th><th>slack</th><th>max size</th><th>scale events</th><th>flaps</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Definitions</h2>
<dl>
<dt>slack</dt><dd>The share of held agent-seconds not spent running a task: 100 × (1 − busy / held), start-up and draining included. Lower is cheaper.</dd>
<dt>flaps</dt><dd>Direction reversals: a scale event in the opposite direction of the previous one within the flap window (5 min). Fewer is calmer.</dd>
<dt>SLO</dt><dd>A task that waits longer than ${slo} s for an agent is a violation.</dd>
<dt>demand</dt><dd>Tasks arriving per minute, drawn scaled to the plot height behind the series.</dd>
</dl>
</body></html>
`;
}
