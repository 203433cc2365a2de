/**
 * The gateway's own transport for 2025-era sessions (src/gateway/session-transport.ts), on real HTTP:
 * both SDK clients (2.x in its default 2025 mode, and 1.x) call, stream progress and answer questions
 * through it; a quick answer is one JSON body; notifications and responses get 202; batches, unsupported
 * protocol versions, missing Accept types, other methods and a request id still in flight are refused with
 * their status; one GET stream per session, which a client can reopen; a DELETE during a call answers the
 * call with an error and cancels it upstream; closing the gateway ends its open streams.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client as Sdk2Client,
  StreamableHTTPClientTransport as Sdk2Transport,
} from '@modelcontextprotocol/client';
import {
  answers,
  askingStdio,
  type GatewayUnderTest,
  LEGACY_VERSION,
  legacyClient,
  type Message,
  messagesOf,
  post,
  RawSession,
  startGateway,
} from '../gateway-kit.js';
import { fixture, waitFor } from '../helpers.js';

const BOUND = { timeout: 30_000 };

function sc(result: unknown): Record<string, unknown> {
  return ((result as { structuredContent?: unknown }).structuredContent ?? {}) as Record<string, unknown>;
}

/** The echo fixture's tool results carry their fields as JSON text. */
function textOf(m: Message | Record<string, unknown>): Record<string, unknown> {
  const result = ('result' in m ? m.result : m) as { content?: { text?: string }[] } | undefined;
  return JSON.parse(result?.content?.[0]?.text ?? '{}') as Record<string, unknown>;
}

/** The cancellations the echo fixture has heard, asked through `session`. */
async function cancelled(session: RawSession, id: number): Promise<unknown[]> {
  const { response } = await session.request(id, 'tools/call', {
    name: 'echo__cancellations',
    arguments: {},
  });
  return (textOf(response).cancelled ?? []) as unknown[];
}

