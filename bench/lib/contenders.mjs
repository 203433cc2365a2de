// The contenders. Each one is
//   { name, scenario, transport, client, needs, setup(ctx) }   (measured by the harness: latency, throughput)
//   { name, scenario, transport, client, needs, measure(ctx) } (measures itself: the memory rows)
// `setup` resolves to { call(nonce): Promise<string>, close(): Promise<void>, info?(): object }: `call`
// returns the nonce that came back and the harness checks it against the one sent; `info` adds figures
// of the contender's own (servers, memory) to the round's result.
// `scenario`: `single` (one upstream), `fanout` (many upstreams, one caller process), `interleaved` (p50
// of the main paths in alternating blocks), `memory`; the "how cost grows" scenarios (sessions,
// upstreams, catalog, message-size) are in lib/growth.mjs. `needs`: `root` contenders run on the root package's
// dependencies alone; `bench` ones need bench/node_modules and are skipped, with the command to
// install it, when that is missing.
// A setup that throws SkipError is reported as skipped, any other throw as an error row.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Client as Client2,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransport2 } from '@modelcontextprotocol/client/stdio';
import { startFloorClient } from './floor-client.mjs';
import { median, pct, sequential, shuffle } from './measure.mjs';
import { freePort, makeTempDir, probeHttp, SkipError, startPeer, waitUntil } from './procs.mjs';
import { RAW_ECHO, rawEchoServers } from './switchboard-config.mjs';

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(BENCH, '..');
const BENCH_MODULES = join(BENCH, 'node_modules') + sep;
const NODE = process.execPath;
const SDK_ECHO = join(BENCH, 'servers', 'sdk-echo.mjs');
const FORCE_LOOPBACK = join(BENCH, 'lib', 'force-loopback.cjs');
const MEMORY_PROBE = join(BENCH, 'lib', 'memory-probe.mjs');
const MEMORY_REPORT = join(BENCH, 'lib', 'memory-report.cjs');

export const INSTALL_BENCH_DEPS = 'npm --prefix bench ci --no-audit --no-fund';

// ------------------------------------------------------- bench deps ----
// SDK 1.x, undici and the peers come from bench/node_modules only: the root's node_modules may hold
// other versions of some of them (through devDependencies), and the rows must say what they ran.

const benchRequire = createRequire(join(BENCH, 'package.json'));

function fromBench(spec, resolveIt) {
  let path;
  try {
    path = resolveIt(spec);
  } catch {}
  if (!path?.startsWith(BENCH_MODULES)) {
    throw new SkipError(`needs the bench's own dependencies (${spec}); install them: ${INSTALL_BENCH_DEPS}`);
  }
  return path;
}
const resolveEsm = (spec) => fileURLToPath(import.meta.resolve(spec));
const benchImport = (spec) => import(pathToFileURL(fromBench(spec, resolveEsm)).href);
const binOf = (pkg, rel) =>
  join(dirname(fromBench(`${pkg}/package.json`, (s) => benchRequire.resolve(s))), rel);

async function sdk1() {
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    benchImport('@modelcontextprotocol/sdk/client/index.js'),
    benchImport('@modelcontextprotocol/sdk/client/stdio.js'),
  ]);
  return { Client, StdioClientTransport };
}

export async function rawHttp() {
  fromBench('undici', resolveEsm);
  return import('./raw-http.mjs');
}

// ------------------------------------------------------------ clients ----

const CLIENT_INFO = { name: 'mcp-switchboard-bench', version: '0.0.0' };

/** The text of the first content block of a tools/call result. */
export const textOf = (result) => result?.content?.[0]?.text;

/** An MCP SDK client (1.x or 2.x) wrapped as { call, close }. */
async function sdkClient(ClientClass, transport, { tool = 'echo' } = {}) {
  const client = new ClientClass(CLIENT_INFO);
  await client.connect(transport);
  const name = typeof tool === 'function' ? tool(await client.listTools()) : tool;
  return {
    call: async (nonce) => textOf(await client.callTool({ name, arguments: { nonce } })),
    close: () => client.close(),
  };
}

