// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, needsRestart, type ServerConfig, sameServer } from '../../src/config/config.js';
import { isSwitchboardError, SwitchboardError } from '../../src/core/errors.js';

/** Writes `config` as switchboard.json in a fresh folder and returns its path. */
function configFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-unresolved-')), 'switchboard.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

test('an unset variable in one server entry fails that server alone, naming file, path and variable', () => {
  const file = configFile({
    mcpServers: {
      github: {
        url: 'https://api.example.com/mcp',
        headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' },
      },
      files: { command: 'npx', args: ['${HOME}/docs'] },
    },
  });
  const c = loadConfigFile(file, { env: { HOME: '/home/u' } });
  assert.deepEqual(
    c.servers.map((s) => s.name),
    ['github', 'files'],
  );
  const [github, files] = c.servers;
  assert.ok(isSwitchboardError(github?.unresolved, 'E_CONFIG'));
  assert.equal(
    github.unresolved.message,
    `invalid config ${file} at mcpServers.github.headers.Authorization: environment variable GITHUB_TOKEN is not set; set it, or write \${GITHUB_TOKEN:-default}`,
  );
  assert.equal(github.unresolved.data.path, 'mcpServers.github.headers.Authorization');
  assert.equal(github.unresolved.data.variable, 'GITHUB_TOKEN');
  // The rest of the entry is a valid ServerConfig; the unresolved text stays literal.
  assert.deepEqual(github.transport, {
    type: 'http',
    url: 'https://api.example.com/mcp',
    headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' },
  });
  assert.equal(github.maxInFlight, 16);
  assert.equal(files?.unresolved, undefined);
  assert.equal('unresolved' in (files ?? {}), false);
  assert.deepEqual(files?.transport, {
    type: 'stdio',
    command: 'npx',
    args: ['/home/u/docs'],
    env: {},
    cwd: undefined,
  });
});

test('several unresolved variables in one entry: the first is the message, the others are named too', () => {
  const file = configFile({ servers: { a: { command: '${CMD}', args: ['--port', '${PORT}'] } } });
  const [a] = loadConfigFile(file, { env: {} }).servers;
  assert.equal(
    a?.unresolved?.message,
    `invalid config ${file} at servers.a.command: environment variable CMD is not set; set it, or write \${CMD:-default} (also in this entry: \${PORT} at servers.a.args[1])`,
  );
  assert.deepEqual(a?.transport, {
    type: 'stdio',
    command: '${CMD}',
    args: ['--port', '${PORT}'],
    env: {},
    cwd: undefined,
  });
});

test('an unresolved literal that breaks only the shape still gives a ServerConfig with the raw string', () => {
  const file = configFile({
    mcpServers: {
      whole: { url: '${MCP_URL}' },
      port: { type: 'sse', url: 'http://127.0.0.1:${PORT}/sse', headers: { 'X-Key': 'k' } },
      kind: { type: '${KIND}', url: 'https://example.com/mcp' },
      mode: { command: 'x', isolation: '${ISOLATION}' },
    },
  });
  const c = loadConfigFile(file, { env: {} });
  const by = new Map(c.servers.map((s) => [s.name, s]));
  assert.deepEqual(by.get('whole')?.transport, { type: 'http', url: '${MCP_URL}', headers: {} });
  assert.match(
    by.get('whole')?.unresolved?.message ?? '',
    /at mcpServers\.whole\.url: environment variable MCP_URL/,
  );
  assert.deepEqual(by.get('port')?.transport, {
    type: 'sse',
    url: 'http://127.0.0.1:${PORT}/sse',
    headers: { 'X-Key': 'k' },
  });
  assert.match(by.get('port')?.unresolved?.message ?? '', /variable PORT is not set/);
  // An enum that is only a variable falls back to what it would be without it.
  assert.equal(by.get('kind')?.transport.type, 'http');
  assert.match(
    by.get('kind')?.unresolved?.message ?? '',
    /at mcpServers\.kind\.type: environment variable KIND/,
  );
  assert.equal(by.get('mode')?.isolation, 'inline');
  assert.match(by.get('mode')?.unresolved?.message ?? '', /variable ISOLATION is not set/);
});

test('shape errors unrelated to the unresolved variable still throw', () => {
  const cases: [unknown, RegExp][] = [
    [{ mcpServers: { a: { command: 'x', args: ['${NOPE}', 3] } } }, /at mcpServers\.a\.args\[1\]: /],
    [
      { mcpServers: { a: { command: 'x', maxInFlight: 0, env: { K: '${NOPE}' } } } },
      /at mcpServers\.a\.maxInFlight: /,
    ],
    [
      { mcpServers: { a: { url: 'ftp://${HOST}/x' } } },
      /at mcpServers\.a\.url: 'ftp:\/\/\$\{HOST\}\/x' must be http/,
    ],
    [{ mcpServers: { a: { url: '${U}', command: 'x' } } }, /at mcpServers\.a: has both "command" and "url"/],
  ];
  for (const [raw, pattern] of cases) {
    const file = configFile(raw);
    const err = thrown(() => loadConfigFile(file, { env: {} }));
    assert.ok(isSwitchboardError(err, 'E_CONFIG'), `no E_CONFIG for ${JSON.stringify(raw)}`);
    assert.match(err.message, pattern);
  }
});

test('a variable in a key the switchboard ignores does not fail the server', () => {
  const file = configFile({
    mcpServers: { a: { command: 'x', description: 'uses ${NOPE}', autoApprove: ['${NOPE2}'] } },
  });
  const c = loadConfigFile(file, { env: {} });
  assert.equal(c.servers[0]?.unresolved, undefined);
  assert.deepEqual(c.warnings, [`${file}: unknown key at mcpServers.a.autoApprove (ignored)`]);
});

test('sameServer/needsRestart: a change in unresolved (set, cleared, another message) needs a restart', () => {
  const file = configFile({ mcpServers: { a: { command: 'x', args: ['${A}'] } } });
  const unset = loadConfigFile(file, { env: {} }).servers[0]!;
  const again = loadConfigFile(file, { env: {} }).servers[0]!;
  assert.ok(unset.unresolved);
  assert.notEqual(unset.unresolved, again.unresolved);
  assert.equal(sameServer(unset, again), true, 'the same failure parsed twice is the same server');
  assert.equal(needsRestart(unset, again), false);

  const cleared: ServerConfig = { ...unset, unresolved: undefined };
  assert.equal(sameServer(unset, cleared), false);
  assert.equal(needsRestart(unset, cleared), true);
  assert.equal(needsRestart(cleared, unset), true);

  const other: ServerConfig = {
    ...unset,
    unresolved: new SwitchboardError('E_CONFIG', `${unset.unresolved.message} (another)`, {
      data: unset.unresolved.data,
    }),
  };
  assert.equal(sameServer(unset, other), false);
  assert.equal(needsRestart(unset, other), true);
});
