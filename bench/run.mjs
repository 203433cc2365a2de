#!/usr/bin/env node
// Benchmark harness. Per contender and round: latency (p50/p99 at concurrency 1) and throughput
// (calls/s at concurrency 64, with the latency of each call under that load) of one `echo` tool call,
// or a measurement of its own (memory). Scenarios: one upstream, fan-out over N upstreams, one server
// among 1 or N configured, memory per upstream. Rounds run in shuffled order; medians over rounds are
// reported, with ratios to each scenario's reference rows from the same run.
//
//   node bench/run.mjs [--smoke] [--only a,b] [--scenarios s,t] [--rounds N] [--calls N]
//                      [--baseline DIR] [--out results/name] [--busy-load X]
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { baselineContenders, contenders as allContenders } from './lib/contenders.mjs';
import { median, nsToUs, pct, saturate, sequential, shuffle, withTimeout } from './lib/measure.mjs';
import { killAllPeers, peerOptions, SkipError } from './lib/procs.mjs';
import {
  BUSY_LOAD,
  busyOf,
  judgeTargets,
  loadSample,
  pathsOf,
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
    'busy-load': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const contenders = args.baseline
  ? [...allContenders, ...baselineContenders(resolve(args.baseline))]
  : allContenders;
const SCENARIO_NAMES = SECTIONS.map((s) => s.scenario);

if (args.help) {
  console.log(`usage: node bench/run.mjs [--smoke] [--only name,name] [--scenarios ${SCENARIO_NAMES.join(',')}]
                         [--rounds N] [--calls N] [--baseline DIR] [--out results/NAME] [--busy-load X]
contenders: ${contenders.map((c) => c.name).join(', ')}`);
  process.exit(0);
}

const positiveInt = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, got ${v}`);
  return n;
};
const busyLoad = (v) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new Error(`--busy-load wants a load average (a number >= 0), got ${v}`);
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
    scaleServers: 256,
    memoryUpstreams: 16,
    interleavedBlocks: 40,
    interleavedBlockCalls: 300,
    settleMs: 150,
    setupTimeoutMs: 30_000,
    closeTimeoutMs: 15_000,
    peerTermGraceMs: 3_000,
    measureTimeoutMs: 120_000,
    watchdogMs: 10 * 60_000, // plus watchdogPerRoundMs for each round
    watchdogPerRoundMs: 5 * 60_000,
    lanes: 1, // contenders measured at a time
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
    scaleServers: 4,
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
  },
};
const cfg = { ...(args.smoke ? PROFILES.smoke : PROFILES.full) };
if (args.rounds) cfg.rounds = positiveInt(args.rounds, 'rounds');
if (args.calls) cfg.calls = positiveInt(args.calls, 'calls');
cfg.busyLoad = args['busy-load'] === undefined ? BUSY_LOAD : busyLoad(args['busy-load']);
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
  const names = list(args.scenarios);
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

async function measured(c, handle) {
  const seqBudget = (calls) => cfg.latencyCapMs + 5_000 + calls; // generous, but bounded
  await withTimeout(sequential(handle, cfg.warmupCalls, cfg.latencyCapMs), seqBudget(0), 'warmup');
  const samples = await withTimeout(
    sequential(handle, cfg.calls, cfg.latencyCapMs),
    seqBudget(cfg.calls),
    'latency run',
  );
  const satBudget = (ms) => ms + 10_000;
  await withTimeout(
    saturate(handle, cfg.concurrency, cfg.throughputWarmupMs, cfg.throughputCapCalls),
    satBudget(cfg.throughputWarmupMs),
    'throughput warmup',
  );
  const tp = await withTimeout(
    saturate(handle, cfg.concurrency, cfg.throughputMs, cfg.throughputCapCalls),
    satBudget(cfg.throughputMs),
    'throughput run',
  );
  return {
    ...handle.info?.(),
    latencyCalls: samples.length,
    p50Us: nsToUs(pct(samples, 50)),
    p99Us: nsToUs(pct(samples, 99)),
    meanUs: nsToUs(samples.reduce((a, b) => a + b, 0n)) / samples.length,
    throughputCalls: tp.calls,
    throughputSeconds: tp.seconds,
    callsPerSec: tp.callsPerSec,
    loadedP50Us: pct(tp.loadedUs, 50),
    loadedP99Us: pct(tp.loadedUs, 99),
  };
}

async function runOnce(c) {
  const failure = (err) =>
    err instanceof SkipError
      ? { status: 'skipped', reason: err.message }
      : { status: 'error', reason: err.message };
  if (c.measure) {
    try {
      const timeoutMs = cfg.measureTimeoutMs;
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
    return { status: 'ok', setupMs, ...(await measured(c, handle)) };
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

function describe(res) {
  if (res.status !== 'ok') return `${res.status}: ${res.reason}`;
  if (res.rssPerUpstreamMB !== undefined) {
    return `${res.upstreams} upstreams: ${res.rssPerUpstreamMB.toFixed(2)} MB RSS, ${res.heapPerUpstreamKB.toFixed(0)} KB heap per upstream`;
  }
  if (res.blocks !== undefined) {
    return pathsOf(res).map(
      (path) => `${path} ${res[`p50Us:${path}`].toFixed(0)} µs (${res[`toFloor:${path}`].toFixed(2)}x)`,
    ).join(', ');
  }
  const servers = res.servers ? `${res.servers} servers: ` : '';
  return `${servers}p50 ${res.p50Us.toFixed(0)} µs, p99 ${res.p99Us.toFixed(0)} µs, ${res.callsPerSec.toFixed(0)} calls/s (p50 ${res.loadedP50Us.toFixed(0)} µs @${cfg.concurrency})`;
}

const perRound = new Map(selected.map((c) => [c.name, []]));
// The load averages before and after the run and each round: a 1-minute average at or over
// cfg.busyLoad at any of them means the figures shared the machine, and no target is judged.
const loadSamples = [loadSample('start', os.loadavg())];
const orders = [];
const started = Date.now();
log(
  `bench: ${selected.length} contender(s), ${cfg.rounds} round(s), ${cfg.calls} latency calls, ` +
    `${cfg.throughputMs} ms at concurrency ${cfg.concurrency}; fan-out over ${cfg.fanoutServers}, ` +
    `1 vs ${cfg.scaleServers} configured, memory of ${cfg.memoryUpstreams} upstreams${args.smoke ? ' (smoke)' : ''}`,
);
for (let round = 1; round <= cfg.rounds; round++) {
  loadSamples.push(loadSample(`round ${round} before`, os.loadavg()));
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
      log(`  round ${round}/${cfg.rounds}  ${c.name.padEnd(34)} ${describe(res)} [${elapsedS.toFixed(1)} s]`);
      if (c.settleAfterMs) await sleep(c.settleAfterMs);
    }
  };
  await Promise.all(Array.from({ length: cfg.lanes }, lane));
  loadSamples.push(loadSample(`round ${round} after`, os.loadavg()));
}
loadSamples.push(loadSample('end', os.loadavg()));
const load = busyOf(loadSamples, cfg.busyLoad);

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
  for (const key of Object.keys(ok[0])) {
    if (key !== 'round' && typeof ok[0][key] === 'number') medians[key] = median(ok.map((r) => r[key]));
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

for (const section of SECTIONS) {
  const { floor, sdk, perRowRef } = section.refs;
  for (const r of rows) {
    if (r.scenario !== section.scenario || r.status !== 'ok') continue;
    if (floor || sdk) {
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
    if (perRowRef && r.ref) {
      const o = okRow(r.ref);
      r.ratios = { p50ToOne: ratio(r.p50Us, o?.p50Us), throughputToOne: ratio(r.callsPerSec, o?.callsPerSec) };
      r.ratioRefs = { one: r.ref };
    }
  }
}

// 1 vs N: the rows of a pair ran back to back in every round, so each round gives its own ratio too.
const pairedRounds = {};
for (const c of selected) {
  if (c.scenario !== 'scale' || !c.ref || c.ref === c.name || !perRound.has(c.ref)) continue;
  pairedRounds[c.name] = [];
  for (const b of perRound.get(c.name)) {
    const a = perRound.get(c.ref).find((r) => r.round === b.round);
    if (b.status === 'ok' && a?.status === 'ok') {
      pairedRounds[c.name].push({
        round: b.round,
        p50Ratio: b.p50Us / a.p50Us,
        throughputRatio: b.callsPerSec / a.callsPerSec,
      });
    }
  }
}
const pairedMedian = (name, key) => median((pairedRounds[name] ?? []).map((p) => p[key]));
// The switchboard's ratio over the floor's, round by round: what N servers cost the router itself,
// with what N idle processes cost the machine taken out.
const netRounds = (pairedRounds['switchboard-inline-N-configured'] ?? []).flatMap((sw) => {
  const fl = (pairedRounds['floor-N-upstreams'] ?? []).find((f) => f.round === sw.round);
  return fl
    ? [{ p50: sw.p50Ratio / fl.p50Ratio, throughput: sw.throughputRatio / fl.throughputRatio }]
    : [];
});

const figure = (name, key) => okRow(name)?.[key] ?? null;
const target = (value, limit, better) => ({ value, target: limit, better });
const summary = {
  load,
  targets: judgeTargets(
    {
      // The perf issue's targets: inline calls/s at least the floor's, p50 (interleaved) at most 1.15x;
      // thread p50 at most 1.8x the floor, calls/s at least 0.4x.
      inlineP50ToFloor: target(figure('switchboard-inline', 'ratios')?.p50ToFloor ?? null, 1.15, 'lower'),
      inlineP50ToFloorInterleaved: target(figure('c1-interleaved', 'toFloor:switchboard-inline'), 1.15, 'lower'),
      inlineThroughputToFloor: target(
        figure('switchboard-inline', 'ratios')?.throughputToFloor ?? null,
        1.0,
        'higher',
      ),
      threadP50ToFloor: target(figure('switchboard-thread', 'ratios')?.p50ToFloor ?? null, 1.8, 'lower'),
      threadThroughputToFloor: target(
        figure('switchboard-thread', 'ratios')?.throughputToFloor ?? null,
        0.4,
        'higher',
      ),
      scaleP50ManyToOne: target(pairedMedian('switchboard-inline-N-configured', 'p50Ratio'), 1.1, 'lower'),
      scaleThroughputManyToOne: target(
        pairedMedian('switchboard-inline-N-configured', 'throughputRatio'),
        0.9,
        'higher',
      ),
      inlineRssPerUpstreamMB: target(figure('memory-inline', 'rssPerUpstreamMB'), 1, 'lower'),
    },
    load,
  ),
  scalePairedRounds: pairedRounds,
  scale: {
    floorP50ManyToOne: pairedMedian('floor-N-upstreams', 'p50Ratio'),
    floorThroughputManyToOne: pairedMedian('floor-N-upstreams', 'throughputRatio'),
    netP50: median(netRounds.map((n) => n.p50)),
    netThroughput: median(netRounds.map((n) => n.throughput)),
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
    scale: `calls to one raw-echo server while 1 or ${cfg.scaleServers} are configured and started in the switchboard, and the floor client with 0 or ${cfg.scaleServers - 1} idle raw-echo processes beside it (the machine's share); the four run back to back in each round (summary.scalePairedRounds); summary.scale.net* = switchboard ratio / floor ratio per round, median`,
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
  return { ...s, rows: s.expand ? own.flatMap((r) => s.expand(r)) : own };
});
mkdirSync(dirname(outBase), { recursive: true });
writeFileSync(`${outBase}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  `${outBase}.svg`,
  renderSvg(sections, {
    title: `mcp-switchboard bench: one echo tools/call${args.smoke ? ' (smoke)' : ''}`,
    subtitle: `${machine.cpuModel} · ${machine.cores} cores · node ${machine.node} · ${machine.date.slice(0, 10)} · medians of ${cfg.rounds} round(s) · load average up to ${load.peakLoadAvg1.toFixed(2)}${load.busy ? ' (busy machine: targets not judged)' : ''}`,
  }),
);

console.log(renderMachine(machine, load));
for (const s of sections) {
  if (s.rows.length === 0) continue;
  console.log(`\n${s.title}\n${renderTable(s.rows, s.columns)}`);
}
const fmtN = (v, digits = 2) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const fmt = (t, digits = 2) => fmtN(t.value, digits);
const T = summary.targets;
console.log(
  `${load.busy ? `\nbusy machine: load average ${load.peakLoadAvg1.toFixed(2)}: no target is judged.` : ''}` +
    `\ntargets: inline p50 ${fmt(T.inlineP50ToFloor)}x floor (<= 1.15: ${T.inlineP50ToFloor.verdict}; ` +
    `interleaved: ${fmt(T.inlineP50ToFloorInterleaved)}x, ${T.inlineP50ToFloorInterleaved.verdict}), ` +
    `inline calls/s ${fmt(T.inlineThroughputToFloor)}x floor (>= 1.0: ${T.inlineThroughputToFloor.verdict}),` +
    `\n  thread p50 ${fmt(T.threadP50ToFloor)}x floor (<= 1.8: ${T.threadP50ToFloor.verdict}), ` +
    `thread calls/s ${fmt(T.threadThroughputToFloor)}x floor (>= 0.4: ${T.threadThroughputToFloor.verdict}),` +
    `\n  ${cfg.scaleServers} vs 1 configured: p50 ${fmt(T.scaleP50ManyToOne)}x (<= 1.10: ${T.scaleP50ManyToOne.verdict}), ` +
    `calls/s ${fmt(T.scaleThroughputManyToOne)}x (>= 0.90: ${T.scaleThroughputManyToOne.verdict}) [median of per-round pairs];` +
    `\n    the floor beside ${cfg.scaleServers - 1} idle processes: p50 ${fmtN(summary.scale.floorP50ManyToOne)}x, calls/s ${fmtN(summary.scale.floorThroughputManyToOne)}x;` +
    ` net of that: p50 ${fmtN(summary.scale.netP50)}x, calls/s ${fmtN(summary.scale.netThroughput)}x,` +
    `\n  inline RSS per upstream ${fmt(T.inlineRssPerUpstreamMB)} MB (< 1: ${T.inlineRssPerUpstreamMB.verdict})`,
);
console.log(
  `\nclient: raw-ndjson = floor client, no MCP library; sdk1/sdk2 = MCP SDK Client; undici-raw = raw JSON-RPC over a` +
    `\nkeep-alive undici Pool; switchboard = Switchboard#callTool. p50/p99 at concurrency 1, calls/s at concurrency ${cfg.concurrency};` +
    `\nratios against the section's reference rows (floor / sdk2: floor and sdk2-stdio, or floor-fanout and sdk2-fanout).` +
    `\n${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; load average up to ${load.peakLoadAvg1.toFixed(2)}; ${cfg.rounds} round(s) in ${report.durationSeconds.toFixed(1)} s` +
    `\nwrote ${relative(process.cwd(), outBase)}.{json,svg}`,
);

// Smoke is a test: every contender that ran must have passed. A full run only
// needs the floor, without which no ratio means anything.
const failed = rows.filter((r) => r.status === 'error');
const floorRow = byName.get('floor');
const exitCode = args.smoke
  ? failed.length > 0
    ? 1
    : 0
  : floorRow && floorRow.status !== 'ok'
    ? 1
    : 0;
killAllPeers();
process.exit(exitCode);
