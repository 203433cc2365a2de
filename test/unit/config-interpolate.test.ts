// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text is written with ${VAR} in plain strings on purpose.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/config.js';

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
