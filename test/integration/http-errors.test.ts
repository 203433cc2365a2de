/**
 * HTTP start failures say what happened at which URL and what to try, in a line or two: never an SDK
 * one-liner like "fetch failed", never a whole HTML page. The original error stays as `cause`, and
 * `data` carries the URL and the HTTP status.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ProtocolMode, Switchboard, type SwitchboardError } from '../../src/index.js';
import { type MisbehavingServer, startMisbehavingServer } from '../fixtures/http-misbehaving.js';
import { type HttpFixture, startHttpFixture } from '../fixtures/http-server.js';
import type { Isolation } from '../helpers.js';

const BOUND = { timeout: 30_000 };

/** Starts one server that is expected to fail, and returns the error its `failed` state carries. */
async function startFailure(entry: Record<string, unknown>): Promise<SwitchboardError> {
  let error: SwitchboardError | undefined;
  const sb = await Switchboard.start(
    { mcpServers: { s: { restart: false, startTimeoutMs: 10_000, ...entry } } },
    {
      on: {
        state: (e) => {
          if (e.error) error = e.error as SwitchboardError;
        },
      },
    },
  );
  try {
    const [status] = sb.servers();
    assert.equal(status?.state, 'failed', `expected a failed start: ${status?.error?.message}`);
    assert.ok(error, 'no error with the failed state');
    // What `status` shows is the same message.
    assert.equal(status?.error?.message, error.message);
    return error;
  } finally {
    await sb.close();
  }
}

