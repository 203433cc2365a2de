/** Imports point down only: core <- config, transport <- upstream <- switchboard <- index <- cli. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  config: ['config', 'core'],
  transport: ['transport', 'core'],
  upstream: ['upstream', 'transport', 'config', 'core', 'version.ts'],
  switchboard: ['switchboard', 'upstream', 'config', 'core'],
  cli: ['cli', 'index.ts'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('each layer imports only from itself and the layers below it', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of files(SRC)) {
    const layer = relative(SRC, file).split('/')[0]!;
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(SRC, join(file, '..', m[1]!))
        .split('/')[0]!
        .replace(/\.js$/, '.ts');
      checked++;
      if (!allowed.includes(target)) violations.push(`${relative(ROOT, file)} imports ${m[1]} (${target})`);
    }
  }
  assert.ok(checked > 20, 'the scan found no imports: the test is not looking at the code');
  assert.deepEqual(violations, []);
});

test('core knows nothing of processes, sockets, threads or the SDK', () => {
  for (const file of files(join(SRC, 'core'))) {
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(
      text,
      /from 'node:(child_process|net|http|worker_threads)'|@modelcontextprotocol/,
      relative(ROOT, file),
    );
  }
});

test('the public face exports by name, never export *', () => {
  assert.doesNotMatch(readFileSync(join(SRC, 'index.ts'), 'utf8'), /export \*/);
});
