// "How cost grows": one path measured at several sizes. Four scenarios, each its own rows:
//   sessions      gateway sessions open at once (memory per session; p50 and calls/s over them)
//   upstreams     upstreams configured and started (calls to one of them, and spread over all),
//                 with the floor client beside as many idle processes as the control
//   catalog       tools one upstream lists (tools/list through the gateway; a call by name)
//   message-size  payload of the echo, out and back (MB/s of the floor, switchboard inline and thread)
// Each row measures itself over cfg.sizes[scenario]: a fresh setup per size (message-size: one setup,
// every size on it), the sizes in a fresh random order each round. It returns flat figures keyed
// `figure@size`, and for the figures in `ratios` their ratio to the smallest size's in the same round
// (`figureToFirst@size`): the harness takes the median over rounds of each. Every call is checked:
// the nonce (and the payload, or the tool that answered) came back.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  loadSwitchboard,
  memoryOf,
  openSwitchboard,
  rawHttp,
  startSwitchboardGateway,
  textOf,
} from './contenders.mjs';
import { startFloorClient } from './floor-client.mjs';
import { measureCalls, nsToUs, pct, saturate, sequential, shuffle, withTimeout } from './measure.mjs';
import { childrenQuiet, childrenRss } from './procs.mjs';
import { RAW_ECHO, rawEchoServers } from './switchboard-config.mjs';

/** The key of a figure at one size. */
export const at = (key, size) => `${key}@${size}`;

/** The measurement profile of the growth rows: the harness's, with their shorter counts and windows. */
const growthProfile = (cfg) => ({ ...cfg, ...cfg.growth });

/**
 * Runs `one(size)` for every size, in a random order; its figures come back keyed by size, with the
 * ratio of each figure named in `ratios` to the smallest size's.
 */
async function overSizes(sizes, one, ratios) {
  const out = {};
  for (const size of shuffle(sizes)) {
    let figures;
    try {
      figures = await one(size);
    } catch (err) {
      throw new Error(`at ${size}: ${err.message}`);
    }
    for (const [key, value] of Object.entries(figures)) out[at(key, size)] = value;
  }
  const first = Math.min(...sizes);
  for (const key of ratios) {
    for (const size of sizes) out[at(`${key}ToFirst`, size)] = out[at(key, size)] / out[at(key, first)];
  }
  return out;
}

/** `fn(i)` for i in 0..count-1, at most `width` at a time; resolves to the results in order. */
async function mapLimit(count, width, fn) {
  const out = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
  return out;
}

/** One call to check: the nonce came back (`sequential` throws otherwise). */
const verifiedOnce = (handle) => sequential(handle, 1, 60_000);

/** Per size, a line of the row's progress: `size: figures`. */
const sizesLine = (res, sizes, show) =>
  sizes.map((size) => `${size}: ${show((key) => res[at(key, size)])}`).join('; ');
const n0 = (v) => (v === undefined || v === null ? '-' : v.toFixed(0));

/**
 * `work(gateway, endpoint)` on a gateway started with `options` (its memory report on), with an undici
 * endpoint at `path(gateway)`; both are closed after, whatever happened.
 */
async function onGateway(raw, options, path, work) {
  const gateway = await startSwitchboardGateway({ ...options, memory: true });
  const endpoint = raw.streamableEndpoint(path(gateway));
  try {
    return await work(gateway, endpoint);
  } finally {
    await endpoint.destroy().catch(() => {});
    await gateway.peer.close();
  }
}

/** The call figures of a growth row, and the gateway's memory after full collections. */
const callFigures = (figures, memory) => ({
  gatewayRssMB: memory.rss / 2 ** 20,
  gatewayHeapMB: memory.heapUsed / 2 ** 20,
  p50Us: figures.p50Us,
  p99Us: figures.p99Us,
  callsPerSec: figures.callsPerSec,
  loadedP50Us: figures.loadedP50Us,
});

// ------------------------------------------------------------ sessions ----

/**
 * Gateway sessions: `switchboard serve --http` over one raw-echo, `n` 2025-era sessions opened at
 * /servers/s0/mcp (initialize, notifications/initialized, one checked call) and held open while the
 * calls run, call i on session i mod n (at concurrency 1 and with 64 callers). Memory: the gateway's
 * heap and RSS after full collections, before and after opening the n sessions (a warm-up session has
 * run and ended first, so one-time costs are not counted), divided by n.
 */
