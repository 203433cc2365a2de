import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeGlob, Glob, MAX_GLOB_LENGTH } from '../../src/config/glob.js';
import { filteredBy, toolAllowed, unmatchedPatterns } from '../../src/config/tool-filter.js';
import { prng } from '../helpers.js';

const BOUND = { timeout: 10_000 };

/** [pattern, names it matches, names it does not]. */
const CASES: [string, string[], string[]][] = [
  ['read', ['read'], ['read_file', 'xread', 'rea', 'Read', '']],
  ['read_*', ['read_', 'read_file', 'read_*'], ['read', 'xread_file', 'Read_file']],
  ['*delete*', ['delete', 'undelete_all', 'delete_file'], ['delet', 'DELETE', 'del_ete']],
  ['*', ['', 'a', 'anything at all'], []],
  ['**', ['', 'x'], []],
  ['list?', ['list1', 'lists'], ['list', 'list12', 'xlist1']],
  ['??', ['ab', 'é1'], ['a', 'abc']],
  ['a*b*c', ['abc', 'aXbYbZc', 'aXbYc', 'abbc'], ['acb', 'aXbYcZ', 'bc']],
  ['*a*a*b', ['aab', 'xaxaxb', 'aaab'], ['aaaa', 'ab', 'aba']],
  ['[rw]rite', ['write', 'rrite'], ['brite', 'rite', 'wwrite']],
  ['[a-c]x', ['ax', 'bx', 'cx'], ['dx', 'x', 'Ax']],
  ['[!a-c]x', ['dx', 'Ax', '-x'], ['ax', 'cx', 'x']],
  ['[^0-9]*', ['a1', '_'], ['1a', '']],
  ['[]]', [']'], ['[', 'a']],
  ['[!]]', ['a', '['], [']']],
  ['[a-]', ['a', '-'], ['b']],
  ['[-z]', ['-', 'z'], ['a']],
  ['[a-cx-z_]', ['b', 'y', '_'], ['d', 'w']],
  ['\\*', ['*'], ['a', '', '\\*']],
  ['a\\?', ['a?'], ['ab']],
  ['\\\\', ['\\'], ['\\\\']],
  ['[\\]]', [']'], ['\\']],
  ['x\\[y', ['x[y'], ['xy']],
  // Regex syntax means nothing here: each character is itself.
  ['(a|b)', ['(a|b)'], ['a', 'b']],
  ['.*', ['.', '.x'], ['ab', 'x']],
  ['^a$', ['^a$'], ['a']],
  ['a+', ['a+'], ['aa', 'a']],
  ['{a,b}', ['{a,b}'], ['a']],
  // One `?` is one character: a code point, also outside the BMP.
  ['a?b', ['a😀b', 'aéb'], ['a😀😀b', 'ab']],
  ['😀*', ['😀', '😀x'], ['x😀']],
];

test('patterns match whole names: * ? [classes] and escapes, and nothing else is special', BOUND, () => {
  for (const [pattern, yes, no] of CASES) {
    const glob = new Glob(pattern);
    for (const name of yes)
      assert.equal(glob.matches(name), true, `${pattern} should match ${JSON.stringify(name)}`);
    for (const name of no)
      assert.equal(glob.matches(name), false, `${pattern} should not match ${JSON.stringify(name)}`);
  }
});

test('bad patterns are refused with what is wrong and where', BOUND, () => {
  const bad: [unknown, RegExp][] = [
    ['', /must not be empty/],
    ['x'.repeat(MAX_GLOB_LENGTH + 1), new RegExp(`at most ${MAX_GLOB_LENGTH} characters`)],
    ['read_[abc', /the '\[' at character 6 opens a character class that is never closed/],
    ['[', /never closed/],
    ['[]', /never closed/],
    ['[!]', /never closed/],
    ['a\\', /a '\\' at character 2 escapes nothing/],
    ['[a\\', /escapes nothing/],
    ['[z-a]', /the range 'z-a' at character 1 is backwards; write 'a-z'/],
    [7, /must be a string/],
  ];
  for (const [pattern, message] of bad) {
    assert.throws(
      () => new Glob(pattern as string),
      (err: Error) => {
        assert.ok(err instanceof RangeError, String(err));
        assert.match(err.message, message);
        return true;
      },
    );
  }
  assert.equal(new Glob('x'.repeat(MAX_GLOB_LENGTH)).matches('x'.repeat(MAX_GLOB_LENGTH)), true);
});

