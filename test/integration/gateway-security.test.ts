/**
 * The gateway's gates and bad input: Host and Origin (DNS rebinding), the bearer token, the body limit,
 * the content type, invalid JSON, batches, unknown sessions and tools; none of them disturbs a live
 * session, and the client's Authorization header never reaches an upstream. An empty or padded token is
 * refused before anything is served; a malformed Host is a 403, a wildcard bind names --allow-host. Also
 * tool filters and resources through /mcp, and `switchboard serve --stdio` end to end (and its end when
 * stdin closes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type HttpFixture, startHttpFixture } from '../fixtures/http-server.js';
import {
  askingStdio,
  type GatewayUnderTest,
  LEGACY_VERSION,
  legacyClient,
  messagesOf,
  modernClient,
  post,
  postVia,
  RawSession,
  startGateway,
} from '../gateway-kit.js';
import { BIN, fixture, processesWith, ROOT, running, waitFor } from '../helpers.js';

const BOUND = { timeout: 30_000 };
const TOKEN = 'a-token-of-at-least-16-chars';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const init = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function rpcError(response: Response): Promise<{ status: number; code?: number; message?: string }> {
  for await (const m of messagesOf(response)) return { status: response.status, ...m.error };
  return { status: response.status };
}

describe('gateway: gates and bad input', () => {
  let web: HttpFixture;
  let gw: GatewayUnderTest;
  let live: RawSession;
  before(async () => {
    web = await startHttpFixture('web');
    gw = await startGateway(
      {
        mcpServers: {
          web: { url: web.url, health: false },
          echo: fixture('echo', { health: false, tools: { allow: ['echo', 'sleep', 'cancellations'] } }),
        },
      },
      { token: TOKEN, maxBodyBytes: 64 * 1024 },
    );
    live = await RawSession.open(gw.url, { headers: AUTH });
  });
  after(async () => {
    await gw?.close();
    await web?.close();
  });

  test(
    'each gate refuses with its status and a JSON-RPC error; a live session keeps working',
    BOUND,
    async () => {
      // A call of the live session runs through all of it.
      const running = live.request(1, 'tools/call', {
        name: 'echo__sleep',
        arguments: { nonce: 'live', ms: 400 },
      });
      const raw = (headers: Record<string, string>, body: string) =>
        fetch(gw.url, {
          method: 'POST',
          headers: { accept: 'application/json, text/event-stream', ...headers },
          body,
        });
      const json = { 'content-type': 'application/json' };
      // fetch cannot set Host: node:http can.
      const withHost = (host: string, body: string) => postVia(gw.url, { host, headers: AUTH }, body);
      const cases: [string, Promise<Response>, number, number | undefined][] = [
        ['no token', raw(json, JSON.stringify(init)), 401, -32001],
        [
          'wrong token',
          raw({ ...json, authorization: 'Bearer wrong-token-wrong-token' }, JSON.stringify(init)),
          401,
          -32001,
        ],
        ['Host not allowed', withHost('evil.example.com', JSON.stringify(init)), 403, undefined],
        [
          'Origin not allowed',
          raw({ ...json, ...AUTH, origin: 'http://evil.example.com' }, JSON.stringify(init)),
          403,
          undefined,
        ],
        [
          'body over the limit',
          raw({ ...json, ...AUTH }, JSON.stringify({ ...init, pad: 'x'.repeat(70_000) })),
          413,
          -32000,
        ],
        [
          // No Content-Length (chunked): the limit is found while reading, and the 413 still arrives.
          'body over the limit, streamed',
          fetch(gw.url, {
            method: 'POST',
            headers: { accept: 'application/json, text/event-stream', ...json, ...AUTH },
            body: new ReadableStream({
              start(controller) {
                for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(8192)));
                controller.close();
              },
            }),
            duplex: 'half',
          } as RequestInit),
          413,
          -32000,
        ],
        [
          'wrong content type',
          raw({ 'content-type': 'text/plain', ...AUTH }, JSON.stringify(init)),
          415,
          -32000,
        ],
        ['invalid JSON', raw({ ...json, ...AUTH }, '{"jsonrpc": "2.0", '), 400, -32700],
        ['a batch', raw({ ...json, ...AUTH }, JSON.stringify([init, { ...init, id: 2 }])), 400, -32600],
        [
          'an unknown session',
          post(
            gw.url,
            { ...AUTH, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': LEGACY_VERSION },
            {
              jsonrpc: '2.0',
              id: 5,
              method: 'tools/list',
            },
          ),
          404,
          -32001,
        ],
      ];
      for (const [what, sent, status, code] of cases) {
        const got = await rpcError(await sent);
        assert.equal(got.status, status, `${what}: ${JSON.stringify(got)}`);
        if (code !== undefined) assert.equal(got.code, code, `${what}: ${JSON.stringify(got)}`);
      }
      const unknown = await live.request(2, 'tools/call', { name: 'echo__nope', arguments: {} });
      assert.equal(unknown.response.error?.code, -32602, JSON.stringify(unknown.response));
      const done = await running;
      assert.equal(
        (done.response.result?.structuredContent as { nonce?: string } | undefined)?.nonce,
        'live',
      );
      const again = await live.request(3, 'tools/call', {
        name: 'echo__echo',
        arguments: { nonce: 'still' },
      });
      assert.equal(
        (again.response.result?.structuredContent as { nonce?: string } | undefined)?.nonce,
        'still',
      );
    },
  );

  test(
    'the token works for both SDK clients; their Authorization never reaches the upstream',
    BOUND,
    async () => {
      const old = await legacyClient(gw.url, undefined, { headers: AUTH });
      const neu = await modernClient(gw.url, undefined, { headers: AUTH });
      try {
        const before = web.headers.length;
        for (const [client, nonce] of [
          [old, 'from-old'],
          [neu, 'from-new'],
        ] as const) {
          const r = (await client.callTool({ name: 'web__echo', arguments: { nonce } })) as {
            structuredContent?: { nonce?: string };
          };
          assert.equal(r.structuredContent?.nonce, nonce);
        }
        const seen = web.headers.slice(before);
        assert.ok(seen.length >= 2, 'the calls reached the upstream');
        for (const h of web.headers)
          assert.ok(!JSON.stringify(h).includes(TOKEN), `the token leaked upstream: ${JSON.stringify(h)}`);
      } finally {
        await old.close();
        await neu.close();
      }
    },
  );

  test('tool filters hold through the gateway: not listed, not callable', BOUND, async () => {
    const old = await legacyClient(gw.url, undefined, { headers: AUTH });
    try {
      const names = (await old.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('echo__echo'));
      assert.ok(!names.includes('echo__progress'), names.join(', '));
      await assert.rejects(
        old.callTool({ name: 'echo__progress', arguments: {} }),
        (err: { code?: number }) => err.code === -32602,
      );
      const alone = await legacyClient(gw.serverUrl('echo'), undefined, { headers: AUTH });
      try {
        const own = (await alone.listTools()).tools.map((t) => t.name).sort();
        assert.deepEqual(own, ['cancellations', 'echo', 'sleep']);
        await assert.rejects(
          alone.callTool({ name: 'progress', arguments: {} }),
          (err: { code?: number }) => err.code === -32602,
        );
      } finally {
        await alone.close();
      }
    } finally {
      await old.close();
    }
  });
});

/** A config file with one echo fixture named `name` (a name a test can find its process by). */
function echoConfig(name: string): string {
  const config = join(mkdtempSync(join(tmpdir(), 'sb-serve-')), 'switchboard.json');
  writeFileSync(config, JSON.stringify({ mcpServers: { [name]: fixture(name, { health: false }) } }));
  return config;
}

