#!/usr/bin/env node
// Where the CPU of one call through the gateway goes: starts the CLI's `serve --http` over one raw-echo
// upstream (this checkout's dist/, or --lib DIR), drives /servers/s0/mcp with the bench's undici client
// (one 2025-era session, 64 callers), and profiles the gateway process during the measured window only
// (lib/profile-hook.mjs, started and stopped by SIGUSR2). Prints self time by category and the top
// functions, as µs of gateway CPU per call.
//
//   node bench/profile-gateway.mjs [--ms 5000] [--warmup-ms 2000] [--concurrency 64] [--lib DIR] [--keep FILE] [--top 25]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { switchboardEntry } from './lib/contenders.mjs';
import { freePort, makeTempDir, probeHttp, startPeer, waitUntil } from './lib/procs.mjs';
import { rawStreamableClient } from './lib/raw-http.mjs';
import { rawEchoServers } from './lib/switchboard-config.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const { values: args } = parseArgs({
  options: {
    ms: { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    'interval-us': { type: 'string', default: '500' },
    lib: { type: 'string' },
    keep: { type: 'string' },
    top: { type: 'string', default: '25' },
  },
});

/** The category of one frame's self time. */
function categoryOf({ functionName: fn, url }) {
  if (fn === '(idle)') return '(idle)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'V8 and native, unattributed';
  if (url.includes('/src/gateway/')) return `gateway: ${url.split('/src/gateway/')[1]}`;
  if (url.includes('@modelcontextprotocol')) return 'MCP SDK (protocol, transport, schemas)';
  if (url.includes('/zod/')) return 'zod (SDK message validation)';
  if (url.includes('/dist/src/')) return 'switchboard library (upstream call path)';
  if (url.includes('webstreams')) return 'web streams (node:internal/webstreams)';
  if (url.includes('internal/deps/undici') || url.includes('node:internal/fetch')) {
    return 'web Request/Response/Headers (undici in node)';
  }
  if (url.startsWith('node:_http') || url === 'node:http') return 'node:http (parser, ServerResponse)';
  if (fn === 'writeUtf8String' || fn === 'writeBuffer' || fn === 'writev' || fn === 'writeLatin1String') {
    return 'socket/pipe write syscalls';
  }
  if (url.startsWith('node:internal/streams') || url === 'node:net' || url === 'node:stream' || url.startsWith('node:internal/stream_base') || fn === 'onStreamRead') {
    return 'Node streams and sockets';
  }
  if (fn === 'runMicrotasks' || url === 'node:internal/process/task_queues' || url === 'node:internal/process/promises' || url === 'node:internal/async_hooks') {
    return 'microtask / nextTick queues';
  }
  if (url.startsWith('node:')) return `other node: ${url}`;
  return 'other';
}

const dir = makeTempDir('profile-gateway');
const out = join(dir, 'gateway.cpuprofile');
const root = args.lib ? resolve(args.lib) : undefined;
switchboardEntry(root); // SkipError while the library is not built
const bin = join(root ?? resolve(BENCH, '..'), 'dist', 'src', 'cli', 'bin.js');
const config = join(dir, 'mcp.json');
writeFileSync(config, JSON.stringify(rawEchoServers(1, 'inline')));
const port = await freePort();
const peer = startPeer({
  name: 'gateway-profiled',
  nodeArgs: ['--import', join(BENCH, 'lib', 'profile-hook.mjs'), bin, 'serve', '--http', `127.0.0.1:${port}`, '--config', config],
  env: { ...process.env, PROFILE_OUT: out, PROFILE_INTERVAL_US: args['interval-us'] },
});
let client;
try {
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(peer, async () => (await probeHttp(`${base}/mcp`)).status > 0);
  client = await rawStreamableClient(`${base}/servers/s0/mcp`);
  let calls = 0;
  let counting = false;
  let stop = false;
  const worker = async () => {
    let n = 0;
    while (!stop) {
      const nonce = `n${n++}`;
      if ((await client.call(nonce)) !== nonce) throw new Error('the echo came back wrong');
      if (counting) calls++;
    }
  };
  const workers = Array.from({ length: Number(args.concurrency) }, worker);
  await sleep(Number(args['warmup-ms']));
  peer.child.kill('SIGUSR2');
  await sleep(50); // the profiler starts asynchronously
  counting = true;
  const t0 = performance.now();
  await sleep(Number(args.ms));
  counting = false;
  const windowMs = performance.now() - t0;
  peer.child.kill('SIGUSR2');
  stop = true;
  await Promise.all(workers);
  await waitUntil(peer, async () => peer.logTail().includes('profile-written'), { deadlineMs: 15_000 });
  const profile = JSON.parse(readFileSync(out, 'utf8'));
  if (args.keep) writeFileSync(resolve(args.keep), JSON.stringify(profile));

  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const profiledUs = profile.endTime - profile.startTime;
  const usPer = (n) => ((n / total) * profiledUs) / calls;
  const byCategory = new Map();
  const byFunction = new Map();
  let idle = 0;
  for (const node of profile.nodes) {
    const n = counts.get(node.id) ?? 0;
    if (n === 0) continue;
    const cat = categoryOf(node.callFrame);
    if (cat === '(idle)') {
      idle += n;
      continue;
    }
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + n);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  }
  const busy = total - idle;
  console.log(
    `${((calls / windowMs) * 1000).toFixed(0)} calls/s over ${windowMs.toFixed(0)} ms; gateway busy ` +
      `${((100 * busy) / total).toFixed(0)}% of one core, ${usPer(busy).toFixed(1)} µs of CPU per call\n`,
  );
  console.log('| category | % of busy | µs per call |\n| --- | ---: | ---: |');
  for (const [cat, n] of [...byCategory].sort((a, b) => b[1] - a[1]))
    console.log(`| ${cat} | ${((100 * n) / busy).toFixed(1)} | ${usPer(n).toFixed(2)} |`);
  console.log(`\ntop ${args.top} functions by self time:`);
  for (const [key, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top)))
    console.log(`${usPer(n).toFixed(2).padStart(7)} µs  ${key}`);
} finally {
  await client?.close().catch(() => {});
  await peer.close();
  rmSync(dir, { recursive: true, force: true });
}
