// What thread isolation costs against inline, per upstream: memory in this process, and call latency.
// Run: node --expose-gc bench/isolation.mjs [--servers 16] [--calls 3000]
import { parseArgs } from 'node:util';
import { Switchboard } from '../dist/src/index.js';

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '16' },
    calls: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    'memory-of': { type: 'string' },
  },
});
const SERVERS = Number(values.servers);
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const FIXTURE = new URL('../test/fixtures/echo-server.mjs', import.meta.url).pathname;

const gc = globalThis.gc ?? (() => {});
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function config(isolation, n) {
  return { mcpServers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { command: process.execPath, args: [FIXTURE, `s${i}`], isolation, maxInFlight: 64 }])) };
}

async function memory(isolation) {
  await settle();
  const before = process.memoryUsage();
  const sb = await Switchboard.start(config(isolation, SERVERS));
  await Promise.all(Array.from({ length: SERVERS }, (_, i) => sb.callTool(`s${i}`, 'echo', { nonce: 'warm' })));
  await settle();
  const after = process.memoryUsage();
  await sb.close();
  return { rssPerUpstreamMB: (after.rss - before.rss) / SERVERS / 2 ** 20, heapPerUpstreamKB: (after.heapUsed - before.heapUsed) / SERVERS / 1024 };
}

async function latency(isolation) {
  const sb = await Switchboard.start(config(isolation, 1));
  for (let i = 0; i < 300; i++) await sb.callTool('s0', 'echo', { nonce: `w${i}` });
  const samples = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    const r = await sb.callTool('s0', 'echo', { nonce: `n${i}` });
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
    if (r.structuredContent.nonce !== `n${i}`) throw new Error('misrouted');
  }
  samples.sort((a, b) => a - b);
  // Throughput: 64 callers, one server.
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next++ < CALLS) await sb.callTool('s0', 'echo', { nonce: 'x' });
  }));
  const perSecond = CALLS / ((performance.now() - t0) / 1000);
  await sb.close();
  return { p50: pct(samples, 0.5), p99: pct(samples, 0.99), perSecond };
}

// Memory is measured in a fresh process per sample, so nothing left by another sample blurs it.
if (values['memory-of']) {
  console.log(JSON.stringify(await memory(values['memory-of'])));
  process.exit(0);
}
function memoryInFreshProcess(iso) {
  const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-of', iso, '--servers', String(SERVERS)], { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const results = { inline: [], thread: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const iso of round % 2 ? ['thread', 'inline'] : ['inline', 'thread']) {
    results[iso].push({ ...memoryInFreshProcess(iso), ...(await latency(iso)) });
  }
}
const rows = Object.entries(results).map(([iso, rs]) => ({
  isolation: iso,
  'p50 µs': median(rs.map((r) => r.p50)).toFixed(0),
  'p99 µs': median(rs.map((r) => r.p99)).toFixed(0),
  'calls/s @64': median(rs.map((r) => r.perSecond)).toFixed(0),
  'RSS MB/upstream': median(rs.map((r) => r.rssPerUpstreamMB)).toFixed(2),
  'heap KB/upstream': median(rs.map((r) => r.heapPerUpstreamKB)).toFixed(0),
}));
console.log(`isolation cost: ${SERVERS} upstreams for memory, ${CALLS} sequential calls for latency, median of ${ROUNDS} rounds, node ${process.version}`);
console.table(rows);
