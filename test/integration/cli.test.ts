/** The CLI through its built bin, as a person runs it: real processes, real exit codes. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, chaos, fixture, processesWith, ROOT, waitFor } from '../helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: opts.cwd ?? tmpdir(),
        env: { ...process.env, SWITCHBOARD_CONFIG: '', ...opts.env },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  const file = join(dir, 'switchboard.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('tools, call and status work on the bundled config with no set-up', async () => {
  const tools = await run(['tools']);
  assert.equal(tools.code, 0, tools.stderr);
  assert.match(tools.stdout, /^clock\/now\s+The current date and time/m);
  assert.match(tools.stdout, /^notes\/add\s+/m);
  const now = await run(['call', 'clock/now', 'timeZone=UTC']);
  assert.equal(now.code, 0, now.stderr);
  assert.match(now.stdout, new RegExp(`${new Date().getUTCFullYear()}-\\d\\d-\\d\\dT`));
  const status = await run(['status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { config: string; servers: { name: string; state: string }[] };
  assert.equal(report.config, join(ROOT, 'config/default.json'));
  assert.deepEqual(
    report.servers.map((s) => [s.name, s.state]),
    [
      ['clock', 'ready'],
      ['notes', 'ready'],
    ],
  );
});

test('call takes --args JSON and key=value pairs, typed by the tool schema, and prints progress to stderr', async () => {
  const notes = join(mkdtempSync(join(tmpdir(), 'sb-notes-')), 'notes.json');
  const env = { NOTES_FILE: notes };
  const added = await run(['call', 'notes/add', '--args', '{"text": "from json"}', 'tag=42'], { env });
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout.trim(), 'added note 1');
  const listed = await run(['call', 'notes/list', '--json'], { env });
  const result = JSON.parse(listed.stdout) as {
    structuredContent: { notes: { text: string; tag: unknown }[] };
  };
  // tag is a string in the schema, so "42" stays a string
  assert.deepEqual(
    result.structuredContent.notes.map((n) => [n.text, n.tag]),
    [['from json', '42']],
  );
  const countdown = await run(['call', 'clock/countdown', 'from=3', 'intervalMs=1']);
  assert.equal(countdown.code, 0, countdown.stderr);
  assert.equal(countdown.stdout.trim(), 'liftoff');
  assert.deepEqual(countdown.stderr.trim().split('\n'), [
    'progress: 1/3 2 left',
    'progress: 2/3 1 left',
    'progress: 3/3 0 left',
  ]);
});

test('an unknown tool exits 1 and names the tools there are; an unknown server exits 2', async () => {
  const tool = await run(['call', 'clock/tick']);
  assert.equal(tool.code, 1);
  assert.match(
    tool.stderr,
    /error \[E_UNKNOWN_TOOL\]: server 'clock' has no tool 'tick'; it has now, countdown/,
  );
  const server = await run(['call', 'calendar/now']);
  assert.equal(server.code, 2);
  assert.match(
    server.stderr,
    /error \[E_UNKNOWN_SERVER\]: no server is named 'calendar'; configured: clock, notes/,
  );
});

test('a tool that reports isError exits 1 with its message; a JSON-RPC error exits 1 with code and data', async () => {
  const file = configFile({ mcpServers: { fx: fixture('fx') } });
  const failed = await run(['--config', file, 'call', 'fx/fail', 'nonce=zz']);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /fx\/fail reported an error:\nfailed on purpose: zz/);
  const rpc = await run(['--config', file, 'call', 'fx/rpc_error', 'nonce=q']);
  assert.equal(rpc.code, 1);
  assert.match(rpc.stderr, /error \[JSON-RPC -32042\]: fx: refused q/);
  const timeout = await run(['--config', file, 'call', 'fx/sleep', 'ms=5000', '--timeout', '100']);
  assert.equal(timeout.code, 1);
  assert.match(timeout.stderr, /error \[E_TIMEOUT\]: tools\/call on 'fx' timed out after 100 ms/);
});

test('bad config and bad usage exit 2 with what to do', async () => {
  const bad = configFile({ mcpServers: { fx: { command: 'node', args: [1] } } });
  const config = await run(['--config', bad, 'tools']);
  assert.equal(config.code, 2);
  assert.match(
    config.stderr,
    /error \[E_CONFIG\]: invalid config .*switchboard\.json at mcpServers\.fx\.args\[0\]: /,
  );
  const broken = await run(['--config', configFile('{ "mcpServers": '), 'tools']);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /not valid JSON/);
  const missing = await run(['--config', '/nonexistent/sb.json', 'status']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /file not found; pass --config <file> or create it/);
  const args = await run(['call', 'clock/now', '--args', '[1]']);
  assert.equal(args.code, 2);
  assert.match(args.stderr, /--args must be a JSON object/);
  const flag = await run(['tools', '--nope']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--nope'[\s\S]*switchboard --help/);
  const command = await run(['frobnicate']);
  assert.equal(command.code, 2);
  assert.match(
    command.stderr,
    /unknown command 'frobnicate'; commands: tools, call, resources, read, prompts, prompt, status, supervise/,
  );
});

test('a server that fails to start is shown in status with its reason, exit 1; the rest still list', async () => {
  const file = configFile({ mcpServers: { fx: fixture('fx'), gone: { command: 'no-such-binary-123' } } });
  const status = await run(['--config', file, 'status']);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /^fx\s+ready\s+stdio\s+inline\s+2025-11-25\s+13\s+fixture-fx 1\.0\.0/m);
  assert.match(status.stdout, /^gone\s+failed\s+stdio.*command 'no-such-binary-123' was not found/m);
  const tools = await run(['--config', file, 'tools']);
  assert.equal(tools.code, 1);
  assert.match(tools.stdout, /^fx\/echo/m);
  assert.match(tools.stderr, /server 'gone' is not available/);
});

test('--help and --version', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /switchboard call <server>\/<tool>/);
  const version = await run(['--version']);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const callHelp = await run(['call', '--help']);
  assert.match(callHelp.stdout, /key=value/);
});

test('supervise: restarts a killed server, reloads an edited config, stops on SIGTERM leaving no process', async () => {
  const tag = `sup-${process.pid}-${Date.now()}`;
  const env = { CHAOS_GRANDCHILD: '1', CHAOS_DIR: mkdtempSync(join(tmpdir(), 'sb-sup-')) };
  const config = (mode: string) => ({
    mcpServers: {
      a: chaos('a', { restart: { initialDelayMs: 20, jitter: 0 } }, env, tag),
      b: chaos('b', {}, { ...env, MODE: mode }, tag),
    },
  });
  const file = configFile(config('one'));
  const child = spawn(process.execPath, [BIN, '--config', file, 'supervise', '--grace', '2000'], {
    env: { ...process.env, SWITCHBOARD_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const seen = (re: RegExp) => waitFor(() => re.test(out), 10_000);
  try {
    assert.ok(await seen(/supervising; watching/), out);
    assert.match(out, /\ba\s+ready\b/);
    assert.match(out, /\bb\s+ready\b/);
    // Four processes carry the tag: two servers, two grandchildren.
    assert.ok(await waitFor(() => processesWith(tag).length === 4), `${processesWith(tag).length} tagged`);
    const serverA = processesWith(`chaos-server.mjs\0a\0${tag}`);
    assert.equal(serverA.length, 1);
    process.kill(serverA[0]!, 'SIGKILL');
    assert.ok(await seen(/\ba\s+restarting\s+server 'a' was killed by SIGKILL/), out);
    assert.ok(await seen(/\ba\s+ready[\s\S]*\ba\s+ready/), out);
    writeFileSync(file, JSON.stringify(config('two')));
    assert.ok(
      await seen(/config reloaded: 1 restarted, 0 updated in place, 0 added, 0 removed, 1 untouched/),
      out,
    );
    writeFileSync(file, '{ not json');
    assert.ok(await seen(/config edit refused: invalid config .*not valid JSON/), out);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
  assert.match(out, /stopping: 0 calls get up to 2000 ms to finish[\s\S]*stopped\n/);
  assert.ok(await waitFor(() => processesWith(tag).length === 0), `left behind: ${processesWith(tag)}`);
});
