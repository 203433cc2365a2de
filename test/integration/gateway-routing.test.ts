/**
 * The gateway routes every message to exactly its session: answers and progress of sessions that use
 * the same JSON-RPC ids and progress tokens, and the questions upstreams ask (elicitation, sampling)
 * from a shared Streamable HTTP upstream and from a session-scoped stdio upstream, under concurrency. On
 * a shared stdio upstream, where a question cannot be tied to its call, two sessions in flight get the
 * clear ambiguity error and nobody answers for another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { askingServer } from '../fixtures/asking-server.js';
import { type StatefulFixture, startStatefulFixture } from '../fixtures/http-stateful-server.js';
import {
  answers,
  askingStdio,
  type GatewayUnderTest,
  legacyClient,
  RawSession,
  startGateway,
} from '../gateway-kit.js';
import { fixture } from '../helpers.js';

const BOUND = { timeout: 30_000 };

interface Answer {
  nonce: string;
  server: string;
  reply?: string | null;
  completion?: string | null;
  steps?: number;
}

const sc = (r: unknown) => (r as { structuredContent?: Answer }).structuredContent as Answer;

describe('gateway: every answer, progress and question to its own session', () => {
  let stateful: StatefulFixture;
  let gw: GatewayUnderTest;
  before(async () => {
    stateful = await startStatefulFixture('stateful', { server: askingServer });
    gw = await startGateway({
      mcpServers: {
        echo: fixture('echo', { health: false }),
        stateful: { url: stateful.url, protocol: 'legacy', health: false },
        scoped: askingStdio('scoped', { scope: 'session' }),
        shared: askingStdio('shared'),
      },
    });
  });
  after(async () => {
    await gw?.close();
    await stateful?.close();
  });

  test('sessions with the same request ids and progress tokens each get only their own', BOUND, async () => {
    const SESSIONS = 3;
    const CALLS = 6;
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => RawSession.open(gw.url)));
    const exchanges = await Promise.all(
      sessions.flatMap((session, s) =>
        Array.from({ length: CALLS }, (_, i) =>
          session
            .request(i + 1, 'tools/call', {
              name: 'echo__progress',
              arguments: { nonce: `s${s}-c${i}`, steps: 3, delayMs: (i * 7) % 20 },
              _meta: { progressToken: i % 2 === 0 ? 'same-token' : 42 },
            })
            .then((x) => ({ s, i, ...x })),
        ),
      ),
    );
    for (const { s, i, response, notifications } of exchanges) {
      const nonce = `s${s}-c${i}`;
      assert.equal(response.id, i + 1);
      assert.equal(sc(response.result).nonce, nonce, JSON.stringify(response));
      assert.deepEqual(
        notifications.map((n) => [n.method, n.params?.progressToken, n.params?.message]),
        [1, 2, 3].map((k) => ['notifications/progress', i % 2 === 0 ? 'same-token' : 42, `${nonce}:${k}`]),
        `${nonce}: its own progress, under its own token, and nothing else`,
      );
    }
    for (const session of sessions) assert.equal(await session.delete(), 200);
  });

  test(
    'questions from a shared HTTP upstream and a session-scoped stdio upstream: 4 sessions x 8 calls',
    BOUND,
    async (t) => {
      const SESSIONS = 4;
      const CALLS = 8;
      const asked = Array.from({ length: SESSIONS }, (_, s) => answers(`session${s}`));
      const clients = await Promise.all(asked.map((a) => legacyClient(gw.url, a)));
      try {
        const results = await Promise.all(
          clients.flatMap((client, s) =>
            Array.from({ length: CALLS }, async (_, i) => {
              const server = i % 2 === 0 ? 'stateful' : 'scoped';
              const tool = i % 4 < 2 ? 'ask' : 'sample';
              const nonce = `s${s}-${server}-${i}`;
              const got = sc(await client.callTool({ name: `${server}__${tool}`, arguments: { nonce } }));
              const expected =
                tool === 'ask' ? `session${s}<-question:${nonce}` : `session${s}<-prompt:${nonce}`;
              return { nonce, server, got, answer: tool === 'ask' ? got?.reply : got?.completion, expected };
            }),
          ),
        );
        const wrong = results.filter(
          (r) => r.got?.nonce !== r.nonce || r.got.server !== r.server || r.answer !== r.expected,
        );
        t.diagnostic(
          `gateway routing: ${results.length} calls from ${SESSIONS} sessions, each answered by its own session's questions; crossed ${wrong.length}`,
        );
        assert.deepEqual(
          wrong.map((r) => `${r.nonce}: ${JSON.stringify(r.got)}`),
          [],
          'every call answered by its own session',
        );
        for (const [s, a] of asked.entries()) {
          assert.equal(a.asked.length, CALLS, `session${s} was asked once per call`);
          assert.ok(
            a.asked.every((q) => q.includes(`:s${s}-`)),
            `session${s} was asked only its own: ${a.asked.join(' | ')}`,
          );
        }
        assert.equal(gw.gateway.stats().scoped.scoped, SESSIONS, 'one scoped process per session');
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    },
  );

  test(
    'a shared stdio upstream: two sessions in flight get the ambiguity error, nobody answers for another',
    BOUND,
    async () => {
      // Session A's question is held open, so its call is in flight when B's asks.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const aAsked: string[] = [];
      const a = await legacyClient(gw.url, answers('A'));
      a.setRequestHandler(ElicitRequestSchema, async (req) => {
        aAsked.push(String(req.params.message));
        await held;
        return { action: 'accept', content: { reply: `A<-${req.params.message}` } };
      });
      const bA = answers('B');
      const b = await legacyClient(gw.url, bA);
      try {
        const first = a.callTool({ name: 'shared__ask', arguments: { nonce: 'a1' } });
        const until = Date.now() + 10_000;
        while (aAsked.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(aAsked, ['question:a1'], "A's question reached A");
        const second = (await b.callTool({ name: 'shared__ask', arguments: { nonce: 'b1' } })) as {
          isError?: boolean;
          content: { text: string }[];
        };
        assert.equal(second.isError, true, JSON.stringify(second));
        assert.match(second.content[0]?.text ?? '', /refused rather than guessed/);
        assert.deepEqual(bA.asked, [], 'B was never asked');
        assert.deepEqual(aAsked, ['question:a1'], "A was not asked B's question");
        release();
        assert.equal(sc(await first).reply, 'A<-question:a1');
        assert.ok(
          gw.warnings.some((w) => w.includes('refused rather than guessed')),
          'the operator is told',
        );
      } finally {
        release();
        await a.close();
        await b.close();
      }
    },
  );
});
