// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, parseConfig } from '../../src/config/config.js';
import { stripJsonComments } from '../../src/config/jsonc.js';
import { isSwitchboardError } from '../../src/core/errors.js';

const env = { HOME: '/home/u', TOKEN: 'secret' };

test('Claude Desktop / Cursor shape: stdio and URL servers, defaults and per-server options', () => {
  const c = parseConfig(
    {
      mcpServers: {
        fs: {
          command: 'npx',
          args: ['-y', 'server-fs', '${HOME}/docs'],
          env: { KEY: '${TOKEN}' },
          maxInFlight: 4,
        },
        remote: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
      },
      switchboard: { defaults: { timeoutMs: 1234, isolation: 'thread' } },
    },
    { env, cwd: '/base' },
  );
  const [fs, remote] = c.servers;
  assert.deepEqual(fs?.transport, {
    type: 'stdio',
    command: 'npx',
    args: ['-y', 'server-fs', '/home/u/docs'],
    env: { KEY: 'secret' },
    cwd: undefined,
  });
  assert.equal(fs?.maxInFlight, 4);
  assert.equal(fs?.timeoutMs, 1234);
  assert.equal(fs?.isolation, 'thread');
  assert.equal(fs?.protocol, 'legacy');
  assert.deepEqual(remote?.transport, {
    type: 'http',
    url: 'https://example.com/mcp',
    headers: { Authorization: 'Bearer secret' },
  });
  assert.equal(remote?.protocol, 'auto');
  assert.equal(c.separator, '__');
});

test("VS Code's { servers } with type, ${env:VAR} and ${VAR:-default}", () => {
  const c = parseConfig(
    {
      servers: {
        a: { type: 'sse', url: 'http://127.0.0.1:9/sse' },
        b: { type: 'stdio', command: '${env:HOME}/bin/x', args: ['${MISSING:-fallback}'], cwd: 'sub' },
      },
      inputs: [],
    },
    { env, cwd: '/base' },
  );
  assert.equal(c.servers[0]?.transport.type, 'sse');
  assert.deepEqual(c.servers[1]?.transport, {
    type: 'stdio',
    command: '/home/u/bin/x',
    args: ['fallback'],
    env: {},
    cwd: '/base/sub',
  });
  assert.deepEqual(c.warnings, []);
});

test('invalid config names the file, the JSON path and the reason', () => {
  const cases: [unknown, RegExp][] = [
    [
      { mcpServers: { a: { command: 'x', args: ['ok', 3] } } },
      /at mcpServers\.a\.args\[1\]: .*expected string/i,
    ],
    [{ mcpServers: { a: { command: 'x', maxInFlight: 0 } } }, /at mcpServers\.a\.maxInFlight: /],
    [{ mcpServers: { a: {} } }, /at mcpServers\.a: needs "command".*or "url"/],
    [{ mcpServers: { a: { url: 'ftp://x' } } }, /at mcpServers\.a\.url: .*must be http/],
    [{ mcpServers: { 'bad name': { command: 'x' } } }, /server name 'bad name' may use only/],
    [{ mcpServers: { a__b: { command: 'x' } } }, /contains the name separator '__'/],
    [{ mcpServers: { a: { command: 'x' } }, servers: { a: { command: 'y' } } }, /defined twice/],
    [{ other: 1 }, /no servers/],
    [{ mcpServers: { a: { command: 'x', isolation: 'process' } } }, /at mcpServers\.a\.isolation: /],
  ];
  for (const [raw, pattern] of cases) {
    const err = (() => {
      try {
        parseConfig(raw, { env }, '/etc/sb.json');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(isSwitchboardError(err, 'E_CONFIG'), `no E_CONFIG for ${JSON.stringify(raw)}`);
    assert.match(err.message, /^invalid config \/etc\/sb\.json/);
    assert.match(err.message, pattern);
  }
});

test('unknown keys are accepted with a warning that suggests the right one', () => {
  const c = parseConfig({ mcpServers: { a: { command: 'x', timeoutMS: 5, autoApprove: [] } } }, { env });
  assert.equal(c.warnings.length, 2);
  assert.match(
    c.warnings[0]!,
    /unknown key at mcpServers\.a\.timeoutMS \(ignored\); did you mean 'timeoutMs'\?/,
  );
  assert.equal(c.servers[0]?.timeoutMs, 60_000);
});

test('files: JSONC comments and trailing commas load; ${configDir} is the file folder; bad JSON says where', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
  const file = join(dir, 'mcp.json');
  writeFileSync(
    file,
    '{\n  // a comment\n  "servers": { "a": { "command": "${configDir}/run", "args": ["a//b", "/*x*/",], }, },\n}\n',
  );
  const c = loadConfigFile(file, { env });
  assert.deepEqual(c.servers[0]?.transport, {
    type: 'stdio',
    command: `${dir}/run`,
    args: ['a//b', '/*x*/'],
    env: {},
    cwd: undefined,
  });
  assert.equal(c.source, file);
  writeFileSync(file, '{ "mcpServers": { "a": { "command": "x" } ');
  assert.throws(() => loadConfigFile(file, { env }), /invalid config .*mcp\.json: not valid JSON/);
  assert.throws(() => loadConfigFile(join(dir, 'nope.json')), /nope\.json: file not found; pass --config/);
});

test('stripJsonComments keeps strings intact and positions stable', () => {
  const text = '{"a": "http://x//y", /* c */ "b": [1,2,],}';
  const out = stripJsonComments(text);
  assert.equal(out.length, text.length);
  assert.deepEqual(JSON.parse(out), { a: 'http://x//y', b: [1, 2] });
});

test('a duration longer than a timer can wait is refused with the limit, not fired at once', () => {
  for (const entry of [
    { timeoutMs: 3e9 },
    { health: { intervalMs: 3e9 } },
    { restart: { initialDelayMs: 3e9 } },
    { closeGraceMs: 2 ** 31 },
  ]) {
    assert.throws(
      () => parseConfig({ mcpServers: { s: { command: 'x', ...entry } } }),
      /must be at most 2147483647 ms \(about 24\.8 days\)/,
      JSON.stringify(entry),
    );
  }
  assert.equal(
    parseConfig({ mcpServers: { s: { command: 'x', timeoutMs: 2 ** 31 - 1 } } }).servers[0]?.timeoutMs,
    2 ** 31 - 1,
  );
});
