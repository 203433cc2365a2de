import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { isSwitchboardError } from '../../src/core/errors.js';
import { Mailbox } from '../../src/core/mailbox.js';

test('the fast path takes free slots; then calls wait in FIFO order and get slots as they free', async () => {
  const mb = new Mailbox('m', { maxInFlight: 2, maxQueue: 10 });
  assert.equal(mb.tryEnter(), true);
  assert.equal(mb.tryEnter(), true);
  assert.equal(mb.tryEnter(), false);
  const order: number[] = [];
  const waits = [1, 2, 3].map((n) => mb.enter().then(() => order.push(n)));
  assert.equal(mb.waiting, 3);
  mb.leave();
  await waits[0];
  mb.leave();
  mb.leave();
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(mb.running, 2);
  assert.equal(mb.waiting, 0);
});

test('a newcomer cannot jump the line while others wait', () => {
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 10 });
  mb.tryEnter();
  void mb.enter();
  mb.leave(); // the slot passes to the waiter, not to whoever calls tryEnter next
  assert.equal(mb.tryEnter(), false);
});

test('at the bound the caller hears E_QUEUE_FULL at once, with the state that explains it', async () => {
  const mb = new Mailbox('github', { maxInFlight: 1, maxQueue: 1 });
  mb.tryEnter();
  void mb.enter();
  const err = await mb.enter().catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_QUEUE_FULL'));
  assert.match(err.message, /queue of 'github' is full: 1 waiting, 1 running/);
  assert.deepEqual(err.data, { server: 'github', waiting: 1, running: 1, maxInFlight: 1, maxQueue: 1 });
});

test('an aborted waiter leaves the line, removes its listener, and never takes a slot', async () => {
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 5 });
  mb.tryEnter();
  const ac = new AbortController();
  const aborted = mb.enter({ signal: ac.signal });
  const next = mb.enter();
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort('stop');
  assert.ok(isSwitchboardError(await aborted.catch((e: unknown) => e), 'E_ABORTED'));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(mb.waiting, 1);
  mb.leave();
  await next; // the slot skipped the aborted waiter
  assert.equal(mb.running, 1);
});

test('a waiter whose deadline passes fails with E_TIMEOUT, stage queued', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 5 });
  mb.tryEnter();
  const waiting = mb.enter({ deadline: performance.now() + 100, timeoutMs: 100 });
  t.mock.timers.tick(100);
  const err = await waiting.catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_TIMEOUT'));
  assert.equal(err.data.stage, 'queued');
  assert.equal(mb.waiting, 0);
});

test('close rejects every waiter with the one error given, and refuses later entries; onIdle resolves', async () => {
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 5 });
  mb.tryEnter();
  const a = mb.enter();
  const b = mb.enter();
  const reason = new Error('closing');
  mb.close(reason);
  assert.equal(await a.catch((e: unknown) => e), reason);
  assert.equal(await b.catch((e: unknown) => e), reason);
  assert.throws(() => mb.tryEnter(), /closing/);
  const idle = mb.onIdle();
  mb.leave();
  await idle;
});
