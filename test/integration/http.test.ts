/** Upstreams over real HTTP on 127.0.0.1: Streamable HTTP in both eras, and the legacy SSE transport. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RpcError, Switchboard, type SwitchboardError } from '../../src/index.js';
import { type HttpFixture, startHttpFixture } from '../fixtures/http-server.js';
import { type Isolation, ROOT, structured, waitFor } from '../helpers.js';

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`Streamable HTTP upstream (${isolation})`, () => {
    let fx: HttpFixture;
    before(async () => {
      fx = await startHttpFixture('web');
    });
    after(() => fx.close());

    test('2026-07-28: negotiated by probe; calls, progress, and a timeout that closes the request stream', async () => {
      await using sb = await Switchboard.start({ mcpServers: { web: { url: fx.url, isolation } } });
      const [status] = sb.servers();
      assert.equal(status?.state, 'ready', status?.error?.message);
      assert.equal(status?.protocolVersion, '2026-07-28');
      const nonces = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sb.callTool('web', 'echo', { nonce: `h${i}` })),
      );
      assert.deepEqual(
        nonces.map((r) => structured<{ nonce: string }>(r).nonce),
        Array.from({ length: 20 }, (_, i) => `h${i}`),
      );
      const seen: string[] = [];
      await sb.callTool(
        'web',
        'progress',
        { nonce: 'pp', steps: 4 },
        { onProgress: (p) => seen.push(String(p.message)) },
      );
      assert.deepEqual(seen, ['pp:1', 'pp:2', 'pp:3', 'pp:4']);
      const err = await sb
        .callTool('web', 'slow', { nonce: 'cut', ms: 10_000 }, { timeoutMs: 100 })
        .catch((e: unknown) => e);
      assert.equal((err as SwitchboardError).code, 'E_TIMEOUT');
      // Closing the request's SSE stream is the cancellation on this revision: the server's handler saw it.
      assert.ok(await waitFor(() => fx.aborted.includes('cut')), `server saw no cancellation: ${fx.aborted}`);
    });

    test('2026-07-28: a JSON-RPC error in a non-2xx answer is the server answering; health pings count it as alive', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          web: {
            url: fx.url,
            isolation,
            health: { intervalMs: 30, timeoutMs: 1000, failures: 1 },
            restart: { initialDelayMs: 10, jitter: 0 },
          },
        },
      });
      assert.equal(sb.servers()[0]?.protocolVersion, '2026-07-28');
      const err = await sb.request('web', 'no/such/method', {}).catch((e: unknown) => e);
      assert.ok(err instanceof RpcError, `an RpcError, not ${String(err)}`);
      assert.equal(err.code, -32601);
      // Pings this server does not serve are answered with an error: an answer, so no restart.
      await new Promise((r) => setTimeout(r, 400));
      const [s] = sb.servers();
      assert.deepEqual([s?.state, s?.restarts, s?.generation], ['ready', 0, 1]);
    });

    test('2025-era: the legacy handshake against the same server', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { web: { url: fx.url, isolation, protocol: 'legacy' } },
      });
      const [status] = sb.servers();
      assert.equal(status?.state, 'ready', status?.error?.message);
      assert.equal(status?.protocolVersion, '2025-11-25');
      const r = await sb.callTool('web', 'echo', { nonce: 'legacy-1' });
      assert.equal(structured<{ nonce: string }>(r).nonce, 'legacy-1');
    });

    test('a server that goes away is found by ping, reconnected with backoff, and used again once back', async () => {
      let fx2 = await startHttpFixture('web2');
      const port = Number(new URL(fx2.url).port);
      await using sb = await Switchboard.start({
        mcpServers: {
          web2: {
            url: fx2.url,
            isolation,
            protocol: 'legacy',
            health: { intervalMs: 50, timeoutMs: 500, failures: 1 },
            restart: { initialDelayMs: 50, maxDelayMs: 100, jitter: 0, crashLoopAfter: 100 },
          },
        },
      });
      const log: string[] = [];
      sb.on('state', (e) => log.push(e.state));
      await fx2.close();
      assert.ok(await waitFor(() => log.includes('backoff'), 10_000), log.join());
      assert.match(sb.servers()[0]?.error?.message ?? '', /web2/);
      fx2 = await startHttpFixture('web2', port);
      try {
        assert.ok(await waitFor(() => sb.servers()[0]?.state === 'ready', 10_000), log.join());
        assert.equal(log[0], 'restarting');
        const r = await sb.callTool('web2', 'echo', { nonce: 'back' });
        assert.equal(structured<{ nonce: string }>(r).nonce, 'back');
      } finally {
        await sb.close();
        await fx2.close();
      }
    });

    test('a URL that refuses connections fails start with the URL in the error', async () => {
      const port = await freePort();
      await using sb = await Switchboard.start({
        mcpServers: { gone: { url: `http://127.0.0.1:${port}/mcp`, isolation, startTimeoutMs: 5000 } },
      });
      const [status] = sb.servers();
      assert.equal(status?.state, 'backoff');
      assert.equal(status?.error?.code, 'E_START_FAILED');
      assert.match(status?.error?.message ?? '', /server 'gone' failed to start/);
    });
  });
}

describe('legacy SSE upstream (server-everything)', () => {
  let child: ChildProcess;
  let port: number;
  before(async () => {
    port = await freePort();
    child = spawn(
      process.execPath,
      [`${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, 'sse'],
      {
        env: { ...process.env, PORT: String(port) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    child.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    assert.ok(
      await waitFor(() => log.includes('running on port'), 15_000),
      `server-everything did not start: ${log}`,
    );
  });
  after(() => {
    child.kill('SIGTERM');
  });

  test('connects over SSE, lists tools and calls echo', async () => {
    await using sb = await Switchboard.start({
      mcpServers: { everything: { type: 'sse', url: `http://127.0.0.1:${port}/sse` } },
    });
    const [status] = sb.servers();
    assert.equal(status?.state, 'ready', status?.error?.message);
    assert.ok(status!.tools > 3);
    const r = await sb.callTool('everything', 'echo', { message: 'over-sse' });
    assert.match(JSON.stringify(r.content), /over-sse/);
  });

  test('configured without "type": "sse", the start error says to set it (not its 404 page)', async () => {
    const url = `http://127.0.0.1:${port}/sse`;
    await using sb = await Switchboard.start({ mcpServers: { everything: { url, restart: false } } });
    const [status] = sb.servers();
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'E_START_FAILED');
    assert.match(status?.error?.message ?? '', /is a legacy HTTP\+SSE server .*set "type": "sse"/);
    assert.ok(status?.error?.message.includes(url), status?.error?.message);
    assert.doesNotMatch(status?.error?.message ?? '', /<|Cannot POST/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
