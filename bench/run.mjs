#!/usr/bin/env node
// Benchmark harness: latency (p50/p99 at concurrency 1) and throughput (calls/s
// at concurrency 64) of one `echo` tool call, per contender, over several
// rounds in shuffled order; medians over rounds are reported.
//
//   node bench/run.mjs [--smoke] [--only a,b] [--rounds N] [--calls N] [--out results/name]
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { contenders } from './lib/contenders.mjs';
import { killAllPeers, SkipError } from './lib/procs.mjs';
import { renderSvg, renderTable } from './lib/report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    calls: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`usage: node bench/run.mjs [--smoke] [--only name,name] [--rounds N] [--calls N] [--out results/NAME]
contenders: ${contenders.map((c) => c.name).join(', ')}`);
  process.exit(0);
}

const positiveInt = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer, got ${v}`);
  return n;
};

const PROFILES = {
  full: {
    rounds: 3,
    warmupCalls: 300,
    calls: 2000, // latency samples per round (c=1)
    latencyCapMs: 3000, // ...or fewer, if this runs out first
    concurrency: 64,
    throughputWarmupMs: 300,
    throughputMs: 1500, // measured window at c=64
    throughputCapCalls: 400_000,
    setupTimeoutMs: 20_000,
    closeTimeoutMs: 8_000,
    watchdogMs: 9 * 60_000,
  },
  smoke: {
    rounds: 1,
    warmupCalls: 20,
    calls: 100,
    latencyCapMs: 2000,
    concurrency: 64,
    throughputWarmupMs: 50,
    throughputMs: 200,
    throughputCapCalls: 5000,
    setupTimeoutMs: 10_000,
    closeTimeoutMs: 5_000,
    watchdogMs: 60_000,
  },
};
const cfg = { ...(args.smoke ? PROFILES.smoke : PROFILES.full) };
if (args.rounds) cfg.rounds = positiveInt(args.rounds, 'rounds');
if (args.calls) cfg.calls = positiveInt(args.calls, 'calls');
const outBase = resolve(BENCH, args.out ?? (args.smoke ? 'results/smoke' : 'results/latest'));

