import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

test('paused: new calls wait instead of running, freed slots are kept back, resume hands them out in order', async () => {
  const mb = new Mailbox('m', { maxInFlight: 2, maxQueue: 10 });
  assert.equal(mb.tryEnter(), true);
  mb.pause();
  assert.equal(mb.tryEnter(), false, 'no fast path while paused');
  const order: number[] = [];
  const waits = [1, 2, 3].map((n) => mb.enter().then(() => order.push(n)));
  mb.leave(); // the running call ends (its server died): its slot is not passed on
  await Promise.resolve();
  assert.equal(mb.running, 0);
  assert.equal(mb.waiting, 3);
  assert.deepEqual(order, []);
  mb.resume();
  await Promise.all(waits.slice(0, 2));
  assert.deepEqual(order, [1, 2]);
  assert.equal(mb.running, 2);
  assert.equal(mb.waiting, 1);
  mb.leave();
  await waits[2];
  assert.deepEqual(order, [1, 2, 3]);
});

test('a full queue while paused says the calls are held for a (re)start', async () => {
  const mb = new Mailbox('c', { maxInFlight: 1, maxQueue: 0 });
  mb.pause();
  const err = await mb.enter().catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_QUEUE_FULL'));
  assert.match(
    err.message,
    /0 waiting, 0 running .*; calls are held while the server \(re\)starts; retry later/,
  );
});

test('a paused waiter still leaves at its own deadline, with its listeners removed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 10 });
  mb.pause();
  const ac = new AbortController();
  const waiting = mb.enter({ signal: ac.signal, deadline: performance.now() + 50, timeoutMs: 50 });
  t.mock.timers.tick(60);
  const err = await waiting.catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_TIMEOUT'));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(mb.waiting, 0);
});

test('rejectWaiting fails the line but keeps the mailbox open; setLimits applies to later calls', async () => {
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 10 });
  mb.tryEnter();
  const a = mb.enter().catch((e: Error) => e.message);
  const b = mb.enter().catch((e: Error) => e.message);
  mb.rejectWaiting(new Error('restart failed'));
  assert.deepEqual(await Promise.all([a, b]), ['restart failed', 'restart failed']);
  const c = mb.enter();
  mb.setLimits({ maxInFlight: 3, maxQueue: 10 }); // raised: the waiter gets one of the new slots at once
  await c;
  assert.equal(mb.running, 2);
  mb.setLimits({ maxInFlight: 1, maxQueue: 0 }); // lowered: running calls finish, no slot is handed on
  const d = mb.enter().catch((e: unknown) => e);
  assert.ok(isSwitchboardError(await d, 'E_QUEUE_FULL'));
  mb.leave();
  assert.equal(mb.running, 1);
  mb.leave();
  assert.equal(mb.running, 0);
});

test('waiters that time out or are aborted leave memory at once, while every slot stays busy', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const mb = new Mailbox('m', { maxInFlight: 1, maxQueue: 10_000 });
  assert.equal(mb.tryEnter(), true); // the one slot stays taken throughout
  const refs: WeakRef<object>[] = [];
  const settled: Promise<unknown>[] = [];
  // Made in functions of their own, so that no local of this test holds the last one.
  const aborted = () => {
    const controller = new AbortController();
    refs.push(new WeakRef(controller.signal));
    settled.push(mb.enter({ signal: controller.signal }).catch(() => {}));
    controller.abort();
  };
  const timedOut = () => {
    const opts = { deadline: performance.now() + 1, timeoutMs: 1 };
    refs.push(new WeakRef(opts));
    settled.push(mb.enter(opts).catch(() => {}));
  };
  for (let i = 0; i < 2000; i++) aborted();
  for (let i = 0; i < 2000; i++) timedOut();
  await Promise.all(settled);
  settled.length = 0;
  assert.equal(mb.waiting, 0);
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  const kept = refs.filter((r) => r.deref() !== undefined).length;
  assert.equal(kept, 0, `${kept} of ${refs.length} ended waiters are still held by the mailbox`);
  mb.leave();
});
