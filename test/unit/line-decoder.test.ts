import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineDecoder } from '../../src/transport/line-decoder.js';
import { topLevelId } from '../../src/transport/stdio.js';

function decoder(max = 64) {
  const lines: string[] = [];
  const oversized: number[] = [];
  const d = new LineDecoder(max, { line: (l) => lines.push(l), oversized: (n) => oversized.push(n) });
  return { d, lines, oversized };
}

test('lines split across chunks, several per chunk, CRLF and blank lines', () => {
  const { d, lines } = decoder();
  d.push(Buffer.from('{"a":1}\n{"b"'));
  d.push(Buffer.from(':2}\r\n\n{"c":3}\n{"d'));
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  d.push(Buffer.from('":4}\n'));
  assert.equal(lines.at(-1), '{"d":4}');
});

test('multi-byte characters split between chunks survive', () => {
  const { d, lines } = decoder();
  const bytes = Buffer.from('{"t":"héllo ✓"}\n');
  d.push(bytes.subarray(0, 9));
  d.push(bytes.subarray(9));
  assert.deepEqual(lines, ['{"t":"héllo ✓"}']);
});

test('an oversized line is skipped alone and reported with its size; its neighbours arrive', () => {
  const { d, lines, oversized } = decoder(16);
  d.push(Buffer.from('{"ok":1}\n'));
  d.push(Buffer.from('x'.repeat(10)));
  d.push(Buffer.from('y'.repeat(20)));
  d.push(Buffer.from('z\n{"ok":2}\n'));
  assert.deepEqual(lines, ['{"ok":1}', '{"ok":2}']);
  assert.deepEqual(oversized, [31]);
  assert.equal(d.buffered, 0);
});

test('an oversized answer is traced to its request only by a top-level id in a response', () => {
  assert.equal(topLevelId('{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"xx'), 5);
  assert.equal(topLevelId('{"jsonrpc":"2.0","error":{"code":1,"message":"a \\"id\\": 3"},"id":12}'), 12);
  // A nested id, a server's own request, a string id, or no result yet: nobody is blamed.
  assert.equal(topLevelId('{"result":{"id":9,"content":"xx'), undefined);
  assert.equal(topLevelId('{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{'), undefined);
  assert.equal(topLevelId('{"jsonrpc":"2.0","id":"abc","result":{'), undefined);
  assert.equal(topLevelId('{"jsonrpc":"2.0","id":3'), undefined);
});

test('the head of an oversized line is kept, across chunks', () => {
  const heads: string[] = [];
  const d = new LineDecoder(64, { line: () => {}, oversized: (_bytes, head) => heads.push(head) });
  d.push(Buffer.from('{"jsonrpc":"2.0","id":41,'));
  d.push(Buffer.from(`"result":"${'y'.repeat(100)}"}\n`));
  assert.equal(heads.length, 1);
  assert.equal(topLevelId(heads[0]!), 41);
});
