// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
/**
 * Lifecycle faults, each reproduced with real processes: what keeps the process alive, a lost connection
 * handled once, a leader that exits while a child holds its stdout, helper processes of thread-hosted
 * servers, a removed server that dies while draining, and starts that are aborted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Switchboard, SwitchboardError } from '../../src/index.js';
import { startHttpFixture } from '../fixtures/http-server.js';
import {
  alive,
  chaos,
  fixture,
  type Isolation,
  processesWith,
  ROOT,
  runScript,
  serveFixture,
  stateLog,
  structured,
  waitFor,
} from '../helpers.js';

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

const quick = { restart: { initialDelayMs: 30, jitter: 0 }, health: false };

test('a call with no deadline, made while its server restarts, keeps the process alive until it is answered', async () => {
  // The restart is 400 ms away and nothing else holds the event loop: the process must wait for it.
  const run = await runScript(`
    const { Switchboard } = await import(SB);
    const sb = await Switchboard.start({ mcpServers: { e: {
      command: process.execPath, args: [FIXTURE, 'e'], health: false,
      restart: { initialDelayMs: 400, jitter: 0 } } } });
    await sb.callTool('e', 'exit', {}).catch(() => {});
    while (sb.servers()[0].state !== 'restarting') await new Promise((r) => setImmediate(r));
    const r = await sb.callTool('e', 'echo', { nonce: 'kept' }, { timeoutMs: 0 });
    console.log('answer', r.structuredContent.nonce, sb.servers()[0].generation);
    await sb.close();
  `);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^answer kept 2$/m, `the process ended before the answer: ${run.stdout}`);
});

test('a server in backoff keeps the process alive: the next start is pending work', async () => {
  const run = await runScript(`
    const { Switchboard } = await import(SB);
    const sb = await Switchboard.start({ mcpServers: { b: {
      command: process.execPath, args: ['-e', 'process.exit(4)'], health: false,
      restart: { initialDelayMs: 200, jitter: 0, crashLoopAfter: 3, crashLoopRetryMs: 600000 } } } });
    sb.on('state', ({ state }) => {
      console.log('state', state);
      if (state === 'crashloop') void sb.close();
    });
  `);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    run.stdout.trim().split('\n'),
    ['state backoff', 'state crashloop', 'state closed'],
    'every retry ran before the process ended',
  );
});

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`lifecycle (${isolation})`, () => {
    test('a leader that exits while its child holds stdout ends the connection at once: calls fail with its exit code, the group is ended, it restarts', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quick }) } });
      const log = stateLog(sb);
      const child = structured<{ pid: number }>(await sb.callTool('e', 'spawn_child', { holdStdout: true }));
      assert.ok(alive(child.pid));
      const running = sb.callTool('e', 'sleep', { ms: 20_000 }, { timeoutMs: 30_000 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await sb.callTool('e', 'exit', {}).catch(() => {});
      const err = await running;
      assert.equal(code(err), 'E_UPSTREAM_CLOSED', String(err));
      assert.match((err as Error).message, /server 'e' exited with code 3/);
      assert.ok(Date.now() - started < 5000, 'failed at once, not at its deadline');
      assert.ok(await waitFor(() => !alive(child.pid), 10_000), 'the child holding stdout was ended');
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'ready' && sb.servers()[0]?.generation === 2));
      assert.deepEqual(log, ['e:restarting', 'e:ready']);
      const after = structured<{ nonce: string }>(await sb.callTool('e', 'echo', { nonce: 'again' }));
      assert.equal(after.nonce, 'again');
    });

    test('a crashed server leaves no helper process behind, through restart and close()', async () => {
      const tag = `lc-helpers-${isolation}-${process.pid}-${Date.now()}`;
      const sb = await Switchboard.start({
        mcpServers: {
          c: chaos('c', { isolation, ...quick, closeGraceMs: 300 }, { CHAOS_GRANDCHILD: 'stubborn' }, tag),
        },
      });
      try {
        assert.ok(await waitFor(() => processesWith(tag).length === 2), 'server and grandchild are up');
        await sb.callTool('c', 'work', { nonce: 'x', fault: 'crash' }).catch(() => {});
        assert.ok(
          await waitFor(() => sb.servers()[0]?.generation === 2 && sb.servers()[0]?.state === 'ready'),
        );
        // The first generation's grandchild is gone; the new server and its grandchild remain.
        assert.ok(
          await waitFor(() => processesWith(tag).length === 2, 10_000),
          `left: ${processesWith(tag).length} processes`,
        );
      } finally {
        await sb.close();
      }
      assert.deepEqual(processesWith(tag), [], 'no process outlives close()');
    });

    test('a host process that exits without close() takes its servers and their helpers with it', async () => {
      const tag = `lc-exit-${isolation}-${process.pid}-${Date.now()}`;
      const run = await runScript(`
        const { Switchboard } = await import(SB);
        const sb = await Switchboard.start({ mcpServers: { c: {
          command: process.execPath, args: [CHAOS, 'c', ${JSON.stringify(tag)}],
          env: { CHAOS_GRANDCHILD: '1' }, isolation: ${JSON.stringify(isolation)}, health: false } } });
        await sb.callTool('c', 'work', { nonce: 'up' });
        await new Promise((r) => setTimeout(r, 200));
        process.exit(0);
      `);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(
        await waitFor(() => processesWith(tag).length === 0, 3000),
        `left behind: ${processesWith(tag).length} processes`,
      );
    });

    test('a switchboard in `node --input-type=module -e` starts its servers', async () => {
      const run = await runScript(
        `
        const { Switchboard } = await import(SB);
        const sb = await Switchboard.start({ mcpServers: { e: {
          command: process.execPath, args: [FIXTURE, 'e'], isolation: ${JSON.stringify(isolation)} } } });
        const r = await sb.callTool('e', 'echo', { nonce: 'from-eval' });
        console.log(r.structuredContent.nonce);
        await sb.close();
      `,
        { eval: true },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'from-eval');
    });

    test('a removed server that dies while draining tells its queued calls why', async () => {
      const sb = await Switchboard.start({
        mcpServers: {
          keep: chaos('keep', { isolation, ...quick }),
          gone: chaos('gone', { isolation, ...quick, maxInFlight: 1 }),
        },
      });
      try {
        const running = sb
          .callTool('gone', 'work', { nonce: 'r', fault: 'crash', delayMs: 300 })
          .catch((e) => e);
        const queued = sb.callTool('gone', 'work', { nonce: 'q' }).catch((e) => e);
        await new Promise((r) => setTimeout(r, 50));
        const log = stateLog(sb);
        const report = await sb.reload(
          { mcpServers: { keep: chaos('keep', { isolation, ...quick }) } },
          { drainMs: 5000 },
        );
        assert.deepEqual(report.removed, ['gone']);
        assert.equal(code(await running), 'E_UPSTREAM_CLOSED');
        const err = await queued;
        assert.ok(err instanceof SwitchboardError, String(err));
        assert.doesNotMatch(err.message, /it is ready/);
        assert.match(err.message, /server 'gone' was removed from the config/);
        assert.ok(!log.includes('gone:restarting'), `not restarted: ${log.join()}`);
      } finally {
        await sb.close();
      }
    });

    test('a start whose signal is already aborted does not start', async () => {
      const tag = `lc-aborted-${isolation}-${process.pid}-${Date.now()}`;
      const err = await Switchboard.start(
        { mcpServers: { c: chaos('c', { isolation, ...quick }, {}, tag) } },
        { signal: AbortSignal.abort(new Error('not wanted')) },
      ).catch((e) => e);
      assert.equal(code(err), 'E_ABORTED', String(err));
      assert.deepEqual(processesWith(tag), [], 'no server was started');
    });
  });
}

test('an unset variable in one entry fails that server alone, naming the variable; a reload that sets it starts it', async () => {
  const entry = {
    command: process.execPath,
    args: [`${process.cwd()}/unused`],
    env: { TOKEN: '${SB_TEST_UNSET_TOKEN}' },
    health: false,
  };
  const env = { ...process.env, SB_TEST_UNSET_TOKEN: undefined };
  await using sb = await Switchboard.start(
    { mcpServers: { ok: fixture('ok', quick), broken: { ...entry, args: fixture('b').args } } },
    { env },
  );
  const [ok, broken] = sb.servers();
  assert.equal(ok?.state, 'ready');
  assert.equal(broken?.state, 'failed');
  assert.equal(broken?.error?.code, 'E_CONFIG');
  assert.match(
    broken?.error?.message ?? '',
    /mcpServers\.broken\.env\.TOKEN: environment variable SB_TEST_UNSET_TOKEN is not set/,
  );
  const err = await sb.callTool('broken', 'echo', {}).catch((e) => e);
  assert.equal(code(err), 'E_UPSTREAM_UNAVAILABLE');
  assert.match((err as Error).message, /SB_TEST_UNSET_TOKEN is not set/);
  // The variable is set now: a reload starts the server.
  const report = await sb.reload({
    mcpServers: {
      ok: fixture('ok', quick),
      broken: { ...entry, args: fixture('b').args, env: { TOKEN: 'now-set' } },
    },
  });
  assert.deepEqual(report.changed, ['broken']);
  assert.equal(sb.servers()[1]?.state, 'ready');
  assert.equal(
    structured<{ nonce: string }>(await sb.callTool('broken', 'echo', { nonce: 'up' })).nonce,
    'up',
  );
});

for (const kind of ['sse', 'http'] as const) {
  test(`after a restart of a ${kind === 'sse' ? 'legacy SSE' : 'Streamable HTTP'} upstream, close() leaves nothing that keeps the process alive`, async () => {
    const run = await runScript(`
      const { Switchboard } = await import(SB);
      const { serveFixture } = await import(${JSON.stringify(`${ROOT}dist/test/helpers.js`)});
      let fx = await serveFixture(${JSON.stringify(kind)}, 'blink');
      const sb = await Switchboard.start({ mcpServers: { blink: {
        type: ${JSON.stringify(kind)}, url: fx.url, protocol: ${JSON.stringify(kind === 'sse' ? 'legacy' : 'auto')},
        health: { intervalMs: 40, timeoutMs: 500, failures: 1 },
        restart: { initialDelayMs: 40, maxDelayMs: 80, jitter: 0, crashLoopAfter: 1000 } } } });
      const until = async (state) => {
        for (let i = 0; i < 500 && sb.servers()[0].state !== state; i++) await new Promise((r) => setTimeout(r, 10));
      };
      await fx.kill();
      await until('backoff');
      fx = await serveFixture(${JSON.stringify(kind)}, 'blink', fx.port);
      await until('ready');
      console.log('restarts', sb.servers()[0].restarts, sb.servers()[0].state);
      await sb.close();
      await fx.kill();
      // Nothing of ours may hold the process now; this timer does not either.
      setTimeout(() => { console.log('still alive', JSON.stringify(process.getActiveResourcesInfo())); process.exit(3); }, 3000).unref();
    `);
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^restarts 1 ready$/m);
  });
}

test('Switchboard.start refuses a signal that is not an AbortSignal', async () => {
  const err = await Switchboard.start(
    { mcpServers: { e: fixture('e', quick) } },
    { signal: {} as AbortSignal },
  ).catch((e) => e);
  assert.equal(code(err), 'E_INVALID_ARGUMENT');
  assert.match((err as Error).message, /signal must be an AbortSignal/);
});

test('after a legacy SSE stream fails, close() leaves nothing that keeps the process alive', async () => {
  const run = await runScript(`
    const { Switchboard } = await import(SB);
    const { serveFixture } = await import(${JSON.stringify(`${ROOT}dist/test/helpers.js`)});
    const fx = await serveFixture('sse', 'drop');
    const sb = await Switchboard.start({ mcpServers: { s: { type: 'sse', url: fx.url, health: false,
      restart: { initialDelayMs: 5000, jitter: 0 } } } });
    await fx.kill();
    for (let i = 0; i < 300 && sb.servers()[0].state !== 'restarting'; i++) await new Promise((r) => setTimeout(r, 10));
    console.log(sb.servers()[0].state);
    const t0 = Date.now();
    await sb.close();
    console.log('closed in', Date.now() - t0 < 1000 ? 'time' : Date.now() - t0);
    setTimeout(() => { console.log('still alive', JSON.stringify(process.getActiveResourcesInfo())); process.exit(3); }, 1500).unref();
  `);
  assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
  assert.match(run.stdout, /^restarting\nclosed in time$/m);
});

describe('HTTP upstream outages', () => {
  test('each outage of a Streamable HTTP server counts once: three outages are three restarts', async () => {
    let fx = await startHttpFixture('blink');
    const port = Number(new URL(fx.url).port);
    const sb = await Switchboard.start({
      mcpServers: {
        blink: {
          url: fx.url,
          protocol: 'legacy',
          health: { intervalMs: 40, timeoutMs: 300, failures: 1 },
          restart: {
            initialDelayMs: 40,
            maxDelayMs: 80,
            jitter: 0,
            crashLoopAfter: 100,
            stableAfterMs: 600_000,
          },
        },
      },
    });
    const log = stateLog(sb);
    try {
      for (let outage = 1; outage <= 3; outage++) {
        await fx.close();
        assert.ok(await waitFor(() => log.at(-1) === 'blink:backoff', 10_000), log.join());
        fx = await startHttpFixture('blink', port);
        assert.ok(await waitFor(() => sb.servers()[0]?.state === 'ready', 10_000), log.join());
        const [s] = sb.servers();
        assert.equal(s?.restarts, outage, `restarts after outage ${outage}: ${log.join()}`);
      }
      assert.equal(sb.servers()[0]?.state, 'ready');
      assert.equal(log.filter((l) => l === 'blink:restarting').length, 3, log.join());
    } finally {
      await sb.close();
      await fx.close();
    }
  });
});

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`lifecycle edges (${isolation})`, () => {
    test('closing a live legacy SSE connection ends it once (its transport reports the close inside close())', async () => {
      const run = await runScript(`
        const { Switchboard } = await import(SB);
        const { serveFixture } = await import(${JSON.stringify(`${ROOT}dist/test/helpers.js`)});
        const fx = await serveFixture('sse', 'ev');
        const sb = await Switchboard.start({ mcpServers: { ev: { type: 'sse', url: fx.url,
          isolation: ${JSON.stringify(isolation)}, health: false } } });
        const r = await sb.callTool('ev', 'echo', { nonce: 'n1' });
        const warnings = [];
        sb.on('warning', ({ error }) => warnings.push(error.message));
        await sb.close();
        await fx.kill();
        console.log('closed', r.structuredContent.nonce, warnings.length);
      `);
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /Maximum call stack|RangeError/);
      assert.match(run.stdout, /^closed n1 0$/m);
    });

    test('aborting a start, or a handshake that times out, ends a stdio server at once, not after closeGraceMs', async () => {
      const tag = `lc-handshake-${isolation}-${process.pid}-${Date.now()}`;
      // A process that never answers the handshake and ignores the end of its stdin.
      const mute = {
        command: process.execPath,
        args: ['-e', "process.stdin.on('data', () => {}); setInterval(() => {}, 1000)", tag],
        isolation,
        closeGraceMs: 3000,
      };
      const controller = new AbortController();
      const started = performance.now();
      const aborted = Switchboard.start({ mcpServers: { m: mute } }, { signal: controller.signal }).catch(
        (e) => e,
      );
      assert.ok(await waitFor(() => processesWith(tag).length === 1, 5000), 'the server started');
      controller.abort();
      assert.equal(code(await aborted), 'E_ABORTED');
      const abortMs = performance.now() - started;
      assert.deepEqual(processesWith(tag), [], 'gone when start() settles');
      assert.ok(abortMs < 2500, `an aborted start took ${Math.round(abortMs)} ms`);
      const t0 = performance.now();
      const sb = await Switchboard.start({
        mcpServers: { m: { ...mute, startTimeoutMs: 300, restart: false } },
      });
      const timeoutMs = performance.now() - t0;
      assert.equal(sb.servers()[0]?.state, 'failed');
      assert.match(sb.servers()[0]?.error?.message ?? '', /no handshake within 300 ms/);
      assert.ok(timeoutMs < 2000, `a timed-out handshake took ${Math.round(timeoutMs)} ms to settle`);
      assert.deepEqual(processesWith(tag), []);
      await sb.close();
    });

    test('an aborted start kills a server that ignores SIGTERM at once: it never finished its handshake', async () => {
      const tag = `lc-stubborn-start-${isolation}-${process.pid}-${Date.now()}`;
      const stubborn = {
        command: process.execPath,
        args: [
          '-e',
          "process.on('SIGTERM', () => {}); process.stdin.on('data', () => {}); setInterval(() => {}, 1000)",
          tag,
        ],
        isolation,
        closeGraceMs: 3000,
      };
      const controller = new AbortController();
      const t0 = performance.now();
      const starting = Switchboard.start(
        { mcpServers: { m: stubborn } },
        { signal: controller.signal },
      ).catch((e) => e);
      assert.ok(await waitFor(() => processesWith(tag).length === 1, 5000));
      controller.abort();
      assert.equal(code(await starting), 'E_ABORTED');
      assert.ok(performance.now() - t0 < 2500, `took ${Math.round(performance.now() - t0)} ms`);
      assert.deepEqual(processesWith(tag), []);
    });

    test('destroy() during a handshake resolves once the server is gone, without waiting closeGraceMs', async () => {
      const tag = `lc-destroy-hs-${isolation}-${process.pid}-${Date.now()}`;
      const sb = await Switchboard.start({ mcpServers: { a: fixture('a', { isolation, ...quick }) } });
      const mute = {
        command: process.execPath,
        args: ['-e', "process.stdin.on('data', () => {}); setInterval(() => {}, 1000)", tag],
        isolation,
        closeGraceMs: 3000,
      };
      const reloading = sb
        .reload({ mcpServers: { a: fixture('a', { isolation, ...quick }), m: mute } })
        .catch((e) => e);
      assert.ok(await waitFor(() => processesWith(tag).length === 1, 5000), 'the server started');
      const t0 = performance.now();
      await sb.destroy();
      const ms = performance.now() - t0;
      assert.deepEqual(processesWith(tag), [], 'gone when destroy() resolves');
      assert.ok(ms < 1500, `destroy() took ${Math.round(ms)} ms`);
      await reloading;
    });

    test('a server enabled by a reload has its tools read', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { a: fixture('a', { isolation, ...quick, enabled: false }) },
      });
      const catalogs: string[] = [];
      sb.on('catalog', ({ server, tools }) => catalogs.push(`${server}:${tools}`));
      await sb.reload({ mcpServers: { a: fixture('a', { isolation, ...quick }) } });
      assert.ok(await waitFor(() => catalogs.length > 0), 'the catalog was read');
      assert.equal(sb.servers()[0]?.tools, 13);
      assert.deepEqual(sb.resolveTool('a__echo'), { server: 'a', name: 'echo' });
      const r = structured<{ nonce: string }>(await sb.callQualified('a__echo', { nonce: 'q' }));
      assert.equal(r.nonce, 'q');
    });

    test('disabling a server by reload lets its running calls finish, then it is disabled', async () => {
      await using sb = await Switchboard.start({ mcpServers: { a: fixture('a', { isolation, ...quick }) } });
      const log = stateLog(sb);
      const running = sb.callTool('a', 'sleep', { ms: 400, nonce: 'finishes' });
      await new Promise((r) => setTimeout(r, 50));
      await sb.reload(
        { mcpServers: { a: fixture('a', { isolation, ...quick, enabled: false }) } },
        { drainMs: 5000 },
      );
      const r = structured<{ nonce: string }>(await running);
      assert.equal(r.nonce, 'finishes');
      assert.deepEqual(log, ['a:draining', 'a:disabled']);
      const err = await sb.callTool('a', 'echo', {}).catch((e) => e);
      assert.equal(code(err), 'E_UPSTREAM_UNAVAILABLE');
      assert.match((err as Error).message, /disabled/);
    });

    test('restart policy changes apply in place in every state: on for a failed server, off during backoff', async () => {
      const failing = {
        command: process.execPath,
        args: ['-e', 'process.exit(4)'],
        isolation,
        health: false,
      };
      await using sb = await Switchboard.start({ mcpServers: { f: { ...failing, restart: false } } });
      assert.equal(sb.servers()[0]?.state, 'failed');
      assert.match(sb.servers()[0]?.error?.message ?? '', /exited with code 4/);
      // Restarts on: it is tried again.
      const on = {
        ...failing,
        restart: { initialDelayMs: 30, maxDelayMs: 30, jitter: 0, crashLoopAfter: 100 },
      };
      await sb.reload({ mcpServers: { f: on } });
      assert.ok(await waitFor(() => (sb.servers()[0]?.generation ?? 0) >= 3, 5000), 'retried');
      assert.ok(['backoff', 'starting'].includes(sb.servers()[0]!.state));
      // Restarts off during backoff: no further attempt, and the message says why it stays down.
      const report = await sb.reload({ mcpServers: { f: { ...failing, restart: false } } });
      assert.deepEqual(report.updated, ['f']);
      await waitFor(() => sb.servers()[0]?.state === 'failed', 2000);
      const generation = sb.servers()[0]?.generation;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sb.servers()[0]?.state, 'failed');
      assert.equal(sb.servers()[0]?.generation, generation, 'no attempt after restarts were turned off');
      const err = await sb.callTool('f', 'x', {}).catch((e) => e);
      assert.match((err as Error).message, /restarts are off for it/);
    });

    test('an edit to a server that is draining after being turned off does not cut its drain short', async () => {
      await using sb = await Switchboard.start({ mcpServers: { a: fixture('a', { isolation, ...quick }) } });
      const running = sb.callTool('a', 'sleep', { ms: 600, nonce: 'finishes' });
      await new Promise((r) => setTimeout(r, 50));
      await sb.reload(
        { mcpServers: { a: fixture('a', { isolation, ...quick, enabled: false }) } },
        { drainMs: 5000 },
      );
      await sb.reload(
        { mcpServers: { a: fixture('a', { isolation, ...quick, enabled: false, env: { EDITED: '1' } }) } },
        { drainMs: 5000 },
      );
      assert.equal(structured<{ nonce: string }>(await running).nonce, 'finishes');
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'disabled'));
    });

    test('a thread server with a long closeGraceMs still gets its graceful exit', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-bye-'));
      const bye = join(dir, 'bye');
      const sb = await Switchboard.start({
        mcpServers: {
          a: fixture('a', { isolation, ...quick, closeGraceMs: 1_000_000_000, env: { ECHO_BYE_FILE: bye } }),
        },
      });
      await sb.close();
      assert.match(
        readFileSync(bye, 'utf8'),
        /^bye from \d+$/,
        'it saw the end of its stdin and exited on its own',
      );
    });

    test('a legacy SSE server that goes away is noticed without health pings', async () => {
      let fx = await serveFixture('sse', 'gone');
      try {
        await using sb = await Switchboard.start({
          mcpServers: {
            s: {
              type: 'sse',
              url: fx.url,
              isolation,
              health: false,
              restart: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0, crashLoopAfter: 1000 },
            },
          },
        });
        const log = stateLog(sb);
        await fx.kill();
        assert.ok(await waitFor(() => log.includes('s:restarting'), 5000), log.join());
        fx = await serveFixture('sse', 'gone', fx.port);
        assert.ok(await waitFor(() => sb.servers()[0]?.state === 'ready', 5000), log.join());
        assert.equal(
          structured<{ nonce: string }>(await sb.callTool('s', 'echo', { nonce: 'back' })).nonce,
          'back',
        );
      } finally {
        await fx.kill();
      }
    });

    test('a crash-loop retry follows a shorter crashLoopRetryMs applied in place', async () => {
      const failing = {
        command: process.execPath,
        args: ['-e', 'process.exit(4)'],
        isolation,
        health: false,
      };
      const policy = { initialDelayMs: 10, maxDelayMs: 10, jitter: 0, crashLoopAfter: 2 };
      await using sb = await Switchboard.start({
        mcpServers: { f: { ...failing, restart: { ...policy, crashLoopRetryMs: 600_000 } } },
      });
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'crashloop', 5000));
      const generation = sb.servers()[0]!.generation;
      await sb.reload({ mcpServers: { f: { ...failing, restart: { ...policy, crashLoopRetryMs: 100 } } } });
      assert.ok(
        await waitFor(() => sb.servers()[0]!.generation > generation, 3000),
        `no attempt; next in ${sb.servers()[0]?.nextAttemptInMs} ms`,
      );
    });
  });
}
