/**
 * Supervision against real child processes, once per isolation mode: restarts, what happens to calls
 * that were running and waiting, the retry rule, health pings, backoff and the crash loop.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Switchboard, SwitchboardError } from '../../src/index.js';
import { chaos, type Isolation, processesWith, stateLog, structured, waitFor } from '../helpers.js';

interface Answer {
  nonce: string;
  server: string;
  pid: number;
  start: number;
}

const quick = { restart: { initialDelayMs: 30, jitter: 0 }, health: false };

function code(err: unknown): string {
  return err instanceof SwitchboardError ? err.code : `not a SwitchboardError: ${String(err)}`;
}

for (const isolation of ['inline', 'thread'] as Isolation[]) {
  describe(`supervision (${isolation})`, () => {
    test('a crash fails the running call with its reason; the waiting call is answered by the restarted server', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { c: chaos('c', { isolation, maxInFlight: 1, ...quick }) },
      });
      const log = stateLog(sb);
      const first = structured<Answer>(await sb.callTool('c', 'work', { nonce: 'warm' }));
      const running = sb.callTool('c', 'work', { nonce: 'doomed', fault: 'crash' });
      const waiting = sb.callTool('c', 'work', { nonce: 'waits' }); // queued behind it: never sent
      const err = await running.catch((e: unknown) => e);
      assert.equal(code(err), 'E_UPSTREAM_CLOSED');
      assert.match(
        (err as Error).message,
        /server 'c' exited with code 9; last stderr: chaos c: crashing mid-call/,
      );
      assert.equal((err as SwitchboardError).data.exitCode, 9);
      const after = structured<Answer>(await waiting);
      assert.equal(after.nonce, 'waits');
      assert.equal(after.server, 'c');
      assert.notEqual(after.pid, first.pid, 'answered by a new process');
      assert.equal(after.start, 2);
      assert.deepEqual(log, ['c:restarting', 'c:ready']);
      const [status] = sb.servers();
      assert.equal(status?.state, 'ready');
      assert.equal(status?.restarts, 1);
      assert.equal(status?.generation, 2);
      assert.equal(status?.tools, 4, 'the catalog was read again');
    });

    test('a sent call is retried only if its tool is annotated read-only/idempotent, or the call opts in', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-retry-'));
      await using sb = await Switchboard.start({
        mcpServers: {
          c: chaos('c', { isolation, ...quick }),
          strict: chaos('strict', { isolation, ...quick, retry: 'never' }),
        },
      });
      // Annotated readOnlyHint: the server dies under it, the call is sent again to the new process.
      const ro = structured<Answer>(
        await sb.callTool('c', 'crash_once_readonly', { nonce: 'ro', marker: join(dir, 'ro') }),
      );
      assert.deepEqual([ro.nonce, ro.start], ['ro', 2]);
      assert.equal(Number(readFileSync(join(dir, 'ro'), 'utf8')) > 0, true, 'the first process got it');
      // Not annotated: sent once, and the caller hears that the server went down.
      const once = await sb
        .callTool('c', 'crash_once', { nonce: 'once', marker: join(dir, 'once') })
        .catch((e: unknown) => e);
      assert.equal(code(once), 'E_UPSTREAM_CLOSED');
      // The caller says it is safe to repeat.
      const optIn = structured<Answer>(
        await sb.callTool('c', 'crash_once', { nonce: 'opt', marker: join(dir, 'opt') }, { retry: true }),
      );
      assert.deepEqual([optIn.nonce, optIn.start], ['opt', 4]);
      // retry: "never" in the config wins over the annotation.
      const never = await sb
        .callTool('strict', 'crash_once_readonly', { nonce: 'n', marker: join(dir, 'never') })
        .catch((e: unknown) => e);
      assert.equal(code(never), 'E_UPSTREAM_CLOSED');
      assert.equal(sb.servers().find((s) => s.name === 'c')?.restarts, 3);
    });

    test('a server that stops answering is found by ping and restarted; its running call fails with the reason', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          c: chaos('c', {
            isolation,
            restart: { initialDelayMs: 30, jitter: 0 },
            health: { intervalMs: 100, timeoutMs: 150, failures: 2 },
          }),
        },
      });
      const log = stateLog(sb);
      const err = await sb
        .callTool('c', 'work', { nonce: 'f', fault: 'freeze' }, { timeoutMs: 30_000 })
        .catch((e: unknown) => e);
      assert.equal(code(err), 'E_UPSTREAM_CLOSED');
      assert.match(
        (err as Error).message,
        /server 'c' stopped answering: 2 pings in a row got no answer within 150 ms/,
      );
      const after = structured<Answer>(await sb.callTool('c', 'work', { nonce: 'alive' }));
      assert.deepEqual([after.nonce, after.start], ['alive', 2]);
      assert.deepEqual(log, ['c:restarting', 'c:ready']);
    });

    test('bad output is skipped with a warning naming the server; double answers and wrong ids reach no one', async () => {
      await using sb = await Switchboard.start({ mcpServers: { c: chaos('c', { isolation, ...quick }) } });
      const warnings: string[] = [];
      sb.on('warning', ({ server, error }) => warnings.push(`${server}: ${error.message}`));
      // Other calls run alongside, so a stray answer would have somewhere to go.
      const bystanders = Array.from({ length: 10 }, (_, i) =>
        sb.callTool('c', 'work', { nonce: `by${i}`, delayMs: 150 }),
      );
      const garbage = structured<Answer>(await sb.callTool('c', 'work', { nonce: 'g', fault: 'garbage' }));
      assert.equal(garbage.nonce, 'g');
      // Four bad lines: not JSON, JSON but not JSON-RPC, an array, and an envelope with nothing in it.
      assert.equal(
        warnings.filter((w) => w.startsWith("c: 'c' wrote a line to stdout that is not JSON-RPC")).length,
        4,
        warnings.join('\n'),
      );
      const twice = structured<Answer>(await sb.callTool('c', 'work', { nonce: 't', fault: 'twice' }));
      assert.equal(twice.nonce, 't');
      const wrong = await sb
        .callTool('c', 'work', { nonce: 'w', fault: 'wrongid' }, { timeoutMs: 300 })
        .catch((e: unknown) => e);
      assert.equal(code(wrong), 'E_TIMEOUT');
      const answers = await Promise.all(bystanders);
      assert.deepEqual(
        answers.map((r) => structured<Answer>(r).nonce),
        Array.from({ length: 10 }, (_, i) => `by${i}`),
      );
      const [report] = await sb.status();
      assert.equal(report?.stats?.unknown, 2, 'the second answer and the wrong id, counted');
      assert.equal(report?.stats?.badMessages, 4);
      assert.equal(report?.stats?.pending, 0);
      assert.equal(report?.state, 'ready', 'none of this is a reason to restart');
    });

    test('a server that goes deaf but lives on (pipes closed, no exit) is found by ping and restarted', async () => {
      await using sb = await Switchboard.start({
        mcpServers: {
          c: chaos('c', {
            isolation,
            restart: { initialDelayMs: 30, jitter: 0 },
            health: { intervalMs: 50, timeoutMs: 200, failures: 2 },
          }),
        },
      });
      const first = structured<Answer>(await sb.callTool('c', 'work', { nonce: 'a' }));
      await sb.callTool('c', 'work', { nonce: 'deaf', fault: 'deaf' }, { timeoutMs: 100 }).catch(() => {});
      assert.ok(await waitFor(() => sb.servers()[0]?.generation === 2 && sb.servers()[0]?.state === 'ready'));
      const after = structured<Answer>(await sb.callTool('c', 'work', { nonce: 'b' }));
      assert.notEqual(after.pid, first.pid);
      assert.equal(after.start, 2);
    });

    test('an answer over maxMessageBytes fails its own call at once with E_MESSAGE_TOO_LARGE; others carry on', async () => {
      await using sb = await Switchboard.start({
        mcpServers: { c: chaos('c', { isolation, ...quick, maxMessageBytes: 1024 * 1024 }) },
      });
      const bystander = sb.callTool('c', 'work', { nonce: 'by', delayMs: 100 });
      const err = await sb
        .callTool('c', 'work', { nonce: 'big', fault: 'huge' }, { timeoutMs: 60_000 })
        .catch((e: unknown) => e);
      assert.equal(code(err), 'E_MESSAGE_TOO_LARGE', String(err));
      assert.match(
        (err as Error).message,
        /'c' sent a 2097\d{3}-byte message answering request \d+, over the 1048576-byte limit/,
      );
      assert.equal(structured<Answer>(await bystander).nonce, 'by');
      assert.equal(structured<Answer>(await sb.callTool('c', 'work', { nonce: 'next' })).nonce, 'next');
    });

    test('failed starts back off, then a crash loop fails calls at once with the reason; a fixed config recovers', async () => {
      const broken = {
        command: process.execPath,
        args: ['-e', "console.error('no licence key'); process.exit(4)"],
        isolation,
        health: false,
        restart: {
          initialDelayMs: 20,
          maxDelayMs: 80,
          jitter: 0,
          crashLoopAfter: 3,
          crashLoopRetryMs: 600_000,
        },
      };
      await using sb = await Switchboard.start({ mcpServers: { b: broken } });
      const log = stateLog(sb);
      assert.equal(sb.servers()[0]?.state, 'backoff');
      assert.ok(await waitFor(() => sb.servers()[0]?.state === 'crashloop', 5000), log.join());
      assert.deepEqual(log, ['b:backoff', 'b:crashloop']);
      const [status] = sb.servers();
      assert.equal(status?.failures, 3);
      assert.ok((status?.nextAttemptInMs ?? 0) > 500_000, 'the next attempt is a long way off');
      // Fails now, not at its deadline, and says why.
      const err = await sb.callTool('b', 'work', {}, { timeoutMs: 60_000 }).catch((e: unknown) => e);
      assert.equal(code(err), 'E_UPSTREAM_UNAVAILABLE');
      assert.match((err as Error).message, /crash loop after 3 failures in a row[\s\S]*no licence key/);
      // The config is fixed: a reload restarts it at once.
      const report = await sb.reload({ mcpServers: { b: chaos('b', { isolation, ...quick }) } });
      assert.deepEqual(report.changed, ['b']);
      assert.equal(sb.servers()[0]?.state, 'ready');
      assert.equal(structured<Answer>(await sb.callTool('b', 'work', { nonce: 'back' })).nonce, 'back');
    });
  });
}

describe('config reload', () => {
  test('close() during a reload also ends the servers still draining, and fails their calls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-reload-close-'));
    const tag = `reload-close-${process.pid}-${Date.now()}`;
    const entry = (name: string, mode = 'one') => chaos(name, quick, { CHAOS_DIR: dir, MODE: mode }, tag);
    const sb = await Switchboard.start({ mcpServers: { a: entry('a'), b: entry('b') } });
    const onA = sb.callTool('a', 'work', { nonce: 'a', delayMs: 3000 }).catch((e: unknown) => e);
    const onB = sb.callTool('b', 'work', { nonce: 'b', delayMs: 3000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    // a changes (drains, then restarts); b is removed (drains, then closes). Neither has finished.
    const reloading = sb
      .reload({ mcpServers: { a: entry('a', 'two') } }, { drainMs: 10_000 })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await sb.close({ timeoutMs: 100 });
    for (const call of [onA, onB]) assert.equal(code(await call), 'E_CLOSED');
    assert.deepEqual(processesWith(tag), [], 'no server outlives close()');
    await reloading;
  });

  test('a read-only call on a server being removed is not retried elsewhere, and the server is not restarted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-reload-retry-'));
    const a = chaos('a', quick, { CHAOS_DIR: dir });
    const sb = await Switchboard.start({ mcpServers: { a, b: chaos('b', quick, { CHAOS_DIR: dir }) } });
    const log = stateLog(sb);
    const call = sb.callTool('b', 'lookup', { nonce: 'x', fault: 'crash', delayMs: 200 });
    await new Promise((r) => setTimeout(r, 50));
    const report = await sb.reload({ mcpServers: { a } }, { drainMs: 5000 });
    assert.deepEqual(report.removed, ['b']);
    const err = await call.catch((e: unknown) => e);
    assert.equal(code(err), 'E_UPSTREAM_CLOSED');
    assert.match((err as Error).message, /server 'b' exited with code 9/);
    assert.deepEqual(
      log,
      ['b:draining', 'b:closed'],
      'b finished its call, then closed; it was not restarted',
    );
    await sb.close();
  });

  test('an edited file restarts only the changed server; calls to the others carry on untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-reload-'));
    const file = join(dir, 'switchboard.json');
    const entry = (name: string, env: Record<string, string> = {}) =>
      chaos(name, { ...quick }, { CHAOS_DIR: dir, ...env });
    writeFileSync(file, JSON.stringify({ mcpServers: { a: entry('a'), b: entry('b') } }));
    await using sb = await Switchboard.start(file);
    writeFileSync(
      file,
      JSON.stringify({ mcpServers: { a: { ...entry('a'), timeoutMs: 7000 }, b: entry('b') } }),
    );
    const updated = await sb.reload();
    assert.deepEqual(updated, { added: [], removed: [], changed: [], updated: ['a'], unchanged: ['b'] });
    assert.equal(sb.servers()[0]?.limits.timeoutMs, 7000);
    assert.equal(sb.servers()[0]?.generation, 1, 'a new deadline needs no new process');
    const reloads: unknown[] = [];
    sb.on('reload', (e) => reloads.push(e.error ? e.error.code : e.report));
    sb.watch({ debounceMs: 20, drainMs: 2000 });
    const a0 = structured<Answer>(await sb.callTool('a', 'work', { nonce: 'a0' }));
    const b0 = structured<Answer>(await sb.callTool('b', 'work', { nonce: 'b0' }));
    // A slow call on each server while the file changes under them.
    const slowA = sb.callTool('a', 'work', { nonce: 'slow-a', delayMs: 400 });
    const slowB = sb.callTool('b', 'work', { nonce: 'slow-b', delayMs: 200 });
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, JSON.stringify({ mcpServers: { a: entry('a'), b: entry('b', { MODE: 'edited' }) } }));
    assert.ok(await waitFor(() => reloads.length === 1, 5000), 'the edit was picked up');
    assert.deepEqual(reloads[0], { added: [], removed: [], changed: ['b'], updated: ['a'], unchanged: [] });
    // b drained its running call before the restart; a never noticed.
    assert.equal(structured<Answer>(await slowB).nonce, 'slow-b');
    const a1 = structured<Answer>(await slowA);
    assert.deepEqual([a1.nonce, a1.pid], ['slow-a', a0.pid]);
    const b1 = structured<Answer>(await sb.callTool('b', 'work', { nonce: 'b1' }));
    assert.notEqual(b1.pid, b0.pid);
    assert.equal(structured<Answer>(await sb.callTool('a', 'work', { nonce: 'a2' })).pid, a0.pid);

    // A broken edit is refused; what runs stays.
    writeFileSync(file, '{ "mcpServers": { "a": ');
    assert.ok(await waitFor(() => reloads.length === 2, 5000));
    assert.equal(reloads[1], 'E_CONFIG');
    assert.equal(structured<Answer>(await sb.callTool('b', 'work', { nonce: 'b2' })).pid, b1.pid);

    // Removed and added servers.
    writeFileSync(file, JSON.stringify({ mcpServers: { a: entry('a'), c: entry('c') } }));
    assert.ok(await waitFor(() => reloads.length === 3, 5000));
    assert.deepEqual(reloads[2], {
      added: ['c'],
      removed: ['b'],
      changed: [],
      updated: [],
      unchanged: ['a'],
    });
    assert.equal(code(await sb.callTool('b', 'work', {}).catch((e: unknown) => e)), 'E_UNKNOWN_SERVER');
    assert.equal(structured<Answer>(await sb.callTool('c', 'work', { nonce: 'c' })).server, 'c');
    assert.deepEqual(
      sb.servers().map((s) => [s.name, s.state]),
      [
        ['a', 'ready'],
        ['c', 'ready'],
      ],
    );
  });

  test('reload() with a config object that does not parse throws E_CONFIG and keeps the running config', async () => {
    await using sb = await Switchboard.start({ mcpServers: { a: chaos('a', quick) } });
    const err = await sb.reload({ mcpServers: { a: { command: 42 } } }).catch((e: unknown) => e);
    assert.equal(code(err), 'E_CONFIG');
    assert.match((err as Error).message, /at mcpServers\.a\.command/);
    assert.equal(structured<Answer>(await sb.callTool('a', 'work', { nonce: 'still' })).nonce, 'still');
    const noFile = await sb.reload().catch((e: unknown) => e);
    assert.match(
      (noFile as Error).message,
      /started from a config object.*pass the new config to reload\(\)/,
    );
  });
});
