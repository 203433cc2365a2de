/**
 * The fault-injection soak: 20,000 calls from 32 concurrent callers over 8 chaos servers (half inline,
 * half in worker threads). The servers crash mid-call, hang calls, freeze, write garbage, answer slowly,
 * answer twice and answer with wrong ids, at random with a fixed seed and on command. Every call must
 * end within its deadline with its own correct result or a typed error; none may be misrouted; no
 * process may outlive close(); and memory after the soak must come back near where it started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RpcError, Switchboard, SwitchboardError } from '../../src/index.js';
import { chaos, prng, processesWith, structured, waitFor } from '../helpers.js';

const SERVERS = 8;
const CALLERS = 32;
const CALLS = 20_000;
const TIMEOUT_MS = 1000;
/** How late past its deadline a call may end: timers on a loaded 2-core machine fire late. */
const SLACK_MS = 1000;
const KINDS = ['crash', 'hang', 'freeze', 'garbage', 'slow', 'twice', 'wrongid'];
/** Every this many calls, a caller asks for a fault by name (so each kind is injected for sure). */
const ON_COMMAND_EVERY = 500;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

test(`soak: ${CALLS} calls, ${CALLERS} callers, ${SERVERS} chaos servers — every call ends correctly, none crossed, no orphans`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-soak-'));
  const tag = `soak-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: SERVERS }, (_, i) => `chaos${i}`);
  const env = {
    CHAOS_DIR: dir,
    CHAOS_SEED: '20261124',
    CHAOS_RATE: '0.001',
    CHAOS_GRANDCHILD: '1',
  };
  const sb = await Switchboard.start({
    mcpServers: Object.fromEntries(
      names.map((name, i) => [
        name,
        chaos(
          name,
          {
            isolation: i % 2 === 0 ? 'inline' : 'thread',
            timeoutMs: TIMEOUT_MS,
            maxInFlight: 8,
            maxQueue: 512,
            closeGraceMs: 500,
            restart: {
              initialDelayMs: 50,
              maxDelayMs: 500,
              jitter: 0.2,
              crashLoopAfter: 6,
              crashLoopRetryMs: 1000,
              stableAfterMs: 2000,
            },
            health: { intervalMs: 100, timeoutMs: 150, failures: 2 },
          },
          env,
          tag,
        ),
      ]),
    ),
  });
  const warnings = new Map<string, number>();
  sb.on('warning', ({ error }) => {
    const key = error instanceof SwitchboardError ? error.code : error.name;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  });
  const states = new Map<string, number>();
  sb.on('state', ({ state }) => states.set(state, (states.get(state) ?? 0) + 1));
  assert.equal(sb.servers().filter((s) => s.state === 'ready').length, SERVERS);
  assert.equal(processesWith(tag).length, SERVERS * 2, 'each server and its grandchild');

  // Warm up, then take the baseline.
  await Promise.all(names.map((n) => sb.callTool(n, 'work', { nonce: 'warm' })));
  const heapBefore = heapMb();

  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  const misrouted: string[] = [];
  let overdue = 0;
  let worstOverMs = 0;
  let commanded = 0;
  let next = 0;
  const soakStart = performance.now();
  const caller = async (id: number) => {
    const rand = prng(1000 + id);
    for (let i = next++; i < CALLS; i = next++) {
      const server = names[Math.floor(rand() * SERVERS)]!;
      const tool = rand() < 0.5 ? 'work' : 'lookup';
      const nonce = `${id}-${i}-${Math.floor(rand() * 1e9).toString(36)}`;
      const args: Record<string, unknown> = { nonce, delayMs: Math.floor(rand() * 3) };
      if (i % ON_COMMAND_EVERY === id % ON_COMMAND_EVERY) {
        args.fault = KINDS[Math.floor(i / ON_COMMAND_EVERY) % KINDS.length];
        commanded++;
      }
      const began = performance.now();
      try {
        const r = structured<{ nonce: string; server: string }>(await sb.callTool(server, tool, args));
        if (r.nonce === nonce && r.server === server) count('ok');
        else misrouted.push(`${server}/${nonce} got ${r.server}/${r.nonce}`);
      } catch (err) {
        if (err instanceof SwitchboardError) count(err.code);
        else if (err instanceof RpcError) count(`rpc ${err.code}`);
        else count(`untyped: ${String(err)}`);
      }
      const over = performance.now() - began - TIMEOUT_MS;
      if (over > SLACK_MS) overdue++;
      worstOverMs = Math.max(worstOverMs, over);
    }
  };
  // Bounded in time as well as in count: a hung call shows up as a failed race, not a hung suite.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    Promise.all(Array.from({ length: CALLERS }, (_, id) => caller(id))).then(() => true),
    new Promise<false>((r) => {
      timer = setTimeout(() => r(false), 240_000);
    }),
  ]);
  clearTimeout(timer);
  const soakMs = performance.now() - soakStart;
  assert.ok(finished, 'every call ended');

  const report = await sb.status();
  const leftover = report.map((s) => ({
    name: s.name,
    running: s.running,
    queued: s.queued,
    pending: s.stats?.pending,
  }));
  const heapAfter = heapMb();

  await sb.close({ timeoutMs: 2000 });
  const orphansGone = await waitFor(() => processesWith(tag).length === 0, 5000);

  const injected = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      const { kind } = JSON.parse(line) as { kind: string };
      injected.set(kind, (injected.get(kind) ?? 0) + 1);
    }
  }
  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  t.diagnostic(
    `soak: ${total} calls in ${(soakMs / 1000).toFixed(1)} s (${Math.round(total / (soakMs / 1000))} calls/s)`,
  );
  t.diagnostic(`faults injected: ${fmt(injected)} (${commanded} on command, the rest at random)`);
  t.diagnostic(`outcomes: ${fmt(outcomes)}`);
  t.diagnostic(`state changes: ${fmt(states)}; warnings: ${fmt(warnings)}`);
  t.diagnostic(
    `misrouted ${misrouted.length}; over deadline by >${SLACK_MS} ms: ${overdue} (worst ${Math.round(worstOverMs)} ms past); orphans after close: ${processesWith(tag).length}`,
  );
  t.diagnostic(`heap: ${heapBefore.toFixed(1)} MB before, ${heapAfter.toFixed(1)} MB after`);

  assert.equal(total, CALLS, 'every call has an outcome');
  assert.deepEqual(misrouted, [], 'no call got another call’s answer');
  assert.equal(overdue, 0, 'every call ended within its deadline');
  for (const key of outcomes.keys()) {
    assert.ok(
      ['ok', 'E_TIMEOUT', 'E_UPSTREAM_CLOSED', 'E_UPSTREAM_UNAVAILABLE', 'E_QUEUE_FULL'].includes(key),
      `unexpected outcome: ${key}`,
    );
  }
  assert.ok((outcomes.get('ok') ?? 0) > CALLS * 0.8, 'most calls succeed');
  for (const kind of KINDS) assert.ok((injected.get(kind) ?? 0) > 0, `fault '${kind}' was injected`);
  assert.deepEqual(
    leftover.filter((s) => s.running || s.queued || s.pending),
    [],
    'nothing left running, queued or pending',
  );
  assert.ok(orphansGone, `processes left behind: ${processesWith(tag)}`);
  assert.ok(heapAfter - heapBefore < 16, `heap grew by ${(heapAfter - heapBefore).toFixed(1)} MB`);
});