/**
 * Runs `switchboard serve` until it exits, or until it says it is serving (then it is stopped, and
 * `served` is true): a refusal must come before the gateway serves anyone.
 */
function serveUntilServing(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; served: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let served = false;
    let stderr = '';
    const bound = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (c: Buffer) => {
      if (!served && c.toString().includes('gateway: http')) {
        served = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, served, stderr });
    });
  });
}

describe('gateway: the token is given or not, never empty or padded', () => {
  test(
    'serve --token "" and an empty SWITCHBOARD_TOKEN: exit 2 with what to do, no open gateway',
    BOUND,
    async () => {
      const config = echoConfig('tok');
      for (const [what, args, env, says] of [
        ['--token ""', ['--token', ''], { SWITCHBOARD_TOKEN: 'set-in-the-env-1234567' }, /--token is empty/],
        ['SWITCHBOARD_TOKEN=""', [], { SWITCHBOARD_TOKEN: '' }, /SWITCHBOARD_TOKEN is set but empty/],
      ] as const) {
        const got = await serveUntilServing(['--http', '0', '--config', config, ...args], env);
        assert.equal(got.served, false, `${what}: it served (with no token?)`);
        assert.equal(got.code, 2, `${what}: ${got.stderr}`);
        assert.match(got.stderr, says, what);
      }
    },
  );

  test('a token with leading or trailing whitespace is refused (E_INVALID_ARGUMENT)', BOUND, async () => {
    for (const token of [`${TOKEN}\n`, ` ${TOKEN}`, `${TOKEN}\t`]) {
      const outcome = await startGateway({ mcpServers: {} }, { token }).then(
        async (gw) => {
          await gw.close();
          return { code: 'started', message: '' };
        },
        (err: { code?: string; message?: string }) => err,
      );
      assert.equal(outcome.code, 'E_INVALID_ARGUMENT', `${JSON.stringify(token)}: ${outcome.message}`);
      assert.match(outcome.message ?? '', /whitespace/);
    }
    const got = await serveUntilServing(['--http', '0', '--config', echoConfig('tokws')], {
      SWITCHBOARD_TOKEN: `${TOKEN}\n`,
    });
    assert.equal(got.served, false, 'it served with a token no client can send');
    assert.notEqual(got.code, 0, got.stderr);
    assert.match(got.stderr, /E_INVALID_ARGUMENT.*whitespace/);
  });
});

