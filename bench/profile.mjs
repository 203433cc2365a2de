#!/usr/bin/env node
// Where the microseconds of one inline call go: runs lib/profile-target.mjs (a Switchboard inline over
// the raw echo upstream, 64 callers) under `node --cpu-prof`, keeps the samples of the measured window
// only, and sums self time by category. A line that calls JSON.parse or JSON.stringify counts as that
// (V8 reports builtins inside their caller; the profile's per-line ticks tell them apart).
//
//   node bench/profile.mjs [--ms 5000] [--concurrency 64] [--interval-us 1000] [--lib DIR | --floor]
//     [--nostack (captureCallSites: false)] [--isolation inline|thread] [--keep FILE.cpuprofile] [--json]
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { switchboardEntry } from './lib/contenders.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    ms: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    'interval-us': { type: 'string', default: '1000' },
    lib: { type: 'string' },
    floor: { type: 'boolean', default: false },
    nostack: { type: 'boolean', default: false },
    isolation: { type: 'string', default: 'inline' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

/** The category of one frame's self time; `line` is the source text of the sampled line, if known. */
function categoryOf({ functionName: fn, url }, line) {
  if (line?.includes('JSON.parse(')) return 'JSON.parse (of each answer)';
  if (line?.includes('JSON.stringify(')) return 'JSON.stringify (of each request)';
  if (fn === '(idle)') return '(idle: waiting for the upstream)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'V8 and native, unattributed';
  if (fn === 'writeUtf8String' || fn === 'writeBuffer' || fn === 'writev') {
    return 'pipe write: StreamBase -> libuv -> write(2)';
  }
  if (fn === 'captureCallSite' || fn === 'takeCallSite') return 'call-site capture (Error.captureStackTrace)';
  if (/\/src\/transport\/line-decoder\.js$/.test(url) || url === 'node:buffer' || fn === 'utf8Slice') {
    return 'line decoder (incl. Buffer indexOf/toString)';
  }
  if (/\/src\/transport\/stdio\.js$/.test(url) || /\/src\/core\/jsonrpc\.js$/.test(url)) {
    return 'stdio transport: framing, envelope check, write queue';
  }
  if (/\/src\/core\/correlator\.js$/.test(url)) return 'correlator (futures table)';
  if (/\/src\/core\/mailbox\.js$/.test(url)) return 'mailbox';
  if (/\/src\/upstream\/connection\.js$/.test(url)) return 'connection (request build, response routing)';
  if (/\/src\/switchboard\/switchboard\.js$/.test(url)) return 'switchboard (callTool, dispatch, leave)';
  if (url.endsWith('/bench/lib/floor-client.mjs')) return 'floor client (its own framing and futures)';
  if (url.includes('@modelcontextprotocol')) return 'MCP SDK';
  if (url.includes('/bench/lib/') || url.includes('/bench/run.mjs')) return 'load generator (bench callers)';
  if (/timers/.test(url) || fn === 'getLibuvNow') return 'timers (one deadline per call)';
  if (
    fn === 'runMicrotasks' ||
    url === 'node:internal/process/task_queues' ||
    url === 'node:internal/process/promises' ||
    url === 'node:internal/async_hooks'
  ) {
    return 'microtask / nextTick queues';
  }
  if (
    url.startsWith('node:internal/streams') ||
    url === 'node:net' ||
    url === 'node:stream' ||
    url.startsWith('node:internal/stream_base') ||
    url === 'node:events' ||
    fn === 'onStreamRead'
  ) {
    return 'Node streams: pipe read and write paths';
  }
  return 'other (start-up, module loading, ...)';
}

function run(cmd, argv) {
  return new Promise((res, rej) => {
    execFile(cmd, argv, { timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout),
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-profile-'));
try {
  const lib = switchboardEntry(args.lib ? resolve(args.lib) : undefined);
  const out = await run(process.execPath, [
    '--cpu-prof',
    '--cpu-prof-dir',
    dir,
    '--cpu-prof-interval',
    args['interval-us'],
    join(BENCH, 'lib', 'profile-target.mjs'),
    '--lib',
    lib,
    '--ms',
    args.ms,
    '--concurrency',
    args.concurrency,
    '--isolation',
    args.isolation,
    ...(args.floor ? ['--floor'] : []),
    ...(args.nostack ? ['--nostack'] : []),
  ]);
  const window = JSON.parse(out.trim().split('\n').at(-1));
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (args.keep) copyFileSync(join(dir, file), resolve(args.keep));
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));

  // Samples inside the measured window, per node.
  const inWindow = new Map();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i];
    if (t >= window.fromUs && t <= window.toUs) inWindow.set(id, (inWindow.get(id) ?? 0) + 1);
  });

  // Source lines, to tell JSON.parse/stringify apart from the rest of their caller.
  const sources = new Map();
  const lineOf = (url, n) => {
    if (!url.startsWith('file://')) return undefined;
    if (!sources.has(url)) {
      try {
        sources.set(url, readFileSync(fileURLToPath(url), 'utf8').split('\n'));
      } catch {
        sources.set(url, []);
      }
    }
    return sources.get(url)[n - 1];
  };

  const byCategory = new Map();
  const add = (cat, n) => byCategory.set(cat, (byCategory.get(cat) ?? 0) + n);
  let total = 0;
  for (const node of profile.nodes) {
    const n = inWindow.get(node.id) ?? 0;
    if (n === 0) continue;
    total += n;
    const ticks = node.positionTicks ?? [];
    const all = ticks.reduce((a, p) => a + p.ticks, 0);
    if (all === 0) {
      add(categoryOf(node.callFrame), n);
      continue;
    }
    // The window's samples of this node, split like its per-line ticks.
    for (const p of ticks) add(categoryOf(node.callFrame, lineOf(node.callFrame.url, p.line)), (n * p.ticks) / all);
  }

  const idle = byCategory.get('(idle: waiting for the upstream)') ?? 0;
  const busy = total - idle;
  const rows = [...byCategory]
    .filter(([cat]) => !cat.startsWith('(idle'))
    .sort((a, b) => b[1] - a[1])
    .map(([category, n]) => ({
      category,
      shareOfBusy: n / busy,
      usPerCall: ((n / total) * (window.toUs - window.fromUs)) / window.calls,
    }));
  const result = {
    lib,
    callsPerSec: window.callsPerSec,
    windowMs: (window.toUs - window.fromUs) / 1000,
    samples: total,
    idleShare: idle / total,
    busyUsPerCall: ((busy / total) * (window.toUs - window.fromUs)) / window.calls,
    rows,
  };
  if (args.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `${result.callsPerSec.toFixed(0)} calls/s over ${result.windowMs.toFixed(0)} ms; main thread busy ` +
        `${(100 * (1 - result.idleShare)).toFixed(0)}% of it, ${result.busyUsPerCall.toFixed(2)} µs of CPU per call\n`,
    );
    console.log('| category | % of busy time | µs per call |\n| --- | ---: | ---: |');
    for (const r of rows) {
      console.log(`| ${r.category} | ${(100 * r.shareOfBusy).toFixed(1)} | ${r.usPerCall.toFixed(2)} |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
