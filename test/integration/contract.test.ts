/**
 * The host contract: every test runs once per isolation mode (inline, thread) against real child-process
 * fixture servers. Whatever holds for one must hold for the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RpcError, Switchboard, SwitchboardError } from '../../src/index.js';
import { alive, fixture, fixtures, type Isolation, structured, waitFor } from '../helpers.js';

interface Echo {
  nonce: string;
  server: string;
  requestId: number;
}

function cancellations(sb: Switchboard, server: string) {
  return sb
    .callTool(server, 'cancellations', {})
    .then((r) => structured<{ cancelled: { requestId: number; reason: string }[] }>(r).cancelled);
}

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`host contract (${isolation})`, () => {
    let sb: Switchboard;
    before(async () => {
      sb = await Switchboard.start(fixtures(['alpha', 'beta'], { isolation }));
    });
    after(() => sb.close());

    test('both servers start, with their handshake and catalog', () => {
      const states = sb.servers();
      assert.deepEqual(
        states.map((s) => [s.name, s.state, s.isolation, s.serverInfo?.name, s.tools]),
        [
          ['alpha', 'ready', isolation, 'fixture-alpha', 13],
          ['beta', 'ready', isolation, 'fixture-beta', 13],
        ],
      );
    });

    test('a call returns its own nonce from the server it named', async () => {
      const a = structured<Echo>(await sb.callTool('alpha', 'echo', { nonce: 'n-alpha' }));
      const b = structured<Echo>(await sb.callTool('beta', 'echo', { nonce: 'n-beta' }));
      assert.equal(a.nonce, 'n-alpha');
      assert.equal(a.server, 'alpha');
      assert.equal(b.nonce, 'n-beta');
      assert.equal(b.server, 'beta');
    });

    test('listTools gives qualified names that reverse to server and tool', async () => {
      const tools = await sb.listTools();
      assert.equal(tools.length, 26);
      const echo = tools.find((t) => t.qualifiedName === 'beta__echo');
      assert.ok(echo);
      assert.equal(echo.server, 'beta');
      assert.equal(echo.tool.description?.startsWith('Echoes'), true);
      assert.deepEqual(sb.resolveTool('beta__echo'), { server: 'beta', name: 'echo' });
      const viaQualified = structured<Echo>(await sb.callQualified('beta__echo', { nonce: 'q' }));
      assert.deepEqual([viaQualified.server, viaQualified.nonce], ['beta', 'q']);
    });

    test('a JSON-RPC error comes back as RpcError with the server, code and data', async () => {
      const err = await sb.callTool('alpha', 'rpc_error', { nonce: 'r1' }).catch((e: unknown) => e);
      assert.ok(err instanceof RpcError, String(err));
      assert.equal(err.code, -32042);
      assert.equal(err.server, 'alpha');
      assert.deepEqual(err.data, { nonce: 'r1', server: 'alpha' });
    });

    test('isError results are results, not rejections', async () => {
      const r = await sb.callTool('beta', 'fail', { nonce: 'f' });
      assert.equal(r.isError, true);
      assert.match(JSON.stringify(r.content), /failed on purpose: f/);
    });

    test('unknown server, unknown tool and bad arguments are typed errors that name what exists', async () => {
      const server = await sb.callTool('gamma', 'echo', {}).catch((e: unknown) => e);
      assert.ok(server instanceof SwitchboardError);
      assert.equal(server.code, 'E_UNKNOWN_SERVER');
      assert.match(server.message, /configured: alpha, beta/);
      const tool = await sb.callTool('alpha', 'ecko', {}).catch((e: unknown) => e);
      assert.ok(tool instanceof SwitchboardError);
      assert.equal(tool.code, 'E_UNKNOWN_TOOL');
      assert.match(tool.message, /echo, progress/);
      const args = await sb
        .callTool('alpha', 'echo', [] as unknown as Record<string, unknown>)
        .catch((e: unknown) => e);
      assert.ok(args instanceof SwitchboardError);
      assert.equal(args.code, 'E_INVALID_ARGUMENT');
    });

    test('fields and _meta the switchboard does not model pass through untouched', async () => {
      const params = {
        name: 'meta',
        arguments: { deep: { list: [1, 'two', null] } },
        _meta: { 'example.com/trace': 'abc' },
        futureField: { x: 1 },
      };
      const r = (await sb.request('alpha', 'tools/call', params)) as { received: unknown; server: string };
      assert.deepEqual(r.received, params);
      assert.equal(r.server, 'alpha');
    });

    test('resources, prompts and completions are routed to their server', async () => {
      const resources = await sb.listResources();
      assert.deepEqual(
        resources.map((r) => [r.server, r.resource.uri]),
        [
          ['alpha', 'fixture://alpha/calls'],
          ['beta', 'fixture://beta/calls'],
        ],
      );
      const read = await sb.readResource('beta', 'fixture://beta/calls');
      assert.match(JSON.stringify(read), /"text":"beta:\d+"/);
      const prompts = await sb.listPrompts();
      assert.deepEqual(
        prompts.map((p) => p.qualifiedName),
        ['alpha__greet', 'beta__greet'],
      );
      const prompt = await sb.getPrompt('alpha', 'greet', { who: 'ada' });
      assert.match(JSON.stringify(prompt), /hello ada from alpha/);
      const completion = await sb.complete('beta', {
        ref: { type: 'ref/prompt', name: 'greet' },
        argument: { name: 'who', value: 'x' },
      });
      assert.deepEqual((completion.completion as { values: string[] }).values, ['x-beta']);
    });

    test('progress reaches only its own call, in order, none lost, even when it shares a read with the response', async () => {
      for (let round = 0; round < 20; round++) {
        const seen: Record<string, string[]> = { p: [], q: [] };
        const steps = 25;
        const [p, q] = await Promise.all(
          (['p', 'q'] as const).map((k) =>
            sb.callTool(
              'alpha',
              'progress',
              { nonce: `${k}${round}`, steps },
              { onProgress: (x) => seen[k]!.push(String(x.message)) },
            ),
          ),
        );
        assert.equal(structured<Echo>(p!).nonce, `p${round}`);
        assert.equal(structured<Echo>(q!).nonce, `q${round}`);
        for (const k of ['p', 'q']) {
          assert.deepEqual(
            seen[k],
            Array.from({ length: steps }, (_, i) => `${k}${round}:${i + 1}`),
          );
        }
      }
      const stats = (await sb.status()).find((s) => s.name === 'alpha')?.stats;
      assert.equal(stats?.lateProgress, 0);
    });

    test('a progress token a caller sets itself never reaches another call; it comes out as a notification', async () => {
      const mine: string[] = [];
      const foreign: unknown[] = [];
      const onNote = ({
        server,
        message,
      }: {
        server: string;
        message: { method: string; params?: Record<string, unknown> };
      }) => {
        if (server === 'alpha' && message.method === 'notifications/progress')
          foreign.push(message.params?.progressToken);
      };
      sb.on('notification', onNote);
      const a = sb.callTool(
        'alpha',
        'progress',
        { nonce: 'A', steps: 3, delayMs: 50 },
        { onProgress: (p) => mine.push(String(p.message)) },
      );
      // Raw requests whose own numeric tokens cover every id this connection has used so far (under 200).
      const raw = Array.from({ length: 200 }, (_, i) =>
        sb.request('alpha', 'tools/call', {
          name: 'progress',
          arguments: { nonce: `B${i}`, steps: 2 },
          _meta: { progressToken: i + 1 },
        }),
      );
      await Promise.all([a, ...raw]);
      sb.off('notification', onNote);
      assert.deepEqual(mine, ['A:1', 'A:2', 'A:3']);
      assert.equal(foreign.length, 400);
    });

    test('a timeout is E_TIMEOUT, reaches the upstream as a cancellation, and points at the caller', async () => {
      async function callerThatTimesOut() {
        return sb.callTool('beta', 'sleep', { ms: 10_000, nonce: 't' }, { timeoutMs: 50 });
      }
      const err = await callerThatTimesOut().catch((e: unknown) => e);
      assert.ok(err instanceof SwitchboardError);
      assert.equal(err.code, 'E_TIMEOUT');
      assert.match(err.stack ?? '', /callerThatTimesOut/);
      const seen = await cancellations(sb, 'beta');
      assert.equal(seen.length, 1);
      assert.match(seen[0]!.reason, /timed out after 50 ms/);
    });

    test('an abort is E_ABORTED, not E_TIMEOUT, and is cancelled upstream', async () => {
      const ac = new AbortController();
      const call = sb.callTool('alpha', 'sleep', { ms: 10_000 }, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user pressed stop')), 20);
      const err = await call.catch((e: unknown) => e);
      assert.ok(err instanceof SwitchboardError);
      assert.equal(err.code, 'E_ABORTED');
      assert.match(err.message, /user pressed stop/);
      assert.ok(await waitFor(async () => (await cancellations(sb, 'alpha')).length === 1));
    });

    test('a late answer after a timeout is dropped and counted, and reaches no other caller', async () => {
      const before = (await sb.status()).find((s) => s.name === 'beta')!.stats!.late;
      const late = sb
        .callTool('beta', 'late', { ms: 150, nonce: 'late-one' }, { timeoutMs: 30 })
        .catch((e: unknown) => e);
      // Callers that are waiting while the late answer arrives: each must get exactly its own.
      const others = Array.from({ length: 10 }, (_, i) =>
        sb.callTool('beta', 'echo', { nonce: `o${i}`, delayMs: 120 + i * 5 }),
      );
      assert.equal(((await late) as SwitchboardError).code, 'E_TIMEOUT');
      const answers = (await Promise.all(others)).map((r) => structured<Echo>(r).nonce);
      assert.deepEqual(
        answers,
        Array.from({ length: 10 }, (_, i) => `o${i}`),
      );
      assert.ok(
        await waitFor(
          async () => (await sb.status()).find((s) => s.name === 'beta')!.stats!.late === before + 1,
        ),
      );
    });

    test('a server that writes garbage to stdout is reported by name and keeps working', async () => {
      const warnings: string[] = [];
      const onWarning = ({ server, error }: { server: string; error: Error }) =>
        warnings.push(`${server}: ${error.message}`);
      sb.on('warning', onWarning);
      const r = await sb.callTool('alpha', 'garbage', { nonce: 'g' });
      sb.off('warning', onWarning);
      assert.equal(structured<Echo>(r).nonce, 'g');
      assert.ok(await waitFor(() => warnings.length > 0));
      assert.match(warnings[0]!, /^alpha: 'alpha' wrote a line to stdout that is not JSON-RPC/);
    });
  });

  describe(`mailbox limits and failures (${isolation})`, () => {
    test('beyond maxQueue a call fails at once with E_QUEUE_FULL; an aborted queued call never reaches the server', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { solo: fixture('solo', { isolation, maxInFlight: 1, maxQueue: 1 }) },
      });
      const running = sb.callTool('solo', 'echo', { nonce: 'first', delayMs: 200 });
      const ac = new AbortController();
      const queued = sb.callTool('solo', 'echo', { nonce: 'queued' }, { signal: ac.signal });
      const full = await sb.callTool('solo', 'echo', { nonce: 'third' }).catch((e: unknown) => e);
      assert.ok(full instanceof SwitchboardError);
      assert.equal(full.code, 'E_QUEUE_FULL');
      assert.match(full.message, /1 waiting, 1 running/);
      assert.equal(sb.servers()[0]!.queued, 1);
      ac.abort();
      const aborted = await queued.catch((e: unknown) => e);
      assert.equal((aborted as SwitchboardError).code, 'E_ABORTED');
      assert.equal((aborted as SwitchboardError).data.stage, 'queued');
      assert.equal(sb.servers()[0]!.queued, 0);
      assert.equal(structured<Echo>(await running).nonce, 'first');
      // The queued call was never sent: the server saw no cancellation and answers the next call.
      assert.deepEqual(await cancellations(sb, 'solo'), []);
    });

    test('a queued call with a deadline times out in the queue', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { solo: fixture('solo', { isolation, maxInFlight: 1 }) },
      });
      const running = sb.callTool('solo', 'echo', { nonce: 'first', delayMs: 300 });
      const err = await sb
        .callTool('solo', 'echo', { nonce: 'waits' }, { timeoutMs: 50 })
        .catch((e: unknown) => e);
      assert.equal((err as SwitchboardError).code, 'E_TIMEOUT');
      assert.equal((err as SwitchboardError).data.stage, 'queued');
      await running;
    });

    test('a server that dies mid-call fails its calls with E_UPSTREAM_CLOSED, exit code and stderr', async () => {
      // restart: false — what happens to the calls, with no supervisor bringing the server back.
      await using sb = await Switchboard.start(fixtures(['doomed', 'fine'], { isolation, restart: false }));
      const pending = sb.callTool('doomed', 'sleep', { ms: 10_000 });
      const err = await sb.callTool('doomed', 'exit', {}).catch((e: unknown) => e);
      const err2 = await pending.catch((e: unknown) => e);
      for (const e of [err, err2]) {
        assert.ok(e instanceof SwitchboardError);
        assert.equal(e.code, 'E_UPSTREAM_CLOSED');
        assert.match(
          e.message,
          /server 'doomed' exited with code 3; last stderr: echo-server doomed: exiting on request/,
        );
      }
      assert.equal(sb.servers().find((s) => s.name === 'doomed')?.state, 'failed');
      const next = await sb.callTool('doomed', 'echo', {}).catch((e: unknown) => e);
      assert.equal((next as SwitchboardError).code, 'E_UPSTREAM_UNAVAILABLE');
      // The neighbour is untouched.
      assert.equal(structured<Echo>(await sb.callTool('fine', 'echo', { nonce: 'still' })).nonce, 'still');
    });

    test('a server that exits on its own still has its process tree ended, and close resolves', async () => {
      const sb = await Switchboard.start({
        mcpServers: { tree: fixture('tree', { isolation, closeGraceMs: 200, restart: false }) },
      });
      const { pid } = structured<{ pid: number }>(await sb.callTool('tree', 'spawn_child', {}));
      await sb.callTool('tree', 'exit', {}).catch(() => {});
      assert.ok(await waitFor(() => sb.servers()[0]!.state === 'failed'));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        sb.close().then(() => 'closed'),
        new Promise((r) => {
          timer = setTimeout(() => r('hung'), 5000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(closed, 'closed');
      assert.ok(await waitFor(() => !alive(pid), 5000), `grandchild ${pid} outlived its server`);
    });

    test('start failures name the server and the reason; the others start', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          ok: fixture('ok', { isolation }),
          missing: { command: 'definitely-not-a-command-xyz', isolation },
          crashes: {
            command: process.execPath,
            args: ['-e', "console.error('boom: no config'); process.exit(2)"],
            isolation,
          },
        },
      });
      const byName = Object.fromEntries(sb.servers().map((s) => [s.name, s]));
      assert.equal(byName.ok?.state, 'ready');
      // A failed start is retried later (backoff); until then the reason is what status shows.
      assert.equal(byName.missing?.state, 'backoff');
      assert.equal(byName.missing?.error?.code, 'E_START_FAILED');
      assert.match(
        byName.missing?.error?.message ?? '',
        /command 'definitely-not-a-command-xyz' was not found/,
      );
      assert.equal(byName.crashes?.state, 'backoff');
      assert.match(
        byName.crashes?.error?.message ?? '',
        /exited with code 2 during start-up[\s\S]*boom: no config/,
      );
    });

    test("destroy() during close()'s grace period cuts it short: the running call fails now", async () => {
      const sb = await Switchboard.start({ mcpServers: { slow: fixture('slow', { isolation }) } });
      const running = sb.callTool('slow', 'sleep', { ms: 5000 });
      await new Promise((r) => setTimeout(r, 50));
      const closing = sb.close({ timeoutMs: 10_000 }); // would wait for the call to finish
      const destroyed = sb.destroy(new Error('second Ctrl-C'));
      const err = await running.catch((e: unknown) => e);
      assert.equal((err as SwitchboardError).code, 'E_CLOSED');
      assert.match((err as Error).message, /destroyed: second Ctrl-C/);
      await Promise.all([closing, destroyed]);
      assert.equal(sb.servers()[0]?.state, 'closed');
    });

    test('close ends the whole process tree and fails later calls with E_CLOSED', async () => {
      const sb = await Switchboard.start({ mcpServers: { tree: fixture('tree', { isolation }) } });
      const { pid } = structured<{ pid: number }>(await sb.callTool('tree', 'spawn_child', {}));
      assert.ok(alive(pid));
      await sb.close();
      assert.ok(await waitFor(() => !alive(pid), 5000), `grandchild ${pid} survived close()`);
      const err = await sb.callTool('tree', 'echo', {}).catch((e: unknown) => e);
      assert.equal((err as SwitchboardError).code, 'E_CLOSED');
    });
  });
}