let selected = contenders;
if (args.only) {
  const names = args.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !contenders.some((c) => c.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown contender(s): ${unknown.join(', ')}\nknown: ${contenders.map((c) => c.name).join(', ')}`,
    );
    process.exit(2);
  }
  selected = contenders.filter((c) => names.includes(c.name));
} else if (args.smoke) {
  selected = contenders.filter((c) => c.smoke);
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
let current = '(harness)';
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
async function settle() {
  gc();
  await sleep(args.smoke ? 10 : 150);
}

// ------------------------------------------------------------ timing ----

const now = process.hrtime.bigint;
const nsToUs = (ns) => Number(ns) / 1000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

let nonceSeq = 0;
async function checkedCall(handle) {
  const sent = `n${++nonceSeq}`;
  const got = await handle.call(sent);
  if (got !== sent) throw new Error(`nonce mismatch: sent ${sent}, got ${JSON.stringify(got)}`);
}

/** Sequential calls: up to `count`, stopping early once `capMs` has elapsed. Returns sorted ns samples. */
async function sequential(handle, count, capMs) {
  const samples = [];
  const end = now() + BigInt(capMs) * 1_000_000n;
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await checkedCall(handle);
    const t1 = now();
    samples.push(t1 - t0);
    if (t1 > end) break;
  }
  return samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `concurrency` workers calling back to back for `windowMs` (or `capCalls` in total). */
async function saturate(handle, concurrency, windowMs, capCalls) {
  let stop = false;
  let issued = 0;
  let done = 0;
  const timer = setTimeout(() => {
    stop = true;
  }, windowMs);
  const worker = async () => {
    while (!stop && issued < capCalls) {
      issued++;
      await checkedCall(handle);
      done++;
    }
  };
  const t0 = now();
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearTimeout(timer);
    stop = true;
  }
  const seconds = Number(now() - t0) / 1e9;
  return { calls: done, seconds, callsPerSec: done / seconds };
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

// ------------------------------------------------------------ rounds ----

async function runOnce(c) {
  const t0 = now();
  let handle;
  const setup = Promise.resolve().then(() => c.setup());
  try {
    handle = await withTimeout(setup, cfg.setupTimeoutMs, 'setup');
  } catch (err) {
    // A setup that finishes after its timeout is closed when it does.
    setup
      .then(
        (late) => late?.close(),
        () => {},
      )
      .catch(() => {});
    return err instanceof SkipError
      ? { status: 'skipped', reason: err.message }
      : { status: 'error', reason: err.message };
  }
  const setupMs = Number(now() - t0) / 1e6;
  try {
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
      status: 'ok',
      setupMs,
      latencyCalls: samples.length,
      p50Us: nsToUs(pct(samples, 50)),
      p99Us: nsToUs(pct(samples, 99)),
      meanUs: nsToUs(samples.reduce((a, b) => a + b, 0n)) / samples.length,
      throughputCalls: tp.calls,
      throughputSeconds: tp.seconds,
      callsPerSec: tp.callsPerSec,
    };
  } catch (err) {
    return { status: 'error', reason: err.message };
  } finally {
    await withTimeout(
      Promise.resolve().then(() => handle.close()),
      cfg.closeTimeoutMs,
      'close',
    ).catch((err) => log(`  ${c.name}: close failed: ${err.message}`));
  }
}

function shuffle(list) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const perRound = new Map(selected.map((c) => [c.name, []]));
const loadAtStart = os.loadavg();
const orders = [];
const started = Date.now();
log(
  `bench: ${selected.length} contender(s), ${cfg.rounds} round(s), ${cfg.calls} latency calls, ` +
    `${cfg.throughputMs} ms at concurrency ${cfg.concurrency}${args.smoke ? ' (smoke)' : ''}`,
);
for (let round = 1; round <= cfg.rounds; round++) {
  // A contender skipped once (library not built, not written yet) stays skipped.
  const order = shuffle(selected.filter((c) => perRound.get(c.name)[0]?.status !== 'skipped'));
  orders.push(order.map((c) => c.name));
  for (const c of order) {
    await settle();
    current = c.name;
    const res = await runOnce(c);
    current = '(harness)';
    perRound.get(c.name).push({ round, ...res });
    const what =
      res.status === 'ok'
        ? `p50 ${res.p50Us.toFixed(0)} µs, p99 ${res.p99Us.toFixed(0)} µs, ${res.callsPerSec.toFixed(0)} calls/s`
        : `${res.status}: ${res.reason}`;
    log(`  round ${round}/${cfg.rounds}  ${c.name.padEnd(26)} ${what}`);
  }
}

// ----------------------------------------------------------- summary ----

const rows = selected.map((c) => {
  const runs = perRound.get(c.name);
  const ok = runs.filter((r) => r.status === 'ok');
  const base = { name: c.name, transport: c.transport, client: c.client, rounds: runs };
  if (ok.length === 0) {
    const last = runs.at(-1);
    return { ...base, status: last.status, reason: last.reason, ratios: {} };
  }
  const failed = runs.filter((r) => r.status !== 'ok');
  return {
    ...base,
    status: 'ok',
    roundsOk: ok.length,
    failedRounds: failed.map((r) => ({ round: r.round, reason: r.reason })),
    p50Us: median(ok.map((r) => r.p50Us)),
    p99Us: median(ok.map((r) => r.p99Us)),
    callsPerSec: median(ok.map((r) => r.callsPerSec)),
    ratios: {},
  };
});
const byName = new Map(rows.map((r) => [r.name, r]));
const floor = byName.get('floor');
const sdk2 = byName.get('sdk2-stdio');
const okRef = (r) => (r?.status === 'ok' ? r : null);
for (const r of rows) {
  if (r.status !== 'ok') continue;
  r.ratios = {
    p50ToFloor: okRef(floor) ? r.p50Us / floor.p50Us : null,
    throughputToFloor: okRef(floor) ? r.callsPerSec / floor.callsPerSec : null,
    p50ToSdk2Stdio: okRef(sdk2) ? r.p50Us / sdk2.p50Us : null,
  };
}

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
  // 1/5/15-minute load averages: well above the bench's own ~2 means something else was running.
  loadAvgAtStart: loadAtStart.map((x) => +x.toFixed(2)),
  loadAvgAtEnd: os.loadavg().map((x) => +x.toFixed(2)),
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
  config: { ...cfg, smoke: args.smoke, only: args.only ?? null },
  durationSeconds: (Date.now() - started) / 1000,
  orders,
  warnings: [...warnings.values()],
  notes: {
    latency: 'p50/p99 of sequential calls at concurrency 1 (per round), median over rounds',
    throughput: `completed calls per second with ${cfg.concurrency} callers in flight for ${cfg.throughputMs} ms, median over rounds`,
    clients: {
      'raw-ndjson': 'floor client: raw NDJSON JSON-RPC over the child pipe, no MCP library',
      sdk1: '@modelcontextprotocol/sdk 1.x Client',
      sdk2: '@modelcontextprotocol/client 2.x Client (stdio, Streamable HTTP or SSE transport)',
      'undici-raw': 'raw JSON-RPC over a keep-alive undici Pool (64 connections), no MCP library',
      switchboard: 'Switchboard#callTool from the built library',
    },
  },
  results: rows,
};

mkdirSync(dirname(outBase), { recursive: true });
writeFileSync(`${outBase}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  `${outBase}.svg`,
  renderSvg(rows, {
    title: `mcp-switchboard bench: one echo tools/call${args.smoke ? ' (smoke)' : ''}`,
    subtitle: `${machine.cpuModel} · ${machine.cores} cores · node ${machine.node} · ${machine.date.slice(0, 10)} · medians of ${cfg.rounds} round(s)`,
  }),
);

console.log(renderTable(rows));
console.log(
  `\nclient: raw-ndjson = floor client, no MCP library; sdk1/sdk2 = MCP SDK Client; undici-raw = raw JSON-RPC over a` +
    `\nkeep-alive undici Pool; switchboard = Switchboard#callTool. p50/p99 at concurrency 1, calls/s at concurrency ${cfg.concurrency};` +
    `\nratios: p50 / floor (lower is better, >= 1), calls/s / floor (higher is better), p50 / sdk2-stdio.` +
    `\n${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; ${cfg.rounds} round(s) in ${report.durationSeconds.toFixed(1)} s` +
    `\nwrote ${relative(process.cwd(), outBase)}.{json,svg}`,
);

// Smoke is a test: every contender that ran must have passed. A full run only
// needs the floor, without which no ratio means anything.
const failed = rows.filter((r) => r.status === 'error');
const exitCode = args.smoke ? (failed.length > 0 ? 1 : 0) : floor && floor.status !== 'ok' ? 1 : 0;
killAllPeers();
process.exit(exitCode);
