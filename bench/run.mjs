#!/usr/bin/env node
// Benchmark harness. Per contender and round: latency (p50/p99 at concurrency 1) and throughput
// (calls/s at concurrency 64, with the latency of each call under that load) of one `echo` tool call,
// or a measurement of its own (memory, and the growth rows). Scenarios: one upstream, fan-out over N
// upstreams, interleaved p50, memory per upstream, and how cost grows (lib/growth.mjs) with gateway
// sessions, upstreams started, catalog size and message size. Rounds run in shuffled order; medians
// over rounds are reported, with ratios to each scenario's reference rows from the same run.
//
//   node bench/run.mjs [--smoke] [--only a,b] [--scenarios s,t] [--rounds N] [--calls N]
//                      [--baseline DIR] [--out results/name] [--busy-cpu X]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { baselineContenders, contenders as mainContenders } from './lib/contenders.mjs';
import { at, growthContenders } from './lib/growth.mjs';
import { measureCalls, median, nsToUs, shuffle, withTimeout } from './lib/measure.mjs';
import { cpuTicks, killAllPeers, otherCores, peerOptions, SkipError } from './lib/procs.mjs';
import {
  BUSY_CPU,
  busyWhy,
  busyOf,
  fmtBytes,
  judgeTargets,
  loadSample,
  pathsOf,
  renderGrowthSvg,
  renderMachine,
  renderSvg,
  renderTable,
  SECTIONS,
} from './lib/report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    calls: { type: 'string' },
    baseline: { type: 'string' },
    out: { type: 'string' },
    'busy-cpu': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const allContenders = [...mainContenders, ...growthContenders];
const contenders = args.baseline
  ? [...allContenders, ...baselineContenders(resolve(args.baseline))]
  : allContenders;
const SCENARIO_NAMES = SECTIONS.map((s) => s.scenario);
// `scale` (1 vs 256 servers started) grew into `upstreams` (1, 16, 64, 256): the old name still selects it.
const SCENARIO_ALIASES = { scale: 'upstreams' };

if (args.help) {
  console.log(`usage: node bench/run.mjs [--smoke] [--only name,name] [--scenarios ${SCENARIO_NAMES.join(',')}]
                         [--rounds N] [--calls N] [--baseline DIR] [--out results/NAME] [--busy-cpu X]
contenders: ${contenders.map((c) => c.name).join(', ')}`);
  process.exit(0);
}

