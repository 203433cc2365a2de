// Rendering of the summary rows: a plain-text table and a small SVG bar chart.

const fmtInt = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtRatio = (v) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '-'
    : `${v < 0.1 ? v.toPrecision(2) : v.toFixed(2)}x`;

export const COLUMNS = [
  ['contender', (r) => r.name],
  ['transport', (r) => r.transport],
  ['client', (r) => r.client],
  ['p50 µs', (r) => fmtInt(r.p50Us)],
  ['p99 µs', (r) => fmtInt(r.p99Us)],
  ['calls/s', (r) => fmtInt(r.callsPerSec)],
  ['p50 / floor', (r) => fmtRatio(r.ratios.p50ToFloor)],
  ['calls/s / floor', (r) => fmtRatio(r.ratios.throughputToFloor)],
  ['p50 / sdk2-stdio', (r) => fmtRatio(r.ratios.p50ToSdk2Stdio)],
];
const NUMERIC_FROM = 3;

export function renderTable(rows) {
  const cells = rows.map((r) => {
    if (r.status === 'ok') return COLUMNS.map(([, get]) => get(r));
    const why = `${r.status}: ${r.reason}`.replace(/\s+/g, ' ');
    return [r.name, r.transport, r.client, why.length > 90 ? `${why.slice(0, 89)}…` : why];
  });
  const widths = COLUMNS.map(([h], i) =>
    Math.max(
      h.length,
      ...cells.filter((c) => i < NUMERIC_FROM || c.length === COLUMNS.length).map((c) => c[i].length),
    ),
  );
  const line = (c) =>
    c.length === COLUMNS.length
      ? c.map((v, i) => (i >= NUMERIC_FROM ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ')
      : c
          .slice(0, NUMERIC_FROM)
          .map((v, i) => v.padEnd(widths[i]))
          .concat(c[NUMERIC_FROM])
          .join('  ');
  const header = line(COLUMNS.map(([h]) => h));
  return [header, '-'.repeat(header.length), ...cells.map(line)].join('\n');
}

const esc = (s) =>
  String(s).replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]);

function colorOf(r) {
  if (r.name === 'floor') return '#6b7280';
  if (r.name.startsWith('switchboard')) return '#16a34a';
  if (r.name.startsWith('sdk')) return '#2563eb';
  return '#ea580c';
}

/** Two horizontal bar panels: p50 latency (c=1, lower is better) and calls/s (c=64, higher is better). */
export function renderSvg(rows, { title, subtitle }) {
  const labelW = 190;
  const panelW = 330;
  const gap = 40;
  const rowH = 22;
  const top = 74;
  const width = labelW + 2 * panelW + gap + 170;
  const height = top + rows.length * rowH + 46;
  const panels = [
    {
      key: 'p50Us',
      ratio: 'p50ToFloor',
      title: 'p50 latency, concurrency 1 (µs, lower is better)',
      x: labelW,
    },
    {
      key: 'callsPerSec',
      ratio: 'throughputToFloor',
      title: 'throughput, concurrency 64 (calls/s, higher is better)',
      x: labelW + panelW + gap + 80,
    },
  ];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (const p of panels) {
    const max = Math.max(1, ...rows.filter((r) => r.status === 'ok').map((r) => r[p.key]));
    out.push(`<text x="${p.x}" y="${top - 12}" font-weight="bold">${esc(p.title)}</text>`);
    out.push(
      `<line x1="${p.x}" y1="${top - 4}" x2="${p.x}" y2="${top + rows.length * rowH}" stroke="#999"/>`,
    );
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      if (r.status !== 'ok') {
        out.push(`<text x="${p.x + 4}" y="${y + 14}" fill="#999">${esc(r.status)}</text>`);
        return;
      }
      const w = Math.max(1, (r[p.key] / max) * panelW);
      out.push(
        `<rect x="${p.x}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colorOf(r)}"/>`,
      );
      const ratio = r.name === 'floor' ? '' : ` (${fmtRatio(r.ratios[p.ratio])})`;
      out.push(`<text x="${(p.x + w + 4).toFixed(1)}" y="${y + 15}">${fmtInt(r[p.key])}${esc(ratio)}</text>`);
    });
  }
  rows.forEach((r, i) => {
    out.push(`<text x="${labelW - 8}" y="${top + i * rowH + 15}" text-anchor="end">${esc(r.name)}</text>`);
  });
  out.push(
    `<text x="10" y="${height - 24}" fill="#555">grey: floor (raw NDJSON client + raw server) · blue: MCP SDK clients · green: switchboard · orange: peer gateways; (×) = ratio to floor</text>`,
    `<text x="10" y="${height - 8}" fill="#555">"+undici" rows are driven by a raw keep-alive undici Pool, the other peer rows by the SDK 2.x client</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
