/**
 * The worker-thread host's batched MessagePort, with a real worker and a real child-process server: calls
 * made in one turn cross together; a batch still queued when the host closes or the upstream dies fails
 * its calls at once (none hangs), and a closed host leaves nothing scheduled behind it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { SwitchboardError } from '../../src/core/errors.js';
import { Switchboard } from '../../src/index.js';
import { ThreadHost } from '../../src/upstream/thread-host.js';
import { fixture, runScript, structured, waitFor } from '../helpers.js';

function host(name: string, extra: Record<string, unknown> = {}): ThreadHost {
  const config = loadConfig({ mcpServers: { [name]: fixture(name, { isolation: 'thread', ...extra }) } })
    .servers[0]!;
  return new ThreadHost(config, {});
}

const echo = (nonce: string, delayMs = 0) => ({ name: 'echo', arguments: { nonce, delayMs } });

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

test('many calls made in one turn each get their own answer', async () => {
  const h = host('batch');
  try {
    await h.start();
    const nonces = Array.from({ length: 300 }, (_, i) => `b${i}`);
    const answers = await Promise.all(
      nonces.map((n) => h.request('tools/call', echo(n)) as Promise<{ structuredContent?: unknown }>),
    );
    assert.deepEqual(
      answers.map((a) => structured<{ nonce: string }>(a).nonce),
      nonces,
    );
  } finally {
    await h.close();
  }
});

for (const isolation of ['inline', 'thread'] as const) {
  test(`${isolation}: a call sends its arguments as they were when it was made, though the caller changes them in the same turn`, async () => {
    await using sb = await Switchboard.start({
      mcpServers: { e: fixture('e', { isolation, health: false }) },
    });
    // One args object, reused and changed after each call, all in one turn: the calls after the first
    // wait for the end of the turn in a batch, and must not pick up the later values.
    const args: Record<string, unknown> = { nonce: '' };
    const calls: Promise<{ structuredContent?: unknown }>[] = [];
    for (let i = 0; i < 5; i++) {
      args.nonce = `n${i}`;
      calls.push(sb.callTool('e', 'echo', args));
      args.nonce = 'changed after the call';
    }
    const seen = (await Promise.all(calls)).map((r) => structured<{ nonce: string }>(r).nonce);
    assert.deepEqual(seen, ['n0', 'n1', 'n2', 'n3', 'n4']);
  });
}

test('aborts made in one turn reach the upstream as one cancellation each', async () => {
  const h = host('aborts');
  try {
    await h.start();
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const calls = controllers.map((ac, i) =>
      h
        .request(
          'tools/call',
          { name: 'sleep', arguments: { ms: 10_000, nonce: `s${i}` } },
          { signal: ac.signal },
        )
        .catch((e: unknown) => e),
    );
    await new Promise((r) => setTimeout(r, 100)); // the calls are with the server
    for (const ac of controllers) ac.abort(new Error('stop'));
    assert.deepEqual((await Promise.all(calls)).map(code), Array(20).fill('E_ABORTED'));
    const seen = async () =>
      structured<{ cancelled: unknown[] }>(
        (await h.request('tools/call', { name: 'cancellations', arguments: {} })) as {
          structuredContent?: unknown;
        },
      ).cancelled.length;
    assert.ok(await waitFor(async () => (await seen()) === 20), 'every abort reached the server');
  } finally {
    await h.close();
  }
});

test('calls still queued for the worker when the host closes fail with E_CLOSED, and nothing stays scheduled', async () => {
  const h = host('closing');
  await h.start();
  const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
  const before = immediates();
  // The first call leaves at once; the others wait in this turn's batch when close() comes.
  const calls = Array.from({ length: 10 }, (_, i) =>
    h.request('tools/call', echo(`c${i}`, 50)).catch((e: unknown) => e),
  );
  const closing = h.close(undefined, { now: true });
  assert.deepEqual((await Promise.all(calls)).map(code), Array(10).fill('E_CLOSED'));
  await closing;
  assert.equal(immediates(), before, 'no flush of the closed host is left scheduled');
  const later = await h.request('tools/call', echo('late')).catch((e: unknown) => e);
  assert.equal(code(later), 'E_CLOSED');
});

test('calls queued behind one that ends the server fail with E_UPSTREAM_CLOSED and its exit code; none hangs', async () => {
  const h = host('doomed');
  try {
    await h.start();
    const exit = h.request('tools/call', { name: 'exit', arguments: {} }).catch((e: unknown) => e);
    const behind = Array.from({ length: 10 }, (_, i) =>
      h.request('tools/call', echo(`d${i}`)).catch((e: unknown) => e),
    );
    const errors = await Promise.all([exit, ...behind]);
    assert.deepEqual(errors.map(code), Array(11).fill('E_UPSTREAM_CLOSED'));
    for (const err of errors) assert.match((err as Error).message, /server 'doomed' exited with code 3/);
  } finally {
    await h.close();
  }
});

test('a process whose thread host closed with a batch queued exits by itself', async () => {
  const run = await runScript(`
    const { loadConfig } = await import(SB.replace(/index\\.js$/, 'config/config.js'));
    const { ThreadHost } = await import(SB.replace(/index\\.js$/, 'upstream/thread-host.js'));
    const config = loadConfig({ mcpServers: { e: { command: process.execPath, args: [FIXTURE, 'e'], isolation: 'thread' } } }).servers[0];
    const h = new ThreadHost(config, {});
    await h.start();
    const calls = Array.from({ length: 10 }, (_, i) =>
      h.request('tools/call', { name: 'echo', arguments: { nonce: 'x' + i, delayMs: 50 } }).then(() => 'answered', (e) => e.code));
    void h.close(undefined, { now: true });
    console.log(JSON.stringify(await Promise.all(calls)));
  `);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.signal, null, 'the process ended on its own, not killed at the timeout');
  assert.deepEqual(JSON.parse(run.stdout.trim()), Array(10).fill('E_CLOSED'));
});
