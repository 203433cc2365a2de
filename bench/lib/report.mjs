// Rendering of the summary rows: plain-text tables (one per scenario) and an SVG bar chart.

const fmtInt = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtNum = (digits) => (v) => (v === null || v === undefined ? '-' : v.toFixed(digits));
export const fmtBytes = (v) =>
  v >= 1e6 ? `${+(v / 1e6).toFixed(1)} MB` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)} KB` : `${v} B`;
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

/** The lines of a growth row: one per size, with that size's figures under their plain names. */
function growthLines(r, sizes) {
  if (r.status !== 'ok') return [r];
  return sizes.map((size) => {
    const line = { name: r.name, size, status: 'ok', ratios: {} };
    const tail = `@${size}`;
    for (const [key, value] of Object.entries(r))
      if (key.endsWith(tail)) line[key.slice(0, -tail.length)] = value;
    return line;
  });
}

const GREEN = '#16a34a';
const TEAL = '#0d9488';
const GREY = '#6b7280';
const ORANGE = '#ea580c';

/**
 * The "how cost grows" scenarios (lib/growth.mjs): a table with one line per row and size, and a chart
 * of their own (line charts of a figure against the size, log x axis). `target` on a panel draws the
 * limit a figure may reach, as a multiple of the series' figure at the smallest size.
 */
const GROWTH_SECTIONS = [
  {
    scenario: 'sessions',
    title: 'Gateway sessions: N 2025-era sessions open at /servers/s0/mcp, calls spread over them',
    refs: {},
    growth: { sizes: (cfg) => cfg.sizes.sessions, x: 'sessions open' },
    columns: [
      ['contender', (r) => r.name],
      ['sessions', (r) => fmtInt(r.size)],
      ['p50 µs', (r) => fmtInt(r.p50Us)],
      ['p50 / 1-size', (r) => fmtRatio(r.p50UsToFirst)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['calls/s / 1-size', (r) => fmtRatio(r.callsPerSecToFirst)],
      ['p50 µs @64', (r) => fmtInt(r.loadedP50Us)],
      ['heap KB / session', (r) => fmtNum(1)(r.heapPerSessionKB)],
      ['RSS KB / session', (r) => fmtNum(1)(r.rssPerSessionKB)],
      ['gateway RSS MB', (r) => fmtInt(r.gatewayRssMB)],
      ['open s', (r) => fmtNum(2)(r.openMs / 1000)],
    ],
    panels: [
      {
        title: 'p50 latency, concurrency 1 (µs)',
        series: [{ row: 'gateway-sessions', key: 'p50Us', label: 'gateway', color: ORANGE, target: 1.1 }],
      },
      {
        title: 'throughput, 64 callers over the sessions (calls/s)',
        series: [
          { row: 'gateway-sessions', key: 'callsPerSec', label: 'gateway', color: ORANGE, target: 0.9 },
        ],
      },
      {
        // The whole process, not per session: over 1 or 10 sessions the growth is within the collector's
        // noise; its slope up to 1,000 is the cost of a session (the table divides it out).
        title: 'gateway memory with the sessions open, after full GCs (MB)',
        series: [
          { row: 'gateway-sessions', key: 'gatewayHeapMB', label: 'heap used', color: ORANGE, digits: 1 },
          { row: 'gateway-sessions', key: 'gatewayRssMB', label: 'RSS', color: GREY, digits: 1 },
        ],
      },
    ],
  },
  {
    scenario: 'upstreams',
    title:
      'Upstreams: N configured and started; calls to one of them, and spread over all; the floor client beside N-1 idle processes (and spread over N) as control',
    refs: {},
    growth: { sizes: (cfg) => cfg.sizes.upstreams, x: 'upstreams started' },
    columns: [
      ['contender', (r) => r.name],
      ['servers', (r) => fmtInt(r.size)],
      ['p50 µs', (r) => fmtInt(r.p50Us)],
      ['p50 / 1', (r) => fmtRatio(r.p50UsToFirst)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['calls/s / 1', (r) => fmtRatio(r.callsPerSecToFirst)],
      ['spread p50 µs', (r) => fmtInt(r.spreadP50Us)],
      ['spread calls/s', (r) => fmtInt(r.spreadCallsPerSec)],
      ['spread calls/s / 1', (r) => fmtRatio(r.spreadCallsPerSecToFirst)],
      ['net p50 / 1', (r) => fmtRatio(r.netP50UsToFirst)],
      ['net calls/s / 1', (r) => fmtRatio(r.netCallsPerSecToFirst)],
      ['net spread calls/s / 1', (r) => fmtRatio(r.netSpreadCallsPerSecToFirst)],
      ['start s', (r) => fmtNum(1)(r.startMs / 1000)],
      ['idle after s', (r) => fmtNum(1)(r.quietMs / 1000)],
      ['upstreams RSS MB', (r) => fmtInt(r.upstreamRssMB)],
    ],
    panels: [
      {
        title: 'p50 latency, concurrency 1 (µs)',
        series: [
          {
            row: 'switchboard-upstreams',
            key: 'p50Us',
            label: 'switchboard, one called',
            color: GREEN,
            target: 1.1,
          },
          { row: 'switchboard-upstreams', key: 'spreadP50Us', label: 'switchboard, spread', color: TEAL },
          { row: 'floor-upstreams', key: 'p50Us', label: 'floor, one called', color: GREY },
          { row: 'floor-upstreams', key: 'spreadP50Us', label: 'floor, spread', color: '#9ca3af' },
        ],
      },
      {
        title: 'throughput, 64 callers (calls/s)',
        series: [
          {
            row: 'switchboard-upstreams',
            key: 'callsPerSec',
            label: 'switchboard, one called',
            color: GREEN,
            target: 0.9,
          },
          {
            row: 'switchboard-upstreams',
            key: 'spreadCallsPerSec',
            label: 'switchboard, spread',
            color: TEAL,
          },
          { row: 'floor-upstreams', key: 'callsPerSec', label: 'floor, one called', color: GREY },
          { row: 'floor-upstreams', key: 'spreadCallsPerSec', label: 'floor, spread', color: '#9ca3af' },
        ],
      },
    ],
  },
  {
    scenario: 'catalog',
    title: 'Catalog size: one upstream listing N tools, through the gateway (/mcp, one session)',
    refs: {},
    growth: { sizes: (cfg) => cfg.sizes.catalog, x: 'tools listed' },
    columns: [
      ['contender', (r) => r.name],
      ['tools', (r) => fmtInt(r.size)],
      ['tools/list ms', (r) => fmtNum(2)(r.listMs)],
      ['pages', (r) => fmtInt(r.listPages)],
      ['list µs / tool', (r) => fmtNum(2)(r.listUsPerTool)],
      ['call p50 µs', (r) => fmtInt(r.p50Us)],
      ['p50 / 10-size', (r) => fmtRatio(r.p50UsToFirst)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['calls/s / 10-size', (r) => fmtRatio(r.callsPerSecToFirst)],
      ['gateway RSS MB', (r) => fmtInt(r.gatewayRssMB)],
      ['gateway heap MB', (r) => fmtNum(1)(r.gatewayHeapMB)],
      ['start s', (r) => fmtNum(2)(r.startMs / 1000)],
    ],
    panels: [
      {
        title: 'call by name: p50 latency, concurrency 1 (µs)',
        series: [{ row: 'gateway-catalog', key: 'p50Us', label: 'gateway', color: ORANGE, target: 1.1 }],
      },
      {
        title: 'call by name: throughput, 64 callers (calls/s)',
        series: [
          { row: 'gateway-catalog', key: 'callsPerSec', label: 'gateway', color: ORANGE, target: 0.9 },
        ],
      },
      {
        title: 'tools/list, every page: µs per tool',
        series: [
          { row: 'gateway-catalog', key: 'listUsPerTool', label: 'gateway', color: ORANGE, digits: 2 },
        ],
      },
    ],
  },
  {
    scenario: 'message-size',
    title: 'Message size: the echo carries a payload out and back; MB/s = payload bytes echoed per second',
    refs: {},
    growth: { sizes: (cfg) => cfg.sizes.message, x: 'payload bytes', bytes: true },
    columns: [
      ['contender', (r) => r.name],
      ['payload', (r) => fmtBytes(r.size)],
      ['MB/s', (r) => fmtNum(1)(r.mbPerSec)],
      ['MB/s / floor', (r) => fmtRatio(r.mbPerSecToFloor)],
      ['calls/s', (r) => fmtInt(r.callsPerSec)],
      ['p50 µs @1', (r) => fmtInt(r.p50Us)],
      ['p50 / floor', (r) => fmtRatio(r.p50UsToFloor)],
      ['p50 µs @c', (r) => fmtInt(r.loadedP50Us)],
      ['calls (c=1, c)', (r) => `${fmtInt(r.latencyCalls)}, ${fmtInt(r.throughputCalls)}`],
    ],
    panels: [
      {
        title: 'throughput (MB/s of payload echoed)',
        series: [
          { row: 'floor-message', key: 'mbPerSec', label: 'floor', color: GREY, digits: 1 },
          {
            row: 'switchboard-inline-message',
            key: 'mbPerSec',
            label: 'switchboard inline',
            color: GREEN,
            digits: 1,
          },
          {
            row: 'switchboard-thread-message',
            key: 'mbPerSec',
            label: 'switchboard thread',
            color: TEAL,
            digits: 1,
          },
        ],
      },
      {
        title: "MB/s as a share of the floor's (per size, round by round)",
        series: [
          {
            row: 'switchboard-inline-message',
            key: 'mbPerSecToFloor',
            label: 'switchboard inline',
            color: GREEN,
            digits: 2,
            limit: 0.9,
          },
          {
            row: 'switchboard-thread-message',
            key: 'mbPerSecToFloor',
            label: 'switchboard thread',
            color: TEAL,
            digits: 2,
            limit: 0.4,
          },
        ],
        ratioAxis: true,
      },
    ],
  },
].map((s) => ({ ...s, expand: (r, cfg) => growthLines(r, s.growth.sizes(cfg)) }));

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
  ...GROWTH_SECTIONS,
];

/** A plain-text table; a row that did not run shows its status and reason after its name columns. */
export function renderTable(rows, columns) {
  // The leading name columns stay on every row; figures are right-aligned.
  let keep = 0;
  while (keep < columns.length && NAME.some(([h]) => h === columns[keep][0])) keep++;
  const cells = rows.map((r) => {
    if (r.status === 'ok') return columns.map(([, get]) => get(r));
    const why = `${r.status}: ${r.reason}`.replace(/\s+/g, ' ');
    return [
      ...columns.slice(0, keep).map(([, get]) => get(r)),
      why.length > 90 ? `${why.slice(0, 89)}…` : why,
    ];
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
        const suffix =
          ratio && Math.abs(r.ratios[p.ratio] - 1) > 1e-9 ? ` (${fmtRatio(r.ratios[p.ratio])})` : '';
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

/** `text` in lines of at most `max` characters, broken at spaces. */
function wrap(text, max) {
  const lines = [''];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + word.length > max) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines;
}

/** The least of 1, 2, 2.5, 5 times a power of ten at or above `v`. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v * (1 - 1e-12));
}

const fmtAxis = (v) => (Math.abs(v) >= 100 || v === 0 ? fmtInt(v) : +v.toPrecision(3));

/**
 * A growth scenario's chart: one panel per figure, side by side; in each, one line per series (a row's
 * figure at each size, median over rounds) against the size on a log x axis, y from 0. A series with a
 * `target` gets a dashed line at that multiple of its figure at the smallest size: flat within the
 * target means the line stays on its side of it.
 */
export function renderGrowthSvg(section, rowsByName, sizes, { title, subtitle }) {
  const panelW = 380;
  const panelH = 230;
  const padL = 64;
  const padR = 26;
  const width = 10 + section.panels.length * (padL + panelW + padR);
  const heading = wrap(section.title, Math.floor((width - 20) / 7.5));
  const top = 80 + 16 * heading.length;
  const sorted = [...sizes].sort((a, b) => a - b);
  const first = sorted[0];
  const lx = Math.log10;
  const x0 = lx(first);
  const x1 = lx(sorted.at(-1));
  const legendRows = Math.max(
    ...section.panels.map((p) => p.series.length + p.series.filter((s) => s.target).length),
  );
  const height = top + panelH + 44 + legendRows * 16 + 40;
  const sizeLabel = (v) => (section.growth.bytes ? fmtBytes(v) : fmtInt(v));
  const out = [];
  section.panels.forEach((p, k) => {
    const ox = 10 + k * (padL + panelW + padR) + padL;
    const lines = p.series.map((s) => {
      const r = rowsByName.get(s.row);
      const pts =
        r?.status === 'ok'
          ? sorted
              .map((size) => ({ size, v: r[`${s.key}@${size}`] }))
              .filter((pt) => typeof pt.v === 'number' && Number.isFinite(pt.v))
          : [];
      // A target relative to the series' own first point, or an absolute one (`limit`: a ratio's bound).
      const limit = s.limit ?? (s.target && pts[0]?.size === first ? pts[0].v * s.target : undefined);
      return { s, pts, limit, status: r ? r.status : 'not run' };
    });
    const values = lines.flatMap((l) => [
      ...l.pts.map((pt) => pt.v),
      ...(l.limit === undefined ? [] : [l.limit]),
    ]);
    const ymax = niceCeil(Math.max(1e-9, ...values, p.ratioAxis ? 1 : 0) * 1.12);
    // A figure below 0 (memory growth over one session is within the collector's noise) gets room too.
    const least = Math.min(0, ...values);
    const ymin = least < 0 ? -niceCeil(-least * 1.12) : 0;
    const X = (size) => ox + (x1 === x0 ? panelW / 2 : ((lx(size) - x0) / (x1 - x0)) * panelW);
    const Y = (v) => top + panelH - ((v - ymin) / (ymax - ymin)) * panelH;
    out.push(`<text x="${ox}" y="${top - 12}" fill="#333">${esc(p.title)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = ymin + ((ymax - ymin) * i) / 4;
      out.push(`<line x1="${ox}" y1="${Y(v)}" x2="${ox + panelW}" y2="${Y(v)}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${ox - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${esc(fmtAxis(v))}</text>`);
    }
    for (const size of sorted) {
      out.push(
        `<line x1="${X(size)}" y1="${top}" x2="${X(size)}" y2="${top + panelH + 4}" stroke="#e5e7eb"/>`,
      );
      out.push(
        `<text x="${X(size)}" y="${top + panelH + 18}" text-anchor="middle" fill="#555">${esc(sizeLabel(size))}</text>`,
      );
    }
    out.push(`<rect x="${ox}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
    out.push(
      `<text x="${ox + panelW / 2}" y="${top + panelH + 34}" text-anchor="middle" fill="#555">${esc(section.growth.x)} (log scale)</text>`,
    );
    if (p.ratioAxis) {
      out.push(
        `<line x1="${ox}" y1="${Y(1)}" x2="${ox + panelW}" y2="${Y(1)}" stroke="${GREY}" stroke-dasharray="2 3"/>`,
      );
    }
    const legend = [];
    for (const { s, pts, limit, status } of lines) {
      if (limit !== undefined) {
        out.push(
          `<line x1="${ox}" y1="${Y(limit).toFixed(1)}" x2="${ox + panelW}" y2="${Y(limit).toFixed(1)}" stroke="${s.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`,
        );
        const word = (s.target ?? s.limit) >= 1 ? 'at most' : 'at least';
        const what =
          s.limit === undefined
            ? `${s.target.toFixed(2)}x its figure at ${sizeLabel(first)}`
            : `${s.limit}x at every size`;
        legend.push([s.color, `- - target: ${s.label} ${word} ${what}`]);
      }
      if (pts.length > 1) {
        const path = pts.map((pt) => `${X(pt.size).toFixed(1)},${Y(pt.v).toFixed(1)}`).join(' ');
        out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      }
      for (const pt of pts) {
        out.push(
          `<circle cx="${X(pt.size).toFixed(1)}" cy="${Y(pt.v).toFixed(1)}" r="3.5" fill="${s.color}"/>`,
        );
        if (p.series.length <= 2) {
          const shown = s.digits ? pt.v.toFixed(s.digits) : fmtInt(pt.v);
          out.push(
            `<text x="${X(pt.size).toFixed(1)}" y="${(Y(pt.v) - 8).toFixed(1)}" text-anchor="middle" font-size="11">${esc(shown)}</text>`,
          );
        }
      }
      legend.push([s.color, `${s.label}${status === 'ok' ? '' : ` (${status})`}`]);
    }
    legend.forEach(([color, text], i) => {
      const y = top + panelH + 52 + i * 16;
      out.push(`<rect x="${ox}" y="${y - 9}" width="12" height="10" fill="${color}"/>`);
      out.push(`<text x="${ox + 18}" y="${y}">${esc(text)}</text>`);
    });
  });
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
    ...heading.map(
      (line, i) => `<text x="10" y="${58 + 16 * i}" font-size="13" font-weight="bold">${esc(line)}</text>`,
    ),
    ...out,
    `<text x="10" y="${height - 10}" fill="#555">each point: median over rounds; ratios (and targets) are taken round by round against the smallest size of the same row; x axis: log scale</text>`,
    '</svg>',
  ].join('\n')}\n`;
}

// ------------------------------------------------------------ machine and verdicts ----

/**
 * Other work using this many cores, on average, between two samples means it shared the machine with the
 * figures: no target is judged. Measured as CPU time outside the bench's own process tree (/proc), not as
 * the load average, which the bench raises by itself: 64 callers keep a client and its upstream
 * runnable, and a row that starts 256 upstreams puts hundreds of processes in the run queue.
 */
export const BUSY_CPU = 0.2;
/** The load average the issue named as the mark of a busy machine; still recorded and shown beside. */
export const LOAD_MARK = 1.5;

/**
 * One sample: the 1/5/15-minute load averages, labelled with when it was taken, and the cores other
 * work used since the sample before (null for the first, or without /proc).
 */
export const loadSample = (at, loadavg, otherCores = null) => ({
  at,
  loadAvg: loadavg.map((x) => +x.toFixed(2)),
  otherCores: otherCores === null ? null : +otherCores.toFixed(3),
});

/**
 * Whether other work shared the machine: the most cores it used between two samples, against `limit`.
 * Where /proc gives no figure, the load average decides, against LOAD_MARK.
 */
export function busyOf(samples, limit = BUSY_CPU) {
  const peak = Math.max(...samples.map((s) => s.loadAvg[0]));
  const others = samples.map((s) => s.otherCores).filter((v) => v !== null);
  const peakOther = others.length > 0 ? Math.max(...others) : null;
  return {
    limit,
    peakLoadAvg1: peak,
    peakOtherCores: peakOther,
    busy: peakOther === null ? peak >= LOAD_MARK : peakOther >= limit,
  };
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
  const other = (s) => `${s.at} ${s.otherCores === null ? '-' : s.otherCores.toFixed(2)}`;
  const lines = [
    `machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}`,
    `load average (1 min; the bench's own processes count in it): ${machine.loadSamples.map(fmt).join(', ')}`,
    `other work, cores used outside the bench's processes since the sample before: ${machine.loadSamples.map(other).join(', ')}`,
  ];
  if (load.peakLoadAvg1 >= LOAD_MARK)
    lines.push(`load average passed ${LOAD_MARK}: up to ${load.peakLoadAvg1.toFixed(2)}`);
  if (load.busy) lines.push(`busy machine: ${busyWhy(load)}: targets are not judged`);
  return lines.join('\n');
}

/** Why a run counts as busy, in words. */
export function busyWhy(load) {
  return load.peakOtherCores === null
    ? `load average ${load.peakLoadAvg1.toFixed(2)} (>= ${LOAD_MARK}; no /proc to tell other work apart)`
    : `other work used ${load.peakOtherCores.toFixed(2)} cores (>= ${load.limit})`;
}
