// The contenders. Each one is
//   { name, transport, client, smoke?, setup(): Promise<{ call(nonce): Promise<string>, close(): Promise<void> }> }
// `call` returns the nonce that came back; the harness checks it against the one sent.
// `transport` is the path a call takes; `client` is what drove the row.
// A setup that throws SkipError is reported as skipped, any other throw as an error row.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Client as Client2,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransport2 } from '@modelcontextprotocol/client/stdio';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransport1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startFloorClient } from './floor-client.mjs';
import { freePort, makeTempDir, probeHttp, SkipError, startPeer, waitUntil } from './procs.mjs';
import { rawSseClient, rawStreamableClient } from './raw-http.mjs';

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(BENCH, '..');
const NODE = process.execPath;
const RAW_ECHO = join(BENCH, 'servers', 'raw-echo.mjs');
const SDK_ECHO = join(BENCH, 'servers', 'sdk-echo.mjs');
const FORCE_LOOPBACK = join(BENCH, 'lib', 'force-loopback.cjs');
const require = createRequire(import.meta.url);
const binOf = (pkg, rel) => join(dirname(require.resolve(`${pkg}/package.json`)), rel);

const CLIENT_INFO = { name: 'mcp-switchboard-bench', version: '0.0.0' };

/** The text of the first content block of a tools/call result. */
const textOf = (result) => result?.content?.[0]?.text;

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

/** Wraps a peer process plus the client talking to it into one { call, close }. */
async function overPeer(peer, connect) {
  try {
    const client = await connect();
    return {
      call: client.call,
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
// They load the built library from the repo root (`npm run build` first). The
// brief names `dist/index.js`; the root package.json currently points `main`
// at `dist/src/index.js`, so both are tried. Until one exists they are skipped.
// If the Switchboard constructor/config differs, only `openSwitchboard` below
// needs to change.

const SWITCHBOARD_ENTRIES = ['dist/index.js', 'dist/src/index.js'];

async function loadSwitchboard() {
  const entry = SWITCHBOARD_ENTRIES.map((rel) => join(REPO, rel)).find((p) => existsSync(p));
  if (!entry) throw new SkipError(`library not built: none of ${SWITCHBOARD_ENTRIES.join(', ')} exists`);
  const mod = await import(pathToFileURL(entry).href);
  if (typeof mod.Switchboard !== 'function') throw new Error(`${entry} has no Switchboard export`);
  return mod.Switchboard;
}

/**
 * ADAPT HERE if the library's API moves: a Switchboard with one upstream `echo`
 * = raw-echo.mjs over stdio, hosted inline or in a worker thread. maxInFlight
 * is raised to the bench's concurrency so the mailbox does not throttle the
 * c=64 run below what the other contenders get (the library default is 16).
 */
async function openSwitchboard(Switchboard, isolation) {
  return Switchboard.start(
    { mcpServers: { echo: { command: NODE, args: [RAW_ECHO], isolation, maxInFlight: 64 } } },
    { requireAll: true },
  );
}

function switchboard(name, isolation, transport) {
  return {
    name,
    transport,
    client: 'switchboard',
    smoke: true,
    async setup() {
      const sb = await openSwitchboard(await loadSwitchboard(), isolation);
      return {
        call: async (nonce) => textOf(await sb.callTool('echo', 'echo', { nonce })),
        close: async () => sb.close(),
      };
    },
  };
}

// >>> FUTURE: switchboard-gateway — the switchboard's own HTTP front (CLI bin
// fronting raw-echo.mjs on a free 127.0.0.1 port), to be driven exactly like
// the peers: `sdk2` over StreamableHTTPClientTransport and `undici-raw` via
// rawStreamableClient. Fill in `startSwitchboardGateway` (spawn with startPeer,
// wait with waitUntil, return { peer, url }) and remove the SkipError.
async function startSwitchboardGateway() {
  throw new SkipError('switchboard-gateway not written yet (see contenders.mjs)');
}

// ------------------------------------------------------------ registry ----

export const contenders = [
  {
    name: 'floor',
    transport: 'stdio (raw-echo)',
    client: 'raw-ndjson',
    smoke: true,
    setup: () => startFloorClient({ args: [RAW_ECHO] }),
  },
  {
    name: 'sdk2-stdio',
    transport: 'stdio (raw-echo)',
    client: 'sdk2',
    smoke: true,
    setup: () => sdkClient(Client2, new StdioClientTransport2({ command: NODE, args: [RAW_ECHO] })),
  },
  {
    name: 'sdk1-stdio',
    transport: 'stdio (raw-echo)',
    client: 'sdk1',
    setup: () => sdkClient(Client1, new StdioClientTransport1({ command: NODE, args: [RAW_ECHO] })),
  },
  {
    name: 'sdk2-stdio-sdkserver',
    transport: 'stdio (sdk-echo)',
    client: 'sdk2',
    setup: () => sdkClient(Client2, new StdioClientTransport2({ command: NODE, args: [SDK_ECHO] })),
  },

  switchboard('switchboard-inline', 'inline', 'in-process -> stdio (raw-echo)'),
  switchboard('switchboard-thread', 'thread', 'worker thread -> stdio (raw-echo)'),
  {
    name: 'switchboard-gateway',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'sdk2',
    async setup() {
      const { peer, url } = await startSwitchboardGateway();
      return overPeer(peer, () => sdkClient(Client2, new StreamableHTTPClientTransport(new URL(url))));
    },
  },

  {
    name: 'mcp-proxy-http',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'sdk2',
    async setup() {
      const { peer, url } = await startMcpProxy();
      return overPeer(peer, () => sdkClient(Client2, new StreamableHTTPClientTransport(new URL(url))));
    },
  },
  {
    name: 'mcp-proxy-http+undici',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'undici-raw',
    async setup() {
      const { peer, url } = await startMcpProxy();
      return overPeer(peer, () => rawStreamableClient(url));
    },
  },
  {
    name: 'supergateway-http',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'sdk2',
    async setup() {
      const { peer, url } = await startSupergateway();
      return overPeer(peer, () => sdkClient(Client2, new StreamableHTTPClientTransport(new URL(url))));
    },
  },
  {
    name: 'supergateway-http+undici',
    transport: 'streamable-http -> stdio (raw-echo)',
    client: 'undici-raw',
    async setup() {
      const { peer, url } = await startSupergateway();
      return overPeer(peer, () => rawStreamableClient(url));
    },
  },
  {
    name: 'mcp-hub-sse',
    transport: 'legacy-sse -> stdio (raw-echo)',
    client: 'sdk2',
    async setup() {
      const { peer, url } = await startMcpHub();
      return overPeer(peer, () =>
        sdkClient(Client2, new SSEClientTransport(new URL(url)), { tool: hubEchoTool }),
      );
    },
  },
  {
    name: 'mcp-hub-sse+undici',
    transport: 'legacy-sse -> stdio (raw-echo)',
    client: 'undici-raw',
    async setup() {
      const { peer, url } = await startMcpHub();
      return overPeer(peer, () => rawSseClient(url, { tool: hubEchoTool }));
    },
  },
];