/** An SDK client of either major over its own stdio transport, spawning `server`. */
const sdkStdio = ({ Client, StdioClientTransport }, server = RAW_ECHO) =>
  sdkClient(Client, new StdioClientTransport({ command: NODE, args: [server] }));
const SDK2 = { Client: Client2, StdioClientTransport: StdioClientTransport2 };

/**
 * `n` handles opened concurrently and called in turn: call i goes to handle i mod n, so 64 callers
 * keep about 64/n calls in flight on each. If one fails to open, the others are closed.
 */
async function fanOut(n, open) {
  const opened = await Promise.allSettled(Array.from({ length: n }, (_, i) => open(i)));
  const handles = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const closeAll = async () => {
    const failed = (await Promise.allSettled(handles.map((h) => h.close()))).find(
      (r) => r.status === 'rejected',
    );
    if (failed) throw failed.reason;
  };
  if (handles.length < n) {
    await closeAll().catch(() => {});
    throw opened.find((r) => r.status === 'rejected').reason;
  }
  let next = 0;
  return {
    call(nonce) {
      const h = handles[next];
      next = (next + 1) % n;
      return h.call(nonce);
    },
    close: closeAll,
    info: () => ({ servers: n }),
  };
}

/** Wraps a peer process plus the client talking to it into one { call, close }. */
async function overPeer(peer, connect) {
  try {
    const client = await connect();
    return {
      call: client.call,
      ...(client.info ? { info: client.info } : {}),
      async close() {
        try {
          await client.close();
        } finally {
          await peer.close();
        }
      },
    };
  } catch (err) {
    const tail = peer.logTail();
    await peer.close();
    throw tail ? new Error(`${err.message} — peer log: ${tail}`) : err;
  }
}

// ---------------------------------------------------------------- peers ----