function sessionsRow() {
  return {
    name: 'gateway-sessions',
    scenario: 'sessions',
    transport: 'streamable-http -> stdio (raw-echo), N sessions',
    client: 'undici-raw',
    needs: 'bench',
    timeoutMs: 300_000,
    async measure(ctx) {
      const raw = await rawHttp();
      const p = growthProfile(ctx.cfg);
      return overSizes(
        ctx.cfg.sizes.sessions,
        async (n) => {
          await ctx.settle();
          return onGateway(
            raw,
            {},
            (g) => g.url,
            async (gateway, endpoint) => {
              const onSession = (session) => ({
                call: async (nonce) =>
                  textOf(
                    await endpoint.request(session, 'tools/call', { name: 'echo', arguments: { nonce } }),
                  ),
              });
              const warm = await endpoint.open();
              await sequential(onSession(warm), p.warmupCalls, p.latencyCapMs);
              await endpoint.end(warm);
              const before = await memoryOf(gateway);
              const t0 = performance.now();
              const sessions = await mapLimit(n, 16, async () => {
                const session = await endpoint.open();
                await verifiedOnce(onSession(session));
                return session;
              });
              const openMs = performance.now() - t0;
              const after = await memoryOf(gateway);
              let next = 0;
              const handle = {
                call(nonce) {
                  const session = sessions[next];
                  next = (next + 1) % n;
                  return onSession(session).call(nonce);
                },
              };
              return {
                sessions: n,
                openMs,
                heapPerSessionKB: (after.heapUsed - before.heapUsed) / n / 1024,
                rssPerSessionKB: (after.rss - before.rss) / n / 1024,
                ...callFigures(await measureCalls(handle, p), after),
              };
            },
          );
        },
        ['p50Us', 'callsPerSec'],
      );
    },
    describe: (res, cfg) =>
      sizesLine(
        res,
        cfg.sizes.sessions,
        (f) => `p50 ${n0(f('p50Us'))} µs, ${n0(f('callsPerSec'))}/s, ${n0(f('heapPerSessionKB'))} KB heap`,
      ),
  };
}

// ----------------------------------------------------------- upstreams ----

/**
 * `n` upstreams started; calls to the first (`one`) and, with n > 1, spread over all (`spread`: call i
 * to upstream i mod n), each measured in full. `start(n)` resolves to { call(nonce, i, mode), close() }.
 * Before measuring, the row waits until its children's CPU falls under 5% of a core: freshly started
 * Node processes keep compiling and collecting for a while.
 */
function upstreamsRow(name, { transport, client, start }) {
  return {
    name,
    scenario: 'upstreams',
    pair: 'upstreams',
    transport,
    client,
    needs: 'root',
    // 256 processes take ~20 s to start on 2 cores (far more on a loaded machine), per size and row.
    timeoutMs: 900_000,
    async measure(ctx) {
      const { cfg } = ctx;
      const p = growthProfile(cfg);
      const prepared = await start.prepare?.();
      return overSizes(
        cfg.sizes.upstreams,
        async (n) => {
          await ctx.settle();
          const before = process.memoryUsage();
          const t0 = performance.now();
          const opened = await start(n, prepared);
          try {
            const startMs = performance.now() - t0;
            const quietMs = await childrenQuiet({ deadlineMs: cfg.quietDeadlineMs });
            await ctx.settle();
            const hostHeapKB = (process.memoryUsage().heapUsed - before.heapUsed) / 1024;
            const kids = childrenRss();
            const mode = (m) => {
              let i = 0;
              return { call: (nonce) => opened.call(nonce, i++, m) };
            };
            const one = await measureCalls(mode('one'), p);
            const spread = n > 1 ? await measureCalls(mode('spread'), p) : one;
            return {
              servers: n,
              startMs,
              quietMs,
              hostHeapPerServerKB: hostHeapKB / n,
              upstreamRssMB: kids?.rssMB ?? null,
              p50Us: one.p50Us,
              p99Us: one.p99Us,
              callsPerSec: one.callsPerSec,
              loadedP50Us: one.loadedP50Us,
              spreadP50Us: spread.p50Us,
              spreadCallsPerSec: spread.callsPerSec,
              spreadLoadedP50Us: spread.loadedP50Us,
            };
          } finally {
            await withTimeout(opened.close(), 60_000, 'close').catch(() => {});
            await sleep(n > 16 ? cfg.reapMs : 0); // let the kernel reap n processes
          }
        },
        ['p50Us', 'callsPerSec', 'spreadP50Us', 'spreadCallsPerSec'],
      );
    },
    describe: (res, cfg) =>
      sizesLine(
        res,
        cfg.sizes.upstreams,
        (f) =>
          `p50 ${n0(f('p50Us'))} µs, ${n0(f('callsPerSec'))}/s; spread ${n0(f('spreadP50Us'))} µs, ${n0(f('spreadCallsPerSec'))}/s`,
      ),
  };
}

