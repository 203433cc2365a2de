/**
 * The call path's edges, once per isolation mode: one deadline per call (through queueing, retry and
 * pagination), arguments JSON cannot carry, abort reasons, catalog refreshes that fail, and qualified
 * names that collide.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Switchboard, SwitchboardError } from '../../src/index.js';
import { fixture, type Isolation, running, structured, waitFor } from '../helpers.js';

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

const quiet = { health: false, restart: { initialDelayMs: 30, jitter: 0 } };

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`calls (${isolation})`, () => {
    test('a listing has one deadline for all its pages', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST_DELAY_MS: '300' } }),
        },
      });
      // Two pages of 300 ms each: within a 1000 ms deadline, not within 450 ms (each page alone would be).
      assert.equal((await sb.listTools({ refresh: true, timeoutMs: 1000 })).length, 13);
      const err = await sb.listTools({ refresh: true, timeoutMs: 450 }).catch((e) => e);
      assert.equal(code(err), 'E_TIMEOUT', String(err));
      assert.match((err as Error).message, /timed out after 450 ms/);
    });

    test('a cursor seen before is E_PROTOCOL at once', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST: 'loop' } }) },
      });
      const started = Date.now();
      const err = await sb.listTools({ refresh: true }).catch((e) => e);
      assert.equal(code(err), 'E_PROTOCOL', String(err));
      assert.match((err as Error).message, /tools\/list on 'e' returned the cursor "page2" a second time/);
      assert.ok(Date.now() - started < 2000);
    });

    test('start-up (handshake and catalog) settles within startTimeoutMs, however many pages the server has', async () => {
      const started = Date.now();
      await using sb = await Switchboard.start({
        mcpServers: {
          e: fixture('e', {
            isolation,
            ...quiet,
            startTimeoutMs: 1000,
            env: { ECHO_LIST: 'endless', ECHO_LIST_DELAY_MS: '50' },
          }),
        },
      });
      const ms = Date.now() - started;
      assert.ok(ms < 3000, `start took ${ms} ms`);
      assert.equal(sb.servers()[0]?.state, 'ready', 'the server is up; only its catalog is missing');
    });

    test('a call to an unlisted tool whose catalog refresh times out or is aborted says so, not E_UNKNOWN_TOOL', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST_DELAY_MS: '500' } }) },
      });
      const timedOut = await sb.callTool('e', 'nope', {}, { timeoutMs: 200 }).catch((e) => e);
      assert.equal(code(timedOut), 'E_TIMEOUT', String(timedOut));
      const aborted = await sb
        .callTool('e', 'nope', {}, { signal: AbortSignal.timeout(100), timeoutMs: 10_000 })
        .catch((e) => e);
      assert.equal(code(aborted), 'E_ABORTED', String(aborted));
      const unknown = await sb.callTool('e', 'nope', {}, { timeoutMs: 10_000 }).catch((e) => e);
      assert.equal(code(unknown), 'E_UNKNOWN_TOOL');
    });

    test('after a queue wait, E_TIMEOUT reports the deadline the caller gave', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, maxInFlight: 1 }) },
      });
      const first = sb.callTool('e', 'sleep', { ms: 200 });
      const err = await sb.callTool('e', 'sleep', { ms: 5000 }, { timeoutMs: 500 }).catch((e) => e);
      await first;
      assert.equal(code(err), 'E_TIMEOUT');
      assert.equal((err as SwitchboardError).data.stage, 'sent');
      assert.match((err as Error).message, /timed out after 500 ms;/);
      assert.equal((err as SwitchboardError).data.timeoutMs, 500);
    });

    test('a negative or non-finite timeoutMs is E_INVALID_ARGUMENT', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
        const err = await sb.callTool('e', 'echo', { nonce: 'x' }, { timeoutMs }).catch((e) => e);
        assert.equal(code(err), 'E_INVALID_ARGUMENT', `timeoutMs ${timeoutMs}: ${String(err)}`);
        assert.match((err as Error).message, /timeoutMs must be a whole number of milliseconds/);
      }
      const list = await sb.listTools({ timeoutMs: -5 }).catch((e) => e);
      assert.equal(code(list), 'E_INVALID_ARGUMENT');
    });

    test('arguments JSON cannot carry are E_INVALID_ARGUMENT naming the path, and nothing is sent', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ n: 10n }, /arguments\.n: a bigint/],
        [{ deep: { list: [1, () => 2] } }, /arguments\.deep\.list\[1\]: a function/],
        [{ s: Symbol('x') }, /arguments\.s: a symbol/],
        [{ x: Number.NaN }, /arguments\.x: NaN/],
      ];
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      cases.push([cyclic, /arguments\.self: a circular reference/]);
      for (const [args, message] of cases) {
        const err = await sb.callTool('e', 'meta', args).catch((e) => e);
        assert.equal(code(err), 'E_INVALID_ARGUMENT', String(err));
        assert.match((err as Error).message, message);
      }
      const viaRequest = await sb
        .request('e', 'tools/call', { name: 'meta', arguments: { when: 1n } })
        .catch((e) => e);
      assert.equal(code(viaRequest), 'E_INVALID_ARGUMENT');
      assert.match((viaRequest as Error).message, /params\.arguments\.when: a bigint/);
      // What JSON does carry goes through unchanged: a Date as its ISO string, undefined fields left out.
      const at = new Date('2026-01-02T03:04:05.000Z');
      const ok = (await sb.callTool('e', 'meta', { at, gone: undefined, n: 1 })) as {
        received: { arguments: Record<string, unknown> };
      };
      assert.deepEqual(ok.received.arguments, { at: '2026-01-02T03:04:05.000Z', n: 1 });
    });

    test('arguments reach the server as JSON would send them, the same inline and in a thread', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      class Money {
        cents = 1234;
        toJSON() {
          return `${(this.cents / 100).toFixed(2)} EUR`;
        }
      }
      const args = {
        price: new Money(),
        link: new URL('https://example.com/a?b=c'),
        literal: { hidden: 1, toJSON: () => 'shown' },
        plain: { kept: [1, 'two', null] },
      };
      const got = (await sb.callTool('e', 'meta', args)) as {
        received: { arguments: Record<string, unknown> };
      };
      assert.deepEqual(got.received.arguments, {
        price: '12.34 EUR',
        link: 'https://example.com/a?b=c',
        literal: 'shown',
        plain: { kept: [1, 'two', null] },
      });
    });

    test('arguments that cannot be read or are nested too deeply reject with E_INVALID_ARGUMENT, never throw', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 20_000; i++) deep = { d: deep };
      const throwing = {
        get boom(): unknown {
          throw new Error('getter failed');
        },
      };
      const bigJson = { v: { toJSON: () => 10n } };
      for (const [args, message] of [
        [deep, /nested more than \d+ levels deep/],
        [throwing, /arguments\.boom: reading it failed: getter failed/],
        [bigJson, /arguments\.v: a bigint/],
      ] as [Record<string, unknown>, RegExp][]) {
        let sync: unknown;
        let call: Promise<unknown> | undefined;
        try {
          call = sb.callTool('e', 'meta', args);
        } catch (err) {
          sync = err;
        }
        assert.equal(sync, undefined, `threw synchronously: ${String(sync)}`);
        const err = await call!.catch((e) => e);
        assert.equal(code(err), 'E_INVALID_ARGUMENT', String(err));
        assert.match((err as Error).message, message);
      }
    });

    test('options of the wrong type are E_INVALID_ARGUMENT, and nothing is left behind', async () => {
      const sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      for (const [opts, message] of [
        [{ signal: {} }, /signal must be an AbortSignal/],
        [{ onProgress: 5 }, /onProgress must be a function/],
        [{ retry: 'yes' }, /retry must be true or false/],
      ] as [Record<string, unknown>, RegExp][]) {
        const err = await sb.callTool('e', 'echo', { nonce: 'x' }, opts as never).catch((e) => e);
        assert.equal(code(err), 'E_INVALID_ARGUMENT', String(err));
        assert.match((err as Error).message, message);
      }
      const pid = structured<{ pid: number }>(await sb.callTool('e', 'spawn_child', {})).pid;
      await sb.close();
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'closed'));
      assert.equal(running(pid), false, 'close() ended the server and its child');
    });

    test('arguments that become something other than an object as JSON are refused', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      for (const args of [new Date(0), new URL('https://example.com/'), { toJSON: () => null }]) {
        const err = await sb.callTool('e', 'meta', args as never).catch((e) => e);
        assert.equal(code(err), 'E_INVALID_ARGUMENT', String(err));
        assert.match((err as Error).message, /must be a JSON object/);
      }
    });

    test('proxies and arrays with extra properties are sent as JSON sends them, in both modes', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      const list = Object.assign([1, 2], { note: () => 'dropped', [Symbol('s')]: 1 });
      const args = new Proxy({ q: new Proxy({ a: 1 }, {}), list }, {});
      const got = (await sb.callTool('e', 'meta', args)) as { received: { arguments: unknown } };
      assert.deepEqual(got.received.arguments, { q: { a: 1 }, list: [1, 2] });
    });

    test('a caller that joined a listing reads again when the listing failed for its starter alone', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          e: fixture('e', {
            isolation,
            health: false,
            restart: { initialDelayMs: 20, jitter: 0 },
            env: { ECHO_LIST_DELAY_MS: '300' },
          }),
        },
      });
      // The starter will not retry; the server goes down under its listing.
      const starter = sb.listTools({ refresh: true, retry: false }).catch((e) => e);
      const joiner = sb.listTools({ refresh: true, timeoutMs: 10_000 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      await sb.callTool('e', 'exit', {}).catch(() => {});
      assert.equal(code(await starter), 'E_UPSTREAM_CLOSED');
      const tools = await joiner;
      assert.ok(Array.isArray(tools), `the joiner got its tools: ${String(tools)}`);
      assert.equal((tools as unknown[]).length, 13);
    });

    test('a list_changed that arrives during a listing is read after it', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST_DELAY_MS: '300' } }) },
      });
      const listing = sb.listTools({ refresh: true });
      await new Promise((r) => setTimeout(r, 50));
      await sb.callTool('e', 'bump', {});
      await listing;
      assert.ok(
        await waitFor(async () => (await sb.listTools()).some((t) => t.name === 't_v1'), 3000),
        'the tool added during the listing is in the catalog',
      );
    });

    test('a contested qualified name follows the config order after a reload too', async () => {
      const a = fixture('a', { isolation, ...quiet, env: { ECHO_TOOLS: '_b' } });
      const a_ = fixture('a_', { isolation, ...quiet, env: { ECHO_TOOLS: 'b' } });
      await using sb = await Switchboard.start({ mcpServers: { a_ } });
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a_', name: 'b' });
      await sb.reload({ mcpServers: { a, a_ } });
      await waitFor(() => sb.servers().every((s) => s.tools === 14));
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a', name: '_b' }, 'a comes first in the config');
      const renamed = (await sb.listTools()).find((t) => t.server === 'a_' && t.name === 'b')!.qualifiedName;
      assert.deepEqual(sb.resolveTool(renamed), { server: 'a_', name: 'b' });
    });

    test('a server that says its tools changed after every listing is not listed again and again', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          e: fixture('e', { isolation, ...quiet, timeoutMs: 0, env: { ECHO_LIST_CHANGES: '1' } }),
        },
      });
      await new Promise((r) => setTimeout(r, 2000));
      const { lists } = structured<{ lists: number }>(await sb.callTool('e', 'pings', {}));
      // Two pages a listing; at most one listing a second after the first.
      assert.ok(lists <= 8, `${lists} pages listed in 2 s`);
    });

    test('a toJSON or a getter is read once; typed arrays are checked and carried as JSON does', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      let calls = 0;
      const counting = { toJSON: () => ({ call: ++calls }) };
      const got = (await sb.callTool('e', 'meta', {
        counting,
        bytes: Buffer.from([1, 2]),
        floats: new Float32Array([0.5]),
      })) as {
        received: { arguments: Record<string, unknown> };
      };
      assert.deepEqual(got.received.arguments, {
        counting: { call: 1 },
        bytes: { type: 'Buffer', data: [1, 2] },
        floats: { 0: 0.5 },
      });
      const nan = await sb.callTool('e', 'meta', { v: new Float64Array([1, Number.NaN]) }).catch((e) => e);
      assert.equal(code(nan), 'E_INVALID_ARGUMENT');
      assert.match((nan as Error).message, /arguments\.v\[1\]: NaN/);
    });

    test("arguments changed after the call was made are still the caller's E_INVALID_ARGUMENT", async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, maxInFlight: 1 }) },
      });
      const first = sb.callTool('e', 'sleep', { ms: 200 });
      const args: Record<string, unknown> = { nonce: 'late' };
      const queued = sb.callTool('e', 'meta', args).catch((e) => e);
      args.broken = 10n; // after the check, before the send
      await first;
      const err = await queued;
      assert.equal(code(err), 'E_INVALID_ARGUMENT', String(err));
      assert.match((err as Error).message, /could not be sent as JSON/);
    });

    test('a contested qualified name follows a reload that only reorders the config, and stays through restarts', async () => {
      const a = fixture('a', { isolation, ...quiet, env: { ECHO_TOOLS: '_b' } });
      const a_ = fixture('a_', { isolation, ...quiet, env: { ECHO_TOOLS: 'b' } });
      await using sb = await Switchboard.start({ mcpServers: { a, a_ } });
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a', name: '_b' });
      const report = await sb.reload({ mcpServers: { a_, a } });
      assert.deepEqual(report.unchanged, ['a_', 'a']);
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a_', name: 'b' }, 'a_ comes first now');
      const named = (await sb.listTools()).filter((t) => t.name === 'b' || t.name === '_b');
      for (const t of named)
        assert.deepEqual(sb.resolveTool(t.qualifiedName), { server: t.server, name: t.name });
      await sb.callTool('a', 'exit', {}).catch(() => {});
      const serverA = () => sb.servers().find((s) => s.name === 'a')!;
      assert.ok(await waitFor(() => serverA().state === 'ready' && serverA().generation === 2));
      await waitFor(() => serverA().tools === 14);
      assert.deepEqual(
        sb.resolveTool('a___b'),
        { server: 'a_', name: 'b' },
        'a restarted: a_ keeps the name',
      );
      assert.deepEqual(
        sb.collisions.map((c) => [c.qualifiedName, c.kept.server, c.renamed.server]),
        [['a___b', 'a_', 'a']],
      );
    });

    test('an abort reason with no string form is still an E_ABORTED, and the call is cancelled', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, maxInFlight: 1 }) },
      });
      const controller = new AbortController();
      const sent = sb.callTool('e', 'sleep', { ms: 1500 }, { signal: controller.signal }).catch((e) => e);
      const queued = sb.callTool('e', 'sleep', { ms: 10 }, { signal: controller.signal }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      const started = performance.now();
      controller.abort(Object.create(null));
      for (const err of [await sent, await queued]) {
        assert.equal(code(err), 'E_ABORTED', String(err));
        assert.match((err as Error).message, /aborted by the caller/);
      }
      assert.ok(performance.now() - started < 500, 'at once');
    });

    test('a deadline longer than a timer can hold (2^31-1 ms) is kept, not fired at once', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, maxInFlight: 1 }) },
      });
      const first = sb.callTool('e', 'sleep', { ms: 200 });
      const long = sb.callTool('e', 'echo', { nonce: 'long' }, { timeoutMs: 3e9 });
      const forever = sb.callTool('e', 'echo', { nonce: 'max' }, { timeoutMs: Number.MAX_SAFE_INTEGER });
      await first;
      assert.equal(structured<{ nonce: string }>(await long).nonce, 'long');
      assert.equal(structured<{ nonce: string }>(await forever).nonce, 'max');
    });

    test('a listing in progress is shared, but each caller keeps its own deadline and signal', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST_DELAY_MS: '300' } }) },
      });
      const controller = new AbortController();
      const t0 = performance.now();
      const a = sb.listTools({ refresh: true, signal: controller.signal, timeoutMs: 10_000 }).catch((e) => e);
      const b = sb.listTools({ refresh: true, timeoutMs: 10_000 }).catch((e) => e);
      const c = sb.listTools({ refresh: true, timeoutMs: 100 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      assert.equal(code(await a), 'E_ABORTED');
      const cErr = await c;
      assert.equal(code(cErr), 'E_TIMEOUT');
      assert.match((cErr as Error).message, /timed out after 100 ms/);
      assert.ok(performance.now() - t0 < 500, 'c ended at its own deadline');
      const bTools = await b;
      assert.ok(Array.isArray(bTools), `b, which nobody aborted, got its tools: ${String(bTools)}`);
      assert.equal((bTools as unknown[]).length, 13);
      // An unlisted tool's refresh is a listing too.
      const c2 = new AbortController();
      const refresh = sb.listTools({ refresh: true, signal: c2.signal }).catch((e) => e);
      const unlisted = sb.callTool('e', 'nope', {}, { timeoutMs: 10_000 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      c2.abort();
      await refresh;
      assert.equal(code(await unlisted), 'E_UNKNOWN_TOOL');
    });

    test("a caller waiting on another's listing gets its own timeout, not the other's abort, when both come in one turn", async () => {
      await using sb = await Switchboard.start({
        mcpServers: { e: fixture('e', { isolation, ...quiet, env: { ECHO_LIST_DELAY_MS: '1000' } }) },
      });
      const controller = new AbortController();
      const a = sb.listTools({ refresh: true, signal: controller.signal, timeoutMs: 10_000 }).catch((e) => e);
      const c = sb.listTools({ refresh: true, timeoutMs: 100 }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 20));
      // A loop that comes back late: c's deadline passes before its timer can run, and a's abort lands
      // in the same turn.
      const until = performance.now() + 150;
      while (performance.now() < until);
      controller.abort();
      assert.equal(code(await a), 'E_ABORTED');
      const cErr = await c;
      assert.equal(code(cErr), 'E_TIMEOUT', String(cErr));
      assert.match((cErr as Error).message, /timed out after 100 ms/);
    });

    test('aborting with a reason that is itself a SwitchboardError gives each call its own E_ABORTED', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      const controller = new AbortController();
      const calls = [1, 2].map((i) =>
        sb
          .callTool('e', 'sleep', { ms: 5000, nonce: `s${i}` }, { signal: controller.signal })
          .catch((e) => e),
      );
      await new Promise((r) => setTimeout(r, 50));
      const reason = new SwitchboardError('E_CLOSED', 'the session went away');
      controller.abort(reason);
      const [a, b] = (await Promise.all(calls)) as SwitchboardError[];
      for (const err of [a, b]) {
        assert.equal(code(err), 'E_ABORTED');
        assert.equal(err!.cause, reason);
        assert.match(err!.message, /aborted by the caller \(the session went away\)/);
      }
      assert.notEqual(a, b, 'each call has its own error');
      assert.notEqual(a, reason);
    });

    test('which tool keeps a contested qualified name follows the config order, not start timing, across restarts', async () => {
      // 'a' is first in the config but lists its tools last.
      await using sb = await Switchboard.start({
        mcpServers: {
          a: fixture('a', { isolation, ...quiet, env: { ECHO_TOOLS: '_b', ECHO_LIST_DELAY_MS: '300' } }),
          a_: fixture('a_', { isolation, ...quiet, env: { ECHO_TOOLS: 'b' } }),
        },
      });
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a', name: '_b' });
      const renamed = (await sb.listTools()).find((t) => t.server === 'a_' && t.name === 'b')!.qualifiedName;
      assert.match(renamed, /^a___b_[0-9a-f]{8}$/);
      assert.equal(
        structured<{ server: string }>(await sb.callQualified('a___b', { nonce: 'x' })).server,
        'a',
      );
      // 'a' restarts: it keeps the name, 'a_' keeps its own, and the collision is still reported.
      await sb.callTool('a', 'exit', {}).catch(() => {});
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'ready' && sb.servers()[0]?.generation === 2));
      await waitFor(() => sb.servers()[0]?.tools === 14);
      await sb.listTools({ refresh: true });
      assert.deepEqual(sb.resolveTool('a___b'), { server: 'a', name: '_b' });
      assert.deepEqual(sb.resolveTool(renamed), { server: 'a_', name: 'b' });
      assert.equal(sb.collisions.length, 1);
      assert.deepEqual(sb.collisions[0]?.kept, { server: 'a', name: '_b' });
    });

    test('two tools that want one qualified name are both callable by (server, tool); each gets a name of its own', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          a: fixture('a', { isolation, ...quiet, env: { ECHO_TOOLS: '_b' } }),
          a_: fixture('a_', { isolation, ...quiet, env: { ECHO_TOOLS: 'b' } }),
        },
      });
      const one = structured<{ server: string; tool: string }>(await sb.callTool('a', '_b', { nonce: '1' }));
      const two = structured<{ server: string; tool: string }>(await sb.callTool('a_', 'b', { nonce: '2' }));
      assert.deepEqual([one.server, one.tool], ['a', '_b']);
      assert.deepEqual([two.server, two.tool], ['a_', 'b']);
      const tools = (await sb.listTools()).filter((t) => t.name === '_b' || t.name === 'b');
      assert.equal(tools.length, 2);
      const names = tools.map((t) => t.qualifiedName);
      assert.notEqual(names[0], names[1], 'every listed tool has a name of its own');
      for (const t of tools)
        assert.deepEqual(sb.resolveTool(t.qualifiedName), { server: t.server, name: t.name });
      assert.equal(sb.collisions.length, 1);
      assert.equal(sb.collisions[0]?.qualifiedName, 'a___b');
    });

    test('an error made before the request leaves points at the caller too, though the stack is taken after the write', async () => {
      await using sb = await Switchboard.start({ mcpServers: { e: fixture('e', { isolation, ...quiet }) } });
      // Each caller returns the call without awaiting it: only the stack taken at call time can name it.
      function callsAnUnknownServer() {
        return sb.callTool('nowhere', 'echo', { nonce: 'x' });
      }
      function sendsABigint() {
        return sb.callTool('e', 'echo', { n: 1n });
      }
      function requestsOfAnUnknownServer() {
        return sb.request('nowhere', 'ping');
      }
      function timesOutThroughRequest() {
        return sb.request('e', 'tools/call', { name: 'sleep', arguments: { ms: 5000 } }, { timeoutMs: 50 });
      }
      const cases: [() => Promise<unknown>, string, string][] = [
        [callsAnUnknownServer, 'E_UNKNOWN_SERVER', 'callsAnUnknownServer'],
        [sendsABigint, 'E_INVALID_ARGUMENT', 'sendsABigint'],
        [requestsOfAnUnknownServer, 'E_UNKNOWN_SERVER', 'requestsOfAnUnknownServer'],
        [timesOutThroughRequest, 'E_TIMEOUT', 'timesOutThroughRequest'],
      ];
      for (const [caller, want, name] of cases) {
        const err = await caller().catch((e: unknown) => e);
        assert.equal(code(err), want, String(err));
        const stack = (err as Error).stack ?? '';
        assert.match(stack, /^SwitchboardError: /, stack);
        assert.match(stack, new RegExp(`at ${name} `), `${name}: ${stack}`);
        assert.ok(stack.includes((err as Error).message), 'the stack starts with the message');
      }
    });

    test('captureCallSites: false takes no caller stack; the errors are otherwise the same', async () => {
      await using sb = await Switchboard.start(
        { mcpServers: { e: fixture('e', { isolation, ...quiet }) } },
        { captureCallSites: false },
      );
      function timesOutUncaptured() {
        return sb.callTool('e', 'sleep', { ms: 5000 }, { timeoutMs: 50 });
      }
      function callsAnUnknownServerUncaptured() {
        return sb.callTool('nowhere', 'echo', {});
      }
      const timeout = await timesOutUncaptured().catch((e: unknown) => e);
      assert.equal(code(timeout), 'E_TIMEOUT', String(timeout));
      assert.match((timeout as Error).message, /timed out after 50 ms/);
      assert.doesNotMatch((timeout as Error).stack ?? '', /timesOutUncaptured/);
      const unknown = await callsAnUnknownServerUncaptured().catch((e: unknown) => e);
      assert.equal(code(unknown), 'E_UNKNOWN_SERVER', String(unknown));
      // Made while the caller was on the stack, this one's own stack names it anyway.
      assert.match((unknown as Error).stack ?? '', /callsAnUnknownServerUncaptured/);
      const refused = await Switchboard.start(
        { mcpServers: {} },
        { captureCallSites: 'no' as unknown as boolean },
      ).catch((e: unknown) => e);
      assert.equal(code(refused), 'E_INVALID_ARGUMENT');
      assert.match((refused as Error).message, /captureCallSites must be true or false, not string/);
      // server(name) is servers()' entry for that name, without a scan; unknown names are undefined.
      assert.deepEqual(sb.server('e'), sb.servers()[0]);
      assert.equal(sb.server('e')?.state, 'ready');
      assert.equal(sb.server('nowhere'), undefined);
      // Calls still work, and so do the other methods.
      assert.equal(
        structured<{ nonce: string }>(await sb.callTool('e', 'echo', { nonce: 'n1' })).nonce,
        'n1',
      );
      assert.ok((await sb.listTools()).length > 0);
    });
  });
}
