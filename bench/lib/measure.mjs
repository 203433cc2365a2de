// Timing primitives of the harness: every loop is bounded in count and in time.

const now = process.hrtime.bigint;
export const nsToUs = (ns) => Number(ns) / 1000;

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

let nonceSeq = 0;
/** One call with a fresh nonce; a call whose answer does not carry that nonce is an error. */
async function checkedCall(handle) {
  const sent = `n${++nonceSeq}`;
  const got = await handle.call(sent);
  if (got !== sent) throw new Error(`nonce mismatch: sent ${sent}, got ${JSON.stringify(got)}`);
}

const byValue = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Sequential calls: up to `count`, stopping early once `capMs` has elapsed. Returns sorted ns samples. */
export async function sequential(handle, count, capMs) {
  const samples = [];
  const end = now() + BigInt(capMs) * 1_000_000n;
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await checkedCall(handle);
    const t1 = now();
    samples.push(t1 - t0);
    if (t1 > end) break;
  }
  return samples.sort(byValue);
}

/**
 * `concurrency` workers calling back to back for `windowMs` (or `capCalls` in total). Each call's
 * latency under that load is kept too (performance.now(): no allocation per call), in µs.
 */
export async function saturate(handle, concurrency, windowMs, capCalls) {
  let stop = false;
  let issued = 0;
  let done = 0;
  const loaded = [];
  const timer = setTimeout(() => {
    stop = true;
  }, windowMs);
  const worker = async () => {
    while (!stop && issued < capCalls) {
      issued++;
      const t0 = performance.now();
      await checkedCall(handle);
      loaded.push((performance.now() - t0) * 1000);
      done++;
    }
  };
  const t0 = now();
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearTimeout(timer);
    stop = true;
  }
  const seconds = Number(now() - t0) / 1e9;
  return { calls: done, seconds, callsPerSec: done / seconds, loadedUs: loaded.sort(byValue) };
}

/** The p-th percentile of sorted samples (nearest rank). */
export const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Fisher-Yates, on a copy. */
export function shuffle(list) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * The standard measurement of a handle: `p.warmupCalls` sequential calls (or fewer, if `p.latencyCapMs`
 * runs out first), then `p.calls` latency samples at concurrency 1 (same cap), then `p.concurrency`
 * callers for `p.throughputWarmupMs` and, measured, for `p.throughputMs` (at most `p.throughputCapCalls`
 * calls each). Every phase has its own timeout; every call is checked (its nonce came back).
 */
export async function measureCalls(handle, p) {
  const seqBudget = (calls) => p.latencyCapMs + 5_000 + calls; // generous, but bounded
  await withTimeout(sequential(handle, p.warmupCalls, p.latencyCapMs), seqBudget(0), 'warmup');
  const samples = await withTimeout(
    sequential(handle, p.calls, p.latencyCapMs),
    seqBudget(p.calls),
    'latency run',
  );
  const satBudget = (ms) => ms + 10_000;
  await withTimeout(
    saturate(handle, p.concurrency, p.throughputWarmupMs, p.throughputCapCalls),
    satBudget(p.throughputWarmupMs),
    'throughput warmup',
  );
  const tp = await withTimeout(
    saturate(handle, p.concurrency, p.throughputMs, p.throughputCapCalls),
    satBudget(p.throughputMs),
    'throughput run',
  );
  return {
    latencyCalls: samples.length,
    p50Us: nsToUs(pct(samples, 50)),
    p99Us: nsToUs(pct(samples, 99)),
    meanUs: nsToUs(samples.reduce((a, b) => a + b, 0n)) / samples.length,
    throughputCalls: tp.calls,
    throughputSeconds: tp.seconds,
    callsPerSec: tp.callsPerSec,
    loadedP50Us: pct(tp.loadedUs, 50),
    loadedP99Us: pct(tp.loadedUs, 99),
  };
}
