#!/usr/bin/env node
// Memory per upstream, measured in a fresh process so that nothing another measurement left behind
// blurs it: RSS and heap of this process before and after starting N raw-echo upstreams (one call
// each, then full GCs), divided by N. The upstreams' own processes are not counted here: this is what
// the switchboard's host process pays per upstream. Prints one JSON line.
//
//   node --expose-gc bench/lib/memory-probe.mjs --lib dist/src/index.js --isolation inline --upstreams 16
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rawEchoServers } from './switchboard-config.mjs';

const { values } = parseArgs({
  options: {
    lib: { type: 'string' },
    isolation: { type: 'string', default: 'inline' },
    upstreams: { type: 'string', default: '16' },
  },
});
const upstreams = Number(values.upstreams);
if (!values.lib || !Number.isInteger(upstreams) || upstreams < 1) {
  console.error('usage: node --expose-gc memory-probe.mjs --lib <dist entry> --isolation inline|thread --upstreams N');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  console.error('memory-probe needs --expose-gc');
  process.exit(2);
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const { Switchboard } = await import(pathToFileURL(resolve(values.lib)).href);
await settle();
const before = process.memoryUsage();
const sb = await Switchboard.start(rawEchoServers(upstreams, values.isolation), { requireAll: true });
try {
  await Promise.all(
    Array.from({ length: upstreams }, (_, i) => sb.callTool(`s${i}`, 'echo', { nonce: 'warm' })),
  );
  await settle();
  const after = process.memoryUsage();
  console.log(
    JSON.stringify({
      isolation: values.isolation,
      upstreams,
      rssPerUpstreamMB: (after.rss - before.rss) / upstreams / 2 ** 20,
      heapPerUpstreamKB: (after.heapUsed - before.heapUsed) / upstreams / 1024,
    }),
  );
} finally {
  await sb.close();
}