test('escapeGlob makes a pattern that matches exactly that name', BOUND, () => {
  for (const name of ['a*b', 'x?[y]\\z', '[!]', 'plain_name', '*']) {
    const glob = new Glob(escapeGlob(name));
    assert.equal(glob.matches(name), true, name);
    assert.equal(glob.matches(`${name}x`), false, name);
    assert.equal(glob.matches(name.replace(/[*?]/g, 'q')), name === 'plain_name' || !/[*?]/.test(name), name);
  }
});

/** A matcher written the other way round: recursion over the pattern, memoised. The reference. */
function reference(pattern: string, name: string): boolean {
  const p = Array.from(pattern);
  const s = Array.from(name);
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === p.length) r = j === s.length;
    else if (p[i] === '*') r = go(i + 1, j) || (j < s.length && go(i, j + 1));
    else r = j < s.length && (p[i] === '?' || p[i] === s[j]) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

test('agrees with a reference matcher on 20,000 random patterns and names', BOUND, () => {
  const random = prng(20_261_124);
  const pick = (alphabet: string, max: number) =>
    Array.from(
      { length: Math.floor(random() * (max + 1)) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join('');
  let matched = 0;
  for (let n = 0; n < 20_000; n++) {
    const pattern = pick('ab*?', 7) || 'a';
    const name = pick('abc', 9);
    const got = new Glob(pattern).matches(name);
    assert.equal(got, reference(pattern, name), `${pattern} vs ${JSON.stringify(name)}`);
    if (got) matched++;
  }
  // Both outcomes were exercised, many times.
  assert.ok(matched > 2000 && matched < 18_000, `matched ${matched}`);
});

test('a pattern built to make backtracking blow up still ends (a long name, many stars)', BOUND, () => {
  const glob = new Glob(`${'*a'.repeat(60)}*b`);
  assert.equal(glob.matches('a'.repeat(200)), false);
  assert.equal(glob.matches(`${'a'.repeat(200)}b`), true);
});

test(
  'a tool is kept when some allow pattern matches (or there is none) and no deny pattern does',
  BOUND,
  () => {
    const filter = { allow: ['read_*', 'list?', 'undelete'], deny: ['*delete*'] };
    assert.equal(toolAllowed(filter, 'read_file'), true);
    assert.equal(toolAllowed(filter, 'list1'), true);
    assert.equal(toolAllowed(filter, 'write_file'), false);
    // deny wins over allow
    assert.equal(toolAllowed(filter, 'undelete'), false);
    assert.deepEqual(filteredBy(filter, 'undelete'), { deny: '*delete*' });
    assert.deepEqual(filteredBy(filter, 'write_file'), { allow: ['read_*', 'list?', 'undelete'] });
    assert.equal(filteredBy(filter, 'read_x'), undefined);
    // no allow: everything but the denied
    assert.equal(toolAllowed({ deny: ['drop_*'] }, 'anything'), true);
    assert.equal(toolAllowed({ deny: ['drop_*'] }, 'drop_table'), false);
    // an empty allow keeps nothing; no filter keeps everything
    assert.equal(toolAllowed({ allow: [] }, 'read'), false);
    assert.equal(toolAllowed(undefined, 'read'), true);
    assert.equal(toolAllowed({}, 'read'), true);
  },
);

test('unmatchedPatterns names the patterns that match no tool, in the order written', BOUND, () => {
  const filter = { allow: ['read_*', 'raed_*', 'list?'], deny: ['*delete*', 'drop'] };
  assert.deepEqual(unmatchedPatterns(filter, ['read_file', 'list1', 'undelete']), [
    { list: 'allow', pattern: 'raed_*' },
    { list: 'deny', pattern: 'drop' },
  ]);
  assert.deepEqual(unmatchedPatterns(undefined, ['x']), []);
});
