/** The CLI's terminal client on in-memory streams: the interleavings a real terminal cannot force. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { TerminalClient } from '../../src/cli/terminal-client.js';
import type { ServerRequestContext } from '../../src/index.js';

const T = { timeout: 10_000 };

function setup() {
  const input = new PassThrough();
  const output = new PassThrough();
  let said = '';
  output.on('data', (c: Buffer) => {
    said += c.toString();
  });
  const client = new TerminalClient({ input: () => input, output, roots: [] });
  const handlers = client.handlers();
  const ctx = (signal = new AbortController().signal): ServerRequestContext => ({
    server: 'srv',
    method: 'elicitation/create',
    signal,
  });
  /** Resolves once the output holds `text` (polled on the event loop, bounded by the test timeout). */
  const saw = async (text: string) => {
    while (!said.includes(text)) await new Promise((r) => setImmediate(r));
  };
  return { input, client, handlers, ctx, saw, said: () => said };
}

test('URL mode: the completion notice ends the wait before Enter, and the answer is accept', T, async () => {
  const { client, handlers, ctx, saw, said } = setup();
  try {
    const answer = handlers.onElicitation!(
      { mode: 'url', message: 'sign in', url: 'https://example.com/x', elicitationId: 'e-1' },
      ctx(),
    );
    await saw('Press Enter');
    handlers.onElicitationComplete!({ elicitationId: 'e-other' }); // someone else's: nothing happens
    handlers.onElicitationComplete!({ elicitationId: 'e-1' });
    assert.deepEqual(await answer, { action: 'accept' });
    assert.match(said(), /'srv' says the step at the URL is complete/);
  } finally {
    client.close();
  }
});

test('a question whose call ended is withdrawn; the next one is asked and answered', T, async () => {
  const { input, client, handlers, ctx, saw, said } = setup();
  try {
    const ended = new AbortController();
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    const first = handlers.onElicitation!({ message: 'first', requestedSchema: schema }, ctx(ended.signal));
    const second = handlers.onElicitation!({ message: 'second', requestedSchema: schema }, ctx());
    await saw('a (text): ');
    assert.doesNotMatch(said(), /second/); // one question at a time
    ended.abort(new Error('the call ended'));
    await assert.rejects(Promise.resolve(first), /the call ended/);
    await saw('asks: second');
    input.write('x\n');
    await saw('Send?');
    input.write('\n');
    assert.deepEqual(await second, { action: 'accept', content: { a: 'x' } });
    assert.match(said(), /the question from 'srv' was withdrawn/);
  } finally {
    client.close();
  }
});

test('at most 16 questions wait for the terminal; one more is refused at once', T, async () => {
  const { input, client, handlers, ctx } = setup();
  try {
    const waiting = Array.from({ length: 16 }, (_, i) =>
      handlers.onElicitation!({ message: `q${i}`, requestedSchema: { type: 'object' } }, ctx()),
    );
    await assert.rejects(
      Promise.resolve(
        handlers.onElicitation!({ message: 'one more', requestedSchema: { type: 'object' } }, ctx()),
      ),
      /16 questions are already waiting for the terminal; this one from 'srv' was refused/,
    );
    input.end(); // stdin ends: every waiting question is cancelled
    const answers = await Promise.all(waiting);
    assert.deepEqual(new Set(answers.map((a) => a.action)), new Set(['cancel']));
  } finally {
    client.close();
  }
});
