/**
 * The correlator's deadlines: one timer per correlator, armed for the earliest deadline, with a FIFO per
 * distinct timeout. These tests use real timers and short timeouts; they assert order and outcome, never
 * how long anything took.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { Correlator, type Pending } from '../../src/core/correlator.js';
import { isSwitchboardError } from '../../src/core/errors.js';
import { ROOT } from '../helpers.js';

function harness() {
  const sent: Pending[] = [];
  const cancelled: number[] = [];
  const c = new Correlator('srv', {
    send: (p) => {
      sent.push(p);
    },
    cancel: (p) => {
      cancelled.push(p.id);
    },
  });
  return { c, sent, cancelled };
}

test('calls with different timeouts expire in deadline order, whatever order they started in', async () => {
  const { c, cancelled } = harness();
  const order: number[] = [];
  const timeouts = [90, 30, 60, 30.5, 0.7];
  const calls = timeouts.map((timeoutMs) =>
    c.request('m', undefined, { timeoutMs }).catch((err: unknown) => {
      assert.ok(isSwitchboardError(err, 'E_TIMEOUT'));
      order.push(timeoutMs);
    }),
  );
  await Promise.all(calls);
  assert.deepEqual(order, [0.7, 30, 30.5, 60, 90]);
  assert.equal(cancelled.length, timeouts.length);
  assert.equal(c.size, 0);
});

test('a burst of calls with one timeout expires together; answered ones are untouched', async () => {
  const { c, sent, cancelled } = harness();
  const calls = Array.from({ length: 200 }, () => c.request('m', undefined, { timeoutMs: 40 }));
  // Every other call is answered before its deadline.
  for (let i = 0; i < sent.length; i += 2) c.resolve(sent[i]!.id, i);
  const outcomes = await Promise.allSettled(calls);
  outcomes.forEach((o, i) => {
    if (i % 2 === 0) assert.deepEqual(o, { status: 'fulfilled', value: i });
    else assert.ok(o.status === 'rejected' && isSwitchboardError(o.reason, 'E_TIMEOUT'));
  });
  assert.equal(cancelled.length, 100);
  assert.equal(c.stats.pending, 0);
});

test('a call that runs long at the head still times out after thousands of calls behind it ended', async () => {
  const { c, sent, cancelled } = harness();
  const slow = c.request('m', undefined, { timeoutMs: 300 });
  for (let i = 0; i < 5000; i++) {
    const call = c.request('m', undefined, { timeoutMs: 300 });
    c.resolve(sent.at(-1)!.id, i);
    assert.equal(await call, i);
  }
  const err = await slow.catch((e: unknown) => e);
  assert.ok(isSwitchboardError(err, 'E_TIMEOUT'));
  assert.deepEqual(cancelled, [sent[0]!.id]);
});

test('a timeout set after a longer one is armed is not held back by it', async () => {
  const { c } = harness();
  const long = c.request('m', undefined, { timeoutMs: 60_000 });
  const short = c.request('m', undefined, { timeoutMs: 20 });
  assert.ok(isSwitchboardError(await short.catch((e: unknown) => e), 'E_TIMEOUT'));
  c.close(new Error('done'));
  await assert.rejects(long, /done/);
});

/** Runs a script against the built correlator in a fresh process; resolves with its exit and output. */
function script(body: string): Promise<{ code: number | null; killed: boolean; stdout: string }> {
  const source = `import { Correlator } from ${JSON.stringify(`${ROOT}dist/src/core/correlator.js`)};
const c = new Correlator('srv', { send: () => {}, cancel: () => {} });
${body}`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', source],
      { timeout: 30_000, killSignal: 'SIGKILL' },
      (err, stdout) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? null) : 0,
          killed: (err as { killed?: boolean } | null)?.killed === true,
          stdout,
        }),
    );
  });
}

test('the deadline timer keeps the process alive while a call waits, and not after', async () => {
  // A call nobody answers: the process must stay up until it times out.
  const waiting = await script(
    `const err = await c.request('m', undefined, { timeoutMs: 100 }).catch((e) => e);
console.log(err.code);`,
  );
  assert.equal(waiting.code, 0);
  assert.equal(waiting.stdout.trim(), 'E_TIMEOUT');
  // A call answered long before its 10-minute deadline: nothing may hold the process open afterwards.
  const answered = await script(
    `const call = c.request('m', undefined, { timeoutMs: 600_000 });
c.resolve(1, 'ok');
console.log(await call);`,
  );
  assert.equal(answered.killed, false, 'the process was held open by a timer');
  assert.equal(answered.code, 0);
  assert.equal(answered.stdout.trim(), 'ok');
});