/** The switchboard, inline, over n raw-echo servers `s0`..: no start-up deadline bites at 256. */
const switchboardStart = Object.assign(
  async (n, Switchboard) => {
    const h = await openSwitchboard({
      Switchboard,
      count: n,
      isolation: 'inline',
      extra: { startTimeoutMs: 200_000 },
      pick: () => 's0',
    });
    const names = Array.from({ length: n }, (_, i) => `s${i}`);
    return {
      call: async (nonce, i, mode) =>
        textOf(await h.sb.callTool(mode === 'one' ? 's0' : names[i % n], 'echo', { nonce })),
      close: () => h.close(),
    };
  },
  { prepare: () => loadSwitchboard() },
);

/**
 * The control: n floor clients, each over its own raw-echo. `one` calls the first while n-1 idle beside
 * it (what n idle processes cost the machine, with no router); `spread` calls them in turn.
 */
async function floorStart(n) {
  const opened = await Promise.allSettled(
    Array.from({ length: n }, () => startFloorClient({ args: [RAW_ECHO], timeoutMs: 200_000 })),
  );
  const clients = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const close = async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
  };
  if (clients.length < n) {
    await close();
    throw opened.find((r) => r.status === 'rejected').reason;
  }
  return { call: (nonce, i, mode) => (mode === 'one' ? clients[0] : clients[i % n]).call(nonce), close };
}

// ------------------------------------------------------------- catalog ----

/** The i-th tool of a raw-echo catalog (`--tools N`). */
const toolName = (i) => (i === 0 ? 'echo' : `t${i}`);
/** Pages a client follows in one tools/list: a bound of last resort. */
const MAX_PAGES = 10_000;

/**
 * Catalog size: the gateway over one raw-echo serving `n` tools (`--tools n`, `--page-size` from the
 * config: the switchboard reads every page at start). Through one 2025-era session at /mcp: the time of a
 * whole tools/list (every page the gateway gives; checked: n tools, each name once), and calls by name,
 * call i to tool i mod n (`s0__t<i>`), each checked for the nonce and for the tool that answered.
 */
function catalogRow() {
  return {
    name: 'gateway-catalog',
    scenario: 'catalog',
    transport: 'streamable-http /mcp -> stdio (raw-echo --tools N)',
    client: 'undici-raw',
    needs: 'bench',
    timeoutMs: 300_000,
    async measure(ctx) {
      const { cfg } = ctx;
      const raw = await rawHttp();
      const p = growthProfile(cfg);
      return overSizes(
        cfg.sizes.catalog,
        async (n) => {
          await ctx.settle();
          const args = [RAW_ECHO, '--tools', String(n), '--page-size', String(cfg.catalogPageSize)];
          const t0 = performance.now();
          const config = rawEchoServers(1, 'inline', { args });
          return onGateway(
            raw,
            { config },
            (g) => g.aggregate,
            async (gateway, endpoint) => {
              const startMs = performance.now() - t0;
              const session = await endpoint.open();
              const list = async () => {
                const t = performance.now();
                const seen = new Set();
                let pages = 0;
                let cursor;
                do {
                  if (++pages > MAX_PAGES) throw new Error(`tools/list gave over ${MAX_PAGES} pages`);
                  const result = await endpoint.request(session, 'tools/list', cursor ? { cursor } : {});
                  for (const tool of result.tools) {
                    if (seen.has(tool.name)) throw new Error(`tools/list gave ${tool.name} twice`);
                    seen.add(tool.name);
                  }
                  cursor = result.nextCursor;
                } while (cursor);
                const ms = performance.now() - t;
                if (seen.size !== n || !seen.has(`s0__${toolName(n - 1)}`)) {
                  throw new Error(`tools/list gave ${seen.size} tools, not the ${n} of s0`);
                }
                return { ms, pages };
              };
              await list(); // warm-up
              const lists = [];
              for (let k = 0; k < cfg.catalogLists; k++) lists.push(await list());
              const listMs = lists.map((l) => l.ms).sort((a, b) => a - b)[lists.length >> 1];
              let next = 0;
              const handle = {
                async call(nonce) {
                  const tool = toolName(next);
                  next = (next + 1) % n;
                  const result = await endpoint.request(session, 'tools/call', {
                    name: `s0__${tool}`,
                    arguments: { nonce },
                  });
                  const answered = result.structuredContent?.tool ?? 'echo';
                  if (answered !== tool) throw new Error(`called ${tool}, ${answered} answered`);
                  return textOf(result);
                },
              };
              const figures = await measureCalls(handle, p);
              return {
                tools: n,
                startMs,
                listMs,
                listPages: lists[0].pages,
                listUsPerTool: (listMs * 1000) / n,
                ...callFigures(figures, await memoryOf(gateway)),
              };
            },
          );
        },
        ['p50Us', 'callsPerSec', 'listUsPerTool'],
      );
    },
    describe: (res, cfg) =>
      sizesLine(
        res,
        cfg.sizes.catalog,
        (f) => `list ${f('listMs')?.toFixed(1)} ms, call p50 ${n0(f('p50Us'))} µs, ${n0(f('callsPerSec'))}/s`,
      ),
  };
}

