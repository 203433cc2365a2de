#!/usr/bin/env node
// What bench/profile.mjs runs under `node --cpu-prof`: a Switchboard (inline) over one raw-echo server,
// or the floor client (`--floor`), with --concurrency callers back to back for --ms after a warmup. Prints one JSON line with the measured window in
// process.hrtime µs (the clock of the profile's timestamps) and the calls/s reached.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startFloorClient } from './floor-client.mjs';
import { saturate } from './measure.mjs';
import { RAW_ECHO, rawEchoServers } from './switchboard-config.mjs';

const { values } = parseArgs({
  options: {
    lib: { type: 'string' },
    isolation: { type: 'string', default: 'inline' },
    ms: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    floor: { type: 'boolean', default: false },
    nostack: { type: 'boolean', default: false },
  },
});

async function open() {
  if (values.floor) return startFloorClient({ args: [RAW_ECHO] });
  const { Switchboard } = await import(pathToFileURL(resolve(values.lib)).href);
  const sb = await Switchboard.start(rawEchoServers(1, values.isolation), {
    requireAll: true,
    ...(values.nostack ? { captureCallSites: false } : {}),
  });
  return {
    call: async (nonce) => (await sb.callTool('s0', 'echo', { nonce })).content[0].text,
    close: () => sb.close(),
  };
}

const handle = await open();
try {
  const concurrency = Number(values.concurrency);
  await saturate(handle, concurrency, 1000, 5_000_000); // warmup: JIT, pools, buffers
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const run = await saturate(handle, concurrency, Number(values.ms), 5_000_000);
  const toUs = Number(process.hrtime.bigint() / 1000n);
  console.log(JSON.stringify({ fromUs, toUs, calls: run.calls, callsPerSec: run.callsPerSec }));
} finally {
  await handle.close();
}