const positiveInt = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, got ${v}`);
  return n;
};
const busyCpu = (v) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new Error(`--busy-cpu wants the cores other work may use (a number >= 0), got ${v}`);
  }
  return n;
};
const list = (v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const PROFILES = {
  full: {
    rounds: 3,
    // Steady state: the switchboard paths take ~2,500 calls to be optimized (the floor ~1,000).
    warmupCalls: 5000, // ...or fewer, if latencyCapMs runs out first
    calls: 2000, // latency samples per round (c=1)
    latencyCapMs: 3000, // ...or fewer, if this runs out first
    concurrency: 64,
    throughputWarmupMs: 300,
    throughputMs: 1500, // measured window at c=64
    throughputCapCalls: 400_000,
    fanoutServers: 16,
    memoryUpstreams: 16,
    interleavedBlocks: 40,
    interleavedBlockCalls: 300,
    settleMs: 150,
    setupTimeoutMs: 30_000,
    closeTimeoutMs: 15_000,
    peerTermGraceMs: 3_000,
    measureTimeoutMs: 120_000,
    watchdogMs: 10 * 60_000, // plus watchdogPerRoundMs for each round
    watchdogPerRoundMs: 8 * 60_000,
    lanes: 1, // contenders measured at a time
    // How cost grows (lib/growth.mjs): the sizes of each scenario, smallest first.
    sizes: {
      sessions: [1, 10, 100, 1000],
      upstreams: [1, 16, 64, 256],
      catalog: [10, 100, 1000, 10_000],
      message: [1e3, 1e4, 1e5, 1e6, 1e7],
    },
    // Their measurement of one size: shorter than the rows above (each row measures 4 or 5 sizes, the
    // upstreams rows two patterns at each); the processes under test are fresh at every size.
    growth: {
      warmupCalls: 2000,
      calls: 1000,
      latencyCapMs: 1500,
      throughputWarmupMs: 200,
      throughputMs: 1000,
    },
    // Message size: counts bounded by bytes too (a 10 MB echo moves 20 MB).
    message: {
      concurrency: 4,
      warmupCalls: 500,
      warmupBytes: 30e6,
      calls: 300,
      latencyBytes: 60e6,
      capMs: 1000,
      windowMs: 1000,
      windowBytes: 400e6,
    },
    catalogPageSize: 500, // tools a page in the upstream's tools/list
    catalogLists: 3, // timed tools/list per size (after one untimed)
    quietDeadlineMs: 60_000, // at most this long waiting for freshly started upstreams to go idle
    reapMs: 1_000, // after closing many upstreams, let the kernel reap them
  },
  smoke: {
    rounds: 1,
    warmupCalls: 5,
    calls: 30,
    latencyCapMs: 1000,
    concurrency: 16, // the HTTP peers answer in 100+ ms at 64: draining that would cost more than it proves
    throughputWarmupMs: 20,
    throughputMs: 100,
    throughputCapCalls: 5000,
    fanoutServers: 3,
    memoryUpstreams: 2,
    interleavedBlocks: 2,
    interleavedBlockCalls: 20,
    settleMs: 10,
    setupTimeoutMs: 15_000,
    closeTimeoutMs: 5_000,
    peerTermGraceMs: 250, // supergateway takes over a second to exit on SIGTERM
    measureTimeoutMs: 20_000,
    watchdogMs: 90_000,
    watchdogPerRoundMs: 0,
    // Two contenders at a time: the smoke proves the plumbing, its figures mean nothing.
    lanes: 2,
    sizes: { sessions: [1, 3], upstreams: [1, 3], catalog: [10, 100], message: [1e3, 1e5] },
    growth: { warmupCalls: 5, calls: 20, latencyCapMs: 500, throughputWarmupMs: 20, throughputMs: 80 },
    message: {
      concurrency: 2,
      warmupCalls: 2,
      warmupBytes: 1e6,
      calls: 5,
      latencyBytes: 1e6,
      capMs: 300,
      windowMs: 80,
      windowBytes: 4e6,
    },
    catalogPageSize: 30,
    catalogLists: 1,
    quietDeadlineMs: 500,
    reapMs: 0,
  },
};
const cfg = { ...(args.smoke ? PROFILES.smoke : PROFILES.full) };
if (args.rounds) cfg.rounds = positiveInt(args.rounds, 'rounds');
if (args.calls) cfg.calls = positiveInt(args.calls, 'calls');
cfg.busyCpu = args['busy-cpu'] === undefined ? BUSY_CPU : busyCpu(args['busy-cpu']);
cfg.watchdogMs += cfg.watchdogPerRoundMs * cfg.rounds;
peerOptions.termGraceMs = cfg.peerTermGraceMs;
const outBase = resolve(BENCH, args.out ?? (args.smoke ? 'results/smoke' : 'results/latest'));

let selected = contenders;
if (args.only) {
  const names = list(args.only);
  const unknown = names.filter((n) => !contenders.some((c) => c.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown contender(s): ${unknown.join(', ')}\nknown: ${contenders.map((c) => c.name).join(', ')}`,
    );
    process.exit(2);
  }
  selected = selected.filter((c) => names.includes(c.name));
}
if (args.scenarios) {
  const names = list(args.scenarios).map((n) => SCENARIO_ALIASES[n] ?? n);
  const unknown = names.filter((n) => !SCENARIO_NAMES.includes(n));
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}\nknown: ${SCENARIO_NAMES.join(', ')}`);
    process.exit(2);
  }
  selected = selected.filter((c) => names.includes(c.scenario));
}

// Whatever happens, the harness ends by itself and takes its children with it.
const watchdog = setTimeout(() => {
  console.error(`bench: watchdog fired after ${cfg.watchdogMs} ms; aborting`);
  killAllPeers();
  process.exit(3);
}, cfg.watchdogMs);
watchdog.unref();

const log = (msg) => process.stderr.write(`${msg}\n`);

// Process warnings are shown once per kind and contender, and counted in the
// report (the SDK 2.x HTTP transports trip MaxListenersExceededWarning at c=64:
// one long-lived AbortSignal gets a listener per fetch on Node 20).
let current = cfg.lanes === 1 ? '(harness)' : '(lanes)';
const warnings = new Map();
process.removeAllListeners('warning');
process.on('warning', (w) => {
  const key = `${current}: ${w.name}: ${w.message.replace(/\d+/g, 'N')}`;
  const seen = warnings.get(key);
  if (seen) seen.count++;
  else {
    warnings.set(key, { contender: current, name: w.name, message: w.message, count: 1 });
    log(`  (${current}) ${w.name}: ${w.message} [shown once]`);
  }
});

// A full GC and a short pause between contenders, so one's garbage and
// teardown do not land in the next one's samples.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
async function settle(ms = cfg.settleMs) {
  gc();
  await sleep(ms);
  gc();
}
const ctx = { cfg, settle, gc };

// ------------------------------------------------------------ rounds ----

async function measured(handle) {
  return { ...handle.info?.(), ...(await measureCalls(handle, cfg)) };
}

async function runOnce(c) {
  const failure = (err) =>
    err instanceof SkipError
      ? { status: 'skipped', reason: err.message }
      : { status: 'error', reason: err.message };
  if (c.measure) {
    try {
      const timeoutMs = c.timeoutMs ?? cfg.measureTimeoutMs;
      const res = await withTimeout(
        Promise.resolve().then(() => c.measure({ ...ctx, timeoutMs })),
        timeoutMs + 5_000,
        'measurement',
      );
      return { status: 'ok', ...res };
    } catch (err) {
      return failure(err);
    }
  }
  const t0 = process.hrtime.bigint();
  let handle;
  const setup = Promise.resolve().then(() => c.setup(ctx));
  try {
    handle = await withTimeout(setup, c.setupTimeoutMs ?? cfg.setupTimeoutMs, 'setup');
  } catch (err) {
    // A setup that finishes after its timeout is closed when it does.
    setup
      .then(
        (late) => late?.close(),
        () => {},
      )
      .catch(() => {});
    return failure(err);
  }
  const setupMs = nsToUs(process.hrtime.bigint() - t0) / 1000;
  try {
    return { status: 'ok', setupMs, ...(await measured(handle)) };
  } catch (err) {
    return { status: 'error', reason: err.message };
  } finally {
    await withTimeout(
      Promise.resolve().then(() => handle.close()),
      c.closeTimeoutMs ?? cfg.closeTimeoutMs,
      'close',
    ).catch((err) => log(`  ${c.name}: close failed: ${err.message}`));
  }
}

/** Shuffled units: a contender alone, or the contenders of one `pair`, adjacent and in random order. */
function roundOrder(cs) {
  const units = [];
  const pairs = new Map();
  for (const c of cs) {
    if (!c.pair) units.push([c]);
    else if (pairs.has(c.pair)) pairs.get(c.pair).push(c);
    else {
      const unit = [c];
      pairs.set(c.pair, unit);
      units.push(unit);
    }
  }
  return shuffle(units).flatMap((u) => shuffle(u));
}

function describe(c, res) {
  if (res.status !== 'ok') return `${res.status}: ${res.reason}`;
  if (c.describe) return c.describe(res, cfg);
  if (res.rssPerUpstreamMB !== undefined) {
    return `${res.upstreams} upstreams: ${res.rssPerUpstreamMB.toFixed(2)} MB RSS, ${res.heapPerUpstreamKB.toFixed(0)} KB heap per upstream`;
  }
  if (res.blocks !== undefined) {
    return pathsOf(res)
      .map((path) => `${path} ${res[`p50Us:${path}`].toFixed(0)} µs (${res[`toFloor:${path}`].toFixed(2)}x)`)
      .join(', ');
  }
  const servers = res.servers ? `${res.servers} servers: ` : '';
  return `${servers}p50 ${res.p50Us.toFixed(0)} µs, p99 ${res.p99Us.toFixed(0)} µs, ${res.callsPerSec.toFixed(0)} calls/s (p50 ${res.loadedP50Us.toFixed(0)} µs @${cfg.concurrency})`;
}

const perRound = new Map(selected.map((c) => [c.name, []]));
// The load averages before and after the run and each round, and the cores other work used between
// those points (CPU outside the bench's own process tree): cfg.busyCpu or more in any interval means
// the figures shared the machine, and no target is judged.
// An interval shorter than 0.2 s of every core's clock says nothing (a tick or two either way
// would read as whole cores): it is not measured, and the next sample covers it too.
const MIN_TICKS = 20 * os.cpus().length;
let lastTicks = cpuTicks();
const sample = (at) => {
  const ticks = cpuTicks();
  const long = ticks !== null && lastTicks !== null && ticks.total - lastTicks.total >= MIN_TICKS;
  const other = long ? otherCores(lastTicks, ticks, os.cpus().length) : null;
  if (long) lastTicks = ticks;
  return loadSample(at, os.loadavg(), other);
};
const loadSamples = [sample('start')];
const orders = [];
const started = Date.now();
log(
  `bench: ${selected.length} contender(s), ${cfg.rounds} round(s), ${cfg.calls} latency calls, ` +
    `${cfg.throughputMs} ms at concurrency ${cfg.concurrency}; fan-out over ${cfg.fanoutServers}, ` +
    `memory of ${cfg.memoryUpstreams} upstreams; sessions ${cfg.sizes.sessions.join('/')}, upstreams ` +
    `${cfg.sizes.upstreams.join('/')}, tools ${cfg.sizes.catalog.join('/')}, message bytes ` +
    `${cfg.sizes.message.join('/')}${args.smoke ? ' (smoke)' : ''}`,
);
for (let round = 1; round <= cfg.rounds; round++) {
  loadSamples.push(sample(`round ${round} before`));
  // A contender skipped once (library not built, bench deps missing, not written yet) stays skipped.
  const order = roundOrder(selected.filter((c) => perRound.get(c.name)[0]?.status !== 'skipped'));
  orders.push(order.map((c) => c.name));
  const queue = [...order];
  const lane = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      await settle();
      if (cfg.lanes === 1) current = c.name;
      const t0 = performance.now();
      const res = await runOnce(c);
      const elapsedS = (performance.now() - t0) / 1000;
      if (cfg.lanes === 1) current = '(harness)';
      perRound.get(c.name).push({ round, ...res, elapsedS });
      log(
        `  round ${round}/${cfg.rounds}  ${c.name.padEnd(34)} ${describe(c, res)} [${elapsedS.toFixed(1)} s]`,
      );
      if (c.settleAfterMs) await sleep(c.settleAfterMs);
    }
  };
  await Promise.all(Array.from({ length: cfg.lanes }, lane));
  loadSamples.push(sample(`round ${round} after`));
}
loadSamples.push(sample('end'));
const load = busyOf(loadSamples, cfg.busyCpu);

// ----------------------------------------------------------- summary ----

const rows = selected.map((c) => {
  const runs = perRound.get(c.name);
  const ok = runs.filter((r) => r.status === 'ok');
  const base = {
    name: c.name,
    scenario: c.scenario,
    ...(c.ref && { ref: c.ref }),
    needs: c.needs,
    transport: c.transport,
    client: c.client,
    rounds: runs,
  };
  if (ok.length === 0) {
    const last = runs.at(-1);
    return { ...base, status: last.status, reason: last.reason, ratios: {} };
  }
  // Every figure of a row is the median of that figure over its successful rounds.
  const medians = {};
  for (const key of new Set(ok.flatMap((r) => Object.keys(r)))) {
    const values = ok.map((r) => r[key]).filter((v) => typeof v === 'number');
    if (key !== 'round' && values.length > 0) medians[key] = median(values);
  }
  return {
    ...base,
    status: 'ok',
    roundsOk: ok.length,
    failedRounds: runs.filter((r) => r.status !== 'ok').map((r) => ({ round: r.round, reason: r.reason })),
    ...medians,
    ratios: {},
  };
});
const byName = new Map(rows.map((r) => [r.name, r]));
const okRow = (name) => (byName.get(name)?.status === 'ok' ? byName.get(name) : null);
const ratio = (a, b) => (a !== undefined && b ? a / b : null);
const figure = (name, key) => okRow(name)?.[key] ?? null;

for (const section of SECTIONS) {
  const { floor, sdk } = section.refs;
  if (!floor && !sdk) continue;
  for (const r of rows) {
    if (r.scenario !== section.scenario || r.status !== 'ok') continue;
    const f = okRow(floor);
    const s = okRow(sdk);
    r.ratios = {
      p50ToFloor: ratio(r.p50Us, f?.p50Us),
      throughputToFloor: ratio(r.callsPerSec, f?.callsPerSec),
      loadedP50ToFloor: ratio(r.loadedP50Us, f?.loadedP50Us),
      p50ToSdk: ratio(r.p50Us, s?.p50Us),
      throughputToSdk: ratio(r.callsPerSec, s?.callsPerSec),
    };
    r.ratioRefs = { floor, sdk };
  }
}

// ------------------------------------------------------ how cost grows ----
// Each growth row already holds, per size, the median over rounds of its own ratio to its smallest
// size (`figureToFirst@size`, taken round by round). Ratios between two rows are taken round by round
// too (the rows of a scenario run back to back in each round), then their median.

/** Median, over the rounds both rows passed, of f(a, b): their results of the same round. */
function roundwise(nameA, nameB, f) {
  const bs = perRound.get(nameB) ?? [];
  const values = (perRound.get(nameA) ?? []).flatMap((a) => {
    const b = bs.find((r) => r.round === a.round);
    if (a.status !== 'ok' || b?.status !== 'ok') return [];
    const v = f(a, b);
    return Number.isFinite(v) ? [v] : [];
  });
  return median(values);
}
const capitalized = (key) => key[0].toUpperCase() + key.slice(1);
const sizes = cfg.sizes;
const largest = (list) => Math.max(...list);

// Upstreams: the switchboard's N/1 ratio over the floor's (what N servers cost the router, with what N
// started processes cost the machine taken out): `net<Figure>ToFirst@N` on the switchboard row.
const switchboardUpstreams = okRow('switchboard-upstreams');
for (const size of switchboardUpstreams ? sizes.upstreams : []) {
  for (const key of ['p50Us', 'callsPerSec', 'spreadP50Us', 'spreadCallsPerSec']) {
    const k = at(`${key}ToFirst`, size);
    switchboardUpstreams[at(`net${capitalized(key)}ToFirst`, size)] = roundwise(
      'switchboard-upstreams',
      'floor-upstreams',
      (a, b) => a[k] / b[k],
    );
  }
}
// Message size: each path's MB/s and p50 over the floor's at the same size.
const MESSAGE_ROWS = ['floor-message', 'switchboard-inline-message', 'switchboard-thread-message'];
for (const name of MESSAGE_ROWS) {
  const r = okRow(name);
  for (const size of r ? sizes.message : []) {
    for (const key of ['mbPerSec', 'p50Us']) {
      const k = at(key, size);
      r[at(`${key}ToFloor`, size)] = roundwise(name, 'floor-message', (a, b) => a[k] / b[k]);
    }
  }
}
const atLargest = (name, key, list) => figure(name, at(key, largest(list)));
const leastOver = (name, key, list) => {
  const values = list.map((size) => figure(name, at(key, size)));
  return values.every((v) => typeof v === 'number') ? Math.min(...values) : null;
};
// tools/list per tool, from the second-largest catalog to the largest (fixed costs are spread by then).
const [catalogBefore, catalogLargest] = [...sizes.catalog].sort((a, b) => a - b).slice(-2);
const listGrowth = roundwise(
  'gateway-catalog',
  'gateway-catalog',
  (a) => a[at('listUsPerTool', catalogLargest)] / a[at('listUsPerTool', catalogBefore)],
);

const target = (value, limit, better) => ({ value, target: limit, better });
// The gateway against the best peer with the same client (raw undici): the peer with the most calls/s
// in this run, and the gateway's calls/s and p99 over that peer's.
const PEERS_UNDICI = ['mcp-proxy-http+undici', 'supergateway-http+undici', 'mcp-hub-sse+undici'];
const bestPeer =
  PEERS_UNDICI.filter((name) => figure(name, 'callsPerSec') !== null).sort(
    (a, b) => figure(b, 'callsPerSec') - figure(a, 'callsPerSec'),
  )[0] ?? null;
const overPeer = (key) =>
  bestPeer && figure('switchboard-gateway+undici', key) !== null
    ? figure('switchboard-gateway+undici', key) / figure(bestPeer, key)
    : null;
/** A growth figure flat within 10% (latency up at most 1.10x, throughput down to at least 0.90x). */
const flat = (name, key, list) => {
  const lower = /P50Us$|p50Us$/.test(key);
  return target(atLargest(name, `${key}ToFirst`, list), lower ? 1.1 : 0.9, lower ? 'lower' : 'higher');
};
const summary = {
  load,
  targets: judgeTargets(
    {
      // The perf issue's targets: inline calls/s at least the floor's, p50 (interleaved) at most 1.15x;
      // thread p50 at most 1.8x the floor, calls/s at least 0.4x.
      inlineP50ToFloor: target(figure('switchboard-inline', 'ratios')?.p50ToFloor ?? null, 1.15, 'lower'),
      inlineP50ToFloorInterleaved: target(
        figure('c1-interleaved', 'toFloor:switchboard-inline'),
        1.15,
        'lower',
      ),
      inlineThroughputToFloor: target(
        figure('switchboard-inline', 'ratios')?.throughputToFloor ?? null,
        1.0,
        'higher',
      ),
      // The same, without the call-site stack (captureCallSites: false): what the path costs without V8's
      // stack walk, which is most of what the default inline path costs above the floor.
      inlineNoStackP50ToFloorInterleaved: target(
        figure('c1-interleaved', 'toFloor:switchboard-inline-nostack'),
        1.15,
        'lower',
      ),
      inlineNoStackThroughputToFloor: target(
        figure('switchboard-inline-nostack', 'ratios')?.throughputToFloor ?? null,
        1.0,
        'higher',
      ),
      threadP50ToFloor: target(figure('switchboard-thread', 'ratios')?.p50ToFloor ?? null, 1.8, 'lower'),
      threadThroughputToFloor: target(
        figure('switchboard-thread', 'ratios')?.throughputToFloor ?? null,
        0.4,
        'higher',
      ),
      inlineRssPerUpstreamMB: target(figure('memory-inline', 'rssPerUpstreamMB'), 1, 'lower'),
      // The gateway: at least 2x the best peer's calls/s with the same client, and a lower p99 (< 1.0x).
      gatewayThroughputToBestPeer: target(overPeer('callsPerSec'), 2.0, 'higher'),
      gatewayP99ToBestPeer: target(overPeer('p99Us'), 0.999, 'lower'),
      // How cost grows: flat within 10% from the smallest size to the largest (median of per-round ratios).
      sessionsP50: flat('gateway-sessions', 'p50Us', sizes.sessions),
      sessionsThroughput: flat('gateway-sessions', 'callsPerSec', sizes.sessions),
      // One server called while N are started: the raw ratio (what the old `scale` target judged).
      upstreamsP50: flat('switchboard-upstreams', 'p50Us', sizes.upstreams),
      upstreamsThroughput: flat('switchboard-upstreams', 'callsPerSec', sizes.upstreams),
      // Calls spread over all N: net of the floor's own spread over N processes (routing cost alone).
      upstreamsSpreadP50Net: flat('switchboard-upstreams', 'netSpreadP50Us', sizes.upstreams),
      upstreamsSpreadThroughputNet: flat('switchboard-upstreams', 'netSpreadCallsPerSec', sizes.upstreams),
      catalogCallP50: flat('gateway-catalog', 'p50Us', sizes.catalog),
      catalogCallThroughput: flat('gateway-catalog', 'callsPerSec', sizes.catalog),
      // "Roughly flat": a cost that grows with the catalog's size (n log n or worse) shows here.
      catalogListPerTool: target(listGrowth, 1.5, 'lower'),
      // Message size: the issue's throughput targets held at every size (the least ratio over sizes).
      messageInlineToFloor: target(
        leastOver('switchboard-inline-message', 'mbPerSecToFloor', sizes.message),
        0.9,
        'higher',
      ),
      messageThreadToFloor: target(
        leastOver('switchboard-thread-message', 'mbPerSecToFloor', sizes.message),
        0.4,
        'higher',
      ),
    },
    load,
  ),
  growth: {
    sessions: {
      heapPerSessionKB: atLargest('gateway-sessions', 'heapPerSessionKB', sizes.sessions),
      rssPerSessionKB: atLargest('gateway-sessions', 'rssPerSessionKB', sizes.sessions),
    },
    upstreams: {
      floorP50ToFirst: atLargest('floor-upstreams', 'p50UsToFirst', sizes.upstreams),
      floorCallsPerSecToFirst: atLargest('floor-upstreams', 'callsPerSecToFirst', sizes.upstreams),
      floorSpreadCallsPerSecToFirst: atLargest(
        'floor-upstreams',
        'spreadCallsPerSecToFirst',
        sizes.upstreams,
      ),
      netP50ToFirst: atLargest('switchboard-upstreams', 'netP50UsToFirst', sizes.upstreams),
      netCallsPerSecToFirst: atLargest('switchboard-upstreams', 'netCallsPerSecToFirst', sizes.upstreams),
      spreadP50ToFirst: atLargest('switchboard-upstreams', 'spreadP50UsToFirst', sizes.upstreams),
      spreadCallsPerSecToFirst: atLargest(
        'switchboard-upstreams',
        'spreadCallsPerSecToFirst',
        sizes.upstreams,
      ),
    },
    catalog: { listPerToolGrowth: listGrowth, from: catalogBefore, to: catalogLargest },
    message: Object.fromEntries(
      MESSAGE_ROWS.slice(1).map((name) => [
        name,
        Object.fromEntries(sizes.message.map((size) => [size, figure(name, at('mbPerSecToFloor', size))])),
      ]),
    ),
  },
  gateway: {
    bestPeer,
    // What the gateway adds over the same upstream called in process (switchboard inline), at c=1.
    extraP50Us:
      figure('switchboard-gateway+undici', 'p50Us') !== null && figure('switchboard-inline', 'p50Us') !== null
        ? figure('switchboard-gateway+undici', 'p50Us') - figure('switchboard-inline', 'p50Us')
        : null,
  },
  thread: {
    extraP50Us:
      figure('switchboard-thread', 'p50Us') !== null && figure('switchboard-inline', 'p50Us') !== null
        ? figure('switchboard-thread', 'p50Us') - figure('switchboard-inline', 'p50Us')
        : null,
    rssPerUpstreamMB: figure('memory-thread', 'rssPerUpstreamMB'),
  },
};

const require = createRequire(import.meta.url);
const versionOf = (pkg) => {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return null;
  }
};
const cpus = os.cpus();
const machine = {
  cpuModel: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  availableParallelism: os.availableParallelism?.() ?? cpus.length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  date: new Date().toISOString(),
  // 1/5/15-minute load averages at the start, before and after each round, and at the end.
  loadAvgAtStart: loadSamples[0].loadAvg,
  loadAvgAtEnd: loadSamples.at(-1).loadAvg,
  loadSamples,
};
const versions = Object.fromEntries(
  [
    '@modelcontextprotocol/sdk',
    '@modelcontextprotocol/client',
    '@modelcontextprotocol/server',
    '@modelcontextprotocol/node',
    'mcp-proxy',
    'supergateway',
    'mcp-hub',
    'undici',
  ].map((p) => [p, versionOf(p)]),
);
const report = {
  machine,
  versions,
  config: {
    ...cfg,
    smoke: args.smoke,
    only: args.only ?? null,
    scenarios: args.scenarios ?? null,
    baseline: args.baseline ? resolve(args.baseline) : null,
  },
  durationSeconds: (Date.now() - started) / 1000,
  orders,
  warnings: [...warnings.values()],
  notes: {
    latency: 'p50/p99 of sequential calls at concurrency 1 (per round), median over rounds',
    throughput: `completed calls per second with ${cfg.concurrency} callers in flight for ${cfg.throughputMs} ms, median over rounds; loadedP50Us/loadedP99Us: latency of those calls`,
    fanout: `${cfg.concurrency} callers in one process, call i to upstream i mod ${cfg.fanoutServers}; ratios against floor-fanout and sdk2-fanout`,
    growth:
      'sessions, upstreams, catalog, message-size (lib/growth.mjs): each row measures every size of its scenario (fresh setup per size, sizes in random order), figures keyed figure@size; figureToFirst@size = median over rounds of the ratio to the smallest size in the same round',
    sessions: `gateway (serve --http, one raw-echo) with N 2025-era sessions open at /servers/s0/mcp, N in ${cfg.sizes.sessions.join(', ')}; calls spread over them (call i on session i mod N); memory per session = gateway heap/RSS growth after full GCs over opening N sessions (after a warm-up session came and went), / N`,
    upstreams: `N raw-echo upstreams started, N in ${cfg.sizes.upstreams.join(', ')}: calls to s0 (the others idle) and spread over all (call i to upstream i mod N), for the switchboard (inline) and for N floor clients as control; net*ToFirst = switchboard ratio / floor ratio, round by round, median`,
    catalog: `gateway over one raw-echo listing N tools (--page-size ${cfg.catalogPageSize}), N in ${cfg.sizes.catalog.join(', ')}; one session at /mcp: tools/list (every page; median of ${cfg.catalogLists} after one untimed), calls by name spread over the catalog (call i to s0__t<i mod N>), each checked for the tool that answered`,
    'message-size': `the echo carries a payload of ${cfg.sizes.message.join(', ')} bytes out and back, checked whole; MB/s = payload bytes echoed per second (10^6) with ${cfg.message.concurrency} callers; p50 at concurrency 1; *ToFloor = ratio to floor-message, round by round, median`,
    interleaved: `floor, sdk2-stdio, switchboard-inline and switchboard-thread open at once; ${cfg.interleavedBlocks} rounds of ${cfg.interleavedBlockCalls}-call blocks, each path once per round in random order; medians over blocks of each path's p50 and of its ratio to the floor's p50 in the same round`,
    memory: `RSS and heap of a fresh host process after starting ${cfg.memoryUpstreams} upstreams (one call each, full GCs), per upstream; upstream processes not included`,
    clients: {
      'raw-ndjson': 'floor client: raw NDJSON JSON-RPC over the child pipe, no MCP library',
      sdk1: '@modelcontextprotocol/sdk 1.x Client',
      sdk2: '@modelcontextprotocol/client 2.x Client (stdio, Streamable HTTP or SSE transport)',
      'undici-raw': 'raw JSON-RPC over a keep-alive undici Pool (64 connections), no MCP library',
      switchboard: 'Switchboard#callTool from the built library',
    },
  },
  summary,
  results: rows,
};

const sections = SECTIONS.map((s) => {
  const own = rows.filter((r) => r.scenario === s.scenario);
  return { ...s, rows: s.expand ? own.flatMap((r) => s.expand(r, cfg)) : own };
});
const subtitle = `${machine.cpuModel} · ${machine.cores} cores · node ${machine.node} · ${machine.date.slice(0, 10)} · medians of ${cfg.rounds} round(s) · load average up to ${load.peakLoadAvg1.toFixed(2)}, other work up to ${load.peakOtherCores === null ? '-' : load.peakOtherCores.toFixed(2)} cores${load.busy ? ' (busy machine: targets not judged)' : ''}`;
mkdirSync(dirname(outBase), { recursive: true });
writeFileSync(`${outBase}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  `${outBase}.svg`,
  renderSvg(
    sections.filter((s) => !s.growth),
    { title: `mcp-switchboard bench: one echo tools/call${args.smoke ? ' (smoke)' : ''}`, subtitle },
  ),
);
// One chart per growth scenario that ran, next to the JSON: <out>-<scenario>.svg (an old one is removed).
const charts = [];
for (const s of sections.filter((x) => x.growth)) {
  const file = `${outBase}-${s.scenario}.svg`;
  rmSync(file, { force: true });
  if (s.rows.length === 0) continue;
  const title = `mcp-switchboard bench: how cost grows — ${s.scenario}${args.smoke ? ' (smoke)' : ''}`;
  writeFileSync(file, renderGrowthSvg(s, byName, s.growth.sizes(cfg), { title, subtitle }));
  charts.push(s.scenario);
}