describe('gateway: the Host header', () => {
  const initWithHost = (gw: GatewayUnderTest, host: string) =>
    postVia(gw.url, { host }, JSON.stringify(init)).then(rpcError);

  test('a malformed Host is refused with 403, not a 500; the gateway goes on', BOUND, async () => {
    const gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
    try {
      const port = new URL(gw.url).port;
      // A Host has no userinfo and no path (RFC 9110, 7.2): each of these is malformed.
      for (const host of [
        'a b',
        `127.0.0.1:${port}@evil.example`,
        `evil@127.0.0.1:${port}`,
        `127.0.0.1:${port}/x`,
      ]) {
        const got = await initWithHost(gw, host);
        assert.equal(got.status, 403, `Host ${JSON.stringify(host)}: ${JSON.stringify(got)}`);
      }
      const live = await RawSession.open(gw.url);
      const r = await live.request(2, 'tools/call', { name: 'echo__echo', arguments: { nonce: 'after' } });
      assert.equal((r.response.result?.structuredContent as { nonce?: string } | undefined)?.nonce, 'after');
    } finally {
      await gw.close();
    }
  });

  test(
    'a wildcard bind (0.0.0.0) refuses another address as Host, naming --allow-host; allowedHosts lets it in',
    BOUND,
    async () => {
      const config = { mcpServers: { echo: fixture('echo', { health: false }) } };
      const http = { host: '0.0.0.0', port: 0 };
      // Bound to every address, reached here on 127.0.0.1, as another machine would by 192.0.2.2.
      const via = (gw: GatewayUnderTest) => {
        const port = new URL(gw.url).port;
        return postVia(
          `http://127.0.0.1:${port}/mcp`,
          { host: `192.0.2.2:${port}`, headers: AUTH },
          JSON.stringify(init),
        );
      };
      const closed = await startGateway(config, { http, token: TOKEN });
      try {
        const got = await rpcError(await via(closed));
        assert.equal(got.status, 403, JSON.stringify(got));
        assert.match(got.message ?? '', /--allow-host/, JSON.stringify(got));
      } finally {
        await closed.close();
      }
      const open = await startGateway(config, { http, token: TOKEN, allowedHosts: ['192.0.2.2'] });
      try {
        const answer = await via(open);
        assert.equal(answer.status, 200);
        assert.ok(answer.headers.get('content-type'), 'an MCP answer');
        let result: unknown;
        for await (const m of messagesOf(answer)) result = m.result;
        assert.equal((result as { protocolVersion?: string }).protocolVersion, LEGACY_VERSION);
      } finally {
        await open.close();
      }
    },
  );
});

