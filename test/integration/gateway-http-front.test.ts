/**
 * How the HTTP front sends the SDK's responses: an answer that is complete at once leaves whole (with a
 * Content-Length); a call that is still running has its stream's headers out before its answer, so the
 * client sees the stream open; a call that streams (progress) before its answer still gets each message
 * on its own stream, in order, with the answer last.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type GatewayUnderTest, messagesOf, RawSession, startGateway } from '../gateway-kit.js';
import { fixture } from '../helpers.js';

const BOUND = { timeout: 30_000 };

describe('gateway: the HTTP front sends responses', () => {
  test('a quick answer whole, a streamed call in order', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
      const session = await RawSession.open(gw.url);

      // Quick: the answer alone, as JSON, in one body that carries its length, which must be right (an
      // answer later than 20 ms streams as SSE instead: timing, so either is accepted, each checked).
      const quick = await session.post({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo__echo', arguments: { nonce: 'quick-1' } },
      });
      assert.equal(quick.status, 200);
      assert.equal(quick.headers.get('mcp-session-id'), session.id);
      const text = await quick.text();
      const type = quick.headers.get('content-type') ?? '';
      if (type.startsWith('application/json')) {
        assert.equal(Number(quick.headers.get('content-length')), Buffer.byteLength(text));
        assert.deepEqual(JSON.parse(text).id, 1);
      } else assert.match(type, /^text\/event-stream/);
      assert.match(text, /quick-1/);

      // Streamed: progress first, on this request's stream, then the answer.
      const streamed = await session.request(3, 'tools/call', {
        name: 'echo__progress',
        arguments: { nonce: 'streamed-3', steps: 3, delayMs: 50 },
        _meta: { progressToken: 'tok-3' },
      });
      assert.deepEqual(
        streamed.notifications.map((m) => (m.params as { progressToken?: unknown }).progressToken),
        ['tok-3', 'tok-3', 'tok-3'],
      );
      assert.match(JSON.stringify(streamed.response.result), /streamed-3/);

      // The session still answers after all that.
      const after = await session.post({
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'echo__echo', arguments: { nonce: 'after-4' } },
      });
      const got = [];
      for await (const m of messagesOf(after)) got.push(m);
      assert.match(JSON.stringify(got), /after-4/);
    } finally {
      await gw?.close();
    }
  });

  // The bound is the check: below the SDK's 15 s SSE keep-alive, whose first comment would send the
  // headers anyway; the front sends them 20 ms into a call that has nothing to say yet.
  test('a long call has its headers out while it runs', { timeout: 12_000 }, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
      const session = await RawSession.open(gw.url);
      // Long: fetch resolves on the headers, which come while the call still runs (60 s, over this
      // test's bound): the client sees its stream open. Closing it cancels the call.
      const controller = new AbortController();
      const long = await session.post(
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'echo__sleep', arguments: { nonce: 'long-2', ms: 60_000 } },
        },
        controller.signal,
      );
      assert.equal(long.status, 200);
      assert.match(long.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(long.headers.get('content-length'), null, 'a running call is streamed, not sized');
      controller.abort();
    } finally {
      await gw?.close();
    }
  });
});
