/**
 * The fault-injection soak: 20,000 calls from 32 concurrent callers over 11 servers:
 * - 8 chaos servers (half inline, half in worker threads, each with a helper process; the thread ones'
 *   helpers ignore SIGTERM). They crash mid-call, hang calls, freeze, write garbage, answer slowly,
 *   answer twice and answer with wrong ids, at random with a fixed seed and on command.
 * - A Streamable HTTP server and a legacy SSE server, stopped and started again on their ports mid-load.
 * - A stdio server (in a thread) that starts a child holding its stdout and then exits.
 * - Config reloads during the load: one server updated in place, another restarted.
 * Every call must end within its deadline with its own correct result or a typed error; none may be
 * misrouted; every server's `restarts` must equal the outages it suffered; no process may outlive
 * close(); and memory after the soak must come back near where it started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RpcError, Switchboard, SwitchboardError } from '../../src/index.js';
import {
  chaos,
  FIXTURE,
  prng,
  processesWith,
  type ServedFixture,
  serveFixture,
  structured,
  waitFor,
} from '../helpers.js';

const SERVERS = 8;
/** How long each HTTP outage lasts: longer than the pings that find it (refused at once) take. */
const OUTAGE_MS = 1200;
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

test(`soak: ${CALLS} calls, ${CALLERS} callers, ${SERVERS} chaos servers, HTTP and SSE outages, a stdout holder, reloads — every call ends correctly, none crossed, restarts counted, no orphans`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-soak-'));
  const tag = `soak-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: SERVERS }, (_, i) => `chaos${i}`);
  const env = {
    CHAOS_DIR: dir,
    CHAOS_SEED: '20261124',
    CHAOS_RATE: '0.001',
    CHAOS_GRANDCHILD: '1',
  };
  const policy = {
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
    // Generous for a loaded 2-core machine, so that only a real outage makes a restart.
    health: { intervalMs: 200, timeoutMs: 1000, failures: 2 },
  };
  let web: ServedFixture = await serveFixture('http', 'web');
  let legacy: ServedFixture = await serveFixture('sse', 'legacy');
  const holderName = `holder-${tag}`;
  /**
   * The config, `edit` times edited: chaos0's deadline moves (in place), and every third edit restarts
   * chaos1. chaos1 has no faults of its own: a reload's restart is not an outage, and its count stays 0.
   */
  const config = (edit: number) => ({
    mcpServers: {
      ...Object.fromEntries(
        names.map((name, i) => [
          name,
          chaos(
            name,
            {
              isolation: i % 2 === 0 ? 'inline' : 'thread',
              ...policy,
              ...(i === 0 ? { timeoutMs: TIMEOUT_MS - (edit % 2) } : {}),
            },
            {
              ...env,
              CHAOS_GRANDCHILD: i % 2 === 0 ? '1' : 'stubborn',
              ...(i === 1 ? { MODE: `edit-${Math.floor(edit / 3)}`, CHAOS_RATE: '0' } : {}),
            },
            tag,
          ),
        ]),
      ),
      web: { url: web.url, ...policy, health: { intervalMs: 200, timeoutMs: 400, failures: 1 } },
      legacy: {
        type: 'sse',
        url: legacy.url,
        ...policy,
        health: { intervalMs: 200, timeoutMs: 400, failures: 1 },
      },
      holder: { command: process.execPath, args: [FIXTURE, holderName], isolation: 'thread', ...policy },
    },
  });
  const sb = await Switchboard.start(config(0));
  const all = [...names, 'web', 'legacy', 'holder'];
  /** The name each server answers with. */
  const answersAs = (server: string) => (server === 'holder' ? holderName : server);
  const warnings = new Map<string, number>();
  sb.on('warning', ({ error }) => {
    const key = error instanceof SwitchboardError ? error.code : error.name;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  });
  const states = new Map<string, number>();
  // A web or legacy server that is up but slow to answer a ping (a loaded machine) is restarted too, and
  // that restart is an outage of its own: counted here, apart from the outages the driver causes.
  const down = { web: false, legacy: false };
  const slowPings = { web: 0, legacy: 0 };
  const unprovoked: string[] = [];
  sb.on('state', ({ server, state, error }) => {
    states.set(state, (states.get(state) ?? 0) + 1);
    if (state === 'restarting' && (server === 'web' || server === 'legacy') && !down[server]) {
      unprovoked.push(`${server}: ${error?.message}`);
      if (/stopped answering/.test(error?.message ?? '')) slowPings[server]++;
    }
  });
  assert.equal(sb.servers().filter((s) => s.state === 'ready').length, all.length);
  assert.equal(processesWith(tag).length, SERVERS * 2 + 1, 'each chaos server and its helper; the holder');

  // Warm up, then take the baseline.
  await Promise.all(names.map((n) => sb.callTool(n, 'work', { nonce: 'warm' })));
  const heapBefore = heapMb();

  // Outages and edits, one at a time, while the callers run.
  const outages = { web: 0, legacy: 0, holder: 0 };
  let reloads = 0;
  let driving = true;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const driver = (async () => {
    for (let round = 0; driving; round++) {
      await sleep(600);
      if (!driving) break;
      switch (round % 4) {
        case 0:
          down.web = true;
          await web.kill();
          outages.web++;
          await sleep(OUTAGE_MS);
          web = await serveFixture('http', 'web', web.port);
          await waitFor(() => sb.servers().find((s) => s.name === 'web')?.state === 'ready', 10_000);
          down.web = false;
          break;
        case 1:
          down.legacy = true;
          await legacy.kill();
          outages.legacy++;
          await sleep(OUTAGE_MS);
          legacy = await serveFixture('sse', 'legacy', legacy.port);
          await waitFor(() => sb.servers().find((s) => s.name === 'legacy')?.state === 'ready', 10_000);
          down.legacy = false;
          break;
        case 2: {
          // A child that holds stdout, then the server exits: the exit alone must end the connection.
          if (sb.servers().find((s) => s.name === 'holder')?.state !== 'ready') break;
          await sb.callTool('holder', 'spawn_child', { holdStdout: true }).catch(() => {});
          const err = await sb.callTool('holder', 'exit', {}).catch((e: unknown) => e);
          if (err instanceof SwitchboardError && /exited with code 3/.test(err.message)) outages.holder++;
          break;
        }
        case 3:
          await sb.reload(config(++reloads), { drainMs: 2000 });
          break;
      }
    }
  })();

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
      const server = all[Math.floor(rand() * all.length)]!;
      const chaotic = names.includes(server);
      const tool = chaotic ? (rand() < 0.5 ? 'work' : 'lookup') : 'echo';
      const nonce = `${id}-${i}-${Math.floor(rand() * 1e9).toString(36)}`;
      const args: Record<string, unknown> = { nonce, delayMs: Math.floor(rand() * 3) };
      if (chaotic && server !== 'chaos1' && i % ON_COMMAND_EVERY === id % ON_COMMAND_EVERY) {
        args.fault = KINDS[Math.floor(i / ON_COMMAND_EVERY) % KINDS.length];
        commanded++;
      }
      const began = performance.now();
      try {
        const r = structured<{ nonce: string; server: string }>(await sb.callTool(server, tool, args));
        if (r.nonce === nonce && r.server === answersAs(server)) count('ok');
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
  driving = false;
  await driver;
  assert.ok(finished, 'every call ended');
  // Every server comes back (the last outage or restart may still be settling).
  const settled = await waitFor(() => sb.servers().every((s) => s.state === 'ready'), 15_000);
  // ...and reads its catalog again, which is a call like any other.
  await Promise.race([sb.onIdle(), new Promise((r) => setTimeout(r, 5000))]);

  // A health ping may be in flight at any instant; a call left behind stays. So: nothing left, within 5 s.
  let leftover: { name: string; running: number; queued: number; pending: number | undefined }[] = [];
  await waitFor(async () => {
    leftover = (await sb.status())
      .map((s) => ({ name: s.name, running: s.running, queued: s.queued, pending: s.stats?.pending }))
      .filter((s) => s.running || s.queued || s.pending);
    return leftover.length === 0;
  }, 5000);
  const heapAfter = heapMb();

  const restarts = Object.fromEntries(sb.servers().map((s) => [s.name, s.restarts]));
  const lastStates = sb.servers().map((s) => `${s.name}:${s.state}`);

  await sb.close({ timeoutMs: 2000 });
  const orphansGone = await waitFor(() => processesWith(tag).length === 0, 5000);
  await Promise.all([web.kill(), legacy.kill()]);

  const injected = new Map<string, number>();
  /** Per chaos server, the runs (start counts) that a crash or a freeze ended: its outages. */
  const downed = new Map<string, Set<number>>(names.map((n) => [n, new Set<number>()]));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      const { kind, start } = JSON.parse(line) as { kind: string; start: number };
      injected.set(kind, (injected.get(kind) ?? 0) + 1);
      if (kind === 'crash' || kind === 'freeze') downed.get(file.replace(/\.log$/, ''))?.add(start);
    }
  }
  const expectedRestarts = {
    ...Object.fromEntries(names.map((n) => [n, downed.get(n)!.size])),
    ...outages,
    web: outages.web + slowPings.web,
    legacy: outages.legacy + slowPings.legacy,
  };
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
  if (unprovoked.length) t.diagnostic(`restarts while the server was up: ${unprovoked.join('; ')}`);
  t.diagnostic(`heap: ${heapBefore.toFixed(1)} MB before, ${heapAfter.toFixed(1)} MB after`);
  t.diagnostic(
    `outages: web ${outages.web} (+${slowPings.web} slow pings), legacy ${outages.legacy} (+${slowPings.legacy} slow pings), holder ${outages.holder}; reloads ${reloads}; restarts ${JSON.stringify(restarts)}; expected ${JSON.stringify(expectedRestarts)}`,
  );

  assert.equal(total, CALLS, 'every call has an outcome');
  assert.deepEqual(misrouted, [], 'no call got another call’s answer');
  assert.equal(overdue, 0, 'every call ended within its deadline');
  for (const key of outcomes.keys()) {
    assert.ok(
      [
        'ok',
        'E_TIMEOUT',
        'E_UPSTREAM_CLOSED',
        'E_UPSTREAM_UNAVAILABLE',
        'E_QUEUE_FULL',
        'E_TRANSPORT',
      ].includes(key),
      `unexpected outcome: ${key}`,
    );
  }
  assert.ok((outcomes.get('ok') ?? 0) > CALLS * 0.8, 'most calls succeed');
  for (const kind of KINDS) assert.ok((injected.get(kind) ?? 0) > 0, `fault '${kind}' was injected`);
  assert.deepEqual(leftover, [], 'nothing left running, queued or pending');
  assert.ok(settled, `not every server came back: ${lastStates.join(', ')}`);
  assert.deepEqual(restarts, expectedRestarts, 'each server restarted once per outage it suffered');
  assert.ok(
    outages.web > 0 && outages.legacy > 0 && outages.holder > 0 && reloads > 0,
    'every kind of outage ran',
  );
  assert.ok(orphansGone, `processes left behind: ${processesWith(tag)}`);
  assert.ok(heapAfter - heapBefore < 16, `heap grew by ${(heapAfter - heapBefore).toFixed(1)} MB`);
});
