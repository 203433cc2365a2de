import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { Correlator, type Pending } from '../../src/core/correlator.js';
import { isSwitchboardError, SwitchboardError } from '../../src/core/errors.js';

function harness() {
  const sent: Pending[] = [];
  const cancelled: { id: number; code: string }[] = [];
  const c = new Correlator('srv', {
    send: (p) => {
      sent.push(p);
    },
    cancel: (p, reason) => {
      cancelled.push({ id: p.id, code: reason.code });
    },
  });
  return { c, sent, cancelled };
}

test('each id resolves only its own caller, whatever order the answers come in', async () => {
  const { c, sent } = harness();
  const calls = [0, 1, 2, 3].map((i) => c.request('m', { i }));
  const ids = sent.map((p) => p.id);
  assert.equal(new Set(ids).size, 4);
  for (const i of [2, 0, 3, 1]) c.resolve(ids[i]!, { answer: i });
  assert.deepEqual(
    await Promise.all(calls),
    [0, 1, 2, 3].map((i) => ({ answer: i })),
  );
  assert.equal(c.size, 0);
});

test('a late answer after a timeout is counted as late, an unknown id as unknown; neither is delivered', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { c, sent, cancelled } = harness();
  const call = c.request('m', undefined, { timeoutMs: 100 });
  t.mock.timers.tick(100);
  const err = await call.catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_TIMEOUT'));
  assert.deepEqual(cancelled, [{ id: sent[0]!.id, code: 'E_TIMEOUT' }]);
  assert.equal(c.resolve(sent[0]!.id, {}), false);
  assert.equal(c.resolve(9999, {}), false);
  assert.deepEqual(c.stats, { pending: 0, late: 1, unknown: 1, lateProgress: 0 });
});

test('abort and timeout are different codes; the abort listener and the timer are removed on every exit', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { c, sent } = harness();
  const ac = new AbortController();
  const a = c.request('m', undefined, { signal: ac.signal, timeoutMs: 1000 });
  const b = c.request('m', undefined, { signal: ac.signal, timeoutMs: 1000 });
  const d = c.request('m', undefined, { signal: ac.signal, timeoutMs: 1000 });
  assert.equal(getEventListeners(ac.signal, 'abort').length, 3);
  c.resolve(sent[0]!.id, 'ok');
  c.reject(sent[1]!.id, new Error('no'));
  assert.equal(await a, 'ok');
  await assert.rejects(b, /no/);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  assert.ok(isSwitchboardError(await d.catch((e: unknown) => e), 'E_ABORTED'));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  t.mock.timers.tick(5000); // no timer is left to fire into a settled call
  assert.equal(c.size, 0);
});

test('progress is handed over synchronously and in order; after the answer it is dropped and counted', async () => {
  const { c, sent } = harness();
  const seen: number[] = [];
  const call = c.request('m', undefined, { onProgress: (p) => seen.push(p.progress) });
  const id = sent[0]!.id;
  c.progress(id, { progress: 1 });
  c.progress(id, { progress: 2 });
  assert.deepEqual(seen, [1, 2]); // before any microtask ran
  c.resolve(id, 'done');
  c.progress(id, { progress: 3 });
  assert.equal(await call, 'done');
  assert.deepEqual(seen, [1, 2]);
  assert.equal(c.stats.lateProgress, 1);
});

test('a send that throws or rejects fails that call only', async () => {
  let n = 0;
  const c = new Correlator('srv', {
    send: () => {
      n++;
      if (n === 1) throw new Error('sync boom');
      if (n === 2) return Promise.reject(new Error('async boom'));
    },
    cancel: () => {},
  });
  await assert.rejects(c.request('m', undefined), /sync boom/);
  await assert.rejects(c.request('m', undefined), /async boom/);
  const ok = c.request('m', undefined);
  c.resolve(3, 'fine');
  assert.equal(await ok, 'fine');
});

test('close fails everything pending with one typed error and refuses later calls', async () => {
  const { c } = harness();
  const calls = [c.request('m', undefined), c.request('m', undefined)];
  const reason = new SwitchboardError('E_CLOSED', 'bye');
  c.close(reason);
  for (const call of calls) assert.equal(await call.catch((e: unknown) => e), reason);
  assert.equal(await c.request('m', undefined).catch((e: unknown) => e), reason);
});