describe('gateway: its 2025-era session transport', () => {
  test('SDK 2.x and 1.x clients call, get progress and answer questions through it', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    const closing: { close(): Promise<void> }[] = [];
    try {
      gw = await startGateway({
        mcpServers: { echo: fixture('echo', { health: false }), asker: askingStdio('asker') },
      });
      // SDK 2.x in its default mode: the 2025 initialize handshake, a session.
      const sdk2 = new Sdk2Client(
        { name: 'sdk2-legacy', version: '2.0.0' },
        { capabilities: { elicitation: {} } },
      );
      sdk2.setRequestHandler('elicitation/create', async (req) => ({
        action: 'accept' as const,
        content: { reply: `sdk2<-${String((req.params as { message?: unknown }).message)}` },
      }));
      const transport2 = new Sdk2Transport(new URL(gw.url));
      await sdk2.connect(transport2);
      closing.push(sdk2);
      assert.ok(transport2.sessionId, 'the SDK 2.x client holds a session');
      const sdk1 = await legacyClient(gw.url, answers('sdk1'));
      closing.push(sdk1);

      for (const [label, call] of [
        [
          'sdk2',
          (p: Parameters<typeof sdk2.callTool>[0], o: { onprogress: (p: unknown) => void }) =>
            sdk2.callTool(p, o),
        ],
        [
          'sdk1',
          (p: Parameters<typeof sdk1.callTool>[0], o: { onprogress: (p: unknown) => void }) =>
            sdk1.callTool(p, undefined, o),
        ],
      ] as const) {
        const quick = await call(
          { name: 'echo__echo', arguments: { nonce: `${label}-quick` } },
          {
            onprogress: () => {},
          },
        );
        assert.equal(textOf(quick as Record<string, unknown>).nonce, `${label}-quick`);
        const progress: unknown[] = [];
        const streamed = await call(
          { name: 'echo__progress', arguments: { nonce: `${label}-p`, steps: 3 } },
          { onprogress: (p) => progress.push((p as { message?: unknown }).message) },
        );
        assert.equal(textOf(streamed as Record<string, unknown>).nonce, `${label}-p`);
        assert.deepEqual(
          progress,
          [`${label}-p:1`, `${label}-p:2`, `${label}-p:3`],
          `${label}: its progress`,
        );
      }
      // A question from the upstream reaches the client whose call caused it, on that call's stream.
      const asked2 = sc(await sdk2.callTool({ name: 'asker__ask', arguments: { nonce: 'n2' } }));
      assert.equal(asked2.reply, 'sdk2<-question:n2');
      const asked1 = sc(await sdk1.callTool({ name: 'asker__ask', arguments: { nonce: 'n1' } }));
      assert.equal(asked1.reply, 'sdk1<-question:n1');
    } finally {
      for (const c of closing) await c.close().catch(() => {});
      await gw?.close();
    }
  });

  test('202 for notifications and responses; refusals with their status', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
      const session = await RawSession.open(gw.url);

      const note = await session.post({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
      assert.equal(note.status, 202);
      assert.equal(await note.text(), '');
      // A response to nothing the server asked: accepted all the same (the transport does not judge it).
      const reply = await session.post({ jsonrpc: '2.0', id: 'not-asked', result: {} });
      assert.equal(reply.status, 202);
      assert.equal(await reply.text(), '');

      const refusals: [string, Response, number, number | undefined][] = [];
      const headers = session.headers();
      refusals.push([
        'a batch',
        await post(gw.url, headers, [
          { jsonrpc: '2.0', id: 1, method: 'ping' },
          { jsonrpc: '2.0', id: 2, method: 'ping' },
        ]),
        400,
        -32600,
      ]);
      refusals.push([
        'an unsupported protocol version',
        await post(
          gw.url,
          { ...headers, 'mcp-protocol-version': '1999-01-01' },
          {
            jsonrpc: '2.0',
            id: 3,
            method: 'ping',
          },
        ),
        400,
        -32000,
      ]);
      refusals.push([
        'an Accept without text/event-stream',
        await post(
          gw.url,
          { ...headers, accept: 'application/json' },
          { jsonrpc: '2.0', id: 4, method: 'ping' },
        ),
        406,
        -32000,
      ]);
      refusals.push([
        'a message that is not JSON-RPC',
        await post(gw.url, headers, { jsonrpc: '2.0', id: 5, method: 'ping', extra: true }),
        400,
        -32600,
      ]);
      refusals.push([
        'a second initialize',
        await post(gw.url, headers, {
          jsonrpc: '2.0',
          id: 6,
          method: 'initialize',
          params: {
            protocolVersion: LEGACY_VERSION,
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
        400,
        -32600,
      ]);
      refusals.push([
        'PUT',
        await fetch(gw.url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' } }),
        405,
        -32000,
      ]);
      refusals.push([
        'a GET without text/event-stream',
        await fetch(gw.url, { method: 'GET', headers: { ...headers, accept: 'application/json' } }),
        406,
        -32000,
      ]);
      for (const [what, response, status, code] of refusals) {
        assert.equal(response.status, status, what);
        const body = (await response.json()) as Message;
        assert.equal(body.error?.code, code, `${what}: ${JSON.stringify(body)}`);
      }
      // A request id still in flight in this session is refused; the first call is untouched.
      const first = session.request(7, 'tools/call', {
        name: 'echo__sleep',
        arguments: { nonce: 'one', ms: 300 },
      });
      await new Promise((r) => setTimeout(r, 50));
      const again = await session.post({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'echo__echo', arguments: { nonce: 'two' } },
      });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as Message).id, 7);
      assert.equal(textOf((await first).response).nonce, 'one');
      // The session still answers, under the same id now that it is free.
      const after = await session.request(7, 'tools/call', {
        name: 'echo__echo',
        arguments: { nonce: 'free' },
      });
      assert.equal(textOf(after.response).nonce, 'free');
    } finally {
      await gw?.close();
    }
  });

  test('one GET stream per session, which the client can reopen', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { s: fixture('s', { scope: 'session', health: false }) } });
      const session = await RawSession.open(gw.url);
      const first = await session.stream();
      await assert.rejects(session.stream(), /HTTP 409/, 'a second GET stream while one is open');
      first.close();
      // Closed by the client: the session takes a new one (once the server has seen the close).
      let second: Awaited<ReturnType<RawSession['stream']>> | undefined;
      assert.ok(
        await waitFor(async () => {
          second = await session.stream().catch(() => undefined);
          return second !== undefined;
        }, 5000),
        'the GET stream could be reopened',
      );
      const bumped = await session.request(1, 'tools/call', { name: 's__bump', arguments: {} });
      assert.ok(bumped.response.result, JSON.stringify(bumped.response));
      assert.ok(
        await waitFor(
          () => second?.heard.some((m) => m.method === 'notifications/tools/list_changed') ?? false,
          5000,
        ),
        'the reopened stream carries what relates to no request',
      );
      assert.equal(
        first.heard.filter((m) => m.method === 'notifications/tools/list_changed').length,
        0,
        'the closed one nothing',
      );
      second?.close();
    } finally {
      await gw?.close();
    }
  });

  test('a DELETE during a call answers it with an error and cancels it upstream', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
      const a = await RawSession.open(gw.url);
      const b = await RawSession.open(gw.url);
      const before = (await cancelled(b, 100)).length;
      const pending = a.request(1, 'tools/call', {
        name: 'echo__sleep',
        arguments: { nonce: 'del', ms: 20_000 },
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await a.delete(), 200);
      const { response } = await pending;
      assert.equal(response.id, 1);
      assert.equal(response.error?.code, -32000, JSON.stringify(response));
      assert.match(response.error?.message ?? '', /session ended/);
      assert.ok(
        await waitFor(async () => (await cancelled(b, 101)).length === before + 1, 5000),
        'the upstream heard the call cancelled',
      );
      const gone = await a.post({ jsonrpc: '2.0', id: 2, method: 'ping' });
      assert.equal(gone.status, 404);
    } finally {
      await gw?.close();
    }
  });

  test(
    'a request the client cancels ends its stream, reaches the upstream, and frees its id',
    BOUND,
    async () => {
      let gw: GatewayUnderTest | undefined;
      try {
        gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
        const a = await RawSession.open(gw.url);
        const b = await RawSession.open(gw.url);
        for (const waitMs of [0, 100]) {
          // Cancelled before its headers went out (at once), and after (past the 20 ms early headers).
          const before = (await cancelled(b, 100 + waitMs)).length;
          const sleeping = await a.post({
            jsonrpc: '2.0',
            id: 20,
            method: 'tools/call',
            params: { name: 'echo__sleep', arguments: { nonce: `c${waitMs}`, ms: 20_000 } },
          });
          await new Promise((r) => setTimeout(r, waitMs));
          const told = await a.post({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: 20, reason: 'the user changed their mind' },
          });
          assert.equal(told.status, 202);
          const left: Message[] = [];
          for await (const m of messagesOf(sleeping)) left.push(m);
          assert.deepEqual(left, [], 'the cancelled request gets no answer, and its stream ends');
          assert.ok(
            await waitFor(async () => (await cancelled(b, 200 + waitMs)).length === before + 1, 5000),
            'the upstream heard the call cancelled',
          );
          // The id is free again in this session.
          const again = await a.request(20, 'tools/call', {
            name: 'echo__echo',
            arguments: { nonce: 'again' },
          });
          assert.equal(textOf(again.response).nonce, 'again');
        }
      } finally {
        await gw?.close();
      }
    },
  );

  test('a client that goes away before its answer cancels its call, JSON or streamed', BOUND, async () => {
    let gw: GatewayUnderTest | undefined;
    try {
      gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
      const a = await RawSession.open(gw.url);
      const b = await RawSession.open(gw.url);
      // Progress first (SSE), or nothing before the answer (headers at 20 ms): both cancelled on close.
      const calls = [
        { id: 1, name: 'echo__sleep', arguments: { nonce: 'quiet', ms: 20_000 } },
        { id: 2, name: 'echo__progress', arguments: { nonce: 'loud', steps: 1, delayMs: 0 } },
      ];
      const controller = new AbortController();
      const quiet = await a.post(
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: calls[0]!.name, arguments: calls[0]!.arguments },
        },
        controller.signal,
      );
      assert.match(quiet.headers.get('content-type') ?? '', /^text\/event-stream/);
      controller.abort();
      assert.ok(
        await waitFor(async () => (await cancelled(b, 100)).length === 1, 5000),
        'the upstream heard the quiet call cancelled',
      );
      const done = await a.request(2, 'tools/call', {
        name: calls[1]!.name,
        arguments: calls[1]!.arguments,
        _meta: { progressToken: 'p' },
      });
      assert.equal(textOf(done.response).nonce, 'loud');
      assert.equal(done.notifications.length, 1);
      assert.equal(
        (await cancelled(b, 101)).length,
        1,
        'an answered call is not cancelled by its stream ending',
      );
    } finally {
      await gw?.close();
    }
  });

  test('closing the gateway ends its open streams and answers the calls in flight', BOUND, async () => {
    const gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
    let closed = false;
    try {
      const session = await RawSession.open(gw.url);
      const stream = await session.stream();
      const response = await session.post({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'echo__sleep', arguments: { nonce: 'held', ms: 20_000 } },
      });
      const got: Message[] = [];
      const reading = (async () => {
        for await (const m of messagesOf(response)) got.push(m);
      })();
      await gw.close();
      closed = true;
      await reading;
      assert.deepEqual(
        got.map((m) => [m.id, m.error?.code]),
        [[9, -32000]],
        'the call in flight heard that its session ended',
      );
      stream.close();
    } finally {
      if (!closed) await gw.close();
    }
  });
});
