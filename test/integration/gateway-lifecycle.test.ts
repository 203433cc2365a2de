/**
 * The gateway's calls and sessions end cleanly: cancelling one session's call leaves another's running on
 * the same upstream; a client that closes its response stream cancels its call upstream; a session's
 * DELETE or expiry cancels its calls and ends its session-scoped processes; one process per session,
 * capped by maxSessions, reaped when idle; per-session limits refuse the extra call of one session only,
 * and 2026-07-28 limits those of one client address only. A start-up aborted midway leaves no process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.js';
import { startHttpFixture } from '../fixtures/http-server.js';
import {
  askingStdio,
  type GatewayUnderTest,
  legacyClient,
  type Message,
  modernClient,
  modernRequest,
  RawSession,
  startGateway,
} from '../gateway-kit.js';
import { chaos, fixture, processesWith, running, waitFor } from '../helpers.js';

const BOUND = { timeout: 30_000 };

/** The cancellations the echo fixture `server` has received, through the gateway. */
async function cancellations(session: RawSession, id: number, server: string): Promise<unknown[]> {
  const { response } = await session.request(id, 'tools/call', {
    name: `${server}__cancellations`,
    arguments: {},
  });
  return (field(response, 'cancelled') ?? []) as unknown[];
}

/** A field of a tool result's structured content. */
function field(m: Message, name: string): unknown {
  return (m.result?.structuredContent as Record<string, unknown> | undefined)?.[name];
}

function pidOf(m: Message): number {
  return field(m, 'pid') as number;
}