// -------------------------------------------------------- message size ----

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** `bytes` characters of JSON-neutral ASCII (nothing to escape): one byte each on the wire. */
const payloadOf = (bytes) => ALPHABET.repeat(Math.ceil(bytes / ALPHABET.length)).slice(0, bytes);

/**
 * Message size: the echo carries a payload of `size` bytes out (in the arguments) and back (in the
 * text, after the nonce); every answer is checked whole. Per size: a warm-up, p50 at concurrency 1, and
 * calls/s with cfg.message.concurrency callers; MB/s = payload bytes echoed per second (10^6 bytes,
 * each way). Counts are bounded by bytes too, so 10 MB calls do not run thousands of times.
 * `open()` resolves to { echo(nonce, payload): Promise<result>, close() }.
 */
function messageRow(name, { transport, client, open }) {
  return {
    name,
    scenario: 'message-size',
    pair: 'message-size',
    transport,
    client,
    needs: 'root',
    timeoutMs: 300_000,
    async measure(ctx) {
      const { cfg } = ctx;
      const m = cfg.message;
      const opened = await open();
      try {
        return await overSizes(
          cfg.sizes.message,
          async (size) => {
            await ctx.settle();
            const payload = payloadOf(size);
            const handle = {
              async call(nonce) {
                const text = textOf(await opened.echo(nonce, payload));
                if (text !== nonce + payload) {
                  throw new Error(
                    `the ${size}-byte payload did not come back intact (${text?.length} characters for ${nonce.length + size})`,
                  );
                }
                return nonce;
              },
            };
            const byBytes = (count, bytes) => Math.max(2, Math.min(count, Math.ceil(bytes / size)));
            const budget = (ms) => ms + 60_000;
            await withTimeout(
              sequential(handle, byBytes(m.warmupCalls, m.warmupBytes), m.capMs),
              budget(m.capMs),
              'warmup',
            );
            const samples = await withTimeout(
              sequential(handle, byBytes(m.calls, m.latencyBytes), m.capMs),
              budget(m.capMs),
              'latency run',
            );
            const tp = await withTimeout(
              saturate(handle, m.concurrency, m.windowMs, byBytes(Number.MAX_SAFE_INTEGER, m.windowBytes)),
              budget(m.windowMs),
              'throughput run',
            );
            return {
              bytes: size,
              latencyCalls: samples.length,
              p50Us: nsToUs(pct(samples, 50)),
              throughputCalls: tp.calls,
              callsPerSec: tp.callsPerSec,
              mbPerSec: (tp.callsPerSec * size) / 1e6,
              loadedP50Us: pct(tp.loadedUs, 50),
            };
          },
          [],
        );
      } finally {
        await withTimeout(opened.close(), 15_000, 'close').catch(() => {});
      }
    },
    describe: (res, cfg) =>
      sizesLine(res, cfg.sizes.message, (f) => `${f('mbPerSec')?.toFixed(1)} MB/s, p50 ${n0(f('p50Us'))} µs`),
  };
}

const echoArgs = (nonce, payload) => ({ nonce, payload });

const switchboardMessage = (isolation) => async () => {
  const h = await openSwitchboard({ count: 1, isolation, pick: () => 's0' });
  return { echo: (nonce, payload) => h.sb.callTool('s0', 'echo', echoArgs(nonce, payload)), close: h.close };
};

// ------------------------------------------------------------ registry ----

/** The rows of the growth scenarios, in the order the tables show them. */
export const growthContenders = [
  sessionsRow(),
  upstreamsRow('switchboard-upstreams', {
    transport: 'in-process -> N x stdio (raw-echo)',
    client: 'switchboard',
    start: switchboardStart,
  }),
  upstreamsRow('floor-upstreams', {
    transport: 'N x stdio (raw-echo), floor client each',
    client: 'raw-ndjson',
    start: floorStart,
  }),
  catalogRow(),
  messageRow('floor-message', {
    transport: 'stdio (raw-echo)',
    client: 'raw-ndjson',
    async open() {
      const floor = await startFloorClient({ args: [RAW_ECHO] });
      return {
        echo: (nonce, payload) =>
          floor.request('tools/call', { name: 'echo', arguments: echoArgs(nonce, payload) }),
        close: floor.close,
      };
    },
  }),
  messageRow('switchboard-inline-message', {
    transport: 'in-process -> stdio (raw-echo)',
    client: 'switchboard',
    open: switchboardMessage('inline'),
  }),
  messageRow('switchboard-thread-message', {
    transport: 'worker thread -> stdio (raw-echo)',
    client: 'switchboard',
    open: switchboardMessage('thread'),
  }),
];
