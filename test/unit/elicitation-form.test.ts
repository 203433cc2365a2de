import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Field,
  formOf,
  hintOf,
  optionLines,
  parseAnswer,
  printable,
  summaryOf,
} from '../../src/cli/elicitation-form.js';
import { FORM_SCHEMA } from '../fixtures/asking-server.js';

const T = { timeout: 10_000 };

function field(schema: Record<string, unknown>, required = false): Field {
  const [f] = formOf({ type: 'object', properties: { x: schema }, required: required ? ['x'] : [] });
  return f!;
}

function value(f: Field, line: string): unknown {
  const answer = parseAnswer(f, line);
  assert.ok('value' in answer, `'${line}' was not taken: ${JSON.stringify(answer)}`);
  return answer.value;
}

function refused(f: Field, line: string): string {
  const answer = parseAnswer(f, line);
  assert.ok('error' in answer, `'${line}' was taken: ${JSON.stringify(answer)}`);
  return answer.error;
}

test('every field kind of the spec becomes a field, in order, with its constraints', T, () => {
  const fields = formOf(FORM_SCHEMA);
  assert.deepEqual(
    fields.map((f) => [f.key, f.kind, f.required]),
    [
      ['name', 'string', true],
      ['email', 'string', false],
      ['age', 'number', true],
      ['ratio', 'number', false],
      ['subscribe', 'boolean', false],
      ['size', 'choice', true],
      ['color', 'choice', false],
      ['tags', 'multi', true],
    ],
  );
  const [name, email, age, , subscribe, size, color, tags] = fields;
  assert.equal(name!.label, 'Your name');
  assert.equal(hintOf(name!), 'text, 2-10 characters');
  assert.equal(email!.description, 'Where to write');
  assert.equal(hintOf(email!), 'email address, optional, Enter to skip');
  assert.equal(hintOf(age!), 'whole number 18 to 120');
  assert.equal(hintOf(subscribe!), 'y/n, Enter for yes');
  // enum + enumNames (legacy titles), oneOf of { const, title }, items.enum
  assert.deepEqual(optionLines(size!), ['  1) Small [s]', '  2) Medium [m]', '  3) Large [l]']);
  assert.equal(hintOf(color!), 'pick one, 1-2, Enter for Green');
  assert.deepEqual(optionLines(tags!), ['  1) a', '  2) b', '  3) c']);
  assert.equal(hintOf(tags!), 'pick 1 to 2, numbers separated by commas');
});

test('strings: length in code points, formats, required vs optional', T, () => {
  const name = field({ type: 'string', minLength: 2, maxLength: 3 }, true);
  assert.equal(refused(name, 'J'), 'at least 2 characters, got 1');
  assert.equal(refused(name, 'Joan'), 'at most 3 characters, got 4');
  assert.equal(value(name, '🎉🎉'), '🎉🎉'); // two code points, four UTF-16 units
  assert.equal(value(name, ' a '), ' a '); // a string is taken as typed
  assert.equal(refused(name, ''), 'an answer is required');
  assert.deepEqual(parseAnswer(field({ type: 'string' }), ''), { omit: true });
  assert.equal(value(field({ type: 'string', default: 'd' }, true), ''), 'd');

  const email = field({ type: 'string', format: 'email' });
  assert.equal(value(email, 'a@b.io'), 'a@b.io');
  assert.match(refused(email, 'a@b'), /not a valid email address/);
  const uri = field({ type: 'string', format: 'uri' });
  assert.equal(value(uri, 'https://example.com/x'), 'https://example.com/x');
  assert.match(refused(uri, 'example.com'), /not a valid URI/);
  const date = field({ type: 'string', format: 'date' });
  assert.equal(value(date, '2024-02-29'), '2024-02-29');
  assert.match(refused(date, '2023-02-29'), /not a valid date/);
  assert.match(refused(date, '29.02.2024'), /not a valid date/);
  const dateTime = field({ type: 'string', format: 'date-time' });
  assert.equal(value(dateTime, '2024-02-29T10:00:00Z'), '2024-02-29T10:00:00Z');
  assert.equal(value(dateTime, '2024-02-29T10:00:00.5+02:00'), '2024-02-29T10:00:00.5+02:00');
  assert.match(refused(dateTime, '2024-02-29 10:00'), /not a valid date-time/);
});