console.log(renderMachine(machine, load));
for (const s of sections) {
  if (s.rows.length === 0) continue;
  console.log(`\n${s.title}\n${renderTable(s.rows, s.columns)}`);
}
const fmtN = (v, digits = 2) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const fmt = (t, digits = 2) => fmtN(t.value, digits);
const T = summary.targets;
const G = summary.growth;
const judged = (t, limit) => `${fmt(t)}x (${t.better === 'lower' ? '<=' : '>='} ${limit}: ${t.verdict})`;
const big = (list) => largest(list).toLocaleString('en-US');
const small = (list) => Math.min(...list).toLocaleString('en-US');
const perSize = (name) =>
  sizes.message.map((size) => `${fmtBytes(size)} ${fmtN(G.message[name]?.[size])}x`).join(', ');
console.log(
  `${load.busy ? `\nbusy machine: ${busyWhy(load)}: no target is judged.` : ''}` +
    `\ntargets: inline p50 ${fmt(T.inlineP50ToFloor)}x floor (<= 1.15: ${T.inlineP50ToFloor.verdict}; ` +
    `interleaved: ${fmt(T.inlineP50ToFloorInterleaved)}x, ${T.inlineP50ToFloorInterleaved.verdict}), ` +
    `inline calls/s ${fmt(T.inlineThroughputToFloor)}x floor (>= 1.0: ${T.inlineThroughputToFloor.verdict}),` +
    `\n  inline, captureCallSites: false: p50 interleaved ${judged(T.inlineNoStackP50ToFloorInterleaved, '1.15')}, calls/s ${judged(T.inlineNoStackThroughputToFloor, '1.0')},` +
    `\n  thread p50 ${fmt(T.threadP50ToFloor)}x floor (<= 1.8: ${T.threadP50ToFloor.verdict}), ` +
    `thread calls/s ${fmt(T.threadThroughputToFloor)}x floor (>= 0.4: ${T.threadThroughputToFloor.verdict}),` +
    `\n  gateway (undici client) over the best peer${bestPeer ? ` (${bestPeer})` : ''}: calls/s ${judged(T.gatewayThroughputToBestPeer, '2.0')}, p99 ${fmt(T.gatewayP99ToBestPeer)}x (< 1.0: ${T.gatewayP99ToBestPeer.verdict})` +
    `\n  inline RSS per upstream ${fmt(T.inlineRssPerUpstreamMB)} MB (< 1: ${T.inlineRssPerUpstreamMB.verdict})` +
    `\nhow cost grows (the largest size against the smallest, median of per-round ratios):` +
    `\n  sessions ${small(sizes.sessions)} -> ${big(sizes.sessions)}: p50 ${judged(T.sessionsP50, '1.10')}, calls/s ${judged(T.sessionsThroughput, '0.90')};` +
    ` gateway memory per session: heap ${fmtN(G.sessions.heapPerSessionKB, 1)} KB, RSS ${fmtN(G.sessions.rssPerSessionKB, 1)} KB` +
    `\n  upstreams ${small(sizes.upstreams)} -> ${big(sizes.upstreams)}, one called: p50 ${judged(T.upstreamsP50, '1.10')}, calls/s ${judged(T.upstreamsThroughput, '0.90')};` +
    `\n    the floor beside as many idle: p50 ${fmtN(G.upstreams.floorP50ToFirst)}x, calls/s ${fmtN(G.upstreams.floorCallsPerSecToFirst)}x;` +
    ` net of that: p50 ${fmtN(G.upstreams.netP50ToFirst)}x, calls/s ${fmtN(G.upstreams.netCallsPerSecToFirst)}x` +
    `\n    spread over all: p50 ${fmtN(G.upstreams.spreadP50ToFirst)}x, calls/s ${fmtN(G.upstreams.spreadCallsPerSecToFirst)}x` +
    ` (the floor's spread: calls/s ${fmtN(G.upstreams.floorSpreadCallsPerSecToFirst)}x); net: p50 ${judged(T.upstreamsSpreadP50Net, '1.10')}, calls/s ${judged(T.upstreamsSpreadThroughputNet, '0.90')}` +
    `\n  catalog ${small(sizes.catalog)} -> ${big(sizes.catalog)} tools: call p50 ${judged(T.catalogCallP50, '1.10')}, calls/s ${judged(T.catalogCallThroughput, '0.90')};` +
    ` tools/list per tool ${G.catalog.from.toLocaleString('en-US')} -> ${G.catalog.to.toLocaleString('en-US')}: ${judged(T.catalogListPerTool, '1.5')}` +
    `\n  message size, MB/s over the floor's: inline ${perSize('switchboard-inline-message')}; least ${judged(T.messageInlineToFloor, '0.9')}` +
    `\n    thread ${perSize('switchboard-thread-message')}; least ${judged(T.messageThreadToFloor, '0.4')}`,
);
console.log(
  `\nclient: raw-ndjson = floor client, no MCP library; sdk1/sdk2 = MCP SDK Client; undici-raw = raw JSON-RPC over a` +
    `\nkeep-alive undici Pool; switchboard = Switchboard#callTool. p50/p99 at concurrency 1, calls/s at concurrency ${cfg.concurrency};` +
    `\nratios against the section's reference rows (floor / sdk2: floor and sdk2-stdio, or floor-fanout and sdk2-fanout).` +
    `\n${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; load average up to ${load.peakLoadAvg1.toFixed(2)} (the bench's own included), other work up to ${load.peakOtherCores === null ? '-' : load.peakOtherCores.toFixed(2)} cores; ${cfg.rounds} round(s) in ${report.durationSeconds.toFixed(1)} s` +
    `\nwrote ${relative(process.cwd(), outBase)}.{json,svg}${charts.map((c) => `, -${c}.svg`).join('')}`,
);

// Smoke is a test: every contender that ran must have passed. A full run only
// needs the floor, without which no ratio means anything.
const failed = rows.filter((r) => r.status === 'error');
const floorRow = byName.get('floor');
const exitCode = args.smoke ? (failed.length > 0 ? 1 : 0) : floorRow && floorRow.status !== 'ok' ? 1 : 0;
killAllPeers();
process.exit(exitCode);
