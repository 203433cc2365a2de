/** The CLI's edges, through its built bin: start-up stderr, full tool objects, one-shot failures, big arguments, Ctrl-C. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, fixture, processesWith, ROOT, waitFor } from '../helpers.js';

const CLI_SERVER = `${ROOT}test/fixtures/cli-server.mjs`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin to its end; `input` is written to its stdin (which is closed either way). */
function run(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? tmpdir(),
      env: { ...process.env, SWITCHBOARD_CONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the bin may exit before reading all of it
    child.stdin.end(opts.input ?? '');
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sb-cli-edges-'));
}

function configFile(content: unknown, dir = tempDir()): string {
  const file = join(dir, 'switchboard.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** A config entry for test/fixtures/cli-server.mjs; `tag` goes on its command line, for processesWith(). */
function cliServer(name: string, env: Record<string, string> = {}, tag = '') {
  return { command: process.execPath, args: [CLI_SERVER, name, tag], env };
}

test('--verbose shows what servers write to stderr during start-up, as [name] <line>', async () => {
  const nonce = `n${process.pid}${Date.now()}`;
  const file = configFile({
    mcpServers: {
      // writes, then serves
      talky: cliServer('talky', { CLI_STDERR: `hello from start-up ${nonce}` }),
      // writes, then exits, so its start fails
      dying: {
        command: process.execPath,
        args: ['-e', `process.stderr.write('last words ${nonce}\\n'); process.exit(4)`],
      },
    },
  });
  const tools = await run(['--config', file, 'tools', '--verbose']);
  assert.equal(tools.code, 1, tools.stderr);
  assert.match(tools.stderr, new RegExp(`^\\[talky\\] hello from start-up ${nonce}$`, 'm'));
  assert.match(tools.stderr, new RegExp(`^\\[dying\\] last words ${nonce}$`, 'm'));
  assert.match(tools.stderr, /^config: .*switchboard\.json$/m);
  assert.match(tools.stdout, /^talky\/rich\s/m);
  // Without --verbose, no server's stderr.
  const quiet = await run(['--config', file, 'tools']);
  assert.doesNotMatch(quiet.stderr, /^\[talky\]/m);
});

test('tools --json gives each tool object exactly as the server listed it, beside server and qualifiedName', async () => {
  const file = configFile({ mcpServers: { x: cliServer('x') } });
  const out = await run(['--config', file, 'tools', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const tools = JSON.parse(out.stdout) as {
    server: string;
    name: string;
    qualifiedName: string;
    tool: Record<string, unknown>;
  }[];
  assert.deepEqual(
    tools.map((t) => [t.server, t.name, t.qualifiedName]),
    [
      ['x', 'rich', 'x__rich'],
      ['x', 'clash', 'x__clash'],
      ['x', 'wait', 'x__wait'],
    ],
  );
  assert.deepEqual(tools[0]!.tool, {
    name: 'rich',
    title: 'A tool with every field',
    description: 'Carries title, annotations, execution, outputSchema, icons and _meta',
    inputSchema: { type: 'object', properties: { nonce: { type: 'string' } } },
    outputSchema: { type: 'object', properties: { nonce: { type: 'string' } }, required: ['nonce'] },
    annotations: { title: 'Rich', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    execution: { taskSupport: 'optional' },
    icons: [{ src: 'data:image/png;base64,AAAA', mimeType: 'image/png' }],
    _meta: { 'example.com/owner': 'x' },
  });
  // A tool's own fields named like ours stay in the tool and do not replace ours.
  assert.deepEqual(tools[1], {
    server: 'x',
    name: 'clash',
    qualifiedName: 'x__clash',
    tool: {
      name: 'clash',
      description: 'Has fields named server and qualifiedName',
      inputSchema: { type: 'object' },
      server: 'not-the-server',
      qualifiedName: 'not-the-qualified-name',
    },
  });
});

test('one-shot commands report a server that fails to start as failed, with its reason, and promise no retry', async () => {
  const file = configFile({
    mcpServers: {
      gone: { command: 'no-such-binary-123' },
      quick: { command: process.execPath, args: ['-e', "process.stderr.write('boom\\n'); process.exit(4)"] },
    },
  });
  const status = await run(['--config', file, 'status']);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /^gone\s+failed\s+stdio.*command 'no-such-binary-123' was not found/m);
  assert.match(status.stdout, /^quick\s+failed\s+stdio.*exited with code 4 during start-up/m);
  const json = await run(['--config', file, 'status', '--json']);
  const report = JSON.parse(json.stdout) as {
    servers: { name: string; state: string; nextAttemptInMs?: number; error?: { message: string } }[];
  };
  for (const s of report.servers) {
    assert.equal(s.state, 'failed', s.name);
    assert.equal(s.nextAttemptInMs, undefined, s.name);
  }
  assert.match(report.servers[1]!.error!.message, /exited with code 4 during start-up[\s\S]*boom/);
  const tools = await run(['--config', file, 'tools']);
  assert.equal(tools.code, 1);
  assert.match(tools.stderr, /server 'gone' is not available: .*'no-such-binary-123' was not found/);
  assert.match(tools.stderr, /server 'quick' is not available: .*exited with code 4 during start-up/);
  const call = await run(['--config', file, 'call', 'quick/anything']);
  assert.equal(call.code, 1);
  assert.match(call.stderr, /E_UPSTREAM_UNAVAILABLE.*server 'quick'.*exited with code 4 during start-up/);
  for (const r of [status, json, tools, call]) {
    assert.doesNotMatch(r.stdout + r.stderr, /next attempt|backoff|restarting/);
  }
});

test('call --args @file and --args - pass a 3 MB argument; key=value pairs still merge over it', async () => {
  const dir = tempDir();
  const file = configFile({ mcpServers: { fx: fixture('fx') } }, dir);
  const nonce = `tail-${process.pid}-${Date.now()}`;
  const value = 'x'.repeat(3 * 1024 * 1024) + nonce;
  writeFileSync(join(dir, 'big.json'), JSON.stringify({ nonce: value, delayMs: 5 }));
  type Echo = { structuredContent: { nonce: string; server: string } };
  // Relative to the current folder; `meta` answers with the params it received.
  const fromFile = await run(
    ['--config', file, 'call', 'fx/meta', '--args', '@big.json', 'delayMs=7', '--json'],
    {
      cwd: dir,
    },
  );
  assert.equal(fromFile.code, 0, fromFile.stderr.slice(0, 2000));
  const a = (JSON.parse(fromFile.stdout) as { received: { arguments: { nonce: string; delayMs: number } } })
    .received.arguments;
  assert.equal(a.nonce.length, value.length);
  assert.ok(a.nonce.endsWith(nonce));
  assert.equal(a.delayMs, 7);
  const fromStdin = await run(['--config', file, 'call', 'fx/echo', '--args', '-', '--json'], {
    input: JSON.stringify({ nonce: value }),
  });
  assert.equal(fromStdin.code, 0, fromStdin.stderr.slice(0, 2000));
  const b = (JSON.parse(fromStdin.stdout) as Echo).structuredContent;
  assert.equal(b.server, 'fx');
  assert.equal(b.nonce.length, value.length);
  assert.ok(b.nonce.endsWith(nonce));
});

test('call --args @file and - fail clearly: missing, unreadable, not JSON, not an object', async () => {
  const dir = tempDir();
  const file = configFile({ mcpServers: { fx: fixture('fx') } }, dir);
  writeFileSync(join(dir, 'bad.json'), '{ "nonce": ');
  writeFileSync(join(dir, 'list.json'), '[1, 2]');
  mkdirSync(join(dir, 'folder.json'));
  const call = (args: string[], input?: string) =>
    run(['--config', file, 'call', 'fx/echo', ...args], { cwd: dir, input });
  const cases: [string[], RegExp, string?][] = [
    [['--args', '@missing.json'], /--args @missing\.json: .*missing\.json was not found/],
    [['--args', '@folder.json'], /--args @folder\.json: cannot read .*folder\.json: .*EISDIR/],
    [['--args', '@bad.json'], /--args @bad\.json: .*bad\.json is not valid JSON: /],
    [['--args', '@list.json'], /--args @list\.json: .*list\.json must hold a JSON object .*, not an array/],
    [['--args', '@'], /--args @ needs a file name: --args @args\.json/],
    [['--args', '-'], /--args -: stdin is not valid JSON: /, 'nope'],
    [['--args', '-'], /--args -: stdin must hold a JSON object .*, not 42/, '42'],
  ];
  for (const [args, expected, input] of cases) {
    const r = await call(args, input);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.match(r.stderr, /switchboard --help/);
  }
  // The path in the message is the one the CLI read (absolute), so "not found" is unambiguous.
  const missing = await call(['--args', '@missing.json']);
  assert.ok(missing.stderr.includes(join(dir, 'missing.json')), missing.stderr);
});

test('Ctrl-C on a running call cancels it upstream and exits 130 promptly, leaving no process', async () => {
  const tag = `cli-int-${process.pid}-${Date.now()}`;
  const dir = tempDir();
  // closeGraceMs 5000: a graceful close would wait 5 s for this server, which ignores EOF on stdin.
  const file = configFile({
    mcpServers: {
      w: { ...cliServer('w', { CLI_IGNORE_EOF: '1', CLI_DIR: dir }, tag), closeGraceMs: 5000 },
    },
  });
  const child = spawn(process.execPath, [BIN, '--config', file, 'call', 'w/wait'], {
    env: { ...process.env, SWITCHBOARD_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let interruptedAt = 0;
  try {
    // The call is running on the server once its progress arrives.
    assert.ok(await waitFor(() => stderr.includes('progress: 0'), 10_000), stderr);
    assert.equal(processesWith(tag).length, 2, 'the server and its grandchild');
    interruptedAt = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    const took = Date.now() - interruptedAt;
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /error \[E_ABORTED\]: tools\/call on 'w' was aborted by the caller \(interrupted by SIGINT\)/,
    );
    assert.ok(took < 2500, `exited ${took} ms after SIGINT; a graceful close waits 5000 ms for this server`);
    const cancelled = readFileSync(join(dir, 'w.cancelled'), 'utf8').trim().split('\n');
    assert.equal(cancelled.length, 1, cancelled.join('\n'));
    assert.ok(await waitFor(() => processesWith(tag).length === 0, 1000), `left: ${processesWith(tag)}`);
  } finally {
    child.kill('SIGKILL');
    for (const pid of processesWith(tag)) process.kill(pid, 'SIGKILL');
  }
});