test('numbers and integers: parsed, ranged, defaults on empty input', T, () => {
  const age = field({ type: 'integer', minimum: 18, maximum: 120 }, true);
  assert.equal(value(age, ' 30 '), 30);
  assert.equal(refused(age, '17'), '17 is below 18');
  assert.equal(refused(age, '121'), '121 is above 120');
  assert.equal(refused(age, '30.5'), '30.5 is not a whole number');
  assert.equal(refused(age, 'thirty'), "'thirty' is not a number");
  assert.equal(refused(age, 'Infinity'), "'Infinity' is not a number");
  assert.equal(refused(age, ''), 'an answer is required');
  const ratio = field({ type: 'number', default: 0.5 });
  assert.equal(value(ratio, ''), 0.5);
  assert.equal(value(ratio, '-1e-3'), -0.001);
});

test('booleans: y/n words, and the default', T, () => {
  const b = field({ type: 'boolean' }, true);
  assert.equal(value(b, 'Y'), true);
  assert.equal(value(b, 'no'), false);
  assert.equal(refused(b, 'maybe'), 'answer y or n');
  assert.equal(value(field({ type: 'boolean', default: false }), ''), false);
});

test('single select: by number, value or title; anything else is refused with the range', T, () => {
  const size = formOf(FORM_SCHEMA).find((f) => f.key === 'size')!;
  assert.equal(value(size, '2'), 'm');
  assert.equal(value(size, 'l'), 'l');
  assert.equal(value(size, 'small'), 's');
  assert.equal(refused(size, '4'), "'4' is not one of the options: give a number 1-3");
  assert.equal(refused(size, ''), 'an answer is required');
  const color = formOf(FORM_SCHEMA).find((f) => f.key === 'color')!;
  assert.equal(value(color, ''), '#0f0');
  assert.equal(value(color, 'red'), '#f00');
});

test('multi select: a comma list, duplicates once, bounded by minItems and maxItems', T, () => {
  const tags = formOf(FORM_SCHEMA).find((f) => f.key === 'tags')!;
  assert.deepEqual(value(tags, '3, 1'), ['c', 'a']);
  assert.deepEqual(value(tags, 'a,1'), ['a']);
  assert.equal(refused(tags, '1,2,3'), 'pick at most 2, got 3');
  assert.equal(refused(tags, '-'), 'pick at least 1, got 0');
  assert.equal(refused(tags, 'x'), "'x' is not one of the options: give a number 1-3");
  assert.equal(refused(tags, ''), 'an answer is required (- for none)');
  const titled = field({
    type: 'array',
    items: {
      anyOf: [
        { const: 'r', title: 'Read' },
        { const: 'w', title: 'Write' },
      ],
    },
    default: ['r'],
  });
  assert.deepEqual(value(titled, ''), ['r']);
  assert.deepEqual(value(titled, 'write'), ['w']);
  assert.deepEqual(value(titled, '-'), []);
});

test('a schema the form cannot ask is refused with the field named', T, () => {
  assert.throws(
    () => formOf({ type: 'object', properties: { deep: { type: 'object', properties: {} } } }),
    /field 'deep' is of a kind a form cannot ask for \("object"\)/,
  );
  assert.throws(() => formOf('nope'), /not an object/);
  assert.deepEqual(formOf({ type: 'object' }), []); // a plain confirmation: no fields
});

test('server text is made safe for a terminal, and the summary shows what will be sent', T, () => {
  assert.equal(printable('ok\u001b]0;pwned\u0007 line\nnext\ttab'), 'ok\ufffd]0;pwned\ufffd line\nnext\ttab');
  assert.equal(printable('\u009b2J'), '\ufffd2J');
  const fields = formOf(FORM_SCHEMA);
  assert.equal(summaryOf(fields, { name: 'Jo', tags: ['a'] }), 'name="Jo", tags=["a"]');
});
