/**
 * The gateway to both protocol eras at once on one URL: an SDK 1.x client (2025-11-25, a session) and an
 * SDK v2 client pinned to 2026-07-28 (stateless). Questions from upstreams reach the client of the call
 * that caused them: over a 2025-era session as real requests, to a 2026-07-28 client as input_required
 * results, whether the upstream speaks 2026-07-28 (its input_required passes through, its requestState
 * sealed) or 2025-11-25 (the call is parked between rounds). A tampered requestState is refused.
 * List changes reach 2026-07-28 listeners on every spelling of their path; a session's own upstream's
 * change reaches that session only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AskingHttp, askingServer, roundsState, startAskingHttp } from '../fixtures/asking-server.js';
import { type StatefulFixture, startStatefulFixture } from '../fixtures/http-stateful-server.js';
import {
  answers,
  askingStdio,
  type GatewayUnderTest,
  legacyClient,
  type Message,
  modernClient,
  RawSession,
  startGateway,
} from '../gateway-kit.js';
import { fixture, ROOT, waitFor } from '../helpers.js';

const CONFORMANCE_STDIO = `${ROOT}test/fixtures/conformance-stdio.mjs`;

const BOUND = { timeout: 30_000 };

interface Answer {
  nonce: string;
  server: string;
  reply?: string | null;
  completion?: string | null;
  answers?: string[];
  states?: string[];
  roots?: string[];
}

const sc = (r: { structuredContent?: unknown }) => r.structuredContent as Answer;

describe('gateway: both eras on one URL', () => {
  let modern: AskingHttp;
  let stateful: StatefulFixture;
  let gw: GatewayUnderTest;
  before(async () => {
    modern = await startAskingHttp('modern');
    stateful = await startStatefulFixture('stateful', { server: askingServer });
    gw = await startGateway({
      mcpServers: {
        modern: { url: modern.url, health: false },
        stateful: { url: stateful.url, protocol: 'legacy', health: false },
        local: askingStdio('local'),
      },
    });
  });
  after(async () => {
    await gw?.close();
    await modern?.close();
    await stateful?.close();
  });

  test(
    'an SDK 1.x and an SDK v2 client at once: each answers its own calls, over every upstream',
    BOUND,
    async () => {
      const oldA = answers('old');
      const newA = answers('new');
      const old = await legacyClient(gw.url, oldA);
      const neu = await modernClient(gw.url, newA);
      try {
        const names = (await neu.listTools()).tools.map((t) => t.name);
        for (const n of ['modern__ask', 'stateful__sample', 'local__rounds'])
          assert.ok(names.includes(n), `${n} listed to the modern client: ${names.join(', ')}`);
        assert.deepEqual(
          (await old.listTools()).tools.map((t) => t.name).sort(),
          [...names].sort(),
          'both eras see the same tools',
        );
        // Both clients at once, on both HTTP upstreams, eliciting and sampling; each reply names its client.
        // (The stdio upstream has no link from a request to its call: there, one call at a time.)
        const call = async (
          client: typeof old | typeof neu,
          marker: string,
          server: string,
          tool: string,
        ) => {
          const nonce = `${marker}-${server}-${tool}`;
          const got = sc(
            (await client.callTool({ name: `${server}__${tool}`, arguments: { nonce } })) as never,
          );
          assert.equal(got?.nonce, nonce, JSON.stringify(got));
          assert.equal(got.server, server);
          const expected = tool === 'ask' ? `${marker}<-question:${nonce}` : `${marker}<-prompt:${nonce}`;
          assert.equal(
            tool === 'ask' ? got.reply : got.completion,
            expected,
            `${nonce}: ${JSON.stringify(got)}`,
          );
        };
        const jobs: Promise<void>[] = [];
        for (const [client, marker] of [
          [old, 'old'],
          [neu, 'new'],
        ] as const)
          for (const server of ['modern', 'stateful'])
            for (const tool of ['ask', 'sample']) jobs.push(call(client, marker, server, tool));
        await Promise.all(jobs);
        for (const tool of ['ask', 'sample']) {
          await call(old, 'old', 'local', tool);
          await call(neu, 'new', 'local', tool);
        }
        assert.equal(oldA.asked.length, 6, oldA.asked.join(' | '));
        assert.equal(newA.asked.length, 6, newA.asked.join(' | '));
        assert.ok(
          oldA.asked.every((q) => q.includes(':old-')),
          oldA.asked.join(' | '),
        );
        assert.ok(
          newA.asked.every((q) => q.includes(':new-')),
          newA.asked.join(' | '),
        );
      } finally {
        await old.close();
        await neu.close();
      }
    },
  );

  test(
    'a 2026-07-28 upstream: rounds pass through, its requestState byte-exact behind the seal',
    BOUND,
    async () => {
      const a = answers('r');
      const neu = await modernClient(gw.url, a, { autoFulfill: false });
      try {
        const first = (await neu.callTool({ name: 'modern__rounds', arguments: { nonce: 'rn', rounds: 2 } }, {
          allowInputRequired: true,
        } as never)) as unknown as {
          resultType?: string;
          requestState?: string;
          inputRequests?: Record<string, unknown>;
        };
        assert.equal(first.resultType, 'input_required', JSON.stringify(first));
        assert.equal(typeof first.requestState, 'string');
        // The gateway's seal, not the server's state: the client never sees the upstream's bytes.
        assert.ok(!String(first.requestState).includes('answers'), 'upstream state is sealed');
        assert.ok(first.inputRequests?.q, 'the upstream question is passed on under its own key');
      } finally {
        await neu.close();
      }
      const auto = await modernClient(gw.url, answers('r2'));
      try {
        const r = sc(
          (await auto.callTool({ name: 'modern__rounds', arguments: { nonce: 'rn2', rounds: 3 } })) as never,
        );
        assert.deepEqual(r.answers, ['r2<-round 1:rn2', 'r2<-round 2:rn2', 'r2<-round 3:rn2']);
        // The upstream got back exactly the states it sent (line separator, accents and emoji intact).
        const sent: string[] = [];
        const state = { answers: [] as string[], seen: [] as string[] };
        for (let i = 1; i <= 3; i++) {
          sent.push(roundsState(state));
          state.seen.push(sent[sent.length - 1] as string);
          state.answers.push(`r2<-round ${i}:rn2`);
        }
        assert.deepEqual(r.states, sent);
      } finally {
        await auto.close();
      }
    },
  );

  test(
    'a 2025-era upstream asks a 2026-07-28 client: the call is parked, and several rounds work',
    BOUND,
    async () => {
      const a = answers('p');
      const neu = await modernClient(gw.url, a);
      try {
        const r = sc(
          (await neu.callTool({ name: 'stateful__rounds', arguments: { nonce: 'pr', rounds: 3 } })) as never,
        );
        assert.deepEqual(r.answers, ['p<-round 1:pr', 'p<-round 2:pr', 'p<-round 3:pr']);
        const roots = sc((await neu.callTool({ name: 'local__roots', arguments: { nonce: 'rt' } })) as never);
        assert.deepEqual(roots.roots, ['file:///p']);
        assert.equal(gw.gateway.stats().parked, 0, 'nothing stays parked once the calls are done');
      } finally {
        await neu.close();
      }
    },
  );

  test('a tampered requestState is refused with -32602; the genuine one still works', BOUND, async () => {
    const neu = await modernClient(gw.url, answers('t'), { autoFulfill: false });
    try {
      for (const server of ['modern', 'stateful']) {
        const name = `${server}__ask`;
        const args = { nonce: `t-${server}` };
        const first = (await neu.callTool({ name, arguments: args }, {
          allowInputRequired: true,
        } as never)) as unknown as {
          resultType: string;
          requestState: string;
          inputRequests: Record<string, unknown>;
        };
        assert.equal(first.resultType, 'input_required', `${server}: ${JSON.stringify(first)}`);
        const key = Object.keys(first.inputRequests)[0] as string;
        const inputResponses = { [key]: { action: 'accept', content: { reply: 'genuine' } } };
        const state = first.requestState;
        const flipped = state.slice(0, 10) + (state[10] === 'A' ? 'B' : 'A') + state.slice(11);
        await assert.rejects(
          neu.callTool(
            { name, arguments: args, requestState: flipped, inputResponses } as never,
            {
              allowInputRequired: true,
            } as never,
          ),
          (err: { code?: number }) => err.code === -32602,
          `${server}: a flipped byte`,
        );
        await assert.rejects(
          neu.callTool(
            { name: `${server}__sample`, arguments: args, requestState: state, inputResponses } as never,
            {
              allowInputRequired: true,
            } as never,
          ),
          (err: { code?: number }) => err.code === -32602,
          `${server}: another tool's state`,
        );
        const done = sc(
          (await neu.callTool(
            { name, arguments: args, requestState: state, inputResponses } as never,
            {
              allowInputRequired: true,
            } as never,
          )) as never,
        );
        assert.equal(done.reply, 'genuine', `${server}: ${JSON.stringify(done)}`);
      }
    } finally {
      await neu.close();
    }
  });
});

describe('gateway: list changes reach 2026-07-28 listeners', () => {
  test('subscriptions/listen at any spelling of a path hears its view change', BOUND, async () => {
    const gw = await startGateway({ mcpServers: { e: fixture('e', { health: false }) } });
    const base = gw.url.replace(/\/mcp$/, '');
    const paths = ['/mcp', '/mcp/', '/servers/e/mcp', '/servers/e/mcp/', '/servers/%65/mcp'];
    const heard = new Map(paths.map((p) => [p, 0]));
    const clients: Awaited<ReturnType<typeof modernClient>>[] = [];
    try {
      for (const path of paths) {
        const client = await modernClient(base + path, answers(path));
        clients.push(client);
        client.setNotificationHandler('notifications/tools/list_changed', () => {
          heard.set(path, (heard.get(path) ?? 0) + 1);
        });
        await client.listen({ toolsListChanged: true });
      }
      const session = await RawSession.open(gw.url);
      const bumped = await session.request(1, 'tools/call', { name: 'e__bump', arguments: {} });
      assert.ok(bumped.response.result, JSON.stringify(bumped.response));
      const all = () => [...heard.values()].every((n) => n >= 1);
      assert.ok(await waitFor(all, 5000), `each path heard it: ${JSON.stringify([...heard])}`);
      assert.deepEqual([...heard.values()], [1, 1, 1, 1, 1], 'once each');
    } finally {
      for (const client of clients) await client.close();
      await gw.close();
    }
  });

  // A shared upstream's prompt change is the marker: each stream is in order, so whatever came before
  // it on a stream was sent before it. The session's own tool change must come only to that session.
  test(
    "a session's own (scope session) upstream change reaches that session only, no other, no listener",
    BOUND,
    async () => {
      const gw = await startGateway({
        mcpServers: {
          s: fixture('s', { scope: 'session', health: false }),
          conf: { command: process.execPath, args: [CONFORMANCE_STDIO], health: false },
        },
      });
      const a = await RawSession.open(gw.url);
      const b = await RawSession.open(gw.url);
      const aStream = await a.stream();
      const bStream = await b.stream();
      const listener = await modernClient(gw.url, answers('m'));
      const mHeard: string[] = [];
      try {
        for (const kind of ['tools', 'prompts'] as const)
          listener.setNotificationHandler(`notifications/${kind}/list_changed`, () => {
            mHeard.push(`notifications/${kind}/list_changed`);
          });
        await listener.listen({ toolsListChanged: true, promptsListChanged: true });
        const changes = (heard: Message[]) =>
          heard.map((m) => m.method ?? '').filter((m) => m.endsWith('/list_changed'));
        const own = await a.request(1, 'tools/call', { name: 's__bump', arguments: {} });
        assert.ok(own.response.result, JSON.stringify(own.response));
        assert.ok(
          await waitFor(() => changes(aStream.heard).includes('notifications/tools/list_changed'), 5000),
          'the session whose upstream changed heard it',
        );
        const marker = await a.request(2, 'tools/call', {
          name: 'conf__test_trigger_prompt_change',
          arguments: {},
        });
        assert.ok(marker.response.result, JSON.stringify(marker.response));
        const PROMPTS = 'notifications/prompts/list_changed';
        assert.ok(
          await waitFor(
            () =>
              changes(bStream.heard).includes(PROMPTS) &&
              mHeard.includes(PROMPTS) &&
              changes(aStream.heard).includes(PROMPTS),
            5000,
          ),
          'everyone heard the shared change',
        );
        assert.deepEqual(changes(bStream.heard), [PROMPTS], 'the other session heard only the shared change');
        assert.deepEqual(mHeard, [PROMPTS], 'the 2026-07-28 listener heard only the shared change');
        assert.deepEqual(changes(aStream.heard), ['notifications/tools/list_changed', PROMPTS]);
      } finally {
        aStream.close();
        bStream.close();
        await listener.close();
        await gw.close();
      }
    },
  );
});
