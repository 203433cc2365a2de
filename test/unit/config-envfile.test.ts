// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/config.js';
import { isSwitchboardError } from '../../src/core/errors.js';

/** Writes `files` (path -> text) into a fresh folder and returns the folder. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-config-envfile-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function stdioEnv(config: { servers: { name: string; transport: unknown }[] }, name: string): unknown {
  const server = config.servers.find((s) => s.name === name);
  const transport = server?.transport as { type: string; env?: unknown };
  assert.equal(transport.type, 'stdio');
  return transport.env;
}

const DOTENV = [
  '# a comment',
  '',
  'export EXPORTED=yes',
  'PLAIN = some value   # a trailing comment',
  'HASH=a#b',
  "SINGLE='literal \\n $HOME # not a comment'",
  'DOUBLE="line1\\nline2 # kept"',
  'MULTI="first',
  'second"',
  'EMPTY=',
  '  SPACED=   padded   ',
  'OVERRIDE=from-file',
  'TWICE=one',
  'TWICE=two',
  '',
].join('\n');

test('envFile: a dotenv file relative to the config folder feeds the child env; env entries win', () => {
  const dir = folder({
    'secrets/app.env': DOTENV,
    'switchboard.json': JSON.stringify({
      mcpServers: {
        a: {
          command: 'x',
          envFile: '${SUB}/app.env',
          env: { OVERRIDE: 'from-entry', OWN: '1' },
          // envFile variables are not visible to interpolation of the same entry (as in VS Code).
          args: ['${EXPORTED:-not-visible}'],
        },
      },
    }),
  });
  const c = loadConfigFile(join(dir, 'switchboard.json'), { env: { SUB: 'secrets' } });
  assert.deepEqual(c.warnings, []);
  assert.equal(c.servers[0]?.unresolved, undefined);
  assert.deepEqual(stdioEnv(c, 'a'), {
    EXPORTED: 'yes',
    PLAIN: 'some value',
    HASH: 'a#b',
    SINGLE: 'literal \\n $HOME # not a comment',
    DOUBLE: 'line1\nline2 # kept',
    MULTI: 'first\nsecond',
    EMPTY: '',
    SPACED: 'padded',
    OVERRIDE: 'from-entry',
    TWICE: 'two',
    OWN: '1',
  });
  const a = c.servers[0]?.transport;
  assert.deepEqual(a?.type === 'stdio' && a.args, ['not-visible']);
});

test("envFile with VS Code's ${workspaceFolder} in .vscode/mcp.json", () => {
  const dir = folder({
    '.env': 'TOKEN="t0k"\r\nOTHER=o\r\n',
    '.vscode/mcp.json': JSON.stringify({
      servers: { gh: { type: 'stdio', command: 'x', envFile: '${workspaceFolder}/.env' } },
    }),
  });
  assert.deepEqual(stdioEnv(loadConfigFile(join(dir, '.vscode', 'mcp.json'), { env: {} }), 'gh'), {
    TOKEN: 't0k',
    OTHER: 'o',
  });
});

test('a missing or unreadable envFile is an E_CONFIG error naming the file and the JSON path', () => {
  const dir = folder({
    'missing.json': JSON.stringify({ mcpServers: { a: { command: 'x', envFile: 'nope.env' } } }),
    'dir.json': JSON.stringify({ mcpServers: { a: { command: 'x' }, b: { command: 'x', envFile: 'sub' } } }),
    'sub/keep': '',
  });
  const errorOf = (name: string): Error => {
    try {
      loadConfigFile(join(dir, name), { env: {} });
    } catch (err) {
      assert.ok(isSwitchboardError(err, 'E_CONFIG'));
      return err;
    }
    assert.fail(`${name} loaded`);
  };
  assert.equal(
    errorOf('missing.json').message,
    `invalid config ${join(dir, 'missing.json')} at mcpServers.a.envFile: envFile ${join(dir, 'nope.env')} not found; create it, or fix the path (a relative path starts at the config file's folder)`,
  );
  assert.match(
    errorOf('dir.json').message,
    new RegExp(
      `^invalid config ${join(dir, 'dir.json')} at mcpServers\\.b\\.envFile: cannot read envFile ${join(dir, 'sub')}: .*EISDIR`,
    ),
  );
});

test('envFile: lines that are not KEY=VALUE warn and are skipped; on a URL server it warns and is ignored', () => {
  const dir = folder({
    'bad.env': 'GOOD=1\nthis is not a variable\nQ="never closed\nAFTER=2\n',
    'switchboard.json': JSON.stringify({
      mcpServers: {
        a: { command: 'x', envFile: 'bad.env' },
        r: { url: 'https://example.com/mcp', envFile: 'nope.env' },
      },
    }),
  });
  const file = join(dir, 'switchboard.json');
  const envFile = join(dir, 'bad.env');
  const c = loadConfigFile(file, { env: {} });
  assert.deepEqual(stdioEnv(c, 'a'), { GOOD: '1', AFTER: '2' });
  assert.deepEqual(c.warnings, [
    `${file}: envFile ${envFile} line 2 is not KEY=VALUE (ignored); read for mcpServers.a.envFile`,
    `${file}: envFile ${envFile} line 3 has no closing " (ignored); read for mcpServers.a.envFile`,
    `${file}: envFile at mcpServers.r.envFile applies to stdio servers only (ignored)`,
  ]);
});

test('an envFile path with an unresolved variable is not read; the server carries the variable error', () => {
  const dir = folder({
    'switchboard.json': JSON.stringify({ mcpServers: { a: { command: 'x', envFile: '${SECRETS}/.env' } } }),
  });
  const [a] = loadConfigFile(join(dir, 'switchboard.json'), { env: {} }).servers;
  assert.match(
    a?.unresolved?.message ?? '',
    /at mcpServers\.a\.envFile: environment variable SECRETS is not set/,
  );
  assert.deepEqual(a?.transport.type === 'stdio' && a.transport.env, {});
});
