// Rendering of the summary rows: plain-text tables (one per scenario) and an SVG bar chart.

const fmtInt = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtNum = (digits) => (v) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const fmtRatio = (v) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '-'
    : `${v < 0.1 ? v.toPrecision(2) : v.toFixed(2)}x`;

/** The paths an interleaved row measured, from its `p50Us:<path>` figures. */
export const pathsOf = (r) =>
  Object.keys(r)
    .filter((k) => k.startsWith('p50Us:'))
    .map((k) => k.slice('p50Us:'.length));

const NAME = [
  ['contender', (r) => r.name],
  ['transport', (r) => r.transport],
  ['client', (r) => r.client],
];

/** Per scenario: its title, the rows its ratios are taken against, its table and its chart panels. */
export const SECTIONS = [
  {
    scenario: 'single',
    title: 'One upstream: one echo tools/call',
    refs: { floor: 'floor', sdk: 'sdk2-stdio' },
    columns: [
      ...NAME,
      ['p50 µs', (r) => fmtInt(r.p50Us)],
      ['p99 µs', (r) => fmtInt(r.p99Us)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['p50 / floor', (r) => fmtRatio(r.ratios.p50ToFloor)],
      ['calls/s / floor', (r) => fmtRatio(r.ratios.throughputToFloor)],
      ['p50 / sdk2', (r) => fmtRatio(r.ratios.p50ToSdk)],
      ['calls/s / sdk2', (r) => fmtRatio(r.ratios.throughputToSdk)],
    ],
    panels: [
      { key: 'p50Us', ratio: 'p50ToFloor', title: 'p50 latency, concurrency 1 (µs, lower is better)' },
      {
        key: 'callsPerSec',
        ratio: 'throughputToFloor',
        title: 'throughput, concurrency 64 (calls/s, higher is better)',
      },
    ],
  },
  {
    scenario: 'fanout',
    title: 'Fan-out: the callers of one process spread over N upstreams',
    refs: { floor: 'floor-fanout', sdk: 'sdk2-fanout' },
    columns: [
      ...NAME,
      ['servers', (r) => fmtInt(r.servers)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['p50 µs @64', (r) => fmtInt(r.loadedP50Us)],
      ['p99 µs @64', (r) => fmtInt(r.loadedP99Us)],
      ['p50 µs @1', (r) => fmtInt(r.p50Us)],
      ['calls/s / floor', (r) => fmtRatio(r.ratios.throughputToFloor)],
      ['calls/s / sdk2', (r) => fmtRatio(r.ratios.throughputToSdk)],
      ['p50@64 / floor', (r) => fmtRatio(r.ratios.loadedP50ToFloor)],
    ],
    panels: [
      {
        key: 'callsPerSec',
        ratio: 'throughputToFloor',
        title: 'throughput, 64 callers over N servers (calls/s)',
      },
      { key: 'loadedP50Us', ratio: 'loadedP50ToFloor', title: 'p50 latency under that load (µs)' },
    ],
  },
  {
    scenario: 'scale',
    title:
      'Routing cost against configured servers: calls to one server, 1 or N configured and started; the floor beside N-1 idle processes as control',
    refs: { perRowRef: true },
    columns: [
      ['contender', (r) => r.name],
      ['client', (r) => r.client],
      ['servers', (r) => fmtInt(r.servers)],
      ['p50 µs', (r) => fmtInt(r.p50Us)],
      ['p99 µs', (r) => fmtInt(r.p99Us)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['p50 / its 1-row', (r) => fmtRatio(r.ratios.p50ToOne)],
      ['calls/s / its 1-row', (r) => fmtRatio(r.ratios.throughputToOne)],
      ['start s', (r) => fmtNum(1)(r.startMs / 1000)],
      ['idle after s', (r) => fmtNum(1)(r.quietMs / 1000)],
      // Over one server, the start-up's own garbage outweighs it: shown for N only.
      ['host heap KB / server', (r) => (r.servers > 1 ? fmtInt(r.hostHeapPerServerKB) : '-')],
      ['upstreams RSS MB', (r) => fmtInt(r.upstreamRssMB)],
    ],
    panels: [
      { key: 'p50Us', ratio: 'p50ToOne', title: 'p50 latency, concurrency 1 (µs)' },
      { key: 'callsPerSec', ratio: 'throughputToOne', title: 'throughput, concurrency 64 (calls/s)' },
    ],
  },
  {
    scenario: 'interleaved',
    title: 'p50 at concurrency 1, interleaved: the paths open at once, called in alternating short blocks',
    refs: {},
    // One measured row holds every path's figures; it is shown as one line per path.
    expand: (r) =>
      r.status !== 'ok'
        ? [r]
        : pathsOf(r).map((path) => ({
            name: r.name === 'c1-interleaved' ? path : `${path} (${r.name})`,
            status: 'ok',
            blocks: r.blocks,
            callsPerBlock: r.callsPerBlock,
            p50Us: r[`p50Us:${path}`],
            ratios: { p50ToFloor: r[`toFloor:${path}`] },
          })),
    columns: [
      ['contender', (r) => r.name],
      ['blocks', (r) => fmtInt(r.blocks)],
      ['calls / block', (r) => fmtInt(r.callsPerBlock)],
      ['p50 µs', (r) => fmtInt(r.p50Us)],
      ['p50 / floor (per block)', (r) => fmtRatio(r.ratios.p50ToFloor)],
    ],
    panels: [{ key: 'p50Us', ratio: 'p50ToFloor', title: 'p50 latency, concurrency 1, interleaved (µs)' }],
  },
  {
    scenario: 'memory',
    title: 'Memory per upstream in the host process (fresh process per sample)',
    refs: {},
    columns: [
      ['contender', (r) => r.name],
      ['transport', (r) => r.transport],
      ['upstreams', (r) => fmtInt(r.upstreams)],
      ['RSS MB / upstream', (r) => fmtNum(2)(r.rssPerUpstreamMB)],
      ['heap KB / upstream', (r) => fmtInt(r.heapPerUpstreamKB)],
    ],
    panels: [{ key: 'rssPerUpstreamMB', title: 'RSS per upstream (MB, lower is better)', digits: 2 }],
  },
];

/** A plain-text table; a row that did not run shows its status and reason after its name columns. */
export function renderTable(rows, columns) {
  // The leading name columns stay on every row; figures are right-aligned.
  let keep = 0;
  while (keep < columns.length && NAME.some(([h]) => h === columns[keep][0])) keep++;
  const cells = rows.map((r) => {
    if (r.status === 'ok') return columns.map(([, get]) => get(r));
    const why = `${r.status}: ${r.reason}`.replace(/\s+/g, ' ');
    return [...columns.slice(0, keep).map(([, get]) => get(r)), why.length > 90 ? `${why.slice(0, 89)}…` : why];
  });
  const full = (c) => c.length === columns.length;
  const widths = columns.map(([h], i) =>
    Math.max(h.length, ...cells.filter((c) => i < keep || full(c)).map((c) => c[i].length)),
  );
  const line = (c) =>
    full(c)
      ? c.map((v, i) => (i >= keep ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ')
      : c
          .slice(0, keep)
          .map((v, i) => v.padEnd(widths[i]))
          .concat(c[keep])
          .join('  ');
  const header = line(columns.map(([h]) => h));
  return [header, '-'.repeat(header.length), ...cells.map(line)].join('\n');
}

const esc = (s) =>
  String(s).replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]);

function colorOf(r) {
  if (r.name.startsWith('floor')) return '#6b7280';
  if (r.name.includes('@baseline')) return '#86efac';
  if (r.name.startsWith('switchboard') || r.name.startsWith('memory')) return '#16a34a';
  if (r.name.startsWith('sdk')) return '#2563eb';
  return '#ea580c';
}

/** One block of horizontal bar panels per scenario, stacked. */
export function renderSvg(sections, { title, subtitle }) {
  const labelW = 250;
  const panelW = 300;
  const gap = 130;
  const rowH = 22;
  const width = labelW + 2 * (panelW + gap);
  const out = [];
  let y = 56;
  for (const { title: sectionTitle, rows, panels } of sections) {
    if (rows.length === 0) continue;
    y += 14;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(sectionTitle)}</text>`);
    y += 22;
    const top = y + 8;
    panels.forEach((p, k) => {
      const x = labelW + k * (panelW + gap);
      const max = Math.max(1e-9, ...rows.filter((r) => r.status === 'ok').map((r) => r[p.key] ?? 0));
      out.push(`<text x="${x}" y="${top - 6}" fill="#333">${esc(p.title)}</text>`);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + rows.length * rowH}" stroke="#999"/>`);
      rows.forEach((r, i) => {
        const ry = top + i * rowH;
        if (r.status !== 'ok') {
          out.push(`<text x="${x + 4}" y="${ry + 15}" fill="#999">${esc(r.status)}</text>`);
          return;
        }
        const v = r[p.key] ?? 0;
        const w = Math.max(1, (v / max) * panelW);
        out.push(
          `<rect x="${x}" y="${ry + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colorOf(r)}"/>`,
        );
        const ratio = p.ratio && r.ratios[p.ratio] !== null && r.ratios[p.ratio] !== undefined;
        const shown = p.digits ? v.toFixed(p.digits) : fmtInt(v);
        const suffix = ratio && Math.abs(r.ratios[p.ratio] - 1) > 1e-9 ? ` (${fmtRatio(r.ratios[p.ratio])})` : '';
        out.push(`<text x="${(x + w + 4).toFixed(1)}" y="${ry + 15}">${esc(shown + suffix)}</text>`);
      });
    });
    rows.forEach((r, i) => {
      out.push(`<text x="${labelW - 8}" y="${top + i * rowH + 15}" text-anchor="end">${esc(r.name)}</text>`);
    });
    y = top + rows.length * rowH + 10;
  }
  const height = y + 44;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
    ...out,
    `<text x="10" y="${height - 24}" fill="#555">grey: floor (raw NDJSON client + raw server) · blue: MCP SDK clients · green: switchboard · orange: peer gateways; (×) = ratio to the section's reference row</text>`,
    `<text x="10" y="${height - 8}" fill="#555">"+undici" rows are driven by a raw keep-alive undici Pool, the other peer rows by the SDK 2.x client; @64 = with 64 callers in flight</text>`,
    '</svg>',
  ].join('\n')}\n`;
}

// ------------------------------------------------------------ machine and verdicts ----

/** A load average (1-minute) at or over this means other work shared the machine: targets are not judged. */
export const BUSY_LOAD = 1.5;

/** One sample of the 1/5/15-minute load averages, labelled with when it was taken. */
export const loadSample = (at, loadavg) => ({ at, loadAvg: loadavg.map((x) => +x.toFixed(2)) });

/** The highest 1-minute load average among the samples, and whether it reached `limit`. */
export function busyOf(samples, limit = BUSY_LOAD) {
  const peak = Math.max(...samples.map((s) => s.loadAvg[0]));
  return { limit, peakLoadAvg1: peak, busy: peak >= limit };
}

/**
 * Each target's verdict: `met` is true or false only when the figure was measured on a quiet machine;
 * on a busy one it is null and the verdict says so.
 */
export function judgeTargets(targets, { busy }) {
  return Object.fromEntries(
    Object.entries(targets).map(([key, { value, target, better }]) => {
      const met = value === null ? null : better === 'lower' ? value <= target : value >= target;
      const verdict =
        value === null ? 'not measured' : busy ? 'not judged: busy machine' : met ? 'met' : 'not met';
      return [key, { value, target, better, met: busy ? null : met, verdict }];
    }),
  );
}

/** The header printed above the tables: the machine, its load averages, and the busy-machine warning. */
export function renderMachine(machine, load) {
  const fmt = (s) => `${s.at} ${s.loadAvg[0].toFixed(2)}`;
  const lines = [
    `machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}`,
    `load average (1 min): ${machine.loadSamples.map(fmt).join(', ')}`,
  ];
  if (load.busy) {
    lines.push(
      `busy machine: load average ${load.peakLoadAvg1.toFixed(2)} (>= ${load.limit}): targets are not judged`,
    );
  }
  return lines.join('\n');
}