/** What every HTTP start error must be: one or two short lines, with its URL, cause and data. */
function assertShape(err: SwitchboardError, url: string): void {
  assert.equal(err.code, 'E_START_FAILED', err.message);
  assert.ok(err.message.startsWith("server 's' failed to start: "), err.message);
  assert.ok(err.message.includes(url), `the URL is not in: ${err.message}`);
  assert.ok(err.message.length <= 400, `too long (${err.message.length}): ${err.message}`);
  assert.ok(err.message.split('\n').length <= 2, err.message);
  assert.doesNotMatch(err.message, /<[a-z!/]/i, 'HTML in the message');
  assert.ok(err.cause instanceof Error, 'the original error is not kept as cause');
  assert.equal(err.data.url, url);
}

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

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`HTTP start errors (${isolation})`, () => {
    let srv: MisbehavingServer;
    let live: HttpFixture;
    before(async () => {
      srv = await startMisbehavingServer();
      live = await startHttpFixture('live');
    });
    after(async () => {
      await srv.close();
      await live.close();
    });

    for (const protocol of ['auto', 'legacy'] as ProtocolMode[]) {
      describe(`protocol ${protocol}`, () => {
        test('connection refused: is the server running?', BOUND, async () => {
          const url = `http://127.0.0.1:${await freePort()}/mcp`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /cannot connect to \S+: connection refused; is the server running/);
          assert.equal(err.data.errno, 'ECONNREFUSED');
        });

        test('a host that does not resolve: cannot resolve host', BOUND, async () => {
          const url = 'http://mcp-switchboard-test.invalid/mcp';
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /cannot resolve host 'mcp-switchboard-test\.invalid'/);
        });

        test('404 with an HTML page: no MCP endpoint at this path, and no HTML', BOUND, async () => {
          const url = `${srv.base}/html404`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /HTTP 404 from \S+: no MCP endpoint at this path; check the path/);
          assert.match(err.message, /\/mcp/);
          assert.equal(err.data.status, 404);
        });

        test('401: the server wants credentials under "headers"', BOUND, async () => {
          const url = `${srv.base}/unauthorized`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(
            err.message,
            /HTTP 401 from \S+: the server wants credentials; add them under "headers"/,
          );
          assert.match(err.message, /"Authorization": "Bearer \$\{TOKEN\}"/);
          assert.equal(err.data.status, 401);
        });

        test(
          '401 with a JSON-RPC error as its body: still the server wanting credentials',
          BOUND,
          async () => {
            const url = `${srv.base}/unauthorized-rpc`;
            const err = await startFailure({ url, isolation, protocol });
            assert.match(
              err.message,
              /HTTP 401 from \S+: the server wants credentials; add them under "headers"/,
            );
            assert.equal(err.data.status, 401);
          },
        );

        test('401 with credentials configured: they were refused', BOUND, async () => {
          const url = `${srv.base}/unauthorized`;
          const err = await startFailure({
            url,
            isolation,
            protocol,
            headers: { Authorization: 'Bearer expired' },
          });
          assertShape(err, url);
          assert.match(err.message, /HTTP 401 from \S+: the server refused the credentials in "headers"/);
          assert.doesNotMatch(err.message, /expired/, 'the token itself is not for the message');
        });

        test('403: access refused, check the credentials under "headers"', BOUND, async () => {
          const url = `${srv.base}/forbidden`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /HTTP 403 from \S+: .*"headers"/);
          assert.equal(err.data.status, 403);
        });

        test('200 with an HTML page: answered, but not with MCP', BOUND, async () => {
          const url = `${srv.base}/html200`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /answered, but not with MCP \(content type text\/html.*check the path/);
        });

        test("500: the server failed, with the body's first words", BOUND, async () => {
          const url = `${srv.base}/broken`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(
            err.message,
            /HTTP 500 from \S+: the server failed \("internal error: database unavailable"\)/,
          );
          assert.equal(err.data.status, 500);
        });

        test('a redirect to another origin: says where it points', BOUND, async () => {
          const url = `${srv.base}/moved`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(
            err.message,
            /HTTP 307 from \S+: a redirect to http:\/\/localhost:\d+\/mcp that is not followed/,
          );
        });

        test('credentials in the URL: move them to "headers", and never show them', BOUND, async () => {
          const shown = `${srv.base}/unauthorized`;
          const url = shown.replace('http://', 'http://someone:s3cret@');
          const err = await startFailure({ url: `${url}?api_key=k3y`, isolation, protocol });
          assertShape(err, `${shown}?…`);
          assert.match(err.message, /put them under "headers"/);
          assert.doesNotMatch(`${err.message} ${JSON.stringify(err.data)}`, /s3cret|someone|k3y/);
        });

        test('a legacy SSE server without "type": "sse": says to set it', BOUND, async () => {
          const url = `${srv.base}/sse`;
          const err = await startFailure({ url, isolation, protocol });
          assertShape(err, url);
          assert.match(err.message, /legacy HTTP\+SSE server.*set "type": "sse"/);
          assert.equal(err.data.status, 405);
        });
      });
    }

    describe('type sse', () => {
      test('connection refused', BOUND, async () => {
        const url = `http://127.0.0.1:${await freePort()}/sse`;
        const err = await startFailure({ type: 'sse', url, isolation });
        assertShape(err, url);
        assert.match(err.message, /cannot connect to \S+: connection refused; is the server running/);
      });

      test('404: no SSE endpoint at this path', BOUND, async () => {
        const url = `${srv.base}/html404`;
        const err = await startFailure({ type: 'sse', url, isolation });
        assertShape(err, url);
        assert.match(err.message, /HTTP 404 from \S+: no MCP endpoint at this path; check the path/);
        assert.match(err.message, /\/sse/);
        assert.equal(err.data.status, 404);
      });

      test('401: the server wants credentials under "headers"', BOUND, async () => {
        const url = `${srv.base}/unauthorized`;
        const err = await startFailure({ type: 'sse', url, isolation });
        assertShape(err, url);
        assert.match(
          err.message,
          /HTTP 401 from \S+: the server wants credentials; add them under "headers"/,
        );
      });

      test('a Streamable HTTP server configured as "type": "sse": says to remove it', BOUND, async () => {
        const err = await startFailure({ type: 'sse', url: live.url, isolation });
        assertShape(err, live.url);
        assert.match(err.message, /Streamable HTTP.*"type": "sse"/);
      });
    });
  });
}
