/**
 * The life of an HTTP upstream at its edges: a start that is ended while the handshake is still under way,
 * and the end of a Streamable HTTP session (spec 2025-11-25, basic/transports: session management).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ProtocolMode, Switchboard, type SwitchboardError } from '../../src/index.js';
import { type MisbehavingServer, startMisbehavingServer } from '../fixtures/http-misbehaving.js';
import { startHttpFixture } from '../fixtures/http-server.js';
import { startStatefulFixture } from '../fixtures/http-stateful-server.js';
import { type Isolation, structured, waitFor } from '../helpers.js';

/** What the old code waited out: the whole start deadline. A prompt end takes a few milliseconds. */
const START_TIMEOUT_MS = 8000;
const PROMPT_MS = 2000;
/** A hang fails the test instead of holding the run. */
const BOUND = { timeout: 30_000 };

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`HTTP start ended early (${isolation})`, () => {
    let srv: MisbehavingServer;
    before(async () => {
      srv = await startMisbehavingServer();
    });
    after(() => srv.close());

    for (const protocol of ['auto', '2026-07-28', 'legacy'] as ProtocolMode[]) {
      test(
        `protocol ${protocol}: aborting start() while the server sits on the handshake ends it at once`,
        BOUND,
        async () => {
          const seen = srv.requests.length;
          const ac = new AbortController();
          const starting = Switchboard.start(
            {
              mcpServers: {
                stuck: { url: `${srv.base}/hang`, isolation, protocol, startTimeoutMs: START_TIMEOUT_MS },
              },
            },
            { signal: ac.signal },
          ).then(
            () => undefined,
            (err: unknown) => err as SwitchboardError,
          );
          assert.ok(
            await waitFor(() => srv.requests.length > seen && srv.open() > 0, 5000),
            'the handshake never reached the server',
          );
          const t0 = performance.now();
          ac.abort();
          const err = await starting;
          const ms = performance.now() - t0;
          assert.equal(err?.code, 'E_ABORTED', err?.message);
          assert.ok(ms < PROMPT_MS, `start() took ${Math.round(ms)} ms to end after the abort`);
          // The handshake's request was cut off, not left hanging on the server.
          assert.ok(await waitFor(() => srv.open() === 0, PROMPT_MS), `${srv.open()} requests still open`);
        },
      );
    }

    test(
      'type sse: aborting start() while the server withholds its endpoint event ends it at once',
      BOUND,
      async () => {
        const seen = srv.requests.length;
        const ac = new AbortController();
        const starting = Switchboard.start(
          {
            mcpServers: {
              stuck: {
                type: 'sse',
                url: `${srv.base}/sse-silent`,
                isolation,
                startTimeoutMs: START_TIMEOUT_MS,
              },
            },
          },
          { signal: ac.signal },
        ).then(
          () => undefined,
          (err: unknown) => err as SwitchboardError,
        );
        assert.ok(await waitFor(() => srv.requests.length > seen && srv.open() > 0, 5000));
        const t0 = performance.now();
        ac.abort();
        const err = await starting;
        const ms = performance.now() - t0;
        assert.equal(err?.code, 'E_ABORTED', err?.message);
        assert.ok(ms < PROMPT_MS, `start() took ${Math.round(ms)} ms to end after the abort`);
        assert.ok(await waitFor(() => srv.open() === 0, PROMPT_MS), `${srv.open()} requests still open`);
      },
    );

    test(
      'type sse: a server that never sends its endpoint event fails the start at startTimeoutMs',
      BOUND,
      async () => {
        // The SDK's SSE transport waits for the endpoint event with no deadline of its own.
        const t0 = performance.now();
        const starting = Switchboard.start({
          mcpServers: {
            silent: {
              type: 'sse',
              url: `${srv.base}/sse-silent`,
              isolation,
              startTimeoutMs: 300,
              restart: false,
            },
          },
        });
        let timer: NodeJS.Timeout | undefined;
        const sb = await Promise.race([
          starting,
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), 5000);
          }),
        ]);
        clearTimeout(timer);
        if (!sb) {
          void starting.then((s) => s.destroy());
          assert.fail(`start() had not settled after ${Math.round(performance.now() - t0)} ms`);
        }
        try {
          const [status] = sb.servers();
          assert.equal(status?.state, 'failed');
          assert.equal(status?.error?.code, 'E_START_FAILED');
          assert.match(status?.error?.message ?? '', /no handshake within 300 ms/);
        } finally {
          await sb.close();
        }
        assert.ok(await waitFor(() => srv.open() === 0, PROMPT_MS), `${srv.open()} requests still open`);
      },
    );

    test(
      'close() while a restart is probing (protocol auto, the default) returns at once',
      BOUND,
      async () => {
        const live = await startHttpFixture('live');
        try {
          const sb = await Switchboard.start({ mcpServers: { web: { url: live.url, isolation } } });
          assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
          const seen = srv.requests.length;
          // The entry changes to a server that never answers: the connection is replaced, and the new
          // one's probe waits.
          const reloading = sb
            .reload({
              mcpServers: { web: { url: `${srv.base}/hang`, isolation, startTimeoutMs: START_TIMEOUT_MS } },
            })
            .catch((err: unknown) => err);
          assert.ok(
            await waitFor(() => srv.requests.length > seen && srv.open() > 0, 5000),
            'the new connection never reached the server',
          );
          const t0 = performance.now();
          await sb.close();
          const ms = performance.now() - t0;
          assert.ok(ms < PROMPT_MS, `close() took ${Math.round(ms)} ms`);
          await reloading;
          assert.equal(sb.servers()[0]?.state, 'closed');
          assert.ok(await waitFor(() => srv.open() === 0, PROMPT_MS), `${srv.open()} requests still open`);
        } finally {
          await live.close();
        }
      },
    );
  });
}

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`Streamable HTTP session end (${isolation})`, () => {
    for (const protocol of ['auto', 'legacy'] as ProtocolMode[]) {
      test(`protocol ${protocol}: close() ends the server's session with DELETE`, BOUND, async () => {
        const fx = await startStatefulFixture('s1');
        try {
          const sb = await Switchboard.start({ mcpServers: { web: { url: fx.url, isolation, protocol } } });
          try {
            const [status] = sb.servers();
            assert.equal(status?.state, 'ready', status?.error?.message);
            assert.equal(status?.protocolVersion, '2025-11-25');
            const r = await sb.callTool('web', 'echo', { nonce: 'in-session' });
            assert.equal(structured<{ nonce: string }>(r).nonce, 'in-session');
            assert.equal(fx.opened.length, 1);
          } finally {
            await sb.close();
          }
          assert.deepEqual(fx.deletes, fx.opened);
          assert.deepEqual(fx.ended, fx.opened);
        } finally {
          await fx.close();
        }
      });
    }

    test('a connection that is replaced ends its session; the new one has its own', BOUND, async () => {
      const fx = await startStatefulFixture('s2');
      try {
        const sb = await Switchboard.start({ mcpServers: { web: { url: fx.url, isolation } } });
        try {
          assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
          const [first] = fx.opened;
          // A changed entry restarts the server: the old connection goes, a new one comes.
          const report = await sb.reload(
            { mcpServers: { web: { url: fx.url, isolation, headers: { 'x-generation': '2' } } } },
            { drainMs: 0 },
          );
          assert.deepEqual(report.changed, ['web']);
          assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
          assert.equal(fx.opened.length, 2);
          assert.ok(await waitFor(() => fx.ended.includes(first!), PROMPT_MS), `ended: ${fx.ended}`);
          assert.deepEqual(fx.ended, [first]);
          const r = await sb.callTool('web', 'echo', { nonce: 'after-restart' });
          assert.equal(structured<{ nonce: string }>(r).nonce, 'after-restart');
        } finally {
          await sb.close();
        }
        assert.deepEqual(fx.ended, fx.opened);
      } finally {
        await fx.close();
      }
    });

    test('a server that refuses the DELETE with 405 is closed all the same', BOUND, async () => {
      const fx = await startStatefulFixture('s3', { onDelete: '405' });
      try {
        const sb = await Switchboard.start({ mcpServers: { web: { url: fx.url, isolation } } });
        assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
        await sb.close();
        assert.deepEqual(fx.deletes, fx.opened);
        assert.deepEqual(fx.ended, []);
        assert.equal(sb.servers()[0]?.state, 'closed');
      } finally {
        await fx.close();
      }
    });

    test('a session the server forgot (404) is replaced by a new connection', BOUND, async () => {
      const fx = await startStatefulFixture('s6');
      try {
        await using sb = await Switchboard.start({
          mcpServers: {
            web: {
              url: fx.url,
              isolation,
              protocol: 'legacy',
              health: { intervalMs: 50, timeoutMs: 1000, failures: 1 },
              restart: { initialDelayMs: 20, jitter: 0 },
            },
          },
        });
        assert.equal(
          structured<{ nonce: string }>(await sb.callTool('web', 'echo', { nonce: 'a' })).nonce,
          'a',
        );
        await fx.forget();
        assert.ok(
          await waitFor(() => sb.servers()[0]?.restarts === 1 && sb.servers()[0]?.state === 'ready', 5000),
        );
        assert.equal(
          structured<{ nonce: string }>(await sb.callTool('web', 'echo', { nonce: 'b' })).nonce,
          'b',
        );
        assert.equal(fx.opened.length, 2, 'a new session');
      } finally {
        await fx.close();
      }
    });

    test('a session the server forgot (404) ends the connection without health pings', BOUND, async () => {
      const fx = await startStatefulFixture('s7');
      try {
        await using sb = await Switchboard.start({
          mcpServers: {
            web: {
              url: fx.url,
              isolation,
              protocol: 'legacy',
              health: false,
              restart: { initialDelayMs: 20, jitter: 0 },
            },
          },
        });
        await fx.forget();
        await sb.callTool('web', 'echo', { nonce: 'lost' }).catch(() => {});
        assert.ok(
          await waitFor(() => sb.servers()[0]?.restarts === 1 && sb.servers()[0]?.state === 'ready', 5000),
        );
        assert.equal(
          structured<{ nonce: string }>(await sb.callTool('web', 'echo', { nonce: 'again' })).nonce,
          'again',
        );
      } finally {
        await fx.close();
      }
    });

    test('a 2026-07-28 server that refuses pings is healthy, and says nothing about it', BOUND, async () => {
      const fx = await startHttpFixture('quiet');
      try {
        await using sb = await Switchboard.start({
          mcpServers: {
            web: { url: fx.url, isolation, health: { intervalMs: 20, timeoutMs: 1000, failures: 1 } },
          },
        });
        const warnings: string[] = [];
        sb.on('warning', ({ error }) => warnings.push(error.message));
        await new Promise((r) => setTimeout(r, 300));
        const err = await sb.request('web', 'no/such/method', {}).catch((e: unknown) => e);
        assert.equal((err as { code?: unknown }).code, -32601);
        assert.deepEqual(warnings, [], 'a refused request is an answer, not a warning');
        assert.equal(sb.servers()[0]?.restarts, 0);
      } finally {
        await fx.close();
      }
    });

    test('destroy() does not wait closeGraceMs for a DELETE that is never answered', BOUND, async () => {
      const fx = await startStatefulFixture('s5', { onDelete: 'hang' });
      try {
        const sb = await Switchboard.start({
          mcpServers: { web: { url: fx.url, isolation, closeGraceMs: 5000 } },
        });
        assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
        const t0 = performance.now();
        await sb.destroy();
        const ms = performance.now() - t0;
        assert.ok(ms < 1500, `destroy() took ${Math.round(ms)} ms`);
        assert.equal(fx.deletes.length, 1, 'the DELETE was still sent');
      } finally {
        await fx.close();
      }
    });

    test(
      'a server that never answers the DELETE holds close() no longer than closeGraceMs',
      BOUND,
      async () => {
        const fx = await startStatefulFixture('s4', { onDelete: 'hang' });
        try {
          const sb = await Switchboard.start({
            mcpServers: { web: { url: fx.url, isolation, closeGraceMs: 300 } },
          });
          assert.equal(sb.servers()[0]?.state, 'ready', sb.servers()[0]?.error?.message);
          const t0 = performance.now();
          await sb.close();
          const ms = performance.now() - t0;
          assert.deepEqual(fx.deletes, fx.opened);
          assert.equal(fx.opened.length, 1);
          assert.ok(ms < PROMPT_MS, `close() took ${Math.round(ms)} ms`);
        } finally {
          await fx.close();
        }
      },
    );
  });
}
