/**
 * A self-contained HTML report of one simulation: summary numbers and four inline SVG line charts
 * (demand, pool size, utilization, wait p99 over time). No scripts, no external resources.
 */
import type { SimulationResult } from './simulate.js';

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Options of {@link svgLineChart}. */
export interface ChartOptions {
  title: string;
  /** Unit shown after the y-axis maximum. */
  unit?: string;
  width?: number;
  height?: number;
  colour?: string;
  /** Fixed y maximum (e.g. 1 for utilization); default the data maximum. */
  yMax?: number;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** An inline SVG line chart of y over x (x in seconds, labelled in hours or minutes). */
export function svgLineChart(x: readonly number[], y: readonly number[], o: ChartOptions): string {
  const w = o.width ?? 820;
  const h = o.height ?? 170;
  const padL = 56;
  const padR = 12;
  const padT = 24;
  const padB = 26;
  const xMax = Math.max(1, x[x.length - 1] ?? 1);
  const yMaxData = y.reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0);
  const yMax = o.yMax ?? (yMaxData > 0 ? yMaxData * 1.05 : 1);
  const px = (v: number) => padL + (v / xMax) * (w - padL - padR);
  const py = (v: number) => padT + (1 - Math.min(1, Math.max(0, v / yMax))) * (h - padT - padB);
  const points = x.map((xv, i) => `${px(xv).toFixed(1)},${py(y[i] ?? 0).toFixed(1)}`).join(' ');
  const hours = xMax >= 7200;
  const xLabel = (v: number) => (hours ? `${(v / 3600).toFixed(1)} h` : `${(v / 60).toFixed(0)} min`);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * xMax);
  const unit = o.unit ? ` ${escapeHtml(o.unit)}` : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<text x="${padL}" y="16" font-size="13" font-weight="bold">${escapeHtml(o.title)}</text>`,
    `<line x1="${padL}" y1="${h - padB}" x2="${w - padR}" y2="${h - padB}" stroke="#999"/>`,
    `<line x1="${padL}" y1="${padT}" x2="${padL}" y2="${h - padB}" stroke="#999"/>`,
    `<text x="${padL - 4}" y="${padT + 4}" font-size="11" text-anchor="end">${fmt(yMax)}${unit}</text>`,
    `<text x="${padL - 4}" y="${h - padB}" font-size="11" text-anchor="end">0</text>`,
    ...ticks.map(
      (t) =>
        `<text x="${px(t).toFixed(1)}" y="${h - 8}" font-size="11" text-anchor="middle">${xLabel(t)}</text>`,
    ),
    `<polyline fill="none" stroke="${o.colour ?? '#1f77b4'}" stroke-width="1.5" points="${points}"/>`,
    '</svg>',
  ].join('\n');
}

/** Render the full report page. */
export function renderHtmlReport(
  r: SimulationResult,
  title = `agentpool simulation: ${r.scenario} / ${r.policy}`,
): string {
  const s = r.series;
  const rows: [string, string][] = [
    ['scenario', r.scenario],
    ['policy', r.policy],
    ['seed', String(r.seed)],
    ['simulated', `${fmt(r.simulatedS / 3600)} h`],
    ['tasks', String(r.tasks)],
    ['wait p50 / p90 / p99', `${fmt(r.p50WaitS)} / ${fmt(r.p90WaitS)} / ${fmt(r.p99WaitS)} s`],
    ['tasks waiting > 30 s', `${fmt(r.sloViolationPct)} %`],
    ['agent-seconds (start-up included)', fmt(r.agentSeconds)],
    ['slack', `${fmt(r.slackPct)} %`],
    ['mean / max size', `${fmt(r.meanSize)} / ${r.maxSize}`],
    ['scale events / flaps', `${r.scaleEvents} / ${r.flaps}`],
  ];
  // Wall-clock speed is left out on purpose: the same seed must give a byte-identical report.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-bottom:16px}
td{padding:2px 12px 2px 0}td:first-child{color:#555}svg{display:block;margin:8px 0}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${svgLineChart(s.t, s.demandPerMin, { title: 'Demand (arrivals per minute)', unit: '/min', colour: '#2ca02c' })}
${svgLineChart(s.t, s.size, { title: 'Pool size (agents, starting included)', colour: '#1f77b4' })}
${svgLineChart(s.t, s.utilization, { title: 'Utilization (busy / ready)', yMax: 1, colour: '#ff7f0e' })}
${svgLineChart(s.t, s.waitP99S, { title: 'Wait p99 per interval', unit: 's', colour: '#d62728' })}
</body></html>
`;
}
