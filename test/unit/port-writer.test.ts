/**
 * The batching of a thread host's MessagePort (PortWriter), on a real MessageChannel: what leaves at once,
 * what leaves together at the end of the turn, and that a closed writer posts nothing and leaves nothing
 * scheduled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { PortWriter } from '../../src/upstream/port-writer.js';

interface Msg {
  n: number;
  extra?: unknown;
}

/** Every batch that reaches `port`, in order. */
function received(port: MessagePort): Msg[][] {
  const batches: Msg[][] = [];
  port.on('message', (batch: Msg[]) => batches.push(batch));
  return batches;
}

/** Resolves after the current turn's Immediates and what they posted have been delivered. */
async function settled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
}

function immediates(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
}

function channel() {
  const { port1, port2 } = new MessageChannel();
  const batches = received(port2);
  const close = () => {
    port1.close();
    port2.close();
  };
  return { port1, port2, batches, close };
}

test('a message alone in flight leaves at once; a turn with others in flight leaves as one batch, in order', async () => {
  const { port1, batches, close } = channel();
  let alone = true;
  const writer = new PortWriter<Msg>(port1, { unclonable: () => undefined, alone: () => alone });
  writer.post({ n: 1 });
  assert.equal(writer.queued, 0, 'the lone message was posted, not queued');
  alone = false;
  for (let n = 2; n <= 5; n++) writer.post({ n });
  assert.equal(writer.queued, 4);
  // Once a batch is queued, a message that would be alone joins it rather than overtake it.
  alone = true;
  writer.post({ n: 6 });
  await settled();
  assert.deepEqual(
    batches.map((b) => b.map((m) => m.n)),
    [[1], [2, 3, 4, 5, 6]],
  );
  close();
});

test('close() drops what is queued, cancels the flush, and nothing is posted after it', async () => {
  const { port1, batches, close } = channel();
  const before = immediates();
  const writer = new PortWriter<Msg>(port1, { unclonable: () => undefined, alone: () => false });
  writer.post({ n: 1 });
  writer.post({ n: 2 });
  assert.equal(immediates(), before + 1, 'one flush scheduled for the turn');
  const dropped = writer.close();
  assert.deepEqual(
    dropped.map((m) => m.n),
    [1, 2],
  );
  assert.equal(immediates(), before, 'the scheduled flush is cancelled: nothing holds the event loop');
  writer.post({ n: 3 });
  writer.flush();
  assert.equal(writer.queued, 0);
  assert.deepEqual(writer.close(), [], 'idempotent');
  await settled();
  assert.deepEqual(batches, []);
  close();
});

test('flush() before the port closes delivers the queue first; the port then closes cleanly', async () => {
  const { port1, port2, batches } = channel();
  const writer = new PortWriter<Msg>(port1, { unclonable: () => undefined, alone: () => false });
  const closed = new Promise<void>((r) => port2.once('close', () => r()));
  writer.post({ n: 1 });
  writer.post({ n: 2 });
  // What the worker does on its way out: flush, close the writer, close the port.
  writer.flush();
  writer.close();
  port1.close();
  await closed;
  assert.deepEqual(
    batches.map((b) => b.map((m) => m.n)),
    [[1, 2]],
  );
});

test('a flush that finds its port closed posts into nothing and does not throw', async () => {
  const { port1, port2, batches } = channel();
  const writer = new PortWriter<Msg>(port1, { unclonable: () => undefined, alone: () => false });
  writer.post({ n: 1 });
  port2.close(); // the other side went away with a batch queued here
  await settled();
  assert.equal(writer.queued, 0);
  assert.deepEqual(batches, []);
  port1.close();
});

test('a message the clone refuses is replaced (or dropped) alone; the rest of its batch arrives in order', async () => {
  const { port1, batches, close } = channel();
  const refused: number[] = [];
  const writer = new PortWriter<Msg>(port1, {
    alone: () => false,
    unclonable: (m, err) => {
      refused.push(m.n);
      assert.equal((err as Error).name, 'DataCloneError');
      return m.n === 2 ? { n: 2, extra: 'as JSON' } : undefined;
    },
  });
  writer.post({ n: 1 });
  writer.post({ n: 2, extra: () => 'a function' });
  writer.post({ n: 3 });
  writer.post({ n: 4, extra: Symbol('no') });
  writer.post({ n: 5 });
  await settled();
  assert.deepEqual(refused, [2, 4]);
  assert.deepEqual(
    batches.flat().map((m) => [m.n, m.extra]),
    [
      [1, undefined],
      [2, 'as JSON'],
      [3, undefined],
      [5, undefined],
    ],
  );
  close();
});

test('a message refused while alone is handled at once, before post() returns', () => {
  const { port1, close } = channel();
  const refused: number[] = [];
  const writer = new PortWriter<Msg>(port1, {
    alone: () => true,
    unclonable: (m) => {
      refused.push(m.n);
      return undefined;
    },
  });
  writer.post({ n: 7, extra: () => 0 });
  assert.deepEqual(refused, [7]);
  close();
});