/** mcp-proxy: stdio -> Streamable HTTP at /mcp (and SSE at /sse), stateful sessions. */
async function startMcpProxy() {
  const port = await freePort();
  const peer = startPeer({
    name: 'mcp-proxy',
    nodeArgs: [
      binOf('mcp-proxy', 'dist/bin/mcp-proxy.mjs'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--server',
      'stream',
      '--',
      NODE,
      RAW_ECHO,
    ],
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitUntil(peer, async () => (await probeHttp(url)).status > 0);
  return { peer, url };
}

/** supergateway: stdio -> Streamable HTTP at /mcp, --stateful (one raw-echo child per session). */
async function startSupergateway() {
  const port = await freePort();
  const peer = startPeer({
    name: 'supergateway',
    nodeArgs: [
      '--require',
      FORCE_LOOPBACK, // supergateway has no host option: bind 127.0.0.1 only
      binOf('supergateway', 'dist/index.js'),
      '--stdio',
      `${JSON.stringify(NODE)} ${JSON.stringify(RAW_ECHO)}`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
    ],
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitUntil(peer, async () => (await probeHttp(url)).status > 0);
  return { peer, url };
}

/**
 * mcp-hub: a hub of stdio servers; its MCP endpoint is legacy HTTP+SSE
 * (GET /mcp, POST /messages?sessionId=...), tools namespaced `server__tool`.
 * HOME and XDG dirs point into a temp dir, and the marketplace cache is
 * pre-seeded so the hub does not try to fetch its registry from the internet.
 */
async function startMcpHub() {
  const port = await freePort();
  const dir = makeTempDir('mcp-hub');
  const cacheDir = join(dir, 'data', 'mcp-hub', 'cache');
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(
    join(cacheDir, 'registry.json'),
    JSON.stringify({
      registry: {
        version: 'bench',
        generatedAt: Date.now(),
        totalServers: 1,
        servers: [{ id: 'bench-offline' }],
      },
      lastFetchedAt: Date.now(),
      serverDocumentation: {},
    }),
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ mcpServers: { raw: { command: NODE, args: [RAW_ECHO] } } }),
  );
  const noNet = 'http://127.0.0.1:9'; // discard port: any outbound proxy-aware request dies on loopback
  const peer = startPeer({
    name: 'mcp-hub',
    dir,
    env: {
      ...process.env,
      HOME: dir,
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_STATE_HOME: join(dir, 'state'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      HTTP_PROXY: noNet,
      HTTPS_PROXY: noNet,
      http_proxy: noNet,
      https_proxy: noNet,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    },
    nodeArgs: [
      '--require',
      FORCE_LOOPBACK, // mcp-hub has no host option: bind 127.0.0.1 only
      binOf('mcp-hub', 'dist/cli.js'),
      '--port',
      String(port),
      '--config',
      join(dir, 'config.json'),
    ],
  });
  const health = `http://127.0.0.1:${port}/api/health`;
  await waitUntil(peer, async () => {
    const body = await (await probeHttp(health)).json();
    return body.state === 'ready' && body.servers?.some((s) => s.status === 'connected');
  });
  return { peer, url: `http://127.0.0.1:${port}/mcp` };
}

/** mcp-hub names the tool `raw__echo`; pick it from tools/list. */
const hubEchoTool = (list) => {
  const tool = list.tools.find((t) => t.name === 'echo' || t.name.endsWith('__echo'));
  if (!tool) throw new Error(`no echo tool in ${list.tools.map((t) => t.name).join(', ')}`);
  return tool.name;
};

// ------------------------------------------------------- switchboard ----
// >>> SWITCHBOARD CONTENDERS — the library under test plugs in here. <<<
// They load the built library (`npm run build` first) from the repo root, or from the checkout given
// to `--baseline` for the before/after rows. Until it is built they are skipped.

const SWITCHBOARD_ENTRIES = ['dist/index.js', 'dist/src/index.js'];

/** The built library's entry file under `root`; SkipError while it is not built. */
export function switchboardEntry(root = REPO) {
  const entry = SWITCHBOARD_ENTRIES.map((rel) => join(root, rel)).find((p) => existsSync(p));
  if (!entry) {
    throw new SkipError(`library not built under ${root}: none of ${SWITCHBOARD_ENTRIES.join(', ')} exists`);
  }
  return entry;
}

export async function loadSwitchboard(root) {
  const entry = switchboardEntry(root);
  const mod = await import(pathToFileURL(entry).href);
  if (typeof mod.Switchboard !== 'function') throw new Error(`${entry} has no Switchboard export`);
  return mod.Switchboard;
}

/**
 * ADAPT HERE if the library's API moves: a Switchboard over `count` raw-echo servers `s0`..,
 * hosted inline or in worker threads; `pick(i)` names the server of the i-th call.
 */
export async function openSwitchboard({ root, count, isolation, extra, pick, Switchboard, start }) {
  Switchboard ??= await loadSwitchboard(root);
  const sb = await Switchboard.start(rawEchoServers(count, isolation, extra), { requireAll: true, ...start });
  let seq = 0;
  return {
    sb,
    call: async (nonce) => textOf(await sb.callTool(pick(seq++), 'echo', { nonce })),
    close: () => sb.close(),
  };
}

/** Start options of the `-nostack` rows: no call-site stack per call (`captureCallSites: false`). */
const NO_STACK = { captureCallSites: false };

function switchboard(name, isolation, { root, label = '', start } = {}) {
  return {
    name,
    scenario: 'single',
    transport: `${isolation === 'inline' ? 'in-process' : 'worker thread'} -> stdio (raw-echo)${label}`,
    client: 'switchboard',
    needs: 'root',
    setup: () => openSwitchboard({ root, count: 1, isolation, pick: () => 's0', start }),
  };
}

function switchboardFanOut(name, isolation, { root, label = '' } = {}) {
  return {
    name,
    scenario: 'fanout',
    transport: `${isolation === 'inline' ? 'in-process' : 'worker threads'} -> N x stdio (raw-echo)${label}`,
    client: 'switchboard',
    needs: 'root',
    async setup({ cfg }) {
      const n = cfg.fanoutServers;
      const h = await openSwitchboard({ root, count: n, isolation, pick: (i) => `s${i % n}` });
      return { ...h, info: () => ({ servers: n }) };
    },
  };
}

/**
 * p50 at concurrency 1, interleaved: the floor, the SDK 2.x client and the switchboard (inline, thread),
 * or with `baselineRoot` the floor and the switchboard (inline, thread) of this checkout and the baseline, open at once and called in short blocks, in a fresh random order for every block, so a burst of
 * load elsewhere on the machine hits all of them alike. Per block, each path's p50 and its ratio to the
 * floor's in that block; the result is the median over blocks.
 */
function interleavedLatency(name, { baselineRoot } = {}) {
  const paths = baselineRoot
    ? ['floor', 'switchboard-inline', 'switchboard-inline-nostack', 'switchboard-inline@baseline', 'switchboard-thread', 'switchboard-thread@baseline']
    : ['floor', 'sdk2-stdio', 'switchboard-inline', 'switchboard-inline-nostack', 'switchboard-thread', 'switchboard-thread-nostack'];
  return {
    name,
    scenario: 'interleaved',
    transport: `stdio (raw-echo), ${paths.length} paths open at once`,
    client: 'several',
    needs: 'root',
    async measure({ cfg }) {
      const Switchboard = await loadSwitchboard();
      const Baseline = baselineRoot && (await loadSwitchboard(baselineRoot));
      const single = (S, isolation, start) => () =>
        openSwitchboard({ Switchboard: S, count: 1, isolation, pick: () => 's0', start });
      const open = {
        floor: () => startFloorClient({ args: [RAW_ECHO] }),
        'sdk2-stdio': () => sdkStdio(SDK2),
        'switchboard-inline': single(Switchboard, 'inline'),
        'switchboard-thread': single(Switchboard, 'thread'),
        'switchboard-inline-nostack': single(Switchboard, 'inline', NO_STACK),
        'switchboard-thread-nostack': single(Switchboard, 'thread', NO_STACK),
        'switchboard-inline@baseline': single(Baseline, 'inline'),
        'switchboard-thread@baseline': single(Baseline, 'thread'),
      };
      const handles = new Map();
      try {
        for (const path of paths) handles.set(path, await open[path]());
        for (const h of handles.values()) await sequential(h, cfg.warmupCalls, cfg.latencyCapMs);
        const blocks = new Map(paths.map((path) => [path, []]));
        for (let b = 0; b < cfg.interleavedBlocks; b++) {
          for (const path of shuffle(paths)) {
            const samples = await sequential(handles.get(path), cfg.interleavedBlockCalls, cfg.latencyCapMs);
            blocks.get(path).push(Number(pct(samples, 50)) / 1000);
          }
        }
        const floor = blocks.get('floor');
        const result = { blocks: cfg.interleavedBlocks, callsPerBlock: cfg.interleavedBlockCalls };
        for (const [path, p50s] of blocks) {
          result[`p50Us:${path}`] = median(p50s);
          result[`toFloor:${path}`] = median(p50s.map((v, i) => v / floor[i]));
        }
        return result;
      } finally {
        await Promise.allSettled([...handles.values()].map((h) => h.close()));
      }
    },
  };
}

/** Memory per upstream, from a fresh process (lib/memory-probe.mjs). */
function memoryRow(name, isolation) {
  return {
    name,
    scenario: 'memory',
    transport: `${isolation} upstreams (raw-echo)`,
    client: 'switchboard',
    needs: 'root',
    measure({ cfg, timeoutMs }) {
      const args = [
        '--expose-gc',
        MEMORY_PROBE,
        '--lib',
        switchboardEntry(),
        '--isolation',
        isolation,
        '--upstreams',
        String(cfg.memoryUpstreams),
      ];
      return new Promise((resolveRun, reject) => {
        execFile(NODE, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          if (err) reject(new Error(`memory probe failed: ${err.message} ${stderr.slice(-400)}`));
          else resolveRun(JSON.parse(stdout.trim().split('\n').at(-1)));
        });
      });
    },
  };
}

/**
 * switchboard-gateway: the switchboard's own HTTP front, its CLI bin (`serve --http`) over `count`
 * raw-echo servers `s0`.. (or over `config`) on a free 127.0.0.1 port, driven like the peers. `/mcp`
 * serves them all (`s0__echo`..), `/servers/s0/mcp` the first alone with its own names. With `memory`,
 * the process runs with lib/memory-report.cjs preloaded: `memoryOf(gateway)` weighs it.
 */
export async function startSwitchboardGateway({ count = 1, config, memory = false, root = REPO } = {}) {
  switchboardEntry(root); // SkipError while the library is not built
  const dir = makeTempDir('switchboard-gateway');
  const file = join(dir, 'mcp.json');
  writeFileSync(file, JSON.stringify(config ?? rawEchoServers(count, 'inline')));
  const port = await freePort();
  const report = join(dir, 'memory.json');
  const peer = startPeer({
    name: 'switchboard-gateway',
    dir,
    ...(memory && { env: { ...process.env, BENCH_MEMORY_REPORT: report } }),
    nodeArgs: [
      ...(memory ? ['--expose-gc', '--require', MEMORY_REPORT] : []),
      join(root, 'dist', 'src', 'cli', 'bin.js'),
      'serve',
      '--http',
      `127.0.0.1:${port}`,
      '--config',
      file,
    ],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(peer, async () => (await probeHttp(`${base}/mcp`)).status > 0);
  return { peer, url: `${base}/servers/s0/mcp`, aggregate: `${base}/mcp`, report };
}

/**
 * The gateway's memory after two full collections (lib/memory-report.cjs answers SIGUSR2 with its
 * process.memoryUsage()): { rss, heapUsed, external, arrayBuffers } in bytes.
 */
export async function memoryOf({ peer, report }, { deadlineMs = 10_000 } = {}) {
  rmSync(report, { force: true });
  process.kill(peer.child.pid, 'SIGUSR2');
  const end = Date.now() + deadlineMs;
  while (!existsSync(report)) {
    if (Date.now() > end) throw new Error(`the gateway did not report its memory within ${deadlineMs} ms`);
    await sleep(20);
  }
  const usage = JSON.parse(readFileSync(report, 'utf8'));
  if (!usage.collected) throw new Error('the gateway ran without --expose-gc: its heap was not collected');
  return usage;
}

// ------------------------------------------------------------ registry ----

/** A peer gateway on Streamable HTTP, driven by the SDK 2.x client or by raw JSON-RPC over undici. */
const streamablePeer = (name, start, client) => ({
  name,
  scenario: 'single',
  transport: 'streamable-http -> stdio (raw-echo)',
  client,
  needs: 'bench',
  async setup() {
    const { peer, url } = await start();
    return overPeer(peer, async () =>
      client === 'sdk2'
        ? sdkClient(Client2, new StreamableHTTPClientTransport(new URL(url)))
        : (await rawHttp()).rawStreamableClient(url),
    );
  },
});

export const contenders = [
  // One upstream.
  {
    name: 'floor',
    scenario: 'single',
    transport: 'stdio (raw-echo)',
    client: 'raw-ndjson',
    needs: 'root',
    setup: () => startFloorClient({ args: [RAW_ECHO] }),
  },
  {
    name: 'sdk2-stdio',
    scenario: 'single',
    transport: 'stdio (raw-echo)',
    client: 'sdk2',
    needs: 'root',
    setup: () => sdkStdio(SDK2),
  },
  {
    name: 'sdk1-stdio',
    scenario: 'single',
    transport: 'stdio (raw-echo)',
    client: 'sdk1',
    needs: 'bench',
    setup: async () => sdkStdio(await sdk1()),
  },
  {
    name: 'sdk2-stdio-sdkserver',
    scenario: 'single',
    transport: 'stdio (sdk-echo)',
    client: 'sdk2',
    needs: 'root',
    setup: () => sdkStdio(SDK2, SDK_ECHO),
  },
  switchboard('switchboard-inline', 'inline'),
  switchboard('switchboard-thread', 'thread'),
  switchboard('switchboard-inline-nostack', 'inline', { start: NO_STACK, label: ', captureCallSites: false' }),
  switchboard('switchboard-thread-nostack', 'thread', { start: NO_STACK, label: ', captureCallSites: false' }),
  {
    name: 'switchboard-gateway',
    scenario: 'single',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'sdk2',
    needs: 'root',
    async setup() {
      const { peer, url } = await startSwitchboardGateway();
      return overPeer(peer, () => sdkClient(Client2, new StreamableHTTPClientTransport(new URL(url))));
    },
  },
  // The same client as the peers' +undici rows: what the gateway costs without the SDK client's own.
  gatewayUndici('switchboard-gateway+undici'),
  streamablePeer('mcp-proxy-http', startMcpProxy, 'sdk2'),
  streamablePeer('mcp-proxy-http+undici', startMcpProxy, 'undici-raw'),
  streamablePeer('supergateway-http', startSupergateway, 'sdk2'),
  streamablePeer('supergateway-http+undici', startSupergateway, 'undici-raw'),
  {
    name: 'mcp-hub-sse',
    scenario: 'single',
    transport: 'legacy-sse -> stdio (raw-echo)',
    client: 'sdk2',
    needs: 'bench',
    async setup() {
      const { peer, url } = await startMcpHub();
      return overPeer(peer, () =>
        sdkClient(Client2, new SSEClientTransport(new URL(url)), { tool: hubEchoTool }),
      );
    },
  },
  {
    name: 'mcp-hub-sse+undici',
    scenario: 'single',
    transport: 'legacy-sse -> stdio (raw-echo)',
    client: 'undici-raw',
    needs: 'bench',
    async setup() {
      const { peer, url } = await startMcpHub();
      return overPeer(peer, async () => (await rawHttp()).rawSseClient(url, { tool: hubEchoTool }));
    },
  },

  // N upstreams, one caller process: 64 callers spread over them.
  {
    name: 'floor-fanout',
    scenario: 'fanout',
    transport: 'N x stdio (raw-echo)',
    client: 'raw-ndjson',
    needs: 'root',
    setup: ({ cfg }) => fanOut(cfg.fanoutServers, () => startFloorClient({ args: [RAW_ECHO] })),
  },
  {
    name: 'sdk2-fanout',
    scenario: 'fanout',
    transport: 'N x stdio (raw-echo)',
    client: 'sdk2',
    needs: 'root',
    setup: ({ cfg }) => fanOut(cfg.fanoutServers, () => sdkStdio(SDK2)),
  },
  {
    name: 'sdk1-fanout',
    scenario: 'fanout',
    transport: 'N x stdio (raw-echo)',
    client: 'sdk1',
    needs: 'bench',
    async setup({ cfg }) {
      const sdk = await sdk1();
      return fanOut(cfg.fanoutServers, () => sdkStdio(sdk));
    },
  },
  switchboardFanOut('switchboard-inline-fanout', 'inline'),
  switchboardFanOut('switchboard-thread-fanout', 'thread'),
  {
    // One gateway process over N upstreams at /mcp: one undici session per upstream, call i to s<i mod N>.
    name: 'switchboard-gateway-fanout+undici',
    scenario: 'fanout',
    transport: 'streamable-http -> N x stdio (raw-echo)',
    client: 'undici-raw',
    needs: 'bench',
    async setup({ cfg }) {
      const n = cfg.fanoutServers;
      const { peer, aggregate } = await startSwitchboardGateway({ count: n });
      const raw = await rawHttp();
      return overPeer(peer, () =>
        fanOut(n, (i) => raw.rawStreamableClient(aggregate, { tool: `s${i}__echo` })),
      );
    },
  },

  // p50 at concurrency 1, the main paths interleaved in short blocks.
  interleavedLatency('c1-interleaved'),

  // Memory per upstream.
  memoryRow('memory-inline', 'inline'),
  memoryRow('memory-thread', 'thread'),
];

function gatewayUndici(name, { root, label = '' } = {}) {
  return {
    name,
    scenario: 'single',
    transport: `streamable-http -> stdio (raw-echo)${label}`,
    client: 'undici-raw',
    needs: 'bench',
    async setup() {
      const { peer, url } = await startSwitchboardGateway({ root });
      return overPeer(peer, async () => (await rawHttp()).rawStreamableClient(url));
    },
  };
}

/** The same library rows, from another built checkout (`--baseline DIR`): before/after in one run. */
export function baselineContenders(root) {
  const label = ' [baseline]';
  return [
    switchboard('switchboard-inline@baseline', 'inline', { root, label }),
    switchboard('switchboard-thread@baseline', 'thread', { root, label }),
    switchboardFanOut('switchboard-inline-fanout@baseline', 'inline', { root, label }),
    gatewayUndici('switchboard-gateway+undici@baseline', { root, label }),
    interleavedLatency('c1-interleaved@baseline', { baselineRoot: root }),
  ];
}
