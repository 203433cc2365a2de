// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, sep } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, parseConfig } from '../../src/config/config.js';
import { isSwitchboardError } from '../../src/core/errors.js';

/** Writes `config` as `name` (which may include folders) in a fresh folder and returns its path. */
function configFile(config: unknown, name = 'switchboard.json'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-interp-')), name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

test('an empty variable is the empty string; ${VAR:-default} defaults when unset or empty', () => {
  const file = configFile({
    servers: {
      a: {
        command: 'x',
        args: [
          '${EMPTY}',
          '${EMPTY:-d}',
          '${UNSET:-d}',
          'a${EMPTY}b',
          '${env:EMPTY}',
          '${SET:-d}',
          '${UNSET:-}',
        ],
        env: { E: '${EMPTY}' },
      },
    },
  });
  const [a] = loadConfigFile(file, { env: { EMPTY: '', SET: 'v' } }).servers;
  assert.equal(a?.unresolved, undefined);
  assert.deepEqual(a?.transport, {
    type: 'stdio',
    command: 'x',
    args: ['', 'd', 'd', 'ab', '', 'v', ''],
    env: { E: '' },
    cwd: undefined,
  });
});

test('only an unset variable without a default is an error, and it says "is not set"', () => {
  const file = configFile({ servers: { a: { command: 'x', args: ['${EMPTY}', '${UNSET}'] } } });
  const [a] = loadConfigFile(file, { env: { EMPTY: '' } }).servers;
  assert.equal(
    a?.unresolved?.message,
    `invalid config ${file} at servers.a.args[1]: environment variable UNSET is not set; set it, or write \${UNSET:-default}`,
  );
});

test('names inherited from Object.prototype are variables like any other', () => {
  const [a] = parseConfig(
    { mcpServers: { a: { command: 'x', args: ['${toString:-d}', '${constructor}'] } } },
    { env: {} },
    '/etc/sb.json',
  ).servers;
  assert.deepEqual(a?.transport.type === 'stdio' && a.transport.args, ['d', '${constructor}']);
  assert.match(
    a?.unresolved?.message ?? '',
    /at mcpServers\.a\.args\[1\]: environment variable constructor is not set/,
  );
});

test("VS Code's ${workspaceFolder} is the folder that holds .vscode/, and its other built-ins resolve", () => {
  const file = configFile(
    {
      servers: {
        a: {
          command: '${workspaceFolder}/bin/srv',
          args: ['${workspaceFolderBasename}', '${userHome}', 'a${pathSeparator}b', 'c${/}d'],
          cwd: '${workspaceFolder}',
        },
      },
    },
    join('proj', '.vscode', 'mcp.json'),
  );
  const project = join(file, '..', '..');
  // Not an environment variable, even when one of that name exists.
  const [a] = loadConfigFile(file, { env: { workspaceFolder: '/wrong', userHome: '/wrong' } }).servers;
  assert.equal(a?.unresolved, undefined);
  assert.deepEqual(a?.transport, {
    type: 'stdio',
    command: `${project}/bin/srv`,
    args: ['proj', homedir(), `a${sep}b`, `c${sep}d`],
    env: {},
    cwd: project,
  });
});

test('${workspaceFolder} outside .vscode is the config file folder; for an object, opts.cwd or process.cwd()', () => {
  const file = configFile({ mcpServers: { a: { command: '${workspaceFolder}/run' } } });
  const folder = join(file, '..');
  const fromFile = loadConfigFile(file, { env: {} }).servers[0];
  assert.equal(fromFile?.transport.type === 'stdio' && fromFile.transport.command, `${folder}/run`);

  const raw = {
    mcpServers: { a: { command: '${workspaceFolder}/run', args: ['${workspaceFolderBasename}'] } },
  };
  const withCwd = parseConfig(raw, { env: {}, cwd: '/base/proj' }).servers[0];
  assert.deepEqual(
    withCwd?.transport.type === 'stdio' && [withCwd.transport.command, withCwd.transport.args],
    ['/base/proj/run', ['proj']],
  );
  const noCwd = parseConfig(raw, { env: {} }).servers[0];
  assert.deepEqual(noCwd?.transport.type === 'stdio' && [noCwd.transport.command, noCwd.transport.args], [
    `${process.cwd()}/run`,
    [basename(process.cwd())],
  ]);
});

test('${input:...}, ${command:...}, ${config:...} and editor variables are refused with what to write instead', () => {
  const file = configFile(
    {
      inputs: [{ id: 'token', type: 'promptString', password: true }],
      servers: {
        input: { command: 'x', env: { TOKEN: '${input:token}' } },
        command: { command: 'x', args: ['${command:pickProcess}'] },
        config: { command: 'x', args: ['${config:editor.fontSize}'] },
        editor: { command: 'x', args: ['${file}'] },
        multiRoot: { command: 'x', args: ['${workspaceFolder:api}'] },
        fine: { command: 'x' },
      },
    },
    join('.vscode', 'mcp.json'),
  );
  const c = loadConfigFile(file, { env: { file: '/should/not/be/used' } });
  const by = new Map(c.servers.map((s) => [s.name, s]));
  const input = by.get('input')?.unresolved;
  assert.ok(isSwitchboardError(input, 'E_CONFIG'));
  assert.equal(
    input.message,
    `invalid config ${file} at servers.input.env.TOKEN: \${input:token} is a VS Code input: VS Code prompts for inputs and the switchboard cannot; use \${VAR} (an environment variable) or a literal value instead`,
  );
  assert.equal(input.data.path, 'servers.input.env.TOKEN');
  assert.match(
    by.get('command')?.unresolved?.message ?? '',
    /at servers\.command\.args\[0\]: \$\{command:pickProcess\} runs a VS Code command.*; use \$\{VAR\} \(an environment variable\) or a literal value instead$/,
  );
  assert.match(
    by.get('config')?.unresolved?.message ?? '',
    /at servers\.config\.args\[0\]: \$\{config:editor\.fontSize\} reads a VS Code setting.*; use \$\{VAR\}/,
  );
  assert.match(
    by.get('editor')?.unresolved?.message ?? '',
    /at servers\.editor\.args\[0\]: \$\{file\} is a VS Code variable of the open editor.*; use \$\{VAR\}/,
  );
  assert.match(
    by.get('multiRoot')?.unresolved?.message ?? '',
    /\$\{workspaceFolder:api\} names a folder of a multi-root VS Code workspace; the switchboard knows one folder, \$\{workspaceFolder\}; use \$\{VAR\}/,
  );
  assert.equal(by.get('fine')?.unresolved, undefined);
});

test('forms that are not variables are refused, pointing at $${ for a literal', () => {
  const c = parseConfig(
    {
      mcpServers: {
        unknownPrefix: { command: 'x', args: ['${secret:token}'] },
        noDash: { command: 'x', args: ['${HOME:/tmp}'] },
        unclosed: { command: 'x', args: ['echo ${HOME'] },
        literal: { command: 'x', args: ['$${HOME}', 'cost: $5', 'a}b'] },
      },
    },
    { env: { HOME: '/home/u' } },
    '/etc/sb.json',
  );
  const by = new Map(c.servers.map((s) => [s.name, s]));
  assert.equal(
    by.get('unknownPrefix')?.unresolved?.message,
    "invalid config /etc/sb.json at mcpServers.unknownPrefix.args[0]: '${secret:token}' is not a variable the switchboard knows; write ${VAR}, ${VAR:-default} or ${env:VAR}, or $${ for a literal ${",
  );
  assert.match(
    by.get('noDash')?.unresolved?.message ?? '',
    /'\$\{HOME:\/tmp\}' is not a variable the switchboard knows/,
  );
  assert.match(
    by.get('unclosed')?.unresolved?.message ?? '',
    /at mcpServers\.unclosed\.args\[0\]: '\$\{HOME' has no closing '\}'; write \$\$\{ for a literal \$\{/,
  );
  const literal = by.get('literal');
  assert.equal(literal?.unresolved, undefined);
  assert.deepEqual(literal?.transport.type === 'stdio' && literal.transport.args, [
    '${HOME}',
    'cost: $5',
    'a}b',
  ]);
});

test('${env:VAR}, ${VAR}, ${VAR:-default}, ${configDir} and $${ keep working in a .vscode file', () => {
  const file = configFile(
    { servers: { a: { command: '${configDir}/x', args: ['${env:A}', '${A}', '${B:-dflt}', '$${A}'] } } },
    join('.vscode', 'mcp.json'),
  );
  const [a] = loadConfigFile(file, { env: { A: 'aa' } }).servers;
  assert.deepEqual(a?.transport.type === 'stdio' && [a.transport.command, a.transport.args], [
    `${join(file, '..')}/x`,
    ['aa', 'aa', 'dflt', '${A}'],
  ]);
});