describe('gateway: resources through /mcp', () => {
  test(
    'a URI a server lists reads through /mcp in a fresh gateway, before any resources/list',
    BOUND,
    async () => {
      const gw = await startGateway({
        mcpServers: { a: fixture('a', { health: false }), b: fixture('b', { health: false }) },
      });
      try {
        const session = await RawSession.open(gw.url);
        const read = await session.request(1, 'resources/read', { uri: 'fixture://b/calls' });
        const contents = read.response.result?.contents as { text?: string }[] | undefined;
        assert.match(String(contents?.[0]?.text), /^b:\d+$/, `read from b: ${JSON.stringify(read.response)}`);
      } finally {
        await gw.close();
      }
    },
  );

  test(
    'a resource_link from a tool result reads back; colliding URIs are listed in the explicit form',
    BOUND,
    async () => {
      const gw = await startGateway({
        mcpServers: {
          files: fixture('files', { health: false, env: { ECHO_TOOLS: 'link' } }),
          a1: askingStdio('a1'),
          a2: askingStdio('a2'),
        },
      });
      const client = await legacyClient(gw.url);
      try {
        const linked = (await client.callTool({ name: 'files__link', arguments: { nonce: 'n1' } })) as {
          content: { type: string; uri: string }[];
        };
        const link = linked.content[0];
        assert.equal(link?.type, 'resource_link');
        assert.equal(link?.uri, 'fixture://files/linked/n1', 'the URI passes through unchanged');
        const read = await client.readResource({ uri: link.uri });
        assert.match(
          String((read.contents[0] as { text?: string }).text),
          /^files:\d+$/,
          'read from its server',
        );
        const uris = (await client.listResources()).resources.map((r) => r.uri);
        const explicit = `switchboard://a2/${encodeURIComponent('asking://info')}`;
        assert.ok(uris.includes('asking://info') && uris.includes(explicit), uris.join(', '));
        const text = async (uri: string) =>
          String(((await client.readResource({ uri })).contents[0] as { text?: string }).text);
        assert.equal(await text('asking://info'), 'asking-a1', 'the first in config order keeps the URI');
        assert.equal(await text(explicit), 'asking-a2', 'the other is read from its own server');
      } finally {
        await client.close();
        await gw.close();
      }
    },
  );
});

