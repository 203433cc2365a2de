/** The config's tool filter (`tools.allow` / `tools.deny`) and the gateway's fields (`scope`, `maxSessions`, `idleMs`). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsRestart, parseConfig, sameServer } from '../../src/config/config.js';
import { isSwitchboardError } from '../../src/core/errors.js';

const BOUND = { timeout: 10_000 };
const where = '<config object>';

function parse(entry: Record<string, unknown>) {
  return parseConfig({ mcpServers: { a: { command: 'x', ...entry } } }, { env: {} });
}

function refused(entry: Record<string, unknown>): { message: string; path: unknown } {
  try {
    parse(entry);
  } catch (err) {
    assert.ok(isSwitchboardError(err, 'E_CONFIG'), `not E_CONFIG: ${String(err)}`);
    return { message: err.message, path: err.data.path };
  }
  assert.fail(`${JSON.stringify(entry)} was accepted`);
}

test(
  'tools.allow and tools.deny are read onto the ServerConfig; without them there is no filter',
  BOUND,
  () => {
    const c = parse({ tools: { allow: ['read_*', 'list?'], deny: ['*delete*'] } });
    assert.deepEqual(c.servers[0]?.tools, { allow: ['read_*', 'list?'], deny: ['*delete*'] });
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(parse({ tools: { deny: ['drop'] } }).servers[0]?.tools, { deny: ['drop'] });
    const none = parse({}).servers[0]!;
    assert.equal(none.tools, undefined);
    assert.equal('tools' in none, false);
  },
);

test('a bad tool filter is an E_CONFIG error at its JSON path that says what is expected', BOUND, () => {
  const cases: [unknown, string, RegExp][] = [
    [
      'read_*',
      'mcpServers.a.tools',
      /expected an object such as \{ "allow": \["read_\*"\], "deny": \["\*delete\*"\] \}, not string "read_\*"/,
    ],
    [null, 'mcpServers.a.tools', /not null/],
    [['read_*'], 'mcpServers.a.tools', /not an array/],
    [
      { allow: 'read_*' },
      'mcpServers.a.tools.allow',
      /expected an array of glob patterns such as \["read_\*", "list\?"\], not string "read_\*"/,
    ],
    [{ deny: { x: 1 } }, 'mcpServers.a.tools.deny', /not an object/],
    [
      { allow: ['ok', 3] },
      'mcpServers.a.tools.allow[1]',
      /expected a glob pattern \(a string\), not number 3/,
    ],
    [{ deny: [''] }, 'mcpServers.a.tools.deny[0]', /"" is not a valid pattern: a pattern must not be empty/],
    [
      { deny: ['ok', 'read_[ab'] },
      'mcpServers.a.tools.deny[1]',
      /"read_\[ab" is not a valid pattern: the '\[' at character 6 opens a character class that is never closed/,
    ],
    [{ allow: ['[z-a]'] }, 'mcpServers.a.tools.allow[0]', /backwards; write 'a-z'/],
    [
      { allow: Array.from({ length: 257 }, (_, i) => `t${i}`) },
      'mcpServers.a.tools.allow',
      /has 257 patterns; at most 256/,
    ],
  ];
  for (const [tools, path, message] of cases) {
    const err = refused({ tools });
    assert.equal(err.path, path, JSON.stringify(tools));
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(`invalid config ${where} at ${path}: `), err.message);
  }
});

test('an unknown key in a tool filter is an error (not a warning), with the key meant', BOUND, () => {
  const typo = refused({ tools: { alow: ['read_*'] } });
  assert.equal(typo.path, 'mcpServers.a.tools.alow');
  assert.match(
    typo.message,
    /unknown key \(did you mean 'allow'\?\): a tool filter has only "allow" and "deny"/,
  );
  const other = refused({ tools: { deny: ['x'], only: ['y'] } });
  assert.equal(other.path, 'mcpServers.a.tools.only');
  assert.match(other.message, /unknown key: a tool filter has only/);
});

test('an empty allow list is accepted (it hides every tool) with a warning', BOUND, () => {
  const c = parse({ tools: { allow: [] } });
  assert.deepEqual(c.servers[0]?.tools, { allow: [] });
  assert.deepEqual(c.warnings, [
    `${where}: tools.allow at mcpServers.a.tools.allow is empty, so every tool of 'a' is hidden; list the tools to expose, or remove "allow" to expose all`,
  ]);
});

test('patterns are interpolated like every other string the switchboard reads', BOUND, () => {
  const c = parseConfig(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} in config text
    { mcpServers: { a: { command: 'x', tools: { allow: ['${PREFIX}_*'] } } } },
    { env: { PREFIX: 'read' } },
  );
  assert.deepEqual(c.servers[0]?.tools, { allow: ['read_*'] });
});

test('scope, maxSessions and idleMs: defaults, values, and errors that say what is expected', BOUND, () => {
  const plain = parse({}).servers[0]!;
  assert.equal(plain.scope, 'shared');
  assert.equal(plain.maxSessions, 16);
  assert.equal(plain.idleMs, 300_000);
  const session = parse({ scope: 'session', maxSessions: 4, idleMs: 1000 });
  assert.deepEqual(session.warnings, []);
  const s = session.servers[0]!;
  assert.deepEqual([s.scope, s.maxSessions, s.idleMs], ['session', 4, 1000]);

  const bad: [Record<string, unknown>, string, RegExp][] = [
    [
      { scope: 'private' },
      'mcpServers.a.scope',
      /expected "shared" \(one upstream for every gateway session\) or "session"/,
    ],
    [{ scope: 1 }, 'mcpServers.a.scope', /expected "shared"/],
    [{ scope: 'session', maxSessions: 0 }, 'mcpServers.a.maxSessions', />=1/],
    [{ scope: 'session', maxSessions: 1.5 }, 'mcpServers.a.maxSessions', /expected int/],
    [{ scope: 'session', maxSessions: '4' }, 'mcpServers.a.maxSessions', /expected number, received string/],
    [{ scope: 'session', maxSessions: 10_001 }, 'mcpServers.a.maxSessions', /<=10000/],
    [{ scope: 'session', idleMs: 0 }, 'mcpServers.a.idleMs', />=1/],
    [{ scope: 'session', idleMs: -5 }, 'mcpServers.a.idleMs', />=1/],
    [{ scope: 'session', idleMs: 2 ** 31 }, 'mcpServers.a.idleMs', /the longest a timer can wait/],
  ];
  for (const [entry, path, message] of bad) {
    const err = refused(entry);
    assert.equal(err.path, path, JSON.stringify(entry));
    assert.match(err.message, message, JSON.stringify(entry));
  }
});

test('maxSessions or idleMs without scope "session" are accepted with a warning each', BOUND, () => {
  const c = parse({ maxSessions: 2, idleMs: 500 });
  assert.deepEqual(c.warnings, [
    `${where}: maxSessions at mcpServers.a.maxSessions applies only with "scope": "session" (ignored); add that, or remove maxSessions`,
    `${where}: idleMs at mcpServers.a.idleMs applies only with "scope": "session" (ignored); add that, or remove idleMs`,
  ]);
  assert.deepEqual(parse({ scope: 'shared', idleMs: 500 }).warnings.length, 1);
  // Still parsed: the gateway reads what is written.
  assert.equal(c.servers[0]?.maxSessions, 2);
});

test('a change of tool filter or of the gateway fields is applied in place, not by a restart', BOUND, () => {
  const base = parse({ tools: { allow: ['a*'] } }).servers[0]!;
  for (const entry of [
    { tools: { allow: ['b*'] } },
    {},
    { tools: { allow: ['a*'], deny: ['ab'] } },
    { tools: { allow: ['a*'] }, scope: 'session', maxSessions: 3, idleMs: 10 },
  ]) {
    const next = parse(entry).servers[0]!;
    assert.equal(sameServer(base, next), false, JSON.stringify(entry));
    assert.equal(needsRestart(base, next), false, JSON.stringify(entry));
  }
  assert.equal(sameServer(base, parse({ tools: { allow: ['a*'] } }).servers[0]!), true);
  // A change of command with it still needs a restart.
  const moved = parseConfig({ mcpServers: { a: { command: 'y', tools: { allow: ['b*'] } } } }, { env: {} });
  assert.equal(needsRestart(base, moved.servers[0]!), true);
});

test('a tool filter in switchboard.defaults is an error, not an ignored key', BOUND, () => {
  assert.throws(
    () =>
      parseConfig({
        mcpServers: { a: { command: 'x' } },
        switchboard: { defaults: { tools: { deny: ['x'] } } },
      }),
    (err: Error) => {
      assert.ok(isSwitchboardError(err, 'E_CONFIG'));
      assert.equal(err.data.path, 'switchboard.defaults.tools');
      assert.match(
        err.message,
        /a tool filter applies to one server; move "tools" into the entry of each server/,
      );
      return true;
    },
  );
});
