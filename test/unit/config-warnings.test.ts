// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_HEALTH, DEFAULT_RESTART, loadConfigFile } from '../../src/config/config.js';
import { isSwitchboardError } from '../../src/core/errors.js';

/** Writes `config` as switchboard.json in a fresh folder and returns its path. */
function configFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-warn-')), 'switchboard.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function loadError(file: string): Error {
  try {
    loadConfigFile(file, { env: {} });
  } catch (err) {
    assert.ok(isSwitchboardError(err, 'E_CONFIG'), `not E_CONFIG: ${String(err)}`);
    return err;
  }
  assert.fail(`${file} loaded without an error`);
}

test('unknown keys under switchboard warn with their path and the key meant', () => {
  const file = configFile({
    mcpServers: { a: { command: 'x' } },
    switchboard: { seperator: '::', defualts: { timeoutMs: 5 }, colour: true },
  });
  const c = loadConfigFile(file, { env: {} });
  assert.deepEqual(c.warnings, [
    `${file}: unknown key at switchboard.seperator (ignored); did you mean 'separator'?`,
    `${file}: unknown key at switchboard.defualts (ignored); did you mean 'defaults'?`,
    `${file}: unknown key at switchboard.colour (ignored)`,
  ]);
  assert.equal(c.separator, '__');
  assert.equal(c.servers[0]?.timeoutMs, 60_000);
});

test('unknown keys under restart and health warn (per server and in defaults) instead of refusing the config', () => {
  const file = configFile({
    mcpServers: {
      a: { command: 'x', restart: { initalDelayMs: 5, maxDelayMs: 100 }, health: { intervalMS: 50 } },
      b: { command: 'y' },
    },
    switchboard: { defaults: { restart: { crashLoopAfer: 2 }, health: { failures: 3, timeoutsMs: 9 } } },
  });
  const c = loadConfigFile(file, { env: {} });
  assert.deepEqual(c.warnings, [
    `${file}: unknown key at switchboard.defaults.restart.crashLoopAfer (ignored); did you mean 'crashLoopAfter'?`,
    `${file}: unknown key at switchboard.defaults.health.timeoutsMs (ignored); did you mean 'timeoutMs'?`,
    `${file}: unknown key at mcpServers.a.restart.initalDelayMs (ignored); did you mean 'initialDelayMs'?`,
    `${file}: unknown key at mcpServers.a.health.intervalMS (ignored); did you mean 'intervalMs'?`,
  ]);
  const [a, b] = c.servers;
  // Unknown keys do not leak into the policies.
  assert.deepEqual(a?.restart, { ...DEFAULT_RESTART, maxDelayMs: 100 });
  assert.deepEqual(a?.health, { ...DEFAULT_HEALTH, failures: 3 });
  assert.deepEqual(b?.restart, DEFAULT_RESTART);
  assert.deepEqual(b?.health, { ...DEFAULT_HEALTH, failures: 3 });
});

test('known keys under restart and health keep their validation, reported at the key', () => {
  assert.match(
    loadError(configFile({ mcpServers: { a: { command: 'x', restart: { initialDelayMs: 'soon' } } } }))
      .message,
    /at mcpServers\.a\.restart\.initialDelayMs: Invalid input: expected number, received string$/,
  );
  assert.match(
    loadError(
      configFile({
        mcpServers: { a: { command: 'x' } },
        switchboard: { defaults: { health: { failures: 0 } } },
      }),
    ).message,
    /at switchboard\.defaults\.health\.failures: Too small/,
  );
  assert.match(
    loadError(configFile({ mcpServers: { a: { command: 'x', health: true } } })).message,
    /at mcpServers\.a\.health: expected false \(off\) or an object of settings$/,
  );
});

test('a near-miss top-level key gets a suggestion; with no servers the error names it', () => {
  const warned = configFile({ mcpServers: { a: { command: 'x' } }, mcpServer: {}, inputs: [] });
  assert.deepEqual(loadConfigFile(warned, { env: {} }).warnings, [
    `${warned}: unknown key at mcpServer (ignored); did you mean 'mcpServers'?`,
  ]);

  const typo = configFile({ mcpServer: { a: { command: 'x' } } });
  assert.equal(
    loadError(typo).message,
    `invalid config ${typo} at mcpServer: unknown key; did you mean 'mcpServers'? Without it there are no servers: expected "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code) with at least one entry`,
  );
  assert.match(
    loadError(configFile({ sevrers: {} })).message,
    / at sevrers: unknown key; did you mean 'servers'\?/,
  );
  const none = configFile({ other: 1 });
  assert.equal(
    loadError(none).message,
    `invalid config ${none}: no servers: expected "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code) with at least one entry`,
  );
});

test('a misspelt "command" or "url" is named in the error, with the key meant', () => {
  const comand = configFile({ mcpServers: { fs: { comand: 'npx', args: ['server-fs'] } } });
  assert.equal(
    loadError(comand).message,
    `invalid config ${comand} at mcpServers.fs.comand: unknown key; did you mean 'command'? The server needs "command" (a process to start) or "url" (a server to connect to)`,
  );
  assert.match(
    loadError(configFile({ servers: { r: { type: 'http', uri: 'https://x' } } })).message,
    / at servers\.r\.uri: unknown key; did you mean 'url'\?/,
  );
  // Without a near miss, the old message stays.
  assert.match(
    loadError(configFile({ mcpServers: { a: { args: [] } } })).message,
    / at mcpServers\.a: needs "command" \(a process to start\) or "url"/,
  );
});