describe('switchboard serve --stdio', () => {
  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-serve-stdio-'));
    const config = join(dir, 'switchboard.json');
    const clock = { command: process.execPath, args: [join(ROOT, 'servers', 'clock.mjs')] };
    writeFileSync(
      config,
      JSON.stringify({ mcpServers: { echo: fixture('echo', { health: false }), clock } }),
    );
    const client = new LegacyClient({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'serve', '--stdio', '--config', config],
        stderr: 'ignore',
      }),
    );
    return client;
  };

  // On the wire, not through a client: SDK 1.x clients drop progress that shares a read with its call's
  // result (they handle notifications a microtask late), which says nothing about the gateway. Two calls
  // with their own progress tokens, at once: each token gets its own three steps, in order, before its
  // result, and no other's. The upstream writes progress and result in one write (echo/progress).
  test('serve --stdio exits (0) when its stdin closes, and its upstream is gone', BOUND, async () => {
    const name = `eof${process.pid}x${Date.now()}`;
    const child = spawn(process.execPath, [BIN, 'serve', '--stdio', '--config', echoConfig(name)], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const bound = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      // Up and answering: an initialize gets its answer, and the upstream runs.
      const answered = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdin.write(`${JSON.stringify({ ...init, id: 1 })}\n`);
      await answered;
      assert.ok(await waitFor(() => processesWith(name).length > 0, 5000), 'the upstream started');
      const upstream = processesWith(name);
      child.stdin.end();
      assert.equal(await exited, 0, 'exited by itself, with 0 (killed: it did not notice stdin close)');
      assert.ok(
        await waitFor(() => upstream.every((pid) => !running(pid)), 5000),
        `upstream ${upstream} still runs`,
      );
    } finally {
      clearTimeout(bound);
      child.kill('SIGKILL');
    }
  });

  test(
    'progress over serve --stdio: each call gets its own, in order, before its result',
    BOUND,
    async () => {
      const { createInterface } = await import('node:readline');
      const child = spawn(process.execPath, [BIN, 'serve', '--stdio', '--config', echoConfig('echo')], {
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const lines: Record<string, unknown>[] = [];
      const waiters: (() => void)[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        for (const w of waiters.splice(0)) w();
      });
      const until = async (check: () => boolean) => {
        while (!check()) await new Promise<void>((r) => waiters.push(r));
      };
      const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
      try {
        send({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        });
        await until(() => lines.some((l) => l.id === 1));
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        for (const [id, token] of [
          [2, 'tok'],
          [3, 7],
        ] as const)
          send({
            jsonrpc: '2.0',
            id,
            method: 'tools/call',
            params: {
              name: 'echo__progress',
              arguments: { nonce: `n${id}`, steps: 3 },
              _meta: { progressToken: token },
            },
          });
        await until(() => lines.some((l) => l.id === 2) && lines.some((l) => l.id === 3));
        for (const [id, token] of [
          [2, 'tok'],
          [3, 7],
        ] as const) {
          const at = lines.findIndex((l) => l.id === id);
          const mine = lines
            .map((l, i) => ({ l, i }))
            .filter(
              ({ l }) => (l.params as { progressToken?: unknown } | undefined)?.progressToken === token,
            );
          assert.deepEqual(
            mine.map(({ l }) => (l.params as { message?: string }).message),
            [`n${id}:1`, `n${id}:2`, `n${id}:3`],
            `token ${token}: its own progress, in order`,
          );
          assert.ok(
            mine.every(({ i }) => i < at),
            `token ${token}: progress before the result`,
          );
        }
      } finally {
        child.kill();
      }
    },
  );

  test('an SDK 1.x stdio client lists and calls', BOUND, async () => {
    const client = await start();
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('echo__progress'), names.join(', '));
      const r = (await client.callTool({ name: 'echo__echo', arguments: { nonce: 'via-stdio' } })) as {
        structuredContent?: { nonce?: string };
      };
      assert.equal(r.structuredContent?.nonce, 'via-stdio');
    } finally {
      await client.close();
    }
  });
});

describe('switchboard serve: signals', () => {
  // A server that never answers its handshake holds start-up (startTimeoutMs 30 s): a first Ctrl-C
  // starts a graceful stop, a second one must end it at once, still ending the server's process.
  test('a second signal during start-up stops at once, leaving no process', BOUND, async () => {
    const { spawn } = await import('node:child_process');
    const tag = `sb-serve-start-${process.pid}-${Date.now()}`;
    const dir = mkdtempSync(join(tmpdir(), 'sb-serve-signal-'));
    const config = join(dir, 'switchboard.json');
    const silent = { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', tag] };
    writeFileSync(config, JSON.stringify({ mcpServers: { silent } }));
    const child = spawn(process.execPath, [BIN, 'serve', '--http', '0', '--config', config], {
      stdio: 'ignore',
    });
    try {
      assert.ok(await waitFor(() => processesWith(tag).length === 1, 5000), 'the silent server started');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      child.kill('SIGINT');
      assert.equal(await exited, 130);
      assert.ok(await waitFor(() => processesWith(tag).length === 0, 3000), `left: ${processesWith(tag)}`);
    } finally {
      child.kill('SIGKILL');
      for (const pid of processesWith(tag)) process.kill(pid, 'SIGKILL');
    }
  });
});
