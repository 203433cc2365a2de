import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NameRegistry, qualify, stableHash } from '../../src/core/names.js';

test('qualified names are server + separator + tool, and reverse through the registry', () => {
  const reg = new NameRegistry();
  assert.equal(reg.add('github', 'create_issue'), 'github__create_issue');
  assert.deepEqual(reg.resolve('github__create_issue'), { server: 'github', name: 'create_issue' });
  const dot = new NameRegistry('.');
  assert.equal(dot.add('fs', 'read'), 'fs.read');
});

test('long names are capped at 64 with a stable hash of the whole name', () => {
  const long = 'x'.repeat(80);
  const a = qualify('server', long);
  const b = qualify('server', `${long}y`);
  assert.equal(a.length, 64);
  assert.equal(b.length, 64);
  assert.notEqual(a, b);
  assert.equal(a, qualify('server', long)); // stable
  assert.ok(a.endsWith(`_${stableHash(`server__${long}`)}`));
  const reg = new NameRegistry();
  assert.deepEqual(reg.resolve(reg.add('server', long)!), { server: 'server', name: long });
});

test('a collision is reported: the first holder keeps the name, the second gets one of its own', () => {
  const reg = new NameRegistry();
  assert.equal(reg.add('a', 'tool'), 'a__tool');
  assert.equal(reg.add('a', 'tool'), 'a__tool'); // the same pair again is not a collision
  // The config forbids the separator in server names; the registry still guards against it.
  assert.equal(reg.add('a', 'b__c'), 'a__b__c');
  const renamed = `a__b__c_${stableHash('a__b\u0000c')}`;
  assert.equal(reg.add('a__b', 'c'), renamed);
  assert.equal(reg.add('a__b', 'c'), renamed, 'stable');
  assert.deepEqual(reg.collisions, [
    {
      qualifiedName: 'a__b__c',
      kept: { server: 'a', name: 'b__c' },
      renamed: { server: 'a__b', name: 'c', qualifiedName: renamed },
    },
  ]);
  assert.deepEqual(reg.resolve('a__b__c'), { server: 'a', name: 'b__c' });
  assert.deepEqual(reg.resolve(renamed), { server: 'a__b', name: 'c' });
  reg.removeServer('a');
  assert.equal(reg.resolve('a__b__c'), undefined);
  assert.deepEqual(reg.collisions, []);
});

test('a pair that comes first takes its name back; every pair keeps a name of its own, whatever the order', () => {
  // 'a' has a tool whose plain name is exactly the name the other pair would be renamed to.
  const evil = `_b_${stableHash('a_\u0000b')}`;
  const pairs: [string, string][] = [
    ['a', '_b'],
    ['a', evil],
    ['a_', 'b'],
  ];
  for (const order of [
    [0, 1, 2],
    [2, 0, 1],
    [2, 1, 0],
    [1, 2, 0],
  ]) {
    const names = new Map<string, string>();
    const reg = new NameRegistry('__', 64, {
      rank: (server) => (server === 'a' ? 0 : 1),
      onRename: (ref, name) => names.set(`${ref.server}/${ref.name}`, name),
    });
    for (const i of order) {
      const [server, name] = pairs[i]!;
      const got = reg.add(server, name);
      assert.ok(got, `${server}/${name} got a name (order ${order})`);
      names.set(`${server}/${name}`, got);
    }
    const given = [...names.values()];
    assert.equal(new Set(given).size, 3, `three distinct names (order ${order}): ${given}`);
    for (const [key, name] of names) {
      const [server, tool] = key.split('/') as [string, string];
      assert.deepEqual(
        reg.resolve(name),
        { server, name: tool },
        `${name} resolves to ${key} (order ${order})`,
      );
    }
    assert.equal(names.get('a/_b'), 'a___b', 'the pair that comes first has the plain name');
    // Reported once, under the name it wanted, with the name it has now.
    const renamed = reg.collisions.filter((c) => c.renamed.server === 'a_');
    assert.deepEqual(
      renamed.map((c) => [c.qualifiedName, c.renamed.qualifiedName]),
      [['a___b', names.get('a_/b')]],
      `order ${order}`,
    );
  }
});