describe('gateway: calls and sessions end cleanly', () => {
  test(
    'cancelling one call leaves the other session running; a closed stream cancels upstream',
    BOUND,
    async () => {
      const web = await startHttpFixture('web');
      let gw: GatewayUnderTest | undefined;
      try {
        gw = await startGateway({
          mcpServers: { echo: fixture('echo', { health: false }), web: { url: web.url, health: false } },
        });
        const a = await RawSession.open(gw.url);
        const b = await RawSession.open(gw.url);
        // Same id in both sessions; A cancels its own.
        const aCall = a.request(7, 'tools/call', {
          name: 'echo__sleep',
          arguments: { nonce: 'a', ms: 20_000 },
        });
        // A cancelled request's stream ends without an answer.
        const aEnded = aCall.then(
          () => 'answered',
          (err: unknown) => String(err),
        );
        const bCall = b.request(7, 'tools/call', { name: 'echo__sleep', arguments: { nonce: 'b', ms: 300 } });
        await new Promise((r) => setTimeout(r, 100));
        await (
          await a.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } })
        ).body?.cancel();
        const b7 = await bCall;
        assert.equal(field(b7.response, 'nonce'), 'b');
        assert.ok(
          await waitFor(async () => (await cancellations(b, 100, 'echo')).length === 1, 5000),
          'the upstream heard exactly one cancellation',
        );
        assert.match(await aEnded, /ended without its response/);
        // A client that aborts its fetch (closes the response stream) cancels its call upstream, both over
        // stdio and over HTTP.
        for (const [id, server, tool, nonce] of [
          [20, 'echo', 'sleep', 'gone-stdio'],
          [21, 'web', 'slow', 'gone-http'],
        ] as const) {
          const controller = new AbortController();
          const going = a.request(
            id,
            'tools/call',
            { name: `${server}__${tool}`, arguments: { nonce, ms: 20_000 } },
            { signal: controller.signal },
          );
          await new Promise((r) => setTimeout(r, 150));
          controller.abort();
          await assert.rejects(going);
        }
        let seen: unknown[] = [];
        const heard = async () => {
          seen = await cancellations(b, 101, 'echo');
          return seen.length === 2;
        };
        assert.ok(
          await waitFor(heard, 5000),
          `the stdio upstream heard the disconnect as a cancellation: ${JSON.stringify(seen)}`,
        );
        assert.ok(await waitFor(() => web.aborted.includes('gone-http'), 5000), 'the HTTP upstream saw it');
        // B still works.
        const after = await b.request(8, 'tools/call', { name: 'echo__echo', arguments: { nonce: 'b2' } });
        assert.equal(field(after.response, 'nonce'), 'b2');
      } finally {
        await gw?.close();
        await web.close();
      }
    },
  );

  test(
    'scope session: a process per session, DELETE and expiry end it, maxSessions refuses clearly',
    BOUND,
    async () => {
      const gw = await startGateway(
        {
          mcpServers: {
            per: chaos('per', { scope: 'session', maxSessions: 2, health: false }),
            echo: fixture('echo', { health: false }),
          },
        },
        { sessionIdleMs: 400 },
      );
      try {
        const a = await RawSession.open(gw.url);
        const b = await RawSession.open(gw.url);
        const work = (s: RawSession, id: number, extra: Record<string, unknown> = {}) =>
          s.request(id, 'tools/call', { name: 'per__work', arguments: { nonce: `n${id}`, ...extra } });
        const pidA = pidOf((await work(a, 1)).response);
        const pidB = pidOf((await work(b, 1)).response);
        assert.notEqual(pidA, pidB, 'each session has its own process');
        assert.equal(pidOf((await work(a, 2)).response), pidA, 'and keeps it');
        // A third session is over maxSessions: a clear JSON-RPC error, and the others are untouched.
        const c = await RawSession.open(gw.url);
        const refused = await work(c, 1);
        assert.equal(refused.response.error?.code, -32000, JSON.stringify(refused.response));
        assert.match(refused.response.error?.message ?? '', /maxSessions 2/);
        // DELETE ends the session: its call is cancelled and its process ends.
        const hanging = work(a, 3, { fault: 'hang' }).catch((err: Error) => err);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(await a.delete(), 200);
        assert.ok(await waitFor(() => !running(pidA), 5000), `process ${pidA} of the deleted session ended`);
        await hanging;
        assert.equal((await work(a, 4)).response.error?.code, -32001, 'the deleted session is gone (404)');
        // Now C has room.
        const pidC = pidOf((await work(c, 2)).response);
        assert.ok(running(pidC));
        // Expiry: B and C idle past sessionIdleMs are ended, and their processes with them.
        assert.ok(await waitFor(() => !running(pidB) && !running(pidC), 5000), 'idle sessions reaped');
        assert.equal(gw.gateway.stats().sessions, 0);
        assert.deepEqual(gw.gateway.stats().scoped, {});
      } finally {
        await gw.close();
      }
    },
  );

  test('scope session: an idle upstream is reaped while its session lives on', BOUND, async () => {
    const gw = await startGateway({
      mcpServers: { per: chaos('per', { scope: 'session', idleMs: 200, health: false }) },
    });
    try {
      const a = await RawSession.open(gw.url);
      const work = (id: number) =>
        a.request(id, 'tools/call', { name: 'per__work', arguments: { nonce: `n${id}` } });
      const first = pidOf((await work(1)).response);
      assert.ok(await waitFor(() => !running(first), 5000), 'the idle instance was closed');
      const second = pidOf((await work(2)).response);
      assert.notEqual(second, first, 'the session gets a fresh one on its next call');
    } finally {
      await gw.close();
    }
  });

  test('scope session: destroy reaches an instance the reaper is still closing', BOUND, async () => {
    // Its grandchild ignores SIGTERM, so its graceful close takes closeGraceMs (8 s) per step: a destroy
    // that reaches it ends it at once; one that forgot it leaves it to finish alone.
    const tag = `sb-gw-reaped-${process.pid}-${Date.now()}`;
    const gw = await startGateway({
      mcpServers: {
        per: chaos(
          'per',
          { scope: 'session', idleMs: 100, health: false, closeGraceMs: 8000 },
          { CHAOS_GRANDCHILD: 'stubborn' },
          tag,
        ),
      },
    });
    try {
      const a = await RawSession.open(gw.url);
      await a.request(1, 'tools/call', { name: 'per__work', arguments: { nonce: 'n1' } });
      assert.ok(await waitFor(() => processesWith(tag).length === 2, 5000), 'the server and its grandchild');
      assert.ok(await waitFor(() => gw.gateway.stats().scoped.per === undefined, 5000), 'reaped');
      // The leader may be gone already (it exits when its stdin closes); the grandchild holds on.
      assert.ok(processesWith(tag).length >= 1, 'still closing (its grace is long)');
      await gw.gateway.destroy();
      assert.ok(await waitFor(() => processesWith(tag).length === 0, 1500), `left: ${processesWith(tag)}`);
    } finally {
      for (const pid of processesWith(tag)) process.kill(pid, 'SIGKILL');
      await gw.close();
    }
  });

  test(
    'scope session: a call parked for a 2026-07-28 client keeps its upstream from being reaped',
    BOUND,
    async () => {
      const gw = await startGateway({
        mcpServers: { q: askingStdio('q', { scope: 'session', idleMs: 100 }) },
      });
      const client = await modernClient(gw.url, undefined, { autoFulfill: false });
      try {
        const first = (await client.callTool({ name: 'q__ask', arguments: { nonce: 'held' } }, {
          allowInputRequired: true,
        } as never)) as {
          resultType?: string;
        };
        assert.equal(first.resultType, 'input_required', JSON.stringify(first));
        assert.equal(gw.gateway.stats().parked, 1);
        // Several reaper periods (idleMs / 4) pass with no request: the parked call is work in progress.
        await new Promise((r) => setTimeout(r, 600));
        assert.deepEqual(
          gw.gateway.stats().scoped,
          { q: 1 },
          'the upstream the parked call waits on is kept',
        );
      } finally {
        await client.close();
        await gw.close();
      }
    },
  );

  test(
    'per-session limits: the third concurrent call of one session is refused, another session runs',
    BOUND,
    async () => {
      const gw = await startGateway(
        { mcpServers: { echo: fixture('echo', { health: false }) } },
        { limits: { maxInFlight: 1, maxQueue: 1 } },
      );
      try {
        const a = await RawSession.open(gw.url);
        const b = await RawSession.open(gw.url);
        const sleep = (s: RawSession, id: number, ms: number) =>
          s.request(id, 'tools/call', { name: 'echo__sleep', arguments: { nonce: `n${id}`, ms } });
        const one = sleep(a, 1, 1500);
        const two = sleep(a, 2, 10);
        await new Promise((r) => setTimeout(r, 100));
        const three = await sleep(a, 3, 10);
        assert.equal(three.response.error?.code, -32000, JSON.stringify(three.response));
        assert.match(three.response.error?.message ?? '', /per-client limits/);
        const other = await b.request(1, 'tools/call', { name: 'echo__echo', arguments: { nonce: 'b' } });
        assert.equal(field(other.response, 'nonce'), 'b');
        assert.equal(field((await one).response, 'nonce'), 'n1');
        assert.equal(field((await two).response, 'nonce'), 'n2');
      } finally {
        await gw.close();
      }
    },
  );

  test(
    '2026-07-28 limits are per client address: a full 127.0.0.1 does not refuse 127.0.0.2',
    BOUND,
    async () => {
      const gw = await startGateway(
        { mcpServers: { echo: fixture('echo', { health: false }) } },
        { limits: { maxInFlight: 1, maxQueue: 0 } },
      );
      const stopSlow = new AbortController();
      try {
        const call = (id: number, nonce: string, localAddress: string, tool = 'echo', ms = 0) =>
          modernRequest(
            gw.url,
            'tools/call',
            { name: `echo__${tool}`, arguments: { nonce, ms } },
            { id, localAddress, ...(tool === 'sleep' ? { signal: stopSlow.signal } : {}) },
          );
        const slow = call(1, 'slow', '127.0.0.1', 'sleep', 20_000).catch((err: Error) => err);
        // 127.0.0.1 is full once its next call is refused (the slow one holds its one slot).
        let refused: Message | undefined;
        const full = async () => {
          const m = await call(2, 'same', '127.0.0.1');
          if (m.error) refused = m;
          return refused !== undefined;
        };
        assert.ok(await waitFor(full, 5000, 50), 'a second call from 127.0.0.1 is refused');
        assert.match(refused?.error?.message ?? '', /per-client limits/, JSON.stringify(refused));
        const other = await call(3, 'other', '127.0.0.2');
        assert.equal(field(other, 'nonce'), 'other', `127.0.0.2 runs: ${JSON.stringify(other)}`);
        stopSlow.abort();
        await slow;
      } finally {
        stopSlow.abort();
        await gw.close();
      }
    },
  );

  test(
    'Gateway.start aborted while an upstream lists its tools rejects with E_ABORTED and leaves no process',
    BOUND,
    async () => {
      const name = `abort${process.pid}x${Date.now()}`;
      const listing = join(mkdtempSync(join(tmpdir(), 'sb-abort-')), 'listing');
      const controller = new AbortController();
      const starting = Gateway.start(
        {
          mcpServers: {
            // Connected, then its tools/list takes 10 s: the abort comes in the middle of start-up.
            [name]: fixture(name, {
              health: false,
              env: { ECHO_LIST_DELAY_MS: '10000', ECHO_LIST_FILE: listing },
            }),
          },
        },
        { http: { host: '127.0.0.1', port: 0 }, signal: controller.signal },
      );
      assert.ok(await waitFor(() => existsSync(listing), 10_000), 'the upstream was asked for its tools');
      controller.abort(new Error('stop now'));
      const outcome = await starting.then(
        async (gateway) => {
          await gateway.close({ timeoutMs: 2000 });
          return 'started, though aborted';
        },
        (err: { code?: string }) => err.code,
      );
      assert.equal(outcome, 'E_ABORTED');
      assert.ok(
        await waitFor(() => processesWith(name).length === 0, 5000),
        `left behind: ${processesWith(name)}`,
      );
    },
  );

  test('list_changed reaches each 2025 session once, on its GET stream', BOUND, async () => {
    const gw = await startGateway({ mcpServers: { echo: fixture('echo', { health: false }) } });
    const { ToolListChangedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const clients = await Promise.all([0, 1, 2].map(() => legacyClient(gw.url)));
    try {
      const counts = [0, 0, 0];
      for (const [i, c] of clients.entries())
        c.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
          counts[i] = (counts[i] ?? 0) + 1;
        });
      // The SDK 1.x client opens its GET stream after initialize; give it a moment to be there.
      await new Promise((r) => setTimeout(r, 200));
      await clients[0]?.callTool({ name: 'echo__bump', arguments: {} });
      assert.ok(await waitFor(() => counts.every((n) => n >= 1), 5000), `every session told: ${counts}`);
      for (const c of clients) {
        const names = (await c.listTools()).tools.map((t) => t.name);
        assert.ok(names.includes('echo__t_v1'), names.join(', '));
      }
      assert.deepEqual(counts, [1, 1, 1], 'once each');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await gw.close();
    }
  });
});
